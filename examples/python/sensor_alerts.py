"""Raises an alert when a sensor reads above its threshold for longer than a grace period of
event time, and clears it when the reading drops: keyed state and event-time timers.

    python examples/python/sensor_alerts.py

Each reading is (sensor, timestamp in ms, temperature). A reading above 80 starts a timer for
the grace period; a reading at or below 80 cancels it. A timer that fires raises the alert.
"""

from pyflink_rs.common import Duration, Types, WatermarkStrategy
from pyflink_rs.datastream import KeyedProcessFunction, StreamExecutionEnvironment
from pyflink_rs.datastream.state import ValueStateDescriptor

THRESHOLD = 80.0
GRACE_MS = 3_000

READINGS = [
    ("boiler", 1_000, 75.0),
    ("boiler", 2_000, 82.5),
    ("pump", 2_500, 85.0),
    ("boiler", 4_000, 78.0),
    ("pump", 4_500, 70.0),
    ("boiler", 6_000, 90.0),
    ("pump", 7_000, 81.0),
    ("pump", 8_000, 83.0),
]


class OverheatAlert(KeyedProcessFunction):
    def open(self, runtime_context):
        self.pending = runtime_context.get_state(ValueStateDescriptor("pending_timer", Types.LONG()))

    def process_element(self, reading, ctx):
        sensor, timestamp, temperature = reading
        pending = self.pending.value()
        if temperature > THRESHOLD and pending is None:
            deadline = timestamp + GRACE_MS
            ctx.timer_service().register_event_time_timer(deadline)
            self.pending.update(deadline)
        elif temperature <= THRESHOLD and pending is not None:
            ctx.timer_service().delete_event_time_timer(pending)
            self.pending.clear()
            yield f"{sensor}: back to normal at {timestamp} ms ({temperature})"

    def on_timer(self, timestamp, ctx):
        self.pending.clear()
        yield f"{ctx.get_current_key()}: too hot since {timestamp - GRACE_MS} ms"


def main():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(lambda reading, _: reading[1])
    (
        env.from_collection(READINGS)
        .assign_timestamps_and_watermarks(strategy)
        .key_by(lambda reading: reading[0])
        .process(OverheatAlert(), output_type=Types.STRING())
        .print()
    )
    env.execute("sensor alerts")


if __name__ == "__main__":
    main()
