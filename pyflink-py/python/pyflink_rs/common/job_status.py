"""PyFlink's ``JobStatus``: where a job is in its life."""

from enum import Enum


class JobStatus(Enum):
    """The status of a job, with Flink's names. A job run by pyflink-rs is ``RUNNING`` until
    it ends as ``FINISHED``, ``FAILED`` or ``CANCELED``; the other statuses are those a Flink
    cluster reports and are kept so that programs comparing with them run unchanged."""

    CREATED = 0
    RUNNING = 1
    FAILING = 2
    FAILED = 3
    CANCELLING = 4
    CANCELED = 5
    FINISHED = 6
    RESTARTING = 7
    SUSPENDED = 8
    RECONCILING = 9
    INITIALIZING = 10

    def is_globally_terminal_state(self):
        """Whether the job has ended for good: finished, failed or cancelled."""
        return self in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED)

    def is_terminal_state(self):
        """Whether the job has ended here (globally, or suspended)."""
        return self.is_globally_terminal_state() or self is JobStatus.SUSPENDED
