"""PyFlink's ``JobClient`` for a job started with ``execute_async()``, and the waiting that
``execute()`` does: in short steps, so that Ctrl-C (``KeyboardInterrupt``) cancels the job,
which has ended, threads and all, by the time the exception reaches the caller."""

import atexit
import os
import secrets
import threading
import weakref

from pyflink_rs.common.completable_future import CompletableFuture
from pyflink_rs.common.job_execution_result import JobExecutionResult, _metric_value
from pyflink_rs.common.job_id import JobID
from pyflink_rs.common.job_status import JobStatus

# How long one wait for a job lasts before the interpreter gets to see signals again.
WAIT_STEP_MS = 100

# Jobs started and not yet seen to end. They are cancelled and waited for when the interpreter
# exits: their threads may run Python functions, which must not outlive the interpreter.
_running = set()
_running_lock = threading.Lock()

# The open iterators of ``execute_and_collect()``, closed (their jobs cancelled and waited for)
# when the interpreter exits. Held weakly: an iterator dropped unclosed cancels its job itself.
_open_iterators = weakref.WeakSet()


def track_iterator(iterator):
    """Registers an open ``CloseableIterator`` to be closed when the interpreter exits."""
    with _running_lock:
        _open_iterators.add(iterator)


def iterator_closed(iterator):
    with _running_lock:
        _open_iterators.discard(iterator)


def _track(native_job):
    with _running_lock:
        _running.add(native_job)


def _ended(native_job):
    with _running_lock:
        _running.discard(native_job)


def _wait_until_ended(native_job):
    """Waits for a job to end however it ends (used after cancelling it)."""
    while True:
        try:
            if native_job.wait_for(WAIT_STEP_MS) is not None:
                break
        except Exception:  # the job ended failed or cancelled: what matters is that it ended
            break
    _ended(native_job)


def wait_for_job(native_job):
    """Waits for a job and returns its native result; on ``KeyboardInterrupt`` cancels it,
    waits for it to end, and raises the interrupt again."""
    _track(native_job)
    try:
        while True:
            result = native_job.wait_for(WAIT_STEP_MS)
            if result is not None:
                _ended(native_job)
                return result
    except KeyboardInterrupt:
        native_job.cancel()
        _wait_until_ended(native_job)
        raise
    except Exception:
        # The job failed: it has ended.
        _ended(native_job)
        raise


@atexit.register
def _cancel_running_jobs():
    with _running_lock:
        jobs = list(_running)
        iterators = list(_open_iterators)
    # Every job is asked to stop first, so that they end together.
    for job in jobs:
        job.cancel()
    for iterator in iterators:
        iterator._cancel()
    for job in jobs:
        _wait_until_ended(job)
    for iterator in iterators:
        iterator.close()


# How long a savepoint may take before the request fails: Flink's default checkpoint timeout.
_SAVEPOINT_TIMEOUT_MS = 600_000


class JobClient:
    """A job running in the background (``env.execute_async()``): its id and status, its
    result once it ends, cancellation and savepoints."""

    def __init__(self, native_job, default_savepoint_directory=None):
        self._native = native_job
        self._savepoint_directory = default_savepoint_directory
        _track(native_job)

    def _savepoint_target(self, savepoint_directory):
        """A new directory for a savepoint under ``savepoint_directory`` (or the environment's
        default), named as Flink names them: ``savepoint-<job id's first 6>-<12 random>``."""
        directory = savepoint_directory or self._savepoint_directory
        if directory is None:
            raise ValueError(
                "No savepoint directory configured: give one to the call, or set a default with "
                "env.set_default_savepoint_directory() or 'execution.checkpointing.savepoint-dir'"
            )
        directory = str(directory)
        if directory.startswith("file://"):
            directory = directory[len("file://"):]
        name = f"savepoint-{self._native.job_id()[:6]}-{secrets.token_hex(6)}"
        return os.path.join(directory, name)

    def trigger_savepoint(self, savepoint_directory=None):
        """Takes a savepoint of the running job (which must take checkpoints) under
        ``savepoint_directory``; a future of its path, which ``execution.savepoint.path``
        accepts to start a job from it, at the same or another parallelism."""
        target = self._savepoint_target(savepoint_directory)
        native = self._native
        return CompletableFuture._in_background(lambda: native.trigger_savepoint(target, _SAVEPOINT_TIMEOUT_MS))

    def stop_with_savepoint(self, advance_to_end_of_event_time=False, savepoint_directory=None):
        """Takes a savepoint as ``trigger_savepoint`` does, then stops the job, which ends as
        FINISHED; a future of the savepoint's path. With ``advance_to_end_of_event_time=True``
        the job is drained first: its sources end after a watermark at the end of event time, so
        that every event-time window and timer fires and sinks write the results, and the
        savepoint holds the state after that (for ending a job for good)."""
        target = self._savepoint_target(savepoint_directory)
        native = self._native
        stop = native.stop_with_drain if advance_to_end_of_event_time else native.stop_with_savepoint
        return CompletableFuture._in_background(lambda: stop(target, _SAVEPOINT_TIMEOUT_MS))

    def get_job_id(self):
        """The job's ``JobID``."""
        return JobID(self._native.job_id())

    def get_job_status(self):
        """A future of the job's ``JobStatus`` now."""
        status = JobStatus[self._native.status()]
        return CompletableFuture(lambda: status)

    def cancel(self):
        """Asks the job to stop; the returned future is done once it has ended."""
        self._native.cancel()
        native = self._native
        return CompletableFuture(lambda: _wait_until_ended(native), lambda: _has_ended(native))

    def get_job_execution_result(self):
        """A future of the job's ``JobExecutionResult``; its ``result()`` waits for the job
        to end (Ctrl-C cancels the job) and raises as the job failed."""
        native = self._native
        return CompletableFuture(lambda: JobExecutionResult(wait_for_job(native)), lambda: _has_ended(native))

    def get_accumulators(self):
        """Accumulators are not supported; metrics take their place."""
        return CompletableFuture(lambda: {})

    def get_metrics(self):
        """The operators' metrics now, as ``JobExecutionResult.get_metrics()`` gives them."""
        return {name: _metric_value(value) for name, value in self._native.metrics().items()}

    def __repr__(self):
        return f"JobClient({self._native.job_id()}, {self._native.status()})"


def _has_ended(native_job):
    return JobStatus[native_job.status()].is_globally_terminal_state()
