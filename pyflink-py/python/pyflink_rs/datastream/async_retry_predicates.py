"""PyFlink's predicates for async retry strategies: when a result or an exception calls for
another attempt."""


def empty_result_predicate(result):
    """Retry when the result is empty."""
    return result is None or len(result) == 0


def has_exception_predicate(error):
    """Retry on any exception."""
    return error is not None


def exception_type_predicate(error, expected_error_type):
    """Retry on exceptions of ``expected_error_type`` (bind it with ``functools.partial``)."""
    return isinstance(error, expected_error_type)
