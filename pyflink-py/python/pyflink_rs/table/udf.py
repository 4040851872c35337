"""``pyflink.table.udf`` on pyflink-rs: Python scalar functions for SQL and the Table API.

``@udf(result_type=...)`` on a function (or ``udf(ScalarFunction(), result_type=...)``) gives a
function to call on columns in the Table API (``f(col('x'))``) or to register by name for SQL
(``t_env.create_temporary_function('f', f)``). The engine calls it on each row, in the job's
worker threads (thread mode)."""

import functools
import itertools

import cloudpickle

from pyflink_rs.table.expressions import Expression, _expression_or_literal
from pyflink_rs.table.types import DataType

_inline_names = itertools.count()
# Functions called in the Table API without being registered, by the name their expressions use;
# a table environment registers those its expressions name before it plans them.
_INLINE = {}


class FunctionContext:
    """What a function's ``open`` is given."""

    def __init__(self, job_parameters=None):
        self._job_parameters = dict(job_parameters or {})

    def get_metric_group(self):
        raise NotImplementedError("metrics of Python functions in SQL and the Table API are not available yet; "
                                  "DataStream functions have them")

    def get_job_parameter(self, key, default_value):
        return self._job_parameters.get(key, default_value)


class UserDefinedFunction:
    """A function of the user's, with a life cycle: ``open`` before the first call, ``close``
    after the last."""

    def open(self, function_context):
        pass

    def close(self):
        pass

    def is_deterministic(self):
        return True


class ScalarFunction(UserDefinedFunction):
    """A scalar function: ``eval(*args)`` gives one value per row."""

    def eval(self, *args):
        raise NotImplementedError("a ScalarFunction defines eval(self, *args)")


class _FunctionCall:
    """What the engine calls: the function, or a ``ScalarFunction``'s or ``TableFunction``'s
    ``eval`` once it is open."""

    def __init__(self, function):
        self._function = function
        self._opened = False

    def __call__(self, *args):
        if isinstance(self._function, (ScalarFunction, TableFunction)):
            if not self._opened:
                self._function.open(FunctionContext())
                self._opened = True
            return self._function.eval(*args)
        return self._function(*args)


def _sql_type(data_type):
    """A result type (a ``DataType`` or its name, as PyFlink takes it) as Flink SQL text."""
    if isinstance(data_type, DataType):
        return repr(data_type)
    if isinstance(data_type, str):
        return data_type.upper()
    raise TypeError(f"result_type must be a DataType (such as DataTypes.STRING()) or its name, not {data_type!r}")


class UserDefinedScalarFunctionWrapper:
    """A Python scalar function, ready to call on columns or to register by name."""

    def __init__(self, func, input_types, result_type, deterministic, name):
        if result_type is None:
            raise TypeError("a Python scalar function needs its result_type, such as result_type=DataTypes.STRING()")
        self._func = func
        self._input_types = input_types
        self._result_type = _sql_type(result_type)
        if deterministic is None:
            deterministic = func.is_deterministic() if isinstance(func, UserDefinedFunction) else True
        self._deterministic = deterministic
        base = name or getattr(func, "__name__", None) or type(func).__name__
        self._name = base
        self._inline_name = f"pyudf_{''.join(c if c.isalnum() else '_' for c in base)}_{next(_inline_names)}"
        _INLINE[self._inline_name] = self

    def _pickled(self):
        return cloudpickle.dumps(_FunctionCall(self._func))

    def _register(self, native_env, name):
        native_env.create_python_function(name, self._pickled(), self._result_type, self._deterministic)

    def __call__(self, *args):
        arguments = ", ".join(_expression_or_literal(a)._sql for a in args)
        return Expression(f"{self._inline_name}({arguments})")

    def __repr__(self):
        return f"udf({self._name})"


class TableFunction(UserDefinedFunction):
    """A table function: ``eval(*args)`` yields (or returns) any number of rows per row."""

    def eval(self, *args):
        raise NotImplementedError("a TableFunction defines eval(self, *args)")


class UserDefinedTableFunctionWrapper(UserDefinedScalarFunctionWrapper):
    """A Python table function, ready to call on columns (in ``join_lateral``, ``flat_map``,
    ``LATERAL TABLE(..)``) or to register by name."""

    def __init__(self, func, input_types, result_types, deterministic, name):
        if result_types is None:
            raise TypeError("a Python table function needs its result_types, such as "
                            "result_types=[DataTypes.STRING()]")
        if not isinstance(result_types, (list, tuple)):
            result_types = [result_types]
        super().__init__(func, input_types, "STRING", deterministic, name)
        self._result_types = [_sql_type(t) for t in result_types]

    def _register(self, native_env, name):
        native_env.create_python_table_function(name, self._pickled(), self._result_types, self._deterministic)

    def __repr__(self):
        return f"udtf({self._name})"


def udtf(f=None, input_types=None, result_types=None, deterministic=None, name=None):
    """A Python table function of ``f`` (a generator function, a function returning an
    iterable, or a ``TableFunction``) whose rows have columns of ``result_types``; as a
    decorator, ``@udtf(result_types=[...])``."""
    if f is None:
        return functools.partial(udtf, input_types=input_types, result_types=result_types,
                                 deterministic=deterministic, name=name)
    return UserDefinedTableFunctionWrapper(f, input_types, result_types, deterministic, name)


def udf(f=None, input_types=None, result_type=None, deterministic=None, name=None, func_type="general",
        udf_type=None):
    """A Python scalar function of ``f`` (a function, a lambda or a ``ScalarFunction``), whose
    results are of ``result_type``; as a decorator, ``@udf(result_type=...)``."""
    if (udf_type or func_type) not in ("general", None):
        raise NotImplementedError(f"func_type '{udf_type or func_type}' (vectorized functions) is not supported yet")
    if f is None:
        return functools.partial(udf, input_types=input_types, result_type=result_type,
                                 deterministic=deterministic, name=name)
    return UserDefinedScalarFunctionWrapper(f, input_types, result_type, deterministic, name)


def _register_inline(t_env, sql_texts):
    """Registers with ``t_env`` the unregistered functions that ``sql_texts`` call."""
    registered = t_env._inline_functions
    for text in sql_texts:
        if "pyudf_" not in text:
            continue
        for inline_name, function in list(_INLINE.items()):
            if inline_name not in registered and inline_name in text:
                function._register(t_env._native, inline_name)
                registered.add(inline_name)


__all__ = ["FunctionContext", "ScalarFunction", "TableFunction", "UserDefinedFunction", "udf", "udtf"]
