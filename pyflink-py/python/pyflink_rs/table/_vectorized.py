"""Vectorized (pandas) Python functions as the engine calls them.

A scalar one gets a batch of rows as an Arrow IPC stream of its argument columns, which pyarrow
reads and turns into one ``pandas.Series`` per argument; its result Series goes back as an IPC
stream of one column. An aggregate one collects its arguments' values per group and is called
with them as Series when the group's value is asked for. pandas and pyarrow are imported when a
function is first called, so programs without vectorized functions do not need them."""


def _series_of(data):
    """The columns of the Arrow IPC stream ``data``, as pandas Series."""
    import pyarrow as pa
    table = pa.ipc.open_stream(data).read_all()
    return [column.to_pandas() for column in table.columns]


def _stream_of(values):
    """``values`` (a Series, array or list) as an Arrow IPC stream of one column."""
    import pyarrow as pa
    array = values if isinstance(values, pa.Array) else pa.array(values)
    batch = pa.record_batch([array], names=["result"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


class _PandasScalarCall:
    """A pandas scalar function, called with a batch's columns as Series: one value per row."""

    def __init__(self, function, name):
        self._function = function
        self._name = name

    def open(self, function_context):
        from pyflink_rs.table.udf import ScalarFunction
        if isinstance(self._function, ScalarFunction):
            self._function.open(function_context)

    def close(self):
        from pyflink_rs.table.udf import ScalarFunction
        if isinstance(self._function, ScalarFunction):
            self._function.close()

    def target(self):
        return self

    def __call__(self, data, rows):
        from pyflink_rs.table.udf import ScalarFunction
        function = self._function
        if isinstance(function, ScalarFunction):
            function = function.eval
        result = function(*_series_of(data))
        if not hasattr(result, "__len__") or isinstance(result, (str, bytes)) or len(result) != rows:
            raise TypeError(f"the pandas function {self._name} must return a pandas.Series of {rows} values, one "
                            f"per row, not {result!r}")
        return _stream_of(result)


class _PandasAggregateCall:
    """A pandas aggregate function, called with all of a group's values of each argument as
    Series; its accumulator is the list of the group's argument tuples."""

    def __init__(self, function):
        self._function = function

    def open(self, function_context):
        pass

    def close(self):
        pass

    def target(self):
        return self

    def create_accumulator(self):
        return []

    def accumulate(self, accumulator, *args):
        accumulator.append(args)

    def retract(self, accumulator, *args):
        accumulator.remove(args)

    def merge(self, accumulator, other):
        accumulator.extend(other)

    def get_value(self, accumulator):
        import pandas as pd
        arity = len(accumulator[0]) if accumulator else 0
        columns = [pd.Series([args[i] for args in accumulator]) for i in range(arity)]
        return self._function(*columns)
