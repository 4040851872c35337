"""PyFlink's ``CheckpointingMode``."""

from enum import Enum


class CheckpointingMode(Enum):
    """What checkpoints guarantee about the state they restore."""

    #: Every record affects the restored state once.
    EXACTLY_ONCE = 0
    #: Records may affect the restored state more than once.
    AT_LEAST_ONCE = 1

    def _option(self):
        return self.name
