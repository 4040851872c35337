"""The function classes of PyFlink. A transformation takes either one of these or a plain
callable (a lambda or a function)."""

import cloudpickle


class Function:
    """The base of the function classes."""

    def open(self, runtime_context):
        """Called once per parallel instance before the first record."""

    def close(self):
        """Called once per parallel instance after the last record."""


class MapFunction(Function):
    """Maps each record to one new record."""

    def map(self, value):
        raise NotImplementedError("MapFunction subclasses implement map(value)")


class FlatMapFunction(Function):
    """Maps each record to any number of records: ``flat_map`` returns or yields them."""

    def flat_map(self, value):
        raise NotImplementedError("FlatMapFunction subclasses implement flat_map(value)")


class FilterFunction(Function):
    """Keeps the records for which ``filter`` returns a true value."""

    def filter(self, value):
        raise NotImplementedError("FilterFunction subclasses implement filter(value)")


class ReduceFunction(Function):
    """Combines two records of one key into one."""

    def reduce(self, value1, value2):
        raise NotImplementedError("ReduceFunction subclasses implement reduce(value1, value2)")


class KeySelector(Function):
    """Selects the key of a record."""

    def get_key(self, value):
        raise NotImplementedError("KeySelector subclasses implement get_key(value)")


def pickled_callable(function, function_class, method):
    """The cloudpickled callable for ``function``: its ``method`` if it is an instance of
    ``function_class``, else ``function`` itself, which must be callable."""
    if isinstance(function, function_class):
        target = getattr(function, method)
    elif callable(function):
        target = function
    else:
        raise TypeError(
            f"expected a {function_class.__name__} or a callable, got {type(function).__name__}"
        )
    return cloudpickle.dumps(target)
