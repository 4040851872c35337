"""How a job ended (PyFlink's ``JobExecutionResult``)."""

from pyflink_rs import _native
from pyflink_rs.common.job_id import JobID


class JobExecutionResult:
    """The result of ``env.execute()``: the job's name, how long it ran, and its operators'
    metrics when it ended."""

    def __init__(self, native_result):
        self._job_id = JobID(native_result.job_id)
        self._job_name = native_result.job_name
        self._net_runtime = native_result.net_runtime_ms
        self._metrics = {name: _metric_value(value) for name, value in native_result.metrics.items()}

    def get_job_id(self):
        """The job's ``JobID``, the one its ``JobClient`` has."""
        return self._job_id

    def get_job_name(self):
        return self._job_name

    def get_net_runtime(self):
        """How long the job ran, in milliseconds."""
        return self._net_runtime

    def get_accumulator_result(self, accumulator_name):
        """Accumulators are not supported; metrics take their place (``get_metrics``)."""
        return None

    def get_all_accumulator_results(self):
        return {}

    def get_metrics(self):
        """The operators' metrics by identifier (operator name, instance index, groups and
        metric name joined by dots): an ``int`` for a counter, a ``float`` for a gauge, a dict
        for a meter (``count``, ``rate``) or a distribution (``count``, ``sum``, ``min``,
        ``max``)."""
        return dict(self._metrics)

    def __repr__(self):
        return f"JobExecutionResult(job_name={self._job_name!r}, net_runtime={self._net_runtime} ms)"


def _metric_value(value):
    if isinstance(value, _native.MetricSnapshot.COUNTER):
        return value.count
    if isinstance(value, _native.MetricSnapshot.GAUGE):
        return value.value
    if isinstance(value, _native.MetricSnapshot.METER):
        return {"count": value.count, "rate": value.rate}
    return {"count": value.count, "sum": value.sum, "min": value.min, "max": value.max}
