"""PyFlink's ``RestartStrategies``: whether and when a failed job restarts from its latest
checkpoint. Each configuration is a set of Flink's ``restart-strategy.*`` options, which the
engine reads when the job starts (``StreamExecutionEnvironment.set_restart_strategy``)."""

from abc import ABC, abstractmethod
from datetime import timedelta

from pyflink_rs.common.configuration import DescribedByOptions, duration_millis
from pyflink_rs.common.time import milliseconds_of

# The options a restart strategy sets; set_restart_strategy unsets the others.
RESTART_OPTIONS = (
    "restart-strategy.type",
    "restart-strategy.fixed-delay.attempts",
    "restart-strategy.fixed-delay.delay",
    "restart-strategy.failure-rate.max-failures-per-interval",
    "restart-strategy.failure-rate.failure-rate-interval",
    "restart-strategy.failure-rate.delay",
)


def _millis(value, what):
    """Milliseconds of ``value`` (see ``milliseconds_of``), which must not be negative."""
    millis = milliseconds_of(value, what)
    if millis < 0:
        raise ValueError(f"{what} must not be negative, not {millis}")
    return millis


class RestartStrategyConfiguration(DescribedByOptions, ABC):
    """A restart strategy, as the ``restart-strategy.*`` options it sets."""

    @abstractmethod
    def get_description(self):
        """A sentence saying how the job restarts."""

    def __repr__(self):
        return f"{type(self).__name__}({self.get_description()})"


class RestartStrategies:
    """The restart strategies a job can be given."""

    class NoRestartStrategyConfiguration(RestartStrategyConfiguration):
        """The first failure fails the job."""

        def get_description(self):
            return "Restart deactivated."

        def _options(self):
            return {"restart-strategy.type": "none"}

    class FixedDelayRestartStrategyConfiguration(RestartStrategyConfiguration):
        """Up to ``restart_attempts`` restarts, each after the same wait."""

        def __init__(self, restart_attempts, delay_between_attempts_interval):
            if int(restart_attempts) < 0:
                raise ValueError(f"restart attempts must not be negative, not {restart_attempts}")
            self._attempts = int(restart_attempts)
            self._delay = _millis(delay_between_attempts_interval, "the delay between restart attempts")

        def get_restart_attempts(self):
            return self._attempts

        def get_delay_between_attempts_interval(self):
            return timedelta(milliseconds=self._delay)

        def get_description(self):
            return f"Restart with fixed delay ({self._delay} ms). #{self._attempts} restart attempts."

        def _options(self):
            return {
                "restart-strategy.type": "fixed-delay",
                "restart-strategy.fixed-delay.attempts": str(self._attempts),
                "restart-strategy.fixed-delay.delay": f"{self._delay} ms",
            }

    class FailureRateRestartStrategyConfiguration(RestartStrategyConfiguration):
        """Restarts after a wait, until ``max_failure_rate`` failures happen within
        ``failure_interval``: that failure fails the job."""

        def __init__(self, max_failure_rate, failure_interval, delay_between_attempts_interval):
            if int(max_failure_rate) < 1:
                raise ValueError(f"the failure rate must be at least 1, not {max_failure_rate}")
            self._rate = int(max_failure_rate)
            self._interval = _millis(failure_interval, "the failure interval")
            self._delay = _millis(delay_between_attempts_interval, "the delay between restart attempts")

        def get_max_failure_rate(self):
            return self._rate

        def get_failure_interval(self):
            return timedelta(milliseconds=self._interval)

        def get_delay_between_attempts_interval(self):
            return timedelta(milliseconds=self._delay)

        def get_description(self):
            return (
                f"Failure rate restart with maximum of {self._rate} failures within interval "
                f"{self._interval} ms and fixed delay {self._delay} ms."
            )

        def _options(self):
            return {
                "restart-strategy.type": "failure-rate",
                "restart-strategy.failure-rate.max-failures-per-interval": str(self._rate),
                "restart-strategy.failure-rate.failure-rate-interval": f"{self._interval} ms",
                "restart-strategy.failure-rate.delay": f"{self._delay} ms",
            }

    class FallbackRestartStrategyConfiguration(RestartStrategyConfiguration):
        """The default: exponential delay with checkpointing on, no restart without."""

        def get_description(self):
            return "Cluster level default restart strategy"

        def _options(self):
            return {}

    @staticmethod
    def no_restart():
        """Never restart."""
        return RestartStrategies.NoRestartStrategyConfiguration()

    @staticmethod
    def fall_back_restart():
        """Whatever the configuration's default is."""
        return RestartStrategies.FallbackRestartStrategyConfiguration()

    @staticmethod
    def fixed_delay_restart(restart_attempts, delay_between_attempts):
        """Up to ``restart_attempts`` restarts, ``delay_between_attempts`` (milliseconds or a
        ``timedelta``) apart."""
        return RestartStrategies.FixedDelayRestartStrategyConfiguration(restart_attempts, delay_between_attempts)

    @staticmethod
    def failure_rate_restart(failure_rate, failure_interval, delay_interval):
        """Restarts ``delay_interval`` apart until ``failure_rate`` failures happen within
        ``failure_interval`` (both milliseconds or ``timedelta``)."""
        return RestartStrategies.FailureRateRestartStrategyConfiguration(failure_rate, failure_interval, delay_interval)


def _from_options(options):
    """The strategy the options describe (``get_restart_strategy``)."""
    kind = options.get("restart-strategy.type", "").strip().lower().replace("_", "-")
    if kind in ("none", "off", "disable"):
        return RestartStrategies.no_restart()
    if kind in ("fixed-delay", "fixeddelay"):
        return RestartStrategies.fixed_delay_restart(
            int(options.get("restart-strategy.fixed-delay.attempts", "1")),
            duration_millis(options.get("restart-strategy.fixed-delay.delay", "1 s")),
        )
    if kind in ("failure-rate", "failurerate"):
        return RestartStrategies.failure_rate_restart(
            int(options.get("restart-strategy.failure-rate.max-failures-per-interval", "1")),
            duration_millis(options.get("restart-strategy.failure-rate.failure-rate-interval", "1 min")),
            duration_millis(options.get("restart-strategy.failure-rate.delay", "1 s")),
        )
    return RestartStrategies.fall_back_restart()
