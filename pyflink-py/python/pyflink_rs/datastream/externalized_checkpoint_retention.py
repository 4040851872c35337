"""PyFlink's ``ExternalizedCheckpointRetention``: whether a job's checkpoints outlive it."""

from enum import Enum


class ExternalizedCheckpointRetention(Enum):
    """What happens to a job's checkpoints when it ends
    (``execution.checkpointing.externalized-checkpoint-retention``)."""

    #: Kept when the job fails, deleted when it is cancelled.
    DELETE_ON_CANCELLATION = 0
    #: Kept however the job ends, to start a later job from them.
    RETAIN_ON_CANCELLATION = 1
    #: Deleted when the job ends, however it ends.
    NO_EXTERNALIZED_CHECKPOINTS = 2
