//! The collect sink behind `execute_and_collect`: records travel over a channel to an iterator
//! in the calling thread while the job runs.

use std::sync::mpsc::{Receiver, Sender};

use crate::runtime::job::JobClient;
use crate::sinks::{Sink, SinkWriter, SinkWriterContext};
use crate::{Data, FlinkError, Result};

/// Sends every record to the [`CollectIterator`] of `execute_and_collect`.
pub struct CollectSink<T> {
    sender: Sender<T>,
}

impl<T> CollectSink<T> {
    pub(crate) fn new(sender: Sender<T>) -> Self {
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
    sender: Sender<T>,
}

impl<T: Data> SinkWriter<T> for CollectWriter<T> {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<()> {
        // A closed iterator cancels the job; records arriving meanwhile have nowhere to go.
        self.sender.send(value).map_err(|_| FlinkError::Cancelled)
    }
}

/// The results of a job started by `execute_and_collect`, in arrival order. It ends when the job
/// ends; a failed job yields its error last. Dropping the iterator cancels the job.
pub struct CollectIterator<T> {
    receiver: Receiver<T>,
    client: Option<JobClient>,
}

impl<T> CollectIterator<T> {
    pub(crate) fn new(receiver: Receiver<T>, client: JobClient) -> Self {
        CollectIterator { receiver, client: Some(client) }
    }
}

impl<T> Iterator for CollectIterator<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        match self.receiver.recv() {
            Ok(value) => Some(Ok(value)),
            Err(_) => match self.client.take()?.wait() {
                Ok(_) => None,
                Err(error) => Some(Err(error)),
            },
        }
    }
}

impl<T> Drop for CollectIterator<T> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            client.cancel();
        }
    }
}
