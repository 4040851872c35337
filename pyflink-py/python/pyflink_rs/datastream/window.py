"""Windows (PyFlink's ``pyflink.datastream.window``): the window objects window functions see,
the assigners that put records into windows, and the built-in triggers that fire them. The
engine runs them; these classes describe them."""

from enum import Enum

import cloudpickle

from pyflink_rs import _native
from pyflink_rs.common.time import milliseconds_of as _millis

MAX_LONG_VALUE = (1 << 63) - 1
MIN_LONG_VALUE = -(1 << 63)


class Window:
    """A group of records evaluated together."""

    def max_timestamp(self):
        """The largest timestamp that belongs to the window."""
        raise NotImplementedError


class TimeWindow(Window):
    """The time interval ``[start, end)`` in milliseconds."""

    __slots__ = ("start", "end")

    def __init__(self, start, end):
        self.start = start
        self.end = end

    def max_timestamp(self):
        return self.end - 1

    def intersects(self, other):
        """Whether the windows overlap or touch."""
        return self.start <= other.end and self.end >= other.start

    def cover(self, other):
        """The smallest window containing both."""
        return TimeWindow(min(self.start, other.start), max(self.end, other.end))

    @staticmethod
    def get_window_start_with_offset(timestamp, offset, window_size):
        """The start of the window of ``window_size`` shifted by ``offset`` that holds
        ``timestamp``."""
        return timestamp - (timestamp - offset) % window_size

    def __eq__(self, other):
        return isinstance(other, TimeWindow) and (self.start, self.end) == (other.start, other.end)

    def __lt__(self, other):
        return (self.start, self.end) < (other.start, other.end)

    def __hash__(self):
        return hash((self.start, self.end))

    def __repr__(self):
        return f"TimeWindow(start={self.start}, end={self.end})"

    @staticmethod
    def merge_windows(windows, callback):
        """Merges the windows that overlap into the window covering them, as session windows
        merge: ``callback.merge(to_be_merged, merge_result)`` for each group of two or more."""
        merged = []
        for window in sorted(windows):
            if merged and merged[-1][0].intersects(window):
                cover, members = merged[-1]
                merged[-1] = (cover.cover(window), members + [window])
            else:
                merged.append((window, [window]))
        for cover, members in merged:
            if len(members) > 1:
                callback.merge(members, cover)


class CountWindow(Window):
    """The window number ``id`` of a key's count windows."""

    __slots__ = ("id",)

    def __init__(self, id):
        self.id = id

    def max_timestamp(self):
        return MAX_LONG_VALUE

    def __eq__(self, other):
        return isinstance(other, CountWindow) and self.id == other.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"CountWindow(id={self.id})"


class GlobalWindow(Window):
    """The one window of ``GlobalWindows``."""

    _instance = None

    @staticmethod
    def get():
        if GlobalWindow._instance is None:
            GlobalWindow._instance = GlobalWindow()
        return GlobalWindow._instance

    def max_timestamp(self):
        return MAX_LONG_VALUE

    def __eq__(self, other):
        return isinstance(other, GlobalWindow)

    def __hash__(self):
        return 0

    def __repr__(self):
        return "GlobalWindow"


class WindowAssigner:
    """Puts records into windows. The built-in assigners below run in the engine; a subclass
    written in Python implements ``assign_windows`` (returning ``TimeWindow``s),
    ``get_default_trigger`` and ``is_event_time``, and runs in the program's interpreter."""

    class WindowAssignerContext:
        """What ``assign_windows`` can ask: the current processing time."""

        def get_current_processing_time(self):
            raise NotImplementedError

        def get_runtime_context(self):
            raise NotImplementedError

    def assign_windows(self, element, timestamp, context):
        """The windows ``element`` (with event ``timestamp``, or ``MIN_LONG_VALUE`` when it has
        none) belongs to: a collection of ``TimeWindow``s."""
        raise NotImplementedError

    def get_default_trigger(self, env):
        """The trigger that fires the windows unless the program sets another."""
        raise NotImplementedError

    def is_event_time(self):
        raise NotImplementedError

    def get_window_serializer(self):
        """The ``TypeSerializer`` of the assigner's windows (``TimeWindow``s unless the assigner
        says otherwise). The engine keeps windows as Python objects; programs use this to write
        windows in Flink's layout."""
        return TimeWindowSerializer()

    def _native(self):
        if type(self).assign_windows is WindowAssigner.assign_windows:
            raise TypeError(f"{type(self).__name__} does not implement assign_windows(element, timestamp, context)")
        merging = isinstance(self, MergingWindowAssigner)
        return _native.WindowAssignerSpec.CUSTOM(cloudpickle.dumps(self), bool(self.is_event_time()), merging)


class MergingWindowAssigner(WindowAssigner):
    """An assigner whose windows of a key can merge (sessions): ``merge_windows`` reports each
    merge to the callback."""

    class MergeCallback:
        """Told of each merge: the windows merged and the window they became."""

        def merge(self, to_be_merged, merge_result):
            raise NotImplementedError

    def merge_windows(self, windows, callback):
        """Merges ``windows`` as the assigner's windows merge, calling ``callback.merge`` for each
        group that becomes one window (``TimeWindow.merge_windows`` merges overlapping ones)."""
        raise NotImplementedError


class _AssignerContext(WindowAssigner.WindowAssignerContext):
    """The engine's context of an ``assign_windows`` call."""

    __slots__ = ("_processing_time",)

    def __init__(self, processing_time):
        self._processing_time = processing_time

    def get_current_processing_time(self):
        return self._processing_time

    def get_runtime_context(self):
        raise RuntimeError(
            "a window assigner runs before any function of the window opens: it has no runtime context here"
        )


class _MergeGroups(MergingWindowAssigner.MergeCallback):
    """Collects the merges a Python ``merge_windows`` reports."""

    def __init__(self):
        self.groups = []

    def merge(self, to_be_merged, merge_result):
        self.groups.append((list(to_be_merged), merge_result))


class TumblingEventTimeWindows(WindowAssigner):
    """Fixed-size, non-overlapping windows by event time."""

    def __init__(self, size, offset=0):
        self._size = _millis(size, "the window size")
        self._offset = _millis(offset, "the window offset")
        if self._size <= 0:
            raise ValueError(f"tumbling windows need a size above 0 ms, not {self._size} ms")
        if abs(self._offset) >= self._size:
            raise ValueError("tumbling windows need |offset| < size")

    @staticmethod
    def of(size, offset=None):
        return TumblingEventTimeWindows(size, offset or 0)

    def is_event_time(self):
        return True

    def _native(self):
        return _native.WindowAssignerSpec.TUMBLING(self._size, self._offset, self.is_event_time())

    def __repr__(self):
        return f"TumblingEventTimeWindows({self._size}, {self._offset})"


class TumblingProcessingTimeWindows(TumblingEventTimeWindows):
    """Fixed-size, non-overlapping windows by the wall clock."""

    @staticmethod
    def of(size, offset=None):
        return TumblingProcessingTimeWindows(size, offset or 0)

    def is_event_time(self):
        return False

    def __repr__(self):
        return f"TumblingProcessingTimeWindows({self._size}, {self._offset})"


class SlidingEventTimeWindows(WindowAssigner):
    """Windows of ``size`` starting every ``slide``, by event time; they overlap when the
    slide is smaller than the size."""

    def __init__(self, size, slide, offset=0):
        self._size = _millis(size, "the window size")
        self._slide = _millis(slide, "the window slide")
        self._offset = _millis(offset, "the window offset")
        if self._size <= 0 or self._slide <= 0:
            raise ValueError(f"sliding windows need a size and slide above 0 ms, not {self._size} and {self._slide}")
        if abs(self._offset) >= self._slide:
            raise ValueError("sliding windows need |offset| < slide")

    @staticmethod
    def of(size, slide, offset=None):
        return SlidingEventTimeWindows(size, slide, offset or 0)

    def is_event_time(self):
        return True

    def _native(self):
        return _native.WindowAssignerSpec.SLIDING(self._size, self._slide, self._offset, self.is_event_time())

    def __repr__(self):
        return f"SlidingEventTimeWindows({self._size}, {self._slide}, {self._offset})"


class SlidingProcessingTimeWindows(SlidingEventTimeWindows):
    """Sliding windows by the wall clock."""

    @staticmethod
    def of(size, slide, offset=None):
        return SlidingProcessingTimeWindows(size, slide, offset or 0)

    def is_event_time(self):
        return False

    def __repr__(self):
        return f"SlidingProcessingTimeWindows({self._size}, {self._slide}, {self._offset})"


class SessionWindowTimeGapExtractor:
    """Computes the session gap after a record, in milliseconds."""

    def extract(self, element):
        raise NotImplementedError("SessionWindowTimeGapExtractor subclasses implement extract(element)")


def _gap_extractor(extractor):
    if isinstance(extractor, SessionWindowTimeGapExtractor):
        return extractor.extract
    if callable(extractor):
        return extractor
    raise TypeError(f"expected a SessionWindowTimeGapExtractor, got {type(extractor).__name__}")


class EventTimeSessionWindows(MergingWindowAssigner):
    """Sessions by event time: a key's window closes after a gap without records."""

    def __init__(self, gap):
        self._gap = _millis(gap, "the session gap")
        if self._gap <= 0:
            raise ValueError(f"session windows need a gap above 0 ms, not {self._gap} ms")

    @staticmethod
    def with_gap(size):
        return EventTimeSessionWindows(size)

    @staticmethod
    def with_dynamic_gap(extractor):
        return DynamicEventTimeSessionWindows(extractor)

    def is_event_time(self):
        return True

    def _native(self):
        return _native.WindowAssignerSpec.SESSION(self._gap, self.is_event_time())

    def __repr__(self):
        return f"EventTimeSessionWindows({self._gap})"


class ProcessingTimeSessionWindows(EventTimeSessionWindows):
    """Sessions by the wall clock."""

    @staticmethod
    def with_gap(size):
        return ProcessingTimeSessionWindows(size)

    @staticmethod
    def with_dynamic_gap(extractor):
        return DynamicProcessingTimeSessionWindows(extractor)

    def is_event_time(self):
        return False

    def __repr__(self):
        return f"ProcessingTimeSessionWindows({self._gap})"


class DynamicEventTimeSessionWindows(MergingWindowAssigner):
    """Sessions by event time whose gap an extractor computes from each record."""

    def __init__(self, extractor):
        self._extract = _gap_extractor(extractor)

    @staticmethod
    def with_dynamic_gap(extractor):
        return DynamicEventTimeSessionWindows(extractor)

    def is_event_time(self):
        return True

    def _native(self):
        import cloudpickle

        return _native.WindowAssignerSpec.DYNAMIC_SESSION(cloudpickle.dumps(self._extract), self.is_event_time())


class DynamicProcessingTimeSessionWindows(DynamicEventTimeSessionWindows):
    """Sessions by the wall clock whose gap an extractor computes from each record."""

    @staticmethod
    def with_dynamic_gap(extractor):
        return DynamicProcessingTimeSessionWindows(extractor)

    def is_event_time(self):
        return False


class GlobalWindows(WindowAssigner):
    """One window per key holding all its records; it fires only by a trigger set on it."""

    @staticmethod
    def create():
        return GlobalWindows()

    def is_event_time(self):
        return False

    def _native(self):
        return _native.WindowAssignerSpec.GLOBAL()

    def get_window_serializer(self):
        return GlobalWindowSerializer()

    def __repr__(self):
        return "GlobalWindows()"


class CountTumblingWindowAssigner(WindowAssigner):
    """Windows of ``window_size`` records of a key, one after another."""

    def __init__(self, window_size):
        if window_size <= 0:
            raise ValueError(f"count windows need a size above 0, not {window_size}")
        self._size = window_size

    @staticmethod
    def of(window_size):
        return CountTumblingWindowAssigner(window_size)

    def is_event_time(self):
        return False

    def _native(self):
        return _native.WindowAssignerSpec.COUNT(self._size, self._size)

    def get_window_serializer(self):
        return CountWindowSerializer()

    def __repr__(self):
        return f"CountTumblingWindowAssigner({self._size})"


class CountSlidingWindowAssigner(WindowAssigner):
    """Windows of ``window_size`` records of a key, one starting every ``window_slide``."""

    def __init__(self, window_size, window_slide):
        if window_size <= 0 or window_slide <= 0:
            raise ValueError(f"count windows need a size and slide above 0, not {window_size} and {window_slide}")
        self._size = window_size
        self._slide = window_slide

    @staticmethod
    def of(window_size, window_slide):
        return CountSlidingWindowAssigner(window_size, window_slide)

    def is_event_time(self):
        return False

    def _native(self):
        return _native.WindowAssignerSpec.COUNT(self._size, self._slide)

    def get_window_serializer(self):
        return CountWindowSerializer()

    def __repr__(self):
        return f"CountSlidingWindowAssigner({self._size}, {self._slide})"


class TriggerResult(Enum):
    """What a trigger decides for a window: whether it fires (is evaluated) and whether its
    contents are purged."""

    CONTINUE = (False, False)
    FIRE_AND_PURGE = (True, True)
    FIRE = (True, False)
    PURGE = (False, True)

    def is_fire(self):
        return self.value[0]

    def is_purge(self):
        return self.value[1]


class Trigger:
    """Decides when a window fires. The built-in triggers below run in the engine; a subclass
    written in Python implements ``on_element``, ``on_event_time``, ``on_processing_time`` and
    ``clear`` (with ``can_merge`` and ``on_merge`` for merging windows), keeps its state with
    ``ctx.get_partitioned_state`` (per key and window, checkpointed), and runs in the
    program's interpreter."""

    class TriggerContext:
        """What a trigger can do for the window it is called for: time, timers, state."""

        def get_current_processing_time(self):
            raise NotImplementedError

        def get_metric_group(self):
            raise NotImplementedError

        def get_current_watermark(self):
            raise NotImplementedError

        def register_processing_time_timer(self, time):
            raise NotImplementedError

        def register_event_time_timer(self, time):
            raise NotImplementedError

        def delete_processing_time_timer(self, time):
            raise NotImplementedError

        def delete_event_time_timer(self, time):
            raise NotImplementedError

        def get_partitioned_state(self, state_descriptor):
            raise NotImplementedError

    class OnMergeContext(TriggerContext):
        """The context of ``on_merge``: also merges the merged windows' states."""

        def merge_partitioned_state(self, state_descriptor):
            raise NotImplementedError

    def on_element(self, element, timestamp, window, ctx):
        """Called for each record added to ``window``; returns a ``TriggerResult``."""
        raise NotImplementedError

    def on_processing_time(self, time, window, ctx):
        """Called when a processing-time timer of ``window`` fires."""
        raise NotImplementedError

    def on_event_time(self, time, window, ctx):
        """Called when an event-time timer of ``window`` fires."""
        raise NotImplementedError

    def can_merge(self):
        """Whether the trigger works with merging windows (``on_merge``)."""
        return False

    def on_merge(self, window, ctx):
        """Called when windows merged into ``window``: set its timers, merge its state."""
        raise NotImplementedError(f"{type(self).__name__} does not support merging windows")

    def clear(self, window, ctx):
        """Called when ``window`` is removed: delete its timers and state."""
        raise NotImplementedError

    def _native(self):
        if type(self).on_element is Trigger.on_element:
            raise TypeError(
                f"{type(self).__name__} does not implement on_element(element, timestamp, window, ctx)"
            )
        return _native.TriggerSpec.CUSTOM(cloudpickle.dumps(self), bool(self.can_merge()))


class EventTimeTrigger(Trigger):
    """Fires when the watermark passes the window's end, and again for each late record within
    the allowed lateness."""

    @staticmethod
    def create():
        return EventTimeTrigger()

    def _native(self):
        return _native.TriggerSpec.EVENT_TIME()

    def can_merge(self):
        return True


class ProcessingTimeTrigger(Trigger):
    """Fires when the wall clock passes the window's end."""

    @staticmethod
    def create():
        return ProcessingTimeTrigger()

    def _native(self):
        return _native.TriggerSpec.PROCESSING_TIME()

    def can_merge(self):
        return True


class CountTrigger(Trigger):
    """Fires every ``window_size`` records of a window."""

    def __init__(self, window_size):
        if window_size <= 0:
            raise ValueError(f"CountTrigger needs a count above 0, not {window_size}")
        self._count = window_size

    @staticmethod
    def of(window_size):
        return CountTrigger(window_size)

    def _native(self):
        return _native.TriggerSpec.COUNT(self._count)

    def can_merge(self):
        return True


class PurgingTrigger(Trigger):
    """Purges the window whenever the nested trigger fires it."""

    def __init__(self, nested_trigger):
        if not isinstance(nested_trigger, Trigger):
            raise TypeError(f"PurgingTrigger.of() takes a trigger, not {type(nested_trigger).__name__}")
        self._nested = nested_trigger

    @staticmethod
    def of(nested_trigger):
        return PurgingTrigger(nested_trigger)

    def _native(self):
        return _native.TriggerSpec.PURGING([self._nested._native()])

    def can_merge(self):
        return self._nested.can_merge()


class NeverTrigger(Trigger):
    """Never fires."""

    @staticmethod
    def create():
        return NeverTrigger()

    def _native(self):
        return _native.TriggerSpec.NEVER()

    def can_merge(self):
        return True


class Evictor:
    """Removes records from a window when it fires, before or after its function runs
    (``WindowedStream.evictor``). PyFlink's Python API has none; these are Flink's. A window with
    an evictor keeps all its records, also under ``reduce`` and ``aggregate``, which then fold
    what the evictor leaves."""

    def __init__(self, spec):
        self._spec = spec

    def _native(self):
        return self._spec


class CountEvictor(Evictor):
    """Keeps a window's newest ``max_count`` records."""

    @staticmethod
    def of(max_count, do_evict_after=False):
        if int(max_count) <= 0:
            raise ValueError(f"a CountEvictor keeps a positive number of records, not {max_count}")
        return CountEvictor(_native.EvictorSpec.COUNT(int(max_count), bool(do_evict_after)))


class TimeEvictor(Evictor):
    """Keeps a window's records within ``window_size`` (a ``Time``, ``Duration`` or
    milliseconds) of its newest record's timestamp."""

    @staticmethod
    def of(window_size, do_evict_after=False):
        millis = window_size.to_milliseconds() if hasattr(window_size, "to_milliseconds") else int(window_size)
        if millis < 0:
            raise ValueError(f"a TimeEvictor keeps a span of time that is not negative, not {millis} ms")
        return TimeEvictor(_native.EvictorSpec.TIME(millis, bool(do_evict_after)))


__all__ = [
    "ContinuousEventTimeTrigger",
    "CountEvictor",
    "ContinuousProcessingTimeTrigger",
    "CountSlidingWindowAssigner",
    "CountTrigger",
    "CountTumblingWindowAssigner",
    "CountWindow",
    "CountWindowSerializer",
    "DynamicEventTimeSessionWindows",
    "DynamicProcessingTimeSessionWindows",
    "EventTimeSessionWindows",
    "EventTimeTrigger",
    "Evictor",
    "GlobalWindow",
    "GlobalWindowSerializer",
    "GlobalWindows",
    "MergingWindowAssigner",
    "NeverTrigger",
    "ProcessingTimeSessionWindows",
    "ProcessingTimeTrigger",
    "PurgingTrigger",
    "SessionWindowTimeGapExtractor",
    "SlidingEventTimeWindows",
    "SlidingProcessingTimeWindows",
    "TimeEvictor",
    "TimeWindow",
    "TimeWindowSerializer",
    "Trigger",
    "TriggerResult",
    "TumblingEventTimeWindows",
    "TumblingProcessingTimeWindows",
    "Window",
    "WindowAssigner",
]


# The continuous triggers and the serializers build on the classes above, so they are imported
# last.
from pyflink_rs.datastream.continuous_triggers import (  # noqa: E402
    ContinuousEventTimeTrigger,
    ContinuousProcessingTimeTrigger,
)
from pyflink_rs.datastream.window_serializers import (  # noqa: E402
    CountWindowSerializer,
    GlobalWindowSerializer,
    TimeWindowSerializer,
)
