"""What connectors share (PyFlink's ``pyflink.datastream.connectors.base``)."""

from enum import Enum


class DeliveryGuarantee(Enum):
    """What a sink promises about the records it writes."""

    #: Every record once, for readers of committed data: records are written in transactions
    #: committed when checkpoints complete.
    EXACTLY_ONCE = 0
    #: No record is lost; a failure may write some twice.
    AT_LEAST_ONCE = 1
    #: Records may be lost on failure.
    NONE = 2


__all__ = ["DeliveryGuarantee"]
