//! The collect sink behind `execute_and_collect`: records travel over a channel to an iterator
//! in the calling thread while the job runs.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use crate::runtime::client::JobClient;
use crate::sinks::{Sink, SinkWriter, SinkWriterContext};
use crate::{Data, FlinkError, Result};

/// How many records the collect sink buffers for its iterator before it waits for the iterator
/// to take some: a slow reader slows the job (backpressure) instead of filling memory.
pub(crate) const COLLECT_BUFFER_RECORDS: usize = 4096;

/// Sends every record to the [`CollectIterator`] of `execute_and_collect`.
pub struct CollectSink<T> {
    sender: SyncSender<T>,
}

impl<T> CollectSink<T> {
    pub(crate) fn new(sender: SyncSender<T>) -> Self {
        CollectSink { sender }
    }
}

impl<T: Data> Sink<T> for CollectSink<T> {
    type Writer = CollectWriter<T>;
    fn create_writer(&self, _context: &SinkWriterContext) -> Result<CollectWriter<T>> {
        Ok(CollectWriter { sender: self.sender.clone() })
    }
}

/// The writer of [`CollectSink`].
pub struct CollectWriter<T> {
    sender: SyncSender<T>,
}

impl<T: Data> SinkWriter<T> for CollectWriter<T> {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<()> {
        // Waits while the iterator's buffer is full. A closed iterator cancels the job; records
        // arriving meanwhile have nowhere to go.
        self.sender.send(value).map_err(|_| FlinkError::Cancelled)
    }
}

/// The results of a job started by `execute_and_collect`, in arrival order. It ends when the job
/// ends; a failed job yields its error last. Closing the iterator cancels the job and waits for
/// its threads to end; dropping it cancels the job without waiting.
pub struct CollectIterator<T> {
    receiver: Option<Receiver<T>>,
    client: Option<JobClient>,
}

/// What [`CollectIterator::poll`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Polled<T> {
    /// The next record.
    Record(T),
    /// No record came within the time allowed; the job still runs.
    Pending,
    /// The job has ended and every record has been taken.
    Ended,
}

impl<T> CollectIterator<T> {
    pub(crate) fn new(receiver: Receiver<T>, client: JobClient) -> Self {
        CollectIterator { receiver: Some(receiver), client: Some(client) }
    }

    /// The id of the job the records come from, until it has ended and been waited for.
    pub fn job_id(&self) -> Option<crate::JobId> {
        self.client.as_ref().map(JobClient::job_id)
    }

    /// The next record if one comes within `timeout`: a caller that must stay responsive
    /// (to Ctrl-C, for example) polls in short steps instead of blocking in `next`. A failed
    /// job's error comes once, after its last record, and [`Polled::Ended`] after it.
    pub fn poll(&mut self, timeout: Duration) -> Result<Polled<T>> {
        let Some(receiver) = &self.receiver else { return Ok(Polled::Ended) };
        match receiver.recv_timeout(timeout) {
            Ok(value) => Ok(Polled::Record(value)),
            Err(RecvTimeoutError::Timeout) => Ok(Polled::Pending),
            Err(RecvTimeoutError::Disconnected) => {
                self.receiver = None;
                match self.client.take().map(JobClient::wait) {
                    Some(Err(error)) => Err(error),
                    Some(Ok(_)) | None => Ok(Polled::Ended),
                }
            }
        }
    }

    /// Cancels the job if it still runs and waits for its threads to end; records not taken
    /// yet are dropped. The iterator yields nothing more.
    pub fn close(&mut self) {
        self.cancel();
        if let Some(client) = self.client.take() {
            // How a cancelled job ended is of no interest to a caller that stopped reading.
            let _ = client.wait();
        }
    }

    /// Cancels the job if it still runs, without waiting for it to end (a later
    /// [`close`](Self::close) still waits), and closes the channel, which releases a collecting
    /// writer blocked on a full buffer. The job is cancelled first, so that the writer's failure
    /// on the closed channel is taken for the cancellation and not for a failure to restart from.
    pub fn cancel(&mut self) {
        if let Some(client) = &self.client {
            client.cancel();
        }
        self.receiver = None;
    }
}

impl<T> Iterator for CollectIterator<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            match self.poll(Duration::from_secs(3600)) {
                Ok(Polled::Record(value)) => return Some(Ok(value)),
                Ok(Polled::Pending) => continue,
                Ok(Polled::Ended) => return None,
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

impl<T> Drop for CollectIterator<T> {
    /// Cancels the job without waiting for it: the iterator may be dropped on a thread the job
    /// itself runs (a Python function dropping the last reference to it), which must not wait
    /// for its own end. [`CollectIterator::close`] waits.
    fn drop(&mut self) {
        self.cancel();
    }
}
