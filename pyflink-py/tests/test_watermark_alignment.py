"""Watermark alignment from Python (`WatermarkStrategy.with_watermark_alignment`): a source
whose event time runs ahead of the other sources of its group waits for them, without losing
or repeating records."""

import pytest

from pyflink_rs.common import Configuration, Duration, WatermarkStrategy
from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.datastream.connectors import NumberSequenceSource

RECORDS = 100_000
DRIFT_MS = 5_000


def largest_lead(mode, aligned):
    """Runs a fast (10 ms per record) and a slow (1 ms per record) sequence side by side and
    returns how far, in event time, the fast one got ahead of the slow one in arrival order."""
    env = StreamExecutionEnvironment.get_execution_environment(
        Configuration().set_string("python.execution-mode", mode)
    )
    env.set_parallelism(1)
    env.get_config().set_auto_watermark_interval(1)

    def sequence(tag, step):
        strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(
            lambda n, _: n * step
        )
        if aligned:
            strategy = strategy.with_watermark_alignment(
                "sequences", Duration.of_millis(DRIFT_MS), Duration.of_millis(1)
            )
        source = NumberSequenceSource(0, RECORDS - 1)
        return env.from_source(source, strategy, f"sequence {tag}").map(lambda n: (tag, n * step))

    out = list(sequence("fast", 10).union(sequence("slow", 1)).execute_and_collect())
    fast = sorted(t // 10 for tag, t in out if tag == "fast")
    slow = sorted(t for tag, t in out if tag == "slow")
    assert fast == list(range(RECORDS)) and slow == list(range(RECORDS)), "every record exactly once"
    lead, slow_max, slow_count = 0, 0, 0
    for tag, time in out:
        if tag == "slow":
            slow_max, slow_count = max(slow_max, time), slow_count + 1
        elif slow_count < RECORDS:
            lead = max(lead, time - slow_max)
    return lead


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_an_aligned_source_waits_for_the_slowest_source_of_its_group(mode):
    unaligned = largest_lead(mode, aligned=False)
    assert unaligned > 500_000, f"without alignment the fast source runs ahead (lead {unaligned} ms)"
    aligned = largest_lead(mode, aligned=True)
    # The drift, plus what a batch of 1,024 records of either source spans in event time.
    assert aligned <= DRIFT_MS + 3 * 10_240 + 16_384, f"aligned lead {aligned} ms"


def test_bad_alignment_settings_are_rejected():
    strategy = WatermarkStrategy.for_monotonous_timestamps()
    with pytest.raises(ValueError, match="watermark_group"):
        strategy.with_watermark_alignment("", Duration.of_seconds(1))
    with pytest.raises(ValueError, match="must not be negative"):
        strategy.with_watermark_alignment("g", Duration.of_millis(-1))
    with pytest.raises(ValueError, match="update_interval must be positive"):
        strategy.with_watermark_alignment("g", Duration.of_seconds(1), Duration.of_millis(0))
