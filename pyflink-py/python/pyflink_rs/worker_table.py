"""Python functions of SQL and the Table API in a process-mode worker (kind ``table``): the
engine sends a batch's argument columns and the worker answers the results, in the shape the
function's kind calls for. The function is opened with a ``FunctionContext`` whose metric
group reports to the engine with each answer, and closed with the worker."""

import pickle

from pyflink_rs.worker_metrics import MetricGroup


class TableCall:
    """One function of SQL: ``shape`` says how a batch is called (see ``CallShape`` in the
    engine's ``table/instance.rs``):

    - ``rows``: ``(columns, count)`` -> a result per row;
    - ``batch``: ``(columns, count)`` -> one call with the rows' argument tuples (async);
    - ``table``: ``(columns, count)`` -> per row, the list of rows it yields, or ``None``;
    - ``ipc``: ``(arrow_ipc_bytes, count)`` -> the result column as Arrow IPC bytes (pandas).
    """

    def __init__(self, payload, metrics, runtime_info):
        from pyflink_rs.table.udf import FunctionContext

        shape, pickled = pickle.loads(payload)
        self._shape = shape
        self._call = pickle.loads(pickled)
        self._call.open(FunctionContext(MetricGroup(metrics), task=runtime_info))
        self._target = self._call.target()

    def bundle(self, message):
        data, count = message
        function = self._target
        shape = self._shape
        if shape == "ipc":
            return function(data, count)
        if shape == "batch":
            return function(list(zip(*data)) if data else [()] * count)
        calls = map(function, *data) if data else (function() for _ in range(count))
        if shape == "rows":
            return list(calls)
        if shape == "table":
            return [None if rows is None else list(rows) for rows in calls]
        raise ValueError(f"unknown shape of a table function call {shape!r}")

    def close(self):
        self._call.close()
