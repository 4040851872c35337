"""Counts words in a few lines of text with pyflink-rs: split, key by word, rolling sum.

    python examples/python/word_count.py

Prints a running count per word, as Java prints a typed tuple: `(word,count)`.
"""

from pyflink_rs.common import Types
from pyflink_rs.datastream import StreamExecutionEnvironment

LINES = [
    "stream processing keeps state per key",
    "state per key survives failures through checkpoints",
    "checkpoints keep stream processing exactly once",
]


def main():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    (
        env.from_collection(LINES)
        .flat_map(lambda line: line.split())
        .map(lambda word: (word, 1), output_type=Types.TUPLE([Types.STRING(), Types.INT()]))
        .key_by(lambda pair: pair[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
        .print()
    )
    env.execute("word count")


if __name__ == "__main__":
    main()
