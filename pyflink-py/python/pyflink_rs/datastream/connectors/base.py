"""What connectors share (PyFlink's ``pyflink.datastream.connectors.base``)."""

from abc import ABC, abstractmethod
from enum import Enum
from typing import Optional


class DeliveryGuarantee(Enum):
    """What a sink promises about the records it writes."""

    #: Every record once, for readers of committed data: records are written in transactions
    #: committed when checkpoints complete.
    EXACTLY_ONCE = 0
    #: No record is lost; a failure may write some twice.
    AT_LEAST_ONCE = 1
    #: Records may be lost on failure.
    NONE = 2


class StreamTransformer(ABC):
    """Turns the stream given to a sink into the stream the sink writes (a sink's
    preprocessing, see ``SupportsPreprocessing``)."""

    @abstractmethod
    def apply(self, ds):
        """The stream to write, made from the ``DataStream`` ``ds``."""


class SupportsPreprocessing(ABC):
    """A sink whose records first go through a ``StreamTransformer``: ``DataStream.sink_to``
    writes what the transformer makes of the stream, if the sink has one."""

    @abstractmethod
    def get_transformer(self) -> Optional[StreamTransformer]:
        """The sink's transformer, or None to write the stream as it is."""


__all__ = ["DeliveryGuarantee", "StreamTransformer", "SupportsPreprocessing"]
