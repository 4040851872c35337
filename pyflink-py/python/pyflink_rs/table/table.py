"""``Table`` and ``TableResult``: the Table API's operations on a table (``select``,
``filter``, ``group_by``, ``add_columns``, ...), each a new table, and what running one gave."""

import collections
import enum
import itertools
import pickle

from pyflink_rs import _native
from pyflink_rs.common.completable_future import CompletableFuture
from pyflink_rs.common.job_execution_result import JobExecutionResult
from pyflink_rs.datastream.collect import FETCH_STEP_MS, CloseableIterator
from pyflink_rs.common.types import RowKind
from pyflink_rs.table.explain_detail import _detail_names
from pyflink_rs.table.expressions import _expression, _fields, col
from pyflink_rs.table.udf import _register_inline

_JobFailed = _native.JobError
_descriptor_tables = itertools.count()


def _specs(fields, t_env=None):
    """The native specs of ``fields``; the Python functions they call are registered with
    ``t_env`` first."""
    specs = [field._spec() for field in _fields(fields)]
    if t_env is not None:
        _register_inline(t_env, [spec.sql for spec in specs])
    return specs


class Table:
    """A table: a query over registered tables, run when asked."""

    def __init__(self, t_env, native, descriptor=None, path=None):
        self._t_env = t_env
        self._native = native
        self._descriptor = descriptor
        self._path = path

    def _sql_table(self):
        if self._native is None:
            name = self._path
            if name is None:
                name = f"UnnamedDescriptorTable${next(_descriptor_tables)}"
                self._t_env._native.execute_sql(self._descriptor._ddl(name))
            self._native = self._t_env._native.from_path(name)
        return self._native

    def _derived(self, native):
        return Table(self._t_env, native)

    def __str__(self):
        return self._sql_table().sql_name()

    def __getattr__(self, name):
        """A column by name (``table.data``), as in PyFlink."""
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self.get_schema().get_field_names():
            return col(name)
        raise AttributeError(f"the table has no column or attribute '{name}'")

    def get_schema(self):
        if self._descriptor is not None:
            return self._descriptor.get_schema()
        return TableSchema(self._sql_table().column_names(), self._sql_table().column_types())

    def print_schema(self):
        if self._descriptor is not None:
            print(self._descriptor.get_schema())
        else:
            print(self._sql_table().schema_string())

    def select(self, *fields):
        return self._derived(self._sql_table().select(_specs(fields, self._t_env)))

    def filter(self, predicate):
        return self._derived(self._sql_table().filter(_specs([predicate], self._t_env)[0]))

    where = filter

    def add_columns(self, *fields):
        return self._derived(self._sql_table().add_columns(_specs(fields, self._t_env)))

    def add_or_replace_columns(self, *fields):
        return self._derived(self._sql_table().add_or_replace_columns(_specs(fields, self._t_env)))

    def rename_columns(self, *fields):
        return self._derived(self._sql_table().rename_columns(_specs(fields, self._t_env)))

    def drop_columns(self, *fields):
        return self._derived(self._sql_table().drop_columns(_specs(fields, self._t_env)))

    def alias(self, field, *fields):
        names = [getattr(f, "_column", None) or str(f) for f in (field,) + fields]
        return self._derived(self._sql_table().alias(names))

    def distinct(self):
        return self._derived(self._sql_table().distinct())

    def group_by(self, *fields):
        return GroupedTable(self, fields)

    def window(self, window):
        """The table windowed by a group window (``Tumble``, ``Slide``, ``Session``), to group by
        the window's alias."""
        return GroupWindowedTable(self, window)

    def over_window(self, *over_windows):
        """The table with an OVER window (``Over``), for aggregates ``.over(col(alias))``."""
        if len(over_windows) != 1:
            raise ValueError("over_window takes one OVER window (Flink runs one per query)")
        return OverWindowedTable(self, over_windows[0])

    def join(self, right, join_predicate=None):
        """The rows of this table joined with those of ``right`` that meet ``join_predicate``
        (every pair without one); the two tables' column names must differ."""
        return self._joined(right, "inner", join_predicate)

    def left_outer_join(self, right, join_predicate=None):
        return self._joined(right, "left", join_predicate)

    def right_outer_join(self, right, join_predicate):
        return self._joined(right, "right", join_predicate)

    def full_outer_join(self, right, join_predicate):
        return self._joined(right, "full", join_predicate)

    def _joined(self, right, join_type, join_predicate):
        condition = None if join_predicate is None else _specs([join_predicate], self._t_env)[0]
        return self._derived(self._sql_table().join(right._sql_table(), join_type, condition))

    def _row_call(self, func):
        """``func`` called on each whole row: a Python function wrapper is given the row of all
        columns (named by its ``alias``, if it has one); an expression is taken as the call it
        is."""
        from pyflink_rs.table.expressions import Expression
        if isinstance(func, str):
            func = Expression(func)
        if not isinstance(func, Expression):
            func = func(Expression(self._sql_table().row_sql()))
        return _specs([func], self._t_env)[0]

    def aggregate(self, func):
        """The value of the aggregate function ``func`` over all rows, its fields as columns;
        ``select`` picks from them."""
        return GroupedTable(self, ()).aggregate(func)

    def flat_aggregate(self, func):
        """The rows the table aggregate function ``func`` gives for all rows; ``select`` picks
        from them."""
        return GroupedTable(self, ()).flat_aggregate(func)

    def map(self, func):
        """A table of the results of the scalar function ``func`` on each row (a ROW result's
        fields are the columns)."""
        return self._derived(self._sql_table().map(self._row_call(func)))

    def flat_map(self, func):
        """A table of the rows the table function ``func`` gives for each row."""
        return self._derived(self._sql_table().flat_map(self._row_call(func)))

    def join_lateral(self, table_function_call, join_predicate=None):
        """Each row joined with the rows the table function call gives for it (a function not
        called on columns is called on the whole row)."""
        call = self._row_call(table_function_call)
        if join_predicate is not None:
            return self._derived(self._sql_table().join_lateral(call)).filter(join_predicate)
        return self._derived(self._sql_table().join_lateral(call))

    def left_outer_join_lateral(self, table_function_call, join_predicate=None):
        """Like ``join_lateral``, rows the call gives none for kept, padded with nulls."""
        call = self._row_call(table_function_call)
        condition = None if join_predicate is None else _specs([join_predicate], self._t_env)[0]
        return self._derived(self._sql_table().left_outer_join_lateral(call, condition))

    def union_all(self, right):
        return self._derived(self._sql_table().union_all(right._sql_table()))

    def order_by(self, *fields):
        return self._derived(self._sql_table().order_by(_specs(fields, self._t_env)))

    def offset(self, offset):
        return self._derived(self._sql_table().limit(None, offset))

    def fetch(self, fetch):
        return self._derived(self._sql_table().limit(fetch, 0))

    def limit(self, fetch, offset=0):
        return self._derived(self._sql_table().limit(fetch, offset))

    def execute(self):
        return TableResult(self._sql_table().execute())

    def to_pandas(self):
        """The rows the table leaves (its changelog applied) as a pandas DataFrame of its
        columns."""
        import pandas as pd
        # Rows in the order they came, a retraction removing the earliest copy of its row; the
        # positions of each row's copies make that one step per change, not a scan of the rows.
        kept, positions = [], {}
        with self.execute().collect() as results:
            for row in results:
                values = tuple(row)
                key = _changelog_key(values)
                if row.get_row_kind() in (RowKind.UPDATE_BEFORE, RowKind.DELETE):
                    copies = positions.get(key)
                    if not copies:
                        raise ValueError(f"the changelog retracts {values}, which it never added")
                    kept[copies.popleft()] = None
                else:
                    positions.setdefault(key, collections.deque()).append(len(kept))
                    kept.append(values)
        rows = [values for values in kept if values is not None]
        return pd.DataFrame.from_records(rows, columns=self.get_schema_names())

    def execute_insert(self, table_path_or_descriptor, overwrite=False):
        target = table_path_or_descriptor
        if not isinstance(target, str):
            name = f"UnnamedDescriptorTable${next(_descriptor_tables)}"
            self._t_env._native.execute_sql(target._ddl(name))
            target = name
        return TableResult(self._sql_table().execute_insert(target))

    def insert_into(self, table_path):
        """Flink 1.x: the insert waits for ``t_env.execute(job_name)``."""
        self._t_env.insert_into(table_path, self)

    def explain(self, *extra_details):
        """The table's plan: its abstract syntax tree, its optimized plan and the operators that
        run it, with ``extra_details`` (``ExplainDetail.PLAN_ADVICE``)."""
        return self._sql_table().explain(_detail_names(extra_details))

    def get_schema_names(self):
        return self._sql_table().column_names()


def _changelog_key(values):
    """A hashable key of a row's values (rows with lists or dicts key by their text)."""
    try:
        hash(values)
        return values
    except TypeError:
        return ("unhashable", repr(values))


class GroupedTable:
    """A table grouped by keys; ``select`` aggregates each group."""

    def __init__(self, table, keys):
        self._table = table
        self._keys = keys

    def select(self, *fields):
        t_env = self._table._t_env
        native = self._table._sql_table().group_select(_specs(self._keys, t_env), _specs(fields, t_env))
        return self._table._derived(native)

    def aggregate(self, func):
        """Each group's keys and the fields of the aggregate function ``func``'s value for it
        (``func`` not called on columns is called on each whole row); ``select`` picks from
        them."""
        t_env = self._table._t_env
        native = self._table._sql_table().group_aggregate(_specs(self._keys, t_env), self._table._row_call(func))
        return AggregatedTable(self._table._derived(native))

    def flat_aggregate(self, func):
        """Each group's keys with each row the table aggregate function ``func`` gives for it;
        ``select`` picks from them."""
        t_env = self._table._t_env
        native = self._table._sql_table().group_flat_aggregate(_specs(self._keys, t_env), self._table._row_call(func))
        return FlatAggregateTable(self._table._derived(native))


class AggregatedTable:
    """The result of ``aggregate``: ``select`` picks its columns."""

    def __init__(self, table):
        self._table = table

    def select(self, *fields):
        return self._table.select(*fields)


class FlatAggregateTable(AggregatedTable):
    """The result of ``flat_aggregate``: ``select`` picks its columns."""


class GroupWindowedTable:
    """A table with a group window; ``group_by`` names the window's alias and other keys."""

    def __init__(self, table, window):
        self._table = table
        self._window = window

    def group_by(self, *fields):
        return WindowGroupedTable(self._table, self._window, fields)


class WindowGroupedTable:
    """A windowed table grouped by keys; ``select`` aggregates each window of each group."""

    def __init__(self, table, window, keys):
        self._table = table
        self._window = window
        self._keys = keys

    def select(self, *fields):
        t_env = self._table._t_env
        native = self._table._sql_table().window_group_select(
            self._window._spec(), _specs(self._keys, t_env), _specs(fields, t_env))
        return self._table._derived(native)


class OverWindowedTable:
    """A table with an OVER window; ``select`` computes aggregates over it."""

    def __init__(self, table, window):
        self._table = table
        self._window = window

    def select(self, *fields):
        specs = _specs(fields, self._table._t_env)
        return self._table._derived(self._table._sql_table().over_window_select(self._window._spec(), specs))


class TableSchema:
    """The names and types of a table's columns."""

    def __init__(self, names, types):
        self._names = list(names)
        self._types = list(types)

    def get_field_names(self):
        return list(self._names)

    def get_field_count(self):
        return len(self._names)

    def __str__(self):
        lines = [f" |-- {name}: {data_type}" for name, data_type in zip(self._names, self._types)]
        return "root\n" + "\n".join(lines)


class ResultKind(enum.Enum):
    """Whether a statement's result has rows (a query, SHOW, ...) or only says it succeeded."""

    SUCCESS = 0
    SUCCESS_WITH_CONTENT = 1


class TableResult:
    """What running a statement gave: ``print()``, ``collect()``, ``wait()``."""

    def __init__(self, native):
        self._native = native
        # How the statement's job ended (an INSERT's), once waited for.
        self._job_result = None

    def get_result_kind(self):
        return ResultKind.SUCCESS_WITH_CONTENT if self._native.has_content() else ResultKind.SUCCESS

    def get_table_schema(self):
        return TableSchema(self._native.column_names(), self._native.column_types())

    def get_job_client(self):
        job_id = self._native.job_id()
        return None if job_id is None else _JobClient(job_id, self)

    def wait(self, timeout_ms=None):
        """Waits for the statement's job to end (an INSERT), or for a query's first row."""
        native_result = self._native.wait()
        if native_result is not None:
            self._job_result = JobExecutionResult(native_result)

    def print(self):
        """Prints the result as Flink does, each row of a query as it arrives (an unbounded
        query prints until Ctrl-C, which cancels its job)."""
        try:
            while True:
                text = self._native.print_next(FETCH_STEP_MS)
                if text is None:
                    return
                if text:
                    print(text, end="", flush=True)
        except KeyboardInterrupt:
            self._native.close()
            raise

    def collect(self):
        """The rows, streaming from the query's job while it runs (a closeable iterator:
        closing it cancels the job)."""
        return _ResultRows(self._native)


class _ResultRows(CloseableIterator):
    """The rows of a result, each with its row kind."""

    def _decode(self, batch):
        rows = []
        for kind, row in pickle.loads(batch):
            row.set_row_kind(RowKind(kind))
            rows.append(row)
        return rows


class _JobClient:
    """The client of a statement's job: its id, and (an INSERT's) how it ended."""

    def __init__(self, job_id, table_result):
        self._job_id = job_id
        self._table_result = table_result

    def get_job_id(self):
        return self._job_id

    def get_job_execution_result(self):
        """A future of the job's ``JobExecutionResult`` (with its operators' metrics); its
        ``result()`` waits for the job to end."""
        def result():
            self._table_result.wait()
            return self._table_result._job_result
        return CompletableFuture(result)

    def cancel(self):
        """Stops the job, as PyFlink's ``JobClient.cancel()``; the returned future is done once
        the job has ended (its ``result()`` is ``None``)."""
        self._table_result._native.cancel()

        def ended():
            try:
                self._table_result.wait()
            except Exception:  # a cancelled job ends as cancelled, which is what was asked
                pass
        return CompletableFuture(ended)
