"""Serializers of the window types, in Flink's binary layouts: a ``TimeWindow`` is its start
and end as two big-endian 64-bit integers, a ``CountWindow`` its id as one, and the
``GlobalWindow`` a single zero byte. ``WindowAssigner.get_window_serializer`` returns them."""

import struct

from pyflink_rs.common.serializer import TypeSerializer, read_exactly
from pyflink_rs.datastream.window import CountWindow, GlobalWindow, TimeWindow

_LONG = struct.Struct(">q")
_TWO_LONGS = struct.Struct(">qq")


class TimeWindowSerializer(TypeSerializer):
    """Writes a ``TimeWindow`` as its start and end (16 bytes)."""

    def serialize(self, element, stream):
        stream.write(_TWO_LONGS.pack(element.start, element.end))

    def deserialize(self, stream):
        start, end = _TWO_LONGS.unpack(read_exactly(stream, _TWO_LONGS.size, "TimeWindow"))
        return TimeWindow(start, end)


class CountWindowSerializer(TypeSerializer):
    """Writes a ``CountWindow`` as its id (8 bytes)."""

    def serialize(self, element, stream):
        stream.write(_LONG.pack(element.id))

    def deserialize(self, stream):
        (window_id,) = _LONG.unpack(read_exactly(stream, _LONG.size, "CountWindow"))
        return CountWindow(window_id)


class GlobalWindowSerializer(TypeSerializer):
    """Writes the ``GlobalWindow`` as one zero byte."""

    def serialize(self, element, stream):
        stream.write(b"\0")

    def deserialize(self, stream):
        read_exactly(stream, 1, "GlobalWindow")
        return GlobalWindow.get()
