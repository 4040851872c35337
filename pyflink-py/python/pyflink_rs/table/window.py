"""``pyflink.table.window`` on pyflink-rs: group windows (``Tumble``, ``Slide``, ``Session``) for
``Table.window(...).group_by(...).select(...)``, and OVER windows (``Over``) for
``Table.over_window(...).select(...)``. They run as SQL's window table functions and OVER
aggregates."""

from pyflink_rs import _native
from pyflink_rs.table.expressions import _expression


class GroupWindow:
    """A group window with its time attribute and alias, ready for ``Table.window``."""

    def __init__(self, kind, size, slide, time_field, alias):
        self._kind = kind
        self._size = size
        self._slide = slide
        self._time_field = time_field
        self._alias = alias

    def _spec(self):
        slide = None if self._slide is None else _expression(self._slide)._spec()
        return _native.GroupWindowSpec(
            kind=self._kind, size=_expression(self._size)._spec(), slide=slide,
            time=_expression(self._time_field)._spec(), alias=self._alias)


class _WindowOn:
    """A group window whose time attribute and alias are still to be named."""

    def __init__(self, kind, size, slide=None, time_field=None):
        self._kind = kind
        self._size = size
        self._slide = slide
        self._time_field = time_field

    def on(self, time_field):
        """Windows by the time attribute ``time_field``."""
        return _WindowOn(self._kind, self._size, self._slide, time_field)

    def alias(self, alias):
        """The window, named ``alias`` for ``group_by`` and its properties."""
        if self._time_field is None:
            raise ValueError("name the window's time attribute with .on(col('ts')) before .alias(...)")
        name = getattr(alias, "_column", None) or str(alias)
        return GroupWindow(self._kind, self._size, self._slide, self._time_field, name)


class Tumble:
    """Tumbling windows: windows of one size, one after another."""

    @staticmethod
    def over(size):
        return _WindowOn("TUMBLE", size)


class _SlideWithSize:
    def __init__(self, size):
        self._size = size

    def every(self, slide):
        """Windows start every ``slide``."""
        return _WindowOn("SLIDE", self._size, slide)


class Slide:
    """Sliding windows: windows of one size that start every ``slide``."""

    @staticmethod
    def over(size):
        return _SlideWithSize(size)


class Session:
    """Session windows: the rows of a group until a gap without rows."""

    @staticmethod
    def with_gap(gap):
        return _WindowOn("SESSION", gap)


class OverWindow:
    """An OVER window with its alias, ready for ``Table.over_window``."""

    def __init__(self, partition_by, order_by, preceding, following, alias):
        self._partition_by = partition_by
        self._order_by = order_by
        self._preceding = preceding
        self._following = following
        self._alias = alias

    def _spec(self):
        def optional(bound):
            return None if bound is None else _expression(bound)._spec()
        return _native.OverWindowSpec(
            partition_by=[_expression(key)._spec() for key in self._partition_by],
            order_by=_expression(self._order_by)._spec(),
            preceding=optional(self._preceding), following=optional(self._following), alias=self._alias)


class _OverOrdered:
    """An ordered OVER window whose frame and alias are still to be named."""

    def __init__(self, partition_by, order_by, preceding=None, following=None):
        self._partition_by = partition_by
        self._order_by = order_by
        self._preceding = preceding
        self._following = following

    def preceding(self, preceding):
        """Where the frame starts: ``row_interval(n)``, an interval, ``UNBOUNDED_ROW`` or
        ``UNBOUNDED_RANGE`` (the default)."""
        return _OverOrdered(self._partition_by, self._order_by, preceding, self._following)

    def following(self, following):
        """Where the frame ends: ``CURRENT_ROW`` or ``CURRENT_RANGE``."""
        return _OverOrdered(self._partition_by, self._order_by, self._preceding, following)

    def alias(self, alias):
        name = getattr(alias, "_column", None) or str(alias)
        return OverWindow(self._partition_by, self._order_by, self._preceding, self._following, name)


class _OverPartitioned:
    def __init__(self, partition_by):
        self._partition_by = partition_by

    def order_by(self, order_by):
        """Rows in the order of ``order_by``, an event-time attribute."""
        return _OverOrdered(self._partition_by, order_by)


class Over:
    """OVER windows: aggregates over the rows before each row of a partition, in time order."""

    @staticmethod
    def partition_by(*partition_by):
        return _OverPartitioned(partition_by)

    @staticmethod
    def order_by(order_by):
        return _OverOrdered((), order_by)


__all__ = ["GroupWindow", "Over", "OverWindow", "Session", "Slide", "Tumble"]
