"""Metrics in a process-mode worker: counters, meters, distributions and gauges that record
their changes, which the worker reports to the engine with each answer (the engine keeps the
totals, as it does for thread-mode metrics; a counter here counts what its worker counted)."""


class _Counter:
    def __init__(self):
        self._count = 0
        self._reported = 0

    def inc(self, n=1):
        self._count += n

    def dec(self, n=1):
        self._count -= n

    def get_count(self):
        """The count of this worker's operator instance."""
        return self._count

    def _drain(self):
        delta, self._reported = self._count - self._reported, self._count
        return [delta] if delta else None


class _Meter:
    def __init__(self, time_span_in_seconds):
        self._span = time_span_in_seconds
        self._count = 0
        self._reported = 0

    def mark_event(self, value=1):
        self._count += value

    def get_count(self):
        """The events of this worker's operator instance."""
        return self._count

    def _drain(self):
        delta, self._reported = self._count - self._reported, self._count
        return [delta, self._span] if delta else None


class _Distribution:
    def __init__(self):
        self._values = None

    def update(self, value):
        if self._values is None:
            self._values = [1, value, value, value]
        else:
            values = self._values
            values[0] += 1
            values[1] += value
            values[2] = min(values[2], value)
            values[3] = max(values[3], value)

    def _drain(self):
        values, self._values = self._values, None
        return values


class _Gauge:
    def __init__(self, function):
        self._function = function

    def _drain(self):
        return [float(self._function())]


class MetricGroup:
    """A worker's metric group: its metrics' changes go to the engine with each answer."""

    def __init__(self, metrics, groups=()):
        self._metrics = metrics
        self._groups = list(groups)

    def add_group(self, name, extra=None):
        groups = self._groups + [name] + ([extra] if extra is not None else [])
        return MetricGroup(self._metrics, groups)

    def _metric(self, name, kind, make):
        key = (tuple(self._groups), name, kind)
        if key not in self._metrics:
            self._metrics[key] = make()
        return self._metrics[key]

    def counter(self, name):
        return self._metric(name, "counter", _Counter)

    def gauge(self, name, obj):
        self._metrics[(tuple(self._groups), name, "gauge")] = _Gauge(obj)

    def meter(self, name, time_span_in_seconds=60):
        return self._metric(name, "meter", lambda: _Meter(time_span_in_seconds))

    def distribution(self, name):
        return self._metric(name, "distribution", _Distribution)


def metric_updates(metrics):
    """The changes of every metric since the last call: ``(groups, name, kind, values)``."""
    updates = []
    for (groups, name, kind), metric in metrics.items():
        values = metric._drain()
        if values is not None:
            updates.append((list(groups), name, kind, [float(v) for v in values]))
    return updates
