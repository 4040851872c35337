"""The worker process of process mode (``python.execution-mode: process``): one per parallel
instance of a Python operator, started by the engine as ``python -m pyflink_rs.worker``.

The engine talks to it over a socket passed as standard input. Every message is a pickled
tuple in a frame (4-byte little-endian length, then the bytes). The engine sends
``("open", function, kind, sys_path, runtime_info)`` once, then ``("bundle", records)`` any
number of times, then ``("close",)``; the worker answers each with ``("ok", result)`` or
``("error", traceback)``, each with the metric updates since the last answer. Standard output and error stay the engine's, so ``print`` in a
function shows as in thread mode, and ``logging`` writes to standard error at the level of the
program's root logger, each line naming the operator instance.
"""

import gc
import io
import logging
import os
import pickle
import struct
import sys
import traceback

from pyflink_rs.worker_keyed import KeyedProcess, MapAsKeyedProcess, Process, TaskFacts, Window
from pyflink_rs.worker_metrics import metric_updates
from pyflink_rs.worker_table import TableCall

_LENGTH = struct.Struct("<I")


class _Channel:
    """Frames over the socket the engine passed as file descriptor 0."""

    def __init__(self):
        # The socket moves off descriptor 0, which becomes /dev/null, so a function reading
        # standard input cannot consume the engine's messages.
        self._fd = os.dup(0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)

    def _read_exactly(self, size):
        chunks = []
        while size:
            chunk = os.read(self._fd, min(size, 1 << 20))
            if not chunk:
                raise EOFError("the engine closed the connection")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def receive(self):
        (size,) = _LENGTH.unpack(self._read_exactly(_LENGTH.size))
        return pickle.loads(self._read_exactly(size))

    def send(self, message):
        payload = pickle_bundle(message)
        data = memoryview(_LENGTH.pack(len(payload)) + payload)
        while data:
            written = os.write(self._fd, data)
            data = data[written:]


def pickle_bundle(message):
    """The message pickled without the memo of shared objects, which costs more than it saves
    for bundles of records; objects that refer to themselves are pickled the usual way."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    try:
        pickler.dump(message)
    except (RecursionError, ValueError):
        return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


class _Chain:
    """Chained map, flat_map and filter functions, maybe ending in a key selector. When every
    stage maps one record to one, the answer has one result per record (after a key selector:
    the list of keys and the list of records, or only the keys when the selector is the only
    stage); otherwise a list of results per record (of ``(key, record)`` pairs after a key
    selector)."""

    def __init__(self, stages):
        self._stages = stages
        self._one_to_one = all(kind in ("map", "key") for kind, _ in stages)

    def bundle(self, records):
        stages = self._stages
        if len(stages) == 1:
            kind, function = stages[0]
            if kind == "map":
                return [function(record) for record in records]
            if kind == "key":
                # The engine has the records: only their keys go back.
                return [function(record) for record in records]
        if self._one_to_one:
            results = [self._one(record) for record in records]
            if stages[-1][0] == "key":
                return [key for key, _ in results], [record for _, record in results]
            return results
        return [self._many(record) for record in records]

    def _one(self, record):
        for kind, function in self._stages:
            record = (function(record), record) if kind == "key" else function(record)
        return record

    def _many(self, record):
        values = [record]
        for kind, function in self._stages:
            if kind == "map":
                values = [function(value) for value in values]
            elif kind == "flat_map":
                values = [item for value in values for item in function(value)]
            elif kind == "filter":
                values = [value for value in values if function(value)]
            else:
                values = [(function(value), value) for value in values]
        return values


class _Reduce:
    """A rolling reduce: the engine sends each key's reduced value so far (by slot), the slots
    whose value is the one a slot of the previous bundle ended with (the engine has not stored
    that bundle's results yet when it sends the next), and the slots and records in order; the
    worker returns the result after each record (the last result of a slot is its new value)."""

    def __init__(self, function):
        self._function = function
        self._last = {}

    def bundle(self, message):
        current, carried, slots, records = message
        last = self._last
        for slot, previous in carried.items():
            current[slot] = last[previous]
        reduce = self._function
        results = []
        for slot, record in zip(slots, records):
            if slot in current:
                record = reduce(current[slot], record)
            current[slot] = record
            results.append(record)
        self._last = current
        return results


def _configure_logging(runtime_info):
    """Logs of functions go to standard error, at the program's level, marked with the
    operator instance (``Map (1/2)``), as a task manager's log marks them."""
    instance = "{} ({}/{})".format(
        runtime_info["task_name"],
        runtime_info["index_of_this_subtask"] + 1,
        runtime_info["number_of_parallel_subtasks"],
    )
    logging.basicConfig(
        level=runtime_info.get("log_level", logging.WARNING),
        format=f"%(asctime)s %(levelname)s [{instance}] %(name)s - %(message)s",
        stream=sys.stderr,
    )


class _RuntimeContext(TaskFacts):
    """What a function's ``open()`` learns in a worker (PyFlink's ``RuntimeContext``): where it
    runs, and its metric group. Keyed state is not available to these functions."""

    def get_metrics_group(self):
        return self._metric_group()

    def _no_state(self, *_):
        raise NotImplementedError(
            "keyed state is not available to functions in process mode yet; use thread mode "
            "(python.execution-mode: thread, the default)"
        )

    get_state = get_list_state = get_map_state = get_reducing_state = get_aggregating_state = _no_state


class _Functions:
    """The user functions of an operator: opened after loading, closed at the end."""

    def __init__(self, runtime_info):
        self.metrics = {}
        self.context = _RuntimeContext(runtime_info, self.metrics)
        self._opened = []

    def load(self, pickled):
        """The callable of a pickled ``(target, method)`` pair, its target opened."""
        target, method = pickle.loads(pickled)
        if method is None:
            return target
        from pyflink_rs.datastream.functions import CheckpointedFunction

        if isinstance(target, CheckpointedFunction):
            raise TypeError(
                f"{type(target).__name__} is a CheckpointedFunction: operator state lives in the engine's "
                "interpreter, so run it with python.execution-mode: thread")
        target.open(self.context)
        self._opened.append(target)
        return getattr(target, method)

    def close(self):
        for target in self._opened:
            target.close()


def _operator(function, kind, functions, runtime_info):
    if kind == "keyed_process":
        return KeyedProcess(pickle.loads(function), runtime_info, functions.metrics)
    if kind == "keyed_map":
        return KeyedProcess(MapAsKeyedProcess(*pickle.loads(function)), runtime_info, functions.metrics)
    if kind == "process":
        return Process(pickle.loads(function), functions.context)
    if kind == "window":
        evaluator, contents_kind, contents = pickle.loads(function)
        return Window(pickle.loads(evaluator), contents_kind, contents, functions)
    if kind == "reduce":
        return _Reduce(functions.load(function))
    if kind == "table":
        return TableCall(function, functions.metrics, runtime_info)
    if kind == "chain":
        return _Chain([(stage, functions.load(pickled)) for stage, pickled in pickle.loads(function)])
    raise ValueError(f"unknown operator kind {kind!r}")


def main():
    channel = _Channel()
    operator = None
    functions = None
    while True:
        # The garbage collector runs between bundles, not every few hundred records: a bundle's
        # records are short-lived and without cycles.
        gc.enable()
        try:
            message = channel.receive()
        except EOFError:
            return
        gc.disable()
        try:
            command = message[0]
            if command == "open":
                _, function, kind, sys_path, runtime_info = message
                for entry in reversed(sys_path):
                    if entry not in sys.path:
                        sys.path.insert(0, entry)
                _configure_logging(runtime_info)
                functions = _Functions(runtime_info)
                operator = _operator(function, kind, functions, runtime_info)
                # A keyed process function answers the states it declared, for the engine to bind.
                declared = getattr(operator, "declared", None)
                channel.send(("ok", declared, metric_updates(functions.metrics)))
            elif command == "bundle":
                result = operator.bundle(message[1])
                sys.stdout.flush()
                channel.send(("ok", result, metric_updates(functions.metrics)))
            elif command == "close":
                updates = []
                if hasattr(operator, "close"):
                    operator.close()
                if functions is not None:
                    functions.close()
                    updates = metric_updates(functions.metrics)
                sys.stdout.flush()
                channel.send(("ok", None, updates))
                return
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception:
            channel.send(("error", traceback.format_exc(), []))


if __name__ == "__main__":
    main()
