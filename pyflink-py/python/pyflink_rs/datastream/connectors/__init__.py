"""Sources and sinks."""

from pyflink_rs.datastream.connectors.base import DeliveryGuarantee
from pyflink_rs.datastream.connectors.number_seq import NumberSequenceSource


class Source:
    """The base of sources given to ``StreamExecutionEnvironment.from_source``."""

    def _add_to(self, native_environment):
        raise NotImplementedError


class Sink:
    """The base of sinks given to ``DataStream.sink_to``."""

    def _add_to(self, native_stream):
        raise NotImplementedError


class DiscardingSink(Sink):
    """Drops every record, as Flink's ``DiscardingSink``: for jobs run for their effects or to
    measure them."""

    def _add_to(self, native_stream):
        return native_stream.discard()


__all__ = ["DeliveryGuarantee", "DiscardingSink", "NumberSequenceSource", "Sink", "Source"]
