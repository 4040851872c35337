"""Durations and times (PyFlink's ``Duration`` and ``Time``), in milliseconds."""

from datetime import timedelta


def milliseconds_of(value, what):
    """Milliseconds of ``value``, which PyFlink's calls take in several forms: a ``Duration`` or
    ``Time``, a ``timedelta``, or a number of milliseconds (a float is cut to whole ones); a
    ``TypeError`` naming ``what`` for anything else."""
    if hasattr(value, "to_milliseconds"):
        return value.to_milliseconds()
    if isinstance(value, timedelta):
        return int(value / timedelta(milliseconds=1))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{what} must be a Duration, a timedelta or milliseconds (an int), not {type(value).__name__}"
        )
    return int(value)


class Duration:
    """A length of time, kept in milliseconds."""

    def __init__(self, millis):
        self._millis = int(millis)

    @staticmethod
    def of_millis(millis):
        return Duration(millis)

    @staticmethod
    def of_seconds(seconds):
        return Duration(seconds * 1000)

    @staticmethod
    def of_minutes(minutes):
        return Duration(minutes * 60_000)

    @staticmethod
    def of_hours(hours):
        return Duration(hours * 3_600_000)

    @staticmethod
    def of_days(days):
        return Duration(days * 86_400_000)

    @staticmethod
    def of_nanos(nanos):
        return Duration(nanos // 1_000_000)

    def to_milliseconds(self):
        """The duration in milliseconds."""
        return self._millis

    def __eq__(self, other):
        return isinstance(other, Duration) and self._millis == other._millis

    def __hash__(self):
        return hash(self._millis)

    def __repr__(self):
        return f"Duration.of_millis({self._millis})"


class Time(Duration):
    """A length of time for windows and state TTL (PyFlink's ``Time``)."""

    @staticmethod
    def milliseconds(milliseconds):
        return Time(milliseconds)

    @staticmethod
    def seconds(seconds):
        return Time(seconds * 1000)

    @staticmethod
    def minutes(minutes):
        return Time(minutes * 60_000)

    @staticmethod
    def hours(hours):
        return Time(hours * 3_600_000)

    @staticmethod
    def days(days):
        return Time(days * 86_400_000)

    def __repr__(self):
        return f"Time.milliseconds({self._millis})"


class Instant:
    """A point on the time line: seconds and nanoseconds since the epoch (PyFlink's
    ``Instant``, the values of ``Types.INSTANT()``)."""

    def __init__(self, seconds, nanos):
        self.seconds = int(seconds)
        self.nanos = int(nanos)

    @staticmethod
    def of_epoch_milli(epoch_milli):
        return Instant(epoch_milli // 1000, (epoch_milli % 1000) * 1_000_000)

    @staticmethod
    def of_epoch_second(epoch_second, nano_adjustment=0):
        return Instant(epoch_second + nano_adjustment // 1_000_000_000, nano_adjustment % 1_000_000_000)

    def to_epoch_milli(self):
        """The instant in milliseconds since the epoch."""
        return self.seconds * 1000 + self.nanos // 1_000_000

    def __eq__(self, other):
        return isinstance(other, Instant) and (self.seconds, self.nanos) == (other.seconds, other.nanos)

    def __lt__(self, other):
        return (self.seconds, self.nanos) < (other.seconds, other.nanos)

    def __hash__(self):
        return hash((self.seconds, self.nanos))

    def __repr__(self):
        return f"Instant<{self.seconds}, {self.nanos}>"
