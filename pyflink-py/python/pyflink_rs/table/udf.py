"""``pyflink.table.udf`` on pyflink-rs: Python functions for SQL and the Table API.

``@udf(result_type=...)`` on a function (or ``udf(ScalarFunction(), result_type=...)``) gives a
function to call on columns in the Table API (``f(col('x'))``) or to register by name for SQL
(``t_env.create_temporary_function('f', f)``). The engine calls it on each row, in the job's
worker threads (thread mode). ``udtf`` makes table functions (rows per row), ``udaf``
aggregate functions (``AggregateFunction``: a value per group, in GROUP BY, windows and OVER)
and ``udtaf`` table aggregate functions (``TableAggregateFunction``: rows per group, for
``flat_aggregate``)."""

import copy
import functools
import inspect
import itertools

import cloudpickle

from pyflink_rs.common.types import Row
from pyflink_rs.table._async import AsyncOptions, _AsyncBatchCall
from pyflink_rs.table._vectorized import _PandasAggregateCall, _PandasScalarCall
from pyflink_rs.table.expressions import Expression, _expression_or_literal
from pyflink_rs.table.types import DataType

_inline_names = itertools.count()
# Functions called in the Table API without being registered, by the name their expressions use;
# a table environment registers those its expressions name before it plans them.
_INLINE = {}


class FunctionContext:
    """What a function's ``open`` is given: where its operator instance runs, the instance's
    metric group, and the job's parameters."""

    def __init__(self, base_metric_group=None, job_parameters=None, task=None):
        self._metric_group = base_metric_group
        # Outside any job (the planner folding a call of constants), one instance of its own.
        self._task = dict(task or {"task_name": "", "index_of_this_subtask": 0,
                                   "number_of_parallel_subtasks": 1, "max_parallelism": 128})
        self._job_parameters = dict(job_parameters or self._task.get("job_parameters") or {})

    def get_metric_group(self):
        """The metric group of the operator instance the function runs in (see
        ``pyflink_rs.metrics``): register metrics in ``open``."""
        if self._metric_group is None:
            # A call outside any job: its metrics are kept by the function alone.
            from pyflink_rs.worker_metrics import MetricGroup
            self._metric_group = MetricGroup({})
        return self._metric_group

    def get_task_name(self):
        """The name of the operator the function runs in (``Calc(select=[...])``)."""
        return self._task["task_name"]

    def get_task_name_with_subtasks(self):
        """The operator's name with this instance's number among them: ``Calc(...) (1/2)``."""
        return f"{self.get_task_name()} ({self.get_index_of_this_subtask() + 1}/" \
               f"{self.get_number_of_parallel_subtasks()})"

    def get_number_of_parallel_subtasks(self):
        return self._task["number_of_parallel_subtasks"]

    def get_max_number_of_parallel_subtasks(self):
        return self._task["max_parallelism"]

    def get_index_of_this_subtask(self):
        """This instance's index, from 0."""
        return self._task["index_of_this_subtask"]

    def get_attempt_number(self):
        """How many times the task was restarted before this run (0 when it was not)."""
        return 0

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


class ImperativeAggregateFunction(UserDefinedFunction):
    """What aggregate and table aggregate functions share: an accumulator per group
    (``create_accumulator``), rows added to it (``accumulate``) and taken back out
    (``retract``), accumulators merged (``merge``)."""

    def create_accumulator(self):
        raise NotImplementedError("an AggregateFunction defines create_accumulator(self)")

    def accumulate(self, accumulator, *args):
        raise NotImplementedError("an AggregateFunction defines accumulate(self, accumulator, *args)")

    def retract(self, accumulator, *args):
        raise NotImplementedError(f"{type(self).__name__} was given a retraction, but does not define "
                                  "retract(self, accumulator, *args)")

    def merge(self, accumulator, accumulators):
        raise NotImplementedError(f"{type(self).__name__} does not define merge(self, accumulator, accumulators)")

    def get_accumulator_type(self):
        return None

    def get_result_type(self):
        return None


class AggregateFunction(ImperativeAggregateFunction):
    """An aggregate function: keeps an accumulator per group (``create_accumulator``), adds
    each row's arguments to it (``accumulate``), takes retracted rows back out (``retract``),
    merges accumulators of a group (``merge``) and gives the group's value (``get_value``)."""

    def get_value(self, accumulator):
        raise NotImplementedError("an AggregateFunction defines get_value(self, accumulator)")


class TableAggregateFunction(AggregateFunction):
    """A table aggregate function: like an ``AggregateFunction``, but a group gives rows,
    yielded (or returned) by ``emit_value``, read with ``flat_aggregate``."""

    def emit_value(self, accumulator):
        raise NotImplementedError("a TableAggregateFunction defines emit_value(self, accumulator)")

    def get_value(self, accumulator):
        return self.emit_value(accumulator)


class _MutableRow(list):
    """A ``Row`` accumulator as the engine gives it to the function: PyFlink's rows can be
    changed in place (``accumulator[0] += 1``), and ``Row`` here cannot."""

    def __init__(self, row):
        super().__init__(row)
        self._fields = getattr(row, "_fields", None)

    def _index(self, item):
        if isinstance(item, str):
            if self._fields is None or item not in self._fields:
                raise KeyError(item)
            return self._fields.index(item)
        return item

    def __getitem__(self, item):
        return list.__getitem__(self, self._index(item))

    def __setitem__(self, item, value):
        list.__setitem__(self, self._index(item), value)

    def __getattr__(self, name):
        fields = self.__dict__.get("_fields")
        if name.startswith("_") or fields is None or name not in fields:
            raise AttributeError(name)
        return self[name]

    def __repr__(self):
        return f"Row({', '.join(map(repr, self))})"


class _EngineCall:
    """A user function as the engine calls it, in each operator instance: ``open`` with the
    instance's ``FunctionContext`` before the first call, ``target()`` what to call, and
    ``close`` after the last call. Functions without a life cycle (plain functions and
    lambdas) have nothing to open or close."""

    def __init__(self, function):
        self._function = function

    def open(self, function_context):
        if isinstance(self._function, UserDefinedFunction):
            self._function.open(function_context)

    def close(self):
        if isinstance(self._function, UserDefinedFunction):
            self._function.close()

    def target(self):
        return self


class _AggregateCall(_EngineCall):
    """What the engine calls for an aggregate function: its methods, by name."""

    def create_accumulator(self):
        accumulator = self._function.create_accumulator()
        return _MutableRow(accumulator) if isinstance(accumulator, Row) else accumulator

    def accumulate(self, accumulator, *args):
        self._function.accumulate(accumulator, *args)

    def retract(self, accumulator, *args):
        self._function.retract(accumulator, *args)

    def merge(self, accumulator, other):
        self._function.merge(accumulator, [other])

    def get_value(self, accumulator):
        return self._function.get_value(accumulator)

    def emit_value(self, accumulator):
        rows = self._function.emit_value(accumulator)
        return [] if rows is None else list(rows)


class _FunctionCall(_EngineCall):
    """A scalar or table function as the engine calls it on each row: the function, or a
    ``ScalarFunction``'s or ``TableFunction``'s ``eval``."""

    def target(self):
        if isinstance(self._function, (ScalarFunction, TableFunction)):
            return self._function.eval
        return self._function


def _sql_type(data_type):
    """A result type (a ``DataType`` or its name, as PyFlink takes it) as Flink SQL text."""
    if isinstance(data_type, DataType):
        return repr(data_type)
    if isinstance(data_type, str):
        return data_type.upper()
    raise TypeError(f"result_type must be a DataType (such as DataTypes.STRING()) or its name, not {data_type!r}")


class UserDefinedScalarFunctionWrapper:
    """A Python scalar function, ready to call on columns or to register by name."""

    _vectorized = False

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
        self._aliases = ()
        _INLINE[self._inline_name] = self

    def _pickled(self):
        return cloudpickle.dumps(_FunctionCall(self._func))

    def _is_async(self):
        return isinstance(self._func, AsyncScalarFunction) or inspect.iscoroutinefunction(self._func)

    def _register(self, native_env, name, options=None):
        if self._vectorized:
            pickled = cloudpickle.dumps(_PandasScalarCall(self._func, self._name))
            native_env.create_python_vectorized_function(name, pickled, self._result_type, self._deterministic)
        elif self._is_async():
            pickled = cloudpickle.dumps(_AsyncBatchCall(self._func, self._name, AsyncOptions(options or {})))
            native_env.create_python_function(name, pickled, self._result_type, self._deterministic, True)
        else:
            native_env.create_python_function(name, self._pickled(), self._result_type, self._deterministic, False)

    def __call__(self, *args):
        arguments = ", ".join(_expression_or_literal(a)._sql for a in args)
        call = Expression(f"{self._inline_name}({arguments})")
        return call.alias(*self._aliases) if self._aliases else call

    def alias(self, *names):
        """The function, whose results (its columns, for a function of rows) are named
        ``names`` where it is used without arguments (``flat_map``, ``aggregate``, ...)."""
        aliased = copy.copy(self)
        aliased._aliases = names
        return aliased

    def __repr__(self):
        return f"udf({self._name})"


class AsyncScalarFunction(UserDefinedFunction):
    """An async scalar function: ``async def eval(*args)`` gives one value per row; the calls
    of a batch of rows run concurrently (see ``table.exec.async-scalar.*``)."""

    async def eval(self, *args):
        raise NotImplementedError("an AsyncScalarFunction defines async def eval(self, *args)")


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

    def _register(self, native_env, name, options=None):
        native_env.create_python_table_function(name, self._pickled(), self._result_types, self._deterministic)

    def __repr__(self):
        return f"udtf({self._name})"


class UserDefinedAggregateFunctionWrapper(UserDefinedScalarFunctionWrapper):
    """A Python aggregate function (or, with ``table=True``, table aggregate function), ready
    to call on columns or to register by name."""

    def __init__(self, func, input_types, result_type, accumulator_type, deterministic, name, table,
                 vectorized=False):
        kind = "TableAggregateFunction" if table else "AggregateFunction"
        self._vectorized = vectorized
        if vectorized:
            if not callable(func) or isinstance(func, AggregateFunction):
                raise TypeError(f"a pandas aggregate function is a function of pandas.Series, not {func!r}")
            if result_type is None:
                raise TypeError("a pandas aggregate function needs its result_type, such as "
                                "result_type=DataTypes.FLOAT()")
        elif not isinstance(func, AggregateFunction) or table != isinstance(func, TableAggregateFunction):
            raise TypeError(f"{'udtaf' if table else 'udaf'} takes an instance of a subclass of {kind}, "
                            f"not {func!r}")
        if result_type is None:
            result_type = func.get_result_type()
        if result_type is None:
            raise TypeError(f"the {kind} {type(func).__name__} needs its result type: result_type=... or "
                            "get_result_type()")
        super().__init__(func, input_types, result_type, deterministic, name)
        if accumulator_type is None and not vectorized:
            accumulator_type = func.get_accumulator_type()
        self._accumulator_type = accumulator_type
        self._table = table

    def _pickled(self):
        call = _PandasAggregateCall(self._func) if self._vectorized else _AggregateCall(self._func)
        return cloudpickle.dumps(call)

    def _register(self, native_env, name, options=None):
        native_env.create_python_aggregate_function(name, self._pickled(), self._result_type, self._table)

    def __repr__(self):
        return f"{'udtaf' if self._table else 'udaf'}({self._name})"


def udaf(f=None, input_types=None, result_type=None, accumulator_type=None, deterministic=None, name=None,
         func_type="general"):
    """A Python aggregate function of ``f`` (an ``AggregateFunction``), whose values are of
    ``result_type`` (by default ``f.get_result_type()``); with ``func_type="pandas"``, ``f`` is
    a function given each argument's values in a group as a ``pandas.Series``."""
    if func_type not in ("general", "pandas"):
        raise ValueError(f"func_type must be 'general' or 'pandas', not {func_type!r}")
    if f is None:
        return functools.partial(udaf, input_types=input_types, result_type=result_type,
                                 accumulator_type=accumulator_type, deterministic=deterministic, name=name,
                                 func_type=func_type)
    return UserDefinedAggregateFunctionWrapper(f, input_types, result_type, accumulator_type, deterministic, name,
                                               table=False, vectorized=func_type == "pandas")


def udtaf(f=None, input_types=None, result_type=None, accumulator_type=None, deterministic=None, name=None,
          func_type="general"):
    """A Python table aggregate function of ``f`` (a ``TableAggregateFunction``), whose rows
    are of the ROW type ``result_type`` (by default ``f.get_result_type()``)."""
    if func_type != "general":
        raise NotImplementedError(f"func_type '{func_type}' (vectorized table aggregates) is not supported yet")
    if f is None:
        return functools.partial(udtaf, input_types=input_types, result_type=result_type,
                                 accumulator_type=accumulator_type, deterministic=deterministic, name=name)
    return UserDefinedAggregateFunctionWrapper(f, input_types, result_type, accumulator_type, deterministic, name,
                                               table=True)


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
    results are of ``result_type``; as a decorator, ``@udf(result_type=...)``. With
    ``func_type="pandas"`` it is called once per batch of rows with a ``pandas.Series`` per
    argument, and returns a Series of one value per row. An ``async def`` function or an
    ``AsyncScalarFunction`` runs its calls of a batch concurrently on an asyncio event loop."""
    func_type = udf_type or func_type or "general"
    if func_type not in ("general", "pandas"):
        raise ValueError(f"func_type must be 'general' or 'pandas', not {func_type!r}")
    if f is None:
        return functools.partial(udf, input_types=input_types, result_type=result_type,
                                 deterministic=deterministic, name=name, func_type=func_type)
    wrapper = UserDefinedScalarFunctionWrapper(f, input_types, result_type, deterministic, name)
    wrapper._vectorized = func_type == "pandas"
    return wrapper


def _register_inline(t_env, sql_texts):
    """Registers with ``t_env`` the unregistered functions that ``sql_texts`` call."""
    registered = t_env._inline_functions
    for text in sql_texts:
        if "pyudf_" not in text:
            continue
        for inline_name, function in list(_INLINE.items()):
            if inline_name not in registered and inline_name in text:
                function._register(t_env._native, inline_name, t_env.get_config()._options)
                registered.add(inline_name)


__all__ = ["AggregateFunction", "AsyncScalarFunction", "FunctionContext", "ImperativeAggregateFunction",
           "ScalarFunction", "TableAggregateFunction", "TableFunction",
           "UserDefinedFunction", "udaf", "udf", "udtaf", "udtf"]
