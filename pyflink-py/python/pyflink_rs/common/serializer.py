"""``TypeSerializer``: how a value is written to and read from a byte stream (PyFlink's
``pyflink.common.serializer``). The engine moves Python values itself; serializers are what
PyFlink programs implement for their window types (``WindowAssigner.get_window_serializer``)
and can use to write values in Flink's binary layouts."""

from abc import ABC, abstractmethod


class TypeSerializer(ABC):
    """Writes values of one type to a binary stream (``serialize``) and reads them back
    (``deserialize``). Serializers with the same settings are equal."""

    @abstractmethod
    def serialize(self, element, stream):
        """Writes ``element`` to ``stream`` (a writable binary file object such as ``BytesIO``)."""

    @abstractmethod
    def deserialize(self, stream):
        """Reads one value from ``stream`` (a readable binary file object)."""

    def __eq__(self, other):
        return isinstance(other, self.__class__) and self.__dict__ == other.__dict__

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(repr(self))

    def __repr__(self):
        return f"{type(self).__name__}()"


def read_exactly(stream, size, what):
    """``size`` bytes from ``stream``, or a clear error when it ends first."""
    data = stream.read(size)
    if len(data) != size:
        raise EOFError(f"the stream ended inside a {what}: {len(data)} of {size} bytes")
    return data
