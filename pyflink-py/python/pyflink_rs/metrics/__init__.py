"""Metrics of Python functions (PyFlink's ``pyflink.metrics``). A function registers them in
``open()`` through ``runtime_context.get_metrics_group()``; the engine keeps them with the
operator instance, and ``env.execute()`` returns their final values in its
``JobExecutionResult.get_metrics()``. These classes name the interface; the objects a metric
group returns implement it."""


class MetricGroup:
    """Where a function registers metrics: ``counter``, ``gauge``, ``meter`` and
    ``distribution``, and ``add_group(name, extra=None)`` for a nested group."""

    def add_group(self, name, extra=None):
        raise NotImplementedError

    def counter(self, name):
        raise NotImplementedError

    def gauge(self, name, obj):
        """``obj`` is a callable returning a number, called when the metric is read."""
        raise NotImplementedError

    def meter(self, name, time_span_in_seconds=60):
        raise NotImplementedError

    def distribution(self, name):
        raise NotImplementedError


class Counter:
    """``inc(n=1)``, ``dec(n=1)``, ``get_count()``."""


class Meter:
    """``mark_event(value=1)``, ``get_count()``; the engine reports the rate per second."""


class Distribution:
    """``update(value)``; the engine reports the count, sum, min and max of the values."""


__all__ = ["Counter", "Distribution", "Meter", "MetricGroup"]
