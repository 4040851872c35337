"""The Python example jobs in examples/python run on the installed package and print what
they compute."""

import collections
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).parent.parent.parent / "examples" / "python"


def run(name):
    result = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_word_count_prints_running_counts():
    lines = run("word_count.py")
    words = " ".join(
        [
            "stream processing keeps state per key",
            "state per key survives failures through checkpoints",
            "checkpoints keep stream processing exactly once",
        ]
    ).split()
    counts = collections.Counter()
    expected = []
    for word in words:
        counts[word] += 1
        expected.append(f"({word},{counts[word]})")
    assert lines == expected


def test_sensor_alerts_raise_and_clear_alerts():
    assert run("sensor_alerts.py") == [
        "boiler: back to normal at 4000 ms (78.0)",
        "pump: back to normal at 4500 ms (70.0)",
        "boiler: too hot since 6000 ms",
        "pump: too hot since 7000 ms",
    ]
