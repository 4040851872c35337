"""Which parallel instance a Python key goes to, against a recorded table.

A key's instance follows from its key group, which is where its state lives in checkpoints. If
this test fails, the key encoding of Python keys changed and checkpoints taken before the change
would not find their state: keep the encoding, or raise the engine's KEY_ENCODING_VERSION and
record a new table. The keys cover the kinds the engine encodes by value (str, int, bool, None,
bytes, tuples and Rows of them) and objects it encodes by their pickled bytes.
"""

import pytest

from pyflink_rs.common import Configuration, Row
from pyflink_rs.datastream import KeyedProcessFunction, RuntimeContext, StreamExecutionEnvironment

KEYS = [
    "alice",
    "",
    "ключ",
    0,
    42,
    -1,
    2**62,
    True,
    None,
    b"raw",
    ("a", 1),
    ("a", ("b", None)),
    Row("a", 1),
    1.5,
    2**70,
    [1, 2],
    {"k": "v"},
]

# The instance (of 4, with 128 key groups) each key of KEYS goes to.
RECORDED = [1, 2, 2, 3, 1, 0, 3, 1, 0, 3, 3, 2, 3, 0, 1, 3, 0]


class WhereAmI(KeyedProcessFunction):
    def open(self, runtime_context: RuntimeContext):
        self.index = runtime_context.get_index_of_this_subtask()

    def process_element(self, value, ctx):
        yield value[0], self.index


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_python_keys_go_to_the_recorded_instances(mode):
    config = Configuration()
    config.set_string("python.execution-mode", mode)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(4)
    records = list(enumerate(KEYS))
    placed = env.from_collection(records).key_by(lambda record: record[1]).process(WhereAmI()).execute_and_collect()
    instances = dict(placed)
    assert [instances[i] for i in range(len(KEYS))] == RECORDED
