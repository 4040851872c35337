"""PyFlink's retry strategies of async I/O (``AsyncDataStream.*_with_retry``): how often and
after how long an ``async_invoke`` is attempted again when its result or its exception says so."""

from pyflink_rs.datastream.functions import AsyncRetryPredicate, AsyncRetryStrategy


class RetryPredicate(AsyncRetryPredicate):
    """The result and exception predicates of a strategy."""

    def __init__(self, result_predicate, exception_predicate):
        self._result_predicate = result_predicate
        self._exception_predicate = exception_predicate

    def result_predicate(self):
        return self._result_predicate

    def exception_predicate(self):
        return self._exception_predicate


class NoRetryStrategy(AsyncRetryStrategy):
    """Never retry."""

    def can_retry(self, current_attempts):
        return False

    def get_backoff_time_millis(self, current_attempts):
        return -1

    def get_retry_predicate(self):
        return RetryPredicate(None, None)


class FixedDelayRetryStrategy(AsyncRetryStrategy):
    """Up to ``max_attempts`` retries, ``backoff_time_millis`` apart."""

    def __init__(self, max_attempts, backoff_time_millis, result_predicate=None, exception_predicate=None):
        if max_attempts <= 0:
            raise ValueError("max_attempts should be greater than zero.")
        if backoff_time_millis <= 0:
            raise ValueError("backoff_time_millis should be greater than zero.")
        self._max_attempts = max_attempts
        self._backoff_time_millis = backoff_time_millis
        self._predicate = RetryPredicate(result_predicate, exception_predicate)

    def can_retry(self, current_attempts):
        return current_attempts <= self._max_attempts

    def get_backoff_time_millis(self, current_attempts):
        return self._backoff_time_millis

    def get_retry_predicate(self):
        return self._predicate


class ExponentialBackoffDelayRetryStrategy(AsyncRetryStrategy):
    """Up to ``max_attempts`` retries, waiting ``initial_delay`` and then ``multiplier`` times
    longer each time, at most ``max_retry_delay`` (milliseconds)."""

    def __init__(self, max_attempts, initial_delay, max_retry_delay, multiplier, result_predicate=None,
                 exception_predicate=None):
        for name, value in (("max_attempts", max_attempts), ("initial_delay", initial_delay),
                            ("max_retry_delay", max_retry_delay), ("multiplier", multiplier)):
            if value <= 0:
                raise ValueError(f"{name} should be greater than zero.")
        self._max_attempts = max_attempts
        self._initial_delay = initial_delay
        self._max_retry_delay = max_retry_delay
        self._multiplier = multiplier
        self._predicate = RetryPredicate(result_predicate, exception_predicate)

    def can_retry(self, current_attempts):
        return current_attempts <= self._max_attempts

    def get_backoff_time_millis(self, current_attempts):
        """The wait before attempt ``current_attempts + 1``: ``initial_delay`` times
        ``multiplier`` for each earlier retry, at most ``max_retry_delay``."""
        delay = self._initial_delay * self._multiplier ** max(0, current_attempts - 1)
        return int(min(delay, self._max_retry_delay))

    def get_retry_predicate(self):
        return self._predicate


NO_RETRY_STRATEGY = NoRetryStrategy()
