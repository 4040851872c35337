"""The iterator of ``execute_and_collect()``: records stream from the running job as it makes
them, in batches, and closing the iterator cancels the job and waits for it to end."""

import pickle
from collections import deque

from pyflink_rs.common.job_client import iterator_closed, track_iterator

# Records fetched from the job at once, and how long one fetch waits before the interpreter
# gets to see signals (Ctrl-C) again.
FETCH_RECORDS = 1024
FETCH_STEP_MS = 100


class CloseableIterator:
    """An iterator over the records of a running job (PyFlink's ``CloseableIterator``). It
    ends when the job ends, raises as the job failed, and is a context manager: leaving the
    ``with`` block, ``close()``, or Ctrl-C while it waits cancels the job."""

    def __init__(self, native_records):
        self._native = native_records
        self._buffer = deque()
        self._closed = False
        # Whether the job ended by itself and every record was taken (not cancelled or failed).
        self._complete = False
        track_iterator(self)

    def __iter__(self):
        return self

    def __next__(self):
        while not self._buffer:
            if self._closed:
                raise StopIteration
            try:
                batch = self._native.next_batch(FETCH_RECORDS, FETCH_STEP_MS)
            except KeyboardInterrupt:
                self.close()
                raise
            except Exception:
                # The job failed and has ended.
                self._closed = True
                iterator_closed(self)
                raise
            if batch is None:
                self._complete = True
                self.close()
                raise StopIteration
            self._buffer.extend(self._decode(batch))
        return self._buffer.popleft()

    def _decode(self, batch):
        """The records of a fetched batch."""
        return pickle.loads(batch)

    def _ended_normally(self):
        """Whether the job finished and the iterator reached its end."""
        return self._complete

    def next(self):
        """The next record (PyFlink's name)."""
        return self.__next__()

    def close(self):
        """Cancels the job if it still runs and waits for it to end; records not yet taken
        are dropped."""
        self._closed = True
        self._buffer.clear()
        self._native.close()
        iterator_closed(self)

    def _cancel(self):
        """Asks the job to stop without waiting for it."""
        if not self._closed:
            self._native.cancel()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()
        return False

    def __del__(self):
        # Only cancels: a finalizer may run on one of the job's own threads (a Python function
        # dropping the last reference), which must not wait for the job to end.
        if getattr(self, "_native", None) is not None:
            self._cancel()
