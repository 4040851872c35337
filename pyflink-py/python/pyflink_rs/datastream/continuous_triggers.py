"""The periodic triggers of ``pyflink_rs.datastream.window``: ``ContinuousEventTimeTrigger`` and
``ContinuousProcessingTimeTrigger`` fire a window every interval while it is open. The engine
runs them itself; their Python methods are what a subclass overrides or builds on
(``register_next_fire_timestamp``, as in PyFlink), and a subclass that changes any of them runs
as Python code, with the same results."""

from pyflink_rs import _native
from pyflink_rs.datastream.state import ReducingStateDescriptor
from pyflink_rs.datastream.window import Trigger, TriggerResult, _millis

_TRIGGER_METHODS = (
    "on_element", "on_event_time", "on_processing_time", "on_merge", "clear", "register_next_fire_timestamp"
)


class _ContinuousTrigger(Trigger):
    """Each window keeps its next firing time in the partitioned reducing state ``fire-time``
    (the minimum of what was added) and a timer for it, in event time or processing time."""

    # The engine's trigger, and whether the timers are in event time.
    _KIND = ""
    _EVENT_TIME = True

    def __init__(self, interval):
        self._interval = _millis(interval, "the interval")
        if self._interval <= 0:
            raise ValueError(f"{type(self).__name__} needs an interval above 0 ms, not {self._interval} ms")
        self.state_desc = ReducingStateDescriptor("fire-time", min)

    @property
    def interval(self):
        """The firing interval in milliseconds."""
        return self._interval

    def can_merge(self):
        return True

    def clear(self, window, ctx):
        fire_time = ctx.get_partitioned_state(self.state_desc)
        timestamp = fire_time.get()
        if timestamp is not None:
            if self._EVENT_TIME:
                ctx.delete_event_time_timer(timestamp)
            else:
                ctx.delete_processing_time_timer(timestamp)
            fire_time.clear()

    def on_merge(self, window, ctx):
        ctx.merge_partitioned_state(self.state_desc)
        next_fire = ctx.get_partitioned_state(self.state_desc).get()
        if next_fire is not None:
            self._register_timer(ctx, next_fire)

    def register_next_fire_timestamp(self, time, window, ctx, fire_timestamp_state):
        """Adds the next firing time after ``time`` (one interval later, but not past the window's
        last millisecond) to ``fire_timestamp_state`` and sets a timer for it."""
        next_fire = min(time + self._interval, window.max_timestamp())
        fire_timestamp_state.add(next_fire)
        self._register_timer(ctx, next_fire)

    def _register_timer(self, ctx, time):
        if self._EVENT_TIME:
            ctx.register_event_time_timer(time)
        else:
            ctx.register_processing_time_timer(time)

    def _fire_if_due(self, time, window, ctx):
        fire_time = ctx.get_partitioned_state(self.state_desc)
        if fire_time.get() == time:
            fire_time.clear()
            self.register_next_fire_timestamp(time, window, ctx, fire_time)
            return TriggerResult.FIRE
        return TriggerResult.CONTINUE

    def _start(self, now, window, ctx):
        """Sets the first firing time of a window from ``now``, aligned to the interval."""
        fire_time = ctx.get_partitioned_state(self.state_desc)
        if fire_time.get() is None:
            self.register_next_fire_timestamp(now - now % self._interval, window, ctx, fire_time)

    def _native(self):
        built_in = next(c for c in type(self).__mro__ if c in _BUILT_IN)
        if any(getattr(type(self), name) is not getattr(built_in, name) for name in _TRIGGER_METHODS):
            return Trigger._native(self)
        return getattr(_native.TriggerSpec, self._KIND)(self._interval)


class ContinuousEventTimeTrigger(_ContinuousTrigger):
    """Fires every ``interval`` of event time while the window is open, and at its end."""

    _KIND = "CONTINUOUS_EVENT_TIME"

    @staticmethod
    def of(interval):
        return ContinuousEventTimeTrigger(interval)

    def on_element(self, element, timestamp, window, ctx):
        if window.max_timestamp() <= ctx.get_current_watermark():
            return TriggerResult.FIRE
        ctx.register_event_time_timer(window.max_timestamp())
        self._start(timestamp, window, ctx)
        return TriggerResult.CONTINUE

    def on_event_time(self, time, window, ctx):
        if time == window.max_timestamp():
            return TriggerResult.FIRE
        return self._fire_if_due(time, window, ctx)

    def on_processing_time(self, time, window, ctx):
        return TriggerResult.CONTINUE


class ContinuousProcessingTimeTrigger(_ContinuousTrigger):
    """Fires every ``interval`` of processing time while the window has records."""

    _KIND = "CONTINUOUS_PROCESSING_TIME"
    _EVENT_TIME = False

    @staticmethod
    def of(interval):
        return ContinuousProcessingTimeTrigger(interval)

    def on_element(self, element, timestamp, window, ctx):
        self._start(ctx.get_current_processing_time(), window, ctx)
        return TriggerResult.CONTINUE

    def on_event_time(self, time, window, ctx):
        return TriggerResult.CONTINUE

    def on_processing_time(self, time, window, ctx):
        return self._fire_if_due(time, window, ctx)


_BUILT_IN = (ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger)
