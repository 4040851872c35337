//! Every DataStream operator, at parallelism 1 and 4, against the expected output.

mod common;

use std::time::Duration;

use common::{collect, collect_sorted, env, Deferring, Event, TagSubtask};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::window::{GlobalWindow, ProcessWindowFunction, TimeWindow, TumblingEventTimeWindows, WindowContext};
use pyflink_core::{
    CoProcessFunction, KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, OutputTag, ProcessContext,
    ProcessFunction, Result, RuntimeExecutionMode, ValueState, ValueStateDescriptor,
};

const PARALLELISMS: [usize; 2] = [1, 4];

#[test]
fn map_filter_flat_map() {
    for p in PARALLELISMS {
        let env = env(p);
        let numbers = env.from_sequence(1, 100).unwrap();
        let out = numbers.map(|x| x * 3).filter(|x| x % 2 == 0).flat_map(|x| vec![x, -x]);
        let mut expected: Vec<i64> = (1..=100).map(|x| x * 3).filter(|x| x % 2 == 0).flat_map(|x| [x, -x]).collect();
        expected.sort();
        assert_eq!(collect_sorted(&out), expected, "parallelism {p}");
    }
}

#[test]
fn from_collection_keeps_order_at_parallelism_one() {
    let env = env(4);
    let words: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
    let stream = env.from_collection(words.clone()).map(|w| w).set_parallelism(1);
    assert_eq!(collect(&stream), words);
}

fn pairs() -> Vec<(String, i64)> {
    (0..200).map(|i| (format!("k{}", i % 7), (i * 37 % 101) as i64)).collect()
}

#[test]
fn keyed_reduce_emits_running_values_in_streaming_mode() {
    for p in PARALLELISMS {
        let env = env(p);
        let stream = env.from_collection(pairs()).key_by(|t| t.0.clone()).reduce(|a, b| (a.0, a.1 + b.1));
        let out = collect(&stream);
        assert_eq!(out.len(), 200, "one update per record");
        for key in 0..7 {
            let key = format!("k{key}");
            let total: i64 = pairs().iter().filter(|t| t.0 == key).map(|t| t.1).sum();
            let last = out.iter().filter(|t| t.0 == key).map(|t| t.1).max().unwrap();
            assert_eq!(last, total, "parallelism {p}, key {key}");
        }
    }
}

#[test]
fn keyed_reduce_emits_final_values_in_batch_mode() {
    for p in PARALLELISMS {
        let env = env(p);
        env.set_runtime_mode(RuntimeExecutionMode::Batch);
        let stream = env.from_collection(pairs()).key_by(|t| t.0.clone()).sum(|t| &mut t.1);
        let mut expected: Vec<(String, i64)> = (0..7)
            .map(|k| {
                let key = format!("k{k}");
                let total = pairs().iter().filter(|t| t.0 == key).map(|t| t.1).sum();
                (key, total)
            })
            .collect();
        expected.sort();
        assert_eq!(collect_sorted(&stream), expected, "parallelism {p}");
    }
}

#[test]
fn min_max_keep_first_record_min_by_max_by_keep_whole_record() {
    let rows = vec![(1u8, 5i64, "a"), (1, 3, "b"), (1, 9, "c"), (2, 4, "d")];
    let rows: Vec<(u8, i64, String)> = rows.into_iter().map(|(k, v, s)| (k, v, s.to_string())).collect();
    for p in PARALLELISMS {
        let env = env(p);
        env.set_runtime_mode(RuntimeExecutionMode::Batch);
        let source = env.from_collection(rows.clone());
        let keyed = source.key_by(|t| t.0);
        let min = collect_sorted(&keyed.min(|t| &mut t.1));
        assert_eq!(min, vec![(1, 3, "a".to_string()), (2, 4, "d".to_string())]);
        let max = collect_sorted(&keyed.max(|t| &mut t.1));
        assert_eq!(max, vec![(1, 9, "a".to_string()), (2, 4, "d".to_string())]);
        let min_by = collect_sorted(&keyed.min_by(|t| &mut t.1));
        assert_eq!(min_by, vec![(1, 3, "b".to_string()), (2, 4, "d".to_string())]);
        let max_by = collect_sorted(&keyed.max_by(|t| &mut t.1));
        assert_eq!(max_by, vec![(1, 9, "c".to_string()), (2, 4, "d".to_string())]);
    }
}

#[test]
fn process_function_with_side_outputs() {
    let odd = OutputTag::<i64>::new("odd");
    let text = OutputTag::<String>::new("text");
    for p in PARALLELISMS {
        let env = env(p);
        let (odd_tag, text_tag) = (odd.clone(), text.clone());
        let main = env.from_sequence(1, 20).unwrap().process(move |x: i64, ctx: &mut ProcessContext<'_, i64>| {
            if x % 2 == 0 {
                ctx.collect(x);
            } else {
                ctx.output(&odd_tag, x);
            }
            if x % 5 == 0 {
                ctx.output(&text_tag, format!("five:{x}"));
            }
            Ok(())
        });
        let odds = main.get_side_output(&odd).unwrap();
        let texts = main.get_side_output(&text).unwrap();
        let tagged = main
            .map(|x| (0u8, x, String::new()))
            .union(&[odds.map(|x| (1u8, x, String::new())), texts.map(|s| (2u8, 0, s))]);
        let out = collect_sorted(&tagged);
        let evens: Vec<i64> = out.iter().filter(|t| t.0 == 0).map(|t| t.1).collect();
        let odds: Vec<i64> = out.iter().filter(|t| t.0 == 1).map(|t| t.1).collect();
        let texts: Vec<&str> = out.iter().filter(|t| t.0 == 2).map(|t| t.2.as_str()).collect();
        assert_eq!(evens, (1..=20).filter(|x| x % 2 == 0).collect::<Vec<_>>(), "parallelism {p}");
        assert_eq!(odds, (1..=20).filter(|x| x % 2 == 1).collect::<Vec<_>>(), "parallelism {p}");
        assert_eq!(texts, vec!["five:10", "five:15", "five:20", "five:5"], "parallelism {p}");
    }
}

#[test]
fn side_output_tag_reused_with_another_type_is_rejected() {
    let env = env(1);
    let stream = env.from_sequence(1, 2).unwrap().process(|x: i64, ctx: &mut ProcessContext<'_, i64>| {
        ctx.collect(x);
        Ok(())
    });
    stream.get_side_output(&OutputTag::<i64>::new("t")).unwrap();
    let err = stream.get_side_output(&OutputTag::<String>::new("t")).err().unwrap();
    assert!(err.to_string().contains("side output 't' is already used"), "{err}");
}

/// Emits, per record, the running count and sum of its key, from two value states.
#[derive(Clone, Default)]
struct RunningStats {
    count: Option<ValueState<u64>>,
    sum: Option<ValueState<i64>>,
}

impl KeyedProcessFunction<String, (String, i64), (String, u64, i64)> for RunningStats {
    fn open(&mut self, ctx: &mut KeyedRuntimeContext<'_, String>) -> Result<()> {
        self.count = Some(ctx.get_state(&ValueStateDescriptor::new("count"))?);
        self.sum = Some(ctx.get_state(&ValueStateDescriptor::new("sum"))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        value: (String, i64),
        ctx: &mut KeyedProcessContext<'_, String, (String, u64, i64)>,
    ) -> Result<()> {
        let (count, sum) = (self.count.as_ref().unwrap(), self.sum.as_ref().unwrap());
        let c = count.value().unwrap_or(0) + 1;
        let s = sum.value().unwrap_or(0) + value.1;
        count.update(c);
        sum.update(s);
        assert_eq!(ctx.get_current_key(), value.0);
        ctx.collect((value.0, c, s));
        Ok(())
    }
}

#[test]
fn keyed_process_function_keeps_value_state_per_key() {
    for p in PARALLELISMS {
        let env = env(p);
        let out = collect(&env.from_collection(pairs()).key_by(|t| t.0.clone()).process(RunningStats::default()));
        for key in 0..7 {
            let key = format!("k{key}");
            let values: Vec<i64> = pairs().into_iter().filter(|t| t.0 == key).map(|t| t.1).collect();
            let mut seen: Vec<(u64, i64)> = out.iter().filter(|t| t.0 == key).map(|t| (t.1, t.2)).collect();
            seen.sort();
            let expected: Vec<(u64, i64)> = (1..=values.len()).map(|n| (n as u64, values[..n].iter().sum())).collect();
            assert_eq!(seen, expected, "parallelism {p}, key {key}");
        }
    }
}

#[test]
fn union_merges_all_streams() {
    for p in PARALLELISMS {
        let env = env(p);
        let a = env.from_sequence(1, 10).unwrap();
        let b = env.from_sequence(100, 105).unwrap();
        let c = env.from_collection(vec![-1i64, -2]);
        let mut expected: Vec<i64> = (1..=10).chain(100..=105).chain([-1, -2]).collect();
        expected.sort();
        assert_eq!(collect_sorted(&a.union(&[b, c])), expected, "parallelism {p}");
    }
}

#[derive(Clone)]
struct Join;

impl CoProcessFunction<i64, String, String> for Join {
    fn process_element1(&mut self, value: i64, ctx: &mut ProcessContext<'_, String>) -> Result<()> {
        ctx.collect(format!("n{value}"));
        Ok(())
    }
    fn process_element2(&mut self, value: String, ctx: &mut ProcessContext<'_, String>) -> Result<()> {
        ctx.collect(format!("s{value}"));
        Ok(())
    }
}

#[test]
fn connect_with_co_map_co_flat_map_and_co_process() {
    for p in PARALLELISMS {
        let env = env(p);
        let numbers = env.from_sequence(1, 3).unwrap();
        let words = env.from_collection(vec!["x".to_string(), "y".to_string()]);
        let connected = numbers.connect(&words);
        let mapped = connected.map(|n| n.to_string(), |w| w.to_uppercase());
        assert_eq!(collect_sorted(&mapped), vec!["1", "2", "3", "X", "Y"], "parallelism {p}");
        let flat = connected.flat_map(|n| vec![n; n as usize], |w| vec![w.len() as i64]);
        assert_eq!(collect_sorted(&flat), vec![1, 1, 1, 2, 2, 3, 3, 3], "parallelism {p}");
        let processed = connected.process(Join);
        assert_eq!(collect_sorted(&processed), vec!["n1", "n2", "n3", "sx", "sy"], "parallelism {p}");
    }
}

#[test]
fn key_by_sends_each_key_to_one_instance() {
    let env = env(4);
    let tagged = env.from_sequence(0, 999).unwrap().key_by(|x| x % 13).process_tag();
    let out = collect(&tagged);
    assert_eq!(out.len(), 1000);
    for key in 0..13 {
        let owners: std::collections::BTreeSet<usize> =
            out.iter().filter(|(_, x)| x % 13 == key).map(|(s, _)| *s).collect();
        assert_eq!(owners.len(), 1, "key {key} seen by {owners:?}");
    }
    let used: std::collections::BTreeSet<usize> = out.iter().map(|(s, _)| *s).collect();
    assert!(used.len() > 1, "13 keys should spread over several of 4 instances");
}

/// Tags records of a keyed stream with their subtask, through a plain process function.
trait ProcessTag {
    fn process_tag(&self) -> pyflink_core::DataStream<(usize, i64)>;
}

impl ProcessTag for pyflink_core::KeyedStream<i64, i64> {
    fn process_tag(&self) -> pyflink_core::DataStream<(usize, i64)> {
        #[derive(Clone, Default)]
        struct Tag(usize);
        impl KeyedProcessFunction<i64, i64, (usize, i64)> for Tag {
            fn open(&mut self, ctx: &mut KeyedRuntimeContext<'_, i64>) -> Result<()> {
                self.0 = ctx.runtime().get_index_of_this_subtask();
                Ok(())
            }
            fn process_element(&mut self, v: i64, ctx: &mut KeyedProcessContext<'_, i64, (usize, i64)>) -> Result<()> {
                ctx.collect((self.0, v));
                Ok(())
            }
        }
        self.process(Tag::default())
    }
}

fn per_subtask(out: &[(usize, i64)], parallelism: usize) -> Vec<usize> {
    let mut counts = vec![0; parallelism];
    for (s, _) in out {
        counts[*s] += 1;
    }
    counts
}

#[test]
fn partitioners_route_as_flink_does() {
    let env = env(4);
    let one = || env.from_collection((0..400i64).collect::<Vec<_>>());

    let rebalanced = collect(&one().rebalance().process(TagSubtask::default()));
    assert_eq!(per_subtask(&rebalanced, 4), vec![100; 4], "rebalance is round robin");

    let broadcast = collect(&one().broadcast().process(TagSubtask::default()));
    assert_eq!(per_subtask(&broadcast, 4), vec![400; 4], "broadcast reaches every instance");

    let global = collect(&one().global().process(TagSubtask::default()));
    assert_eq!(per_subtask(&global, 4), vec![400, 0, 0, 0], "global goes to instance 0");

    let shuffled = collect(&one().shuffle().process(TagSubtask::default()));
    assert_eq!(shuffled.len(), 400);
    assert!(per_subtask(&shuffled, 4).iter().all(|&c| c > 50), "shuffle spreads records");

    let custom =
        collect(&one().partition_custom(|k: &i64, n| (*k as usize) % n, |x| *x).process(TagSubtask::default()));
    assert!(custom.iter().all(|(s, x)| *s == (*x as usize) % 4), "custom partitioner decides");

    let rescaled = collect(&one().rescale().process(TagSubtask::default()));
    assert_eq!(rescaled.len(), 400, "rescale loses nothing");
}

#[test]
fn forward_keeps_records_on_their_instance() {
    let env = env(4);
    let tagged = env.from_sequence(0, 399).unwrap().process(TagSubtask::default());
    let twice = tagged.forward().process(TagSubtask::default());
    for (second, (first, _)) in collect(&twice) {
        assert_eq!(first, second);
    }
}

#[test]
fn custom_partitioner_out_of_range_fails_the_job() {
    let env = env(2);
    let stream = env.from_sequence(0, 9).unwrap().partition_custom(|_: &i64, n| n + 1, |x| *x).map(|x| x);
    let err = stream.execute_and_collect().unwrap().find_map(Result::err).expect("job fails");
    assert!(err.to_string().contains("custom partitioner returned partition 3"), "{err}");
}

#[test]
fn operator_parallelism_is_honoured() {
    let env = env(4);
    let out = collect(&env.from_sequence(0, 99).unwrap().process(TagSubtask::default()).set_parallelism(1));
    assert!(out.iter().all(|(s, _)| *s == 0), "a parallelism-1 operator runs once");
    assert_eq!(out.len(), 100);

    let out = collect(&env.from_sequence(0, 99).unwrap().rebalance().process(TagSubtask::default()).set_parallelism(3));
    let used: std::collections::BTreeSet<usize> = out.iter().map(|(s, _)| *s).collect();
    assert_eq!(used, [0, 1, 2].into_iter().collect());
}

#[test]
fn name_and_uid_are_recorded_and_uids_must_be_unique() {
    let env = env(1);
    let a = env.from_sequence(0, 1).unwrap().map(|x| x).name("doubler").uid("op-1");
    let b = a.map(|x| x + 1).uid("op-1");
    b.discard();
    let err = env.execute("dup uid").unwrap_err();
    assert!(err.to_string().contains("uid 'op-1' is used by both 'doubler' and 'Map'"), "{err}");
}

thread_local! {
    static IN_BATCH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Records whether each record was processed inside the function's batch scope.
#[derive(Clone)]
struct ScopeProbe;

impl ProcessFunction<i64, (i64, bool)> for ScopeProbe {
    fn process_element(&mut self, value: i64, ctx: &mut ProcessContext<'_, (i64, bool)>) -> Result<()> {
        ctx.collect((value, IN_BATCH.with(|flag| flag.get())));
        Ok(())
    }

    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        IN_BATCH.with(|flag| flag.set(true));
        let result = batch();
        IN_BATCH.with(|flag| flag.set(false));
        result
    }
}

#[derive(Clone)]
struct KeyedScopeProbe;

impl KeyedProcessFunction<i64, i64, (i64, bool)> for KeyedScopeProbe {
    fn process_element(&mut self, value: i64, ctx: &mut KeyedProcessContext<'_, i64, (i64, bool)>) -> Result<()> {
        ctx.collect((value, IN_BATCH.with(|flag| flag.get())));
        Ok(())
    }

    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        ScopeProbe::within_batch(batch)
    }
}

#[test]
fn every_record_is_processed_inside_the_functions_batch_scope() {
    for p in PARALLELISMS {
        let env = env(p);
        let numbers = env.from_sequence(1, 2000).unwrap();
        let plain = numbers.process(ScopeProbe);
        let keyed = numbers.key_by(|n| n % 7).process(KeyedScopeProbe);
        for out in [collect_sorted(&plain), collect_sorted(&keyed)] {
            assert_eq!(out.len(), 2000, "parallelism {p}");
            assert!(out.iter().all(|(_, in_batch)| *in_batch), "parallelism {p}: a record ran outside the scope");
        }
    }
}

#[derive(Clone)]
struct WindowScopeProbe;

impl ProcessWindowFunction<i64, (i64, bool), i64, GlobalWindow> for WindowScopeProbe {
    fn process(&mut self, key: &i64, ctx: &mut WindowContext<'_, GlobalWindow, (i64, bool)>, _: &[i64]) -> Result<()> {
        ctx.collect((*key, IN_BATCH.with(|flag| flag.get())));
        Ok(())
    }

    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        ScopeProbe::within_batch(batch)
    }
}

#[test]
fn every_window_is_evaluated_inside_the_window_functions_batch_scope() {
    for p in PARALLELISMS {
        let env = env(p);
        let numbers = env.from_sequence(1, 2000).unwrap();
        let windows = numbers.key_by(|n| n % 7).count_window(10).process(WindowScopeProbe);
        let out = collect_sorted(&windows);
        assert!(out.len() >= 190, "parallelism {p}: {} windows", out.len());
        assert!(out.iter().all(|(_, in_batch)| *in_batch), "parallelism {p}: a window ran outside the scope");
    }
}

/// Holds records back until the end of the batch, as a function handing bundles to another
/// process does, and emits each with its own timestamp.
#[derive(Clone, Default)]
struct Buffering {
    pending: Vec<(Event, Option<i64>)>,
}

impl ProcessFunction<Event, Event> for Buffering {
    fn process_element(&mut self, value: Event, ctx: &mut ProcessContext<'_, Event>) -> Result<()> {
        self.pending.push((value, ctx.timestamp()));
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, Event>) -> Result<()> {
        for (value, timestamp) in self.pending.drain(..) {
            ctx.set_timestamp(timestamp);
            ctx.collect(value);
        }
        Ok(())
    }
}

/// Counts per key in keyed state, but only at the end of each batch, switching to each
/// buffered record's key; when `defer`red, a batch's counts wait until the next batch ends or
/// the runtime asks for owed results.
#[derive(Clone, Default)]
struct BufferedCount {
    pending: Vec<u8>,
    away: Vec<u8>,
    defer: bool,
    count: Option<ValueState<i64>>,
}

impl BufferedCount {
    fn count(&mut self, keys: &mut Vec<u8>, ctx: &mut KeyedProcessContext<'_, u8, (u8, i64)>) {
        let count = self.count.as_ref().expect("opened");
        for key in keys.drain(..) {
            ctx.set_current_key(key);
            let next = count.value().unwrap_or(0) + 1;
            count.update(next);
            ctx.collect((key, next));
        }
    }
}

impl KeyedProcessFunction<u8, Event, (u8, i64)> for BufferedCount {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, u8>) -> Result<()> {
        self.count = Some(context.get_state(&ValueStateDescriptor::new("count"))?);
        Ok(())
    }

    fn process_element(&mut self, value: Event, _: &mut KeyedProcessContext<'_, u8, (u8, i64)>) -> Result<()> {
        self.pending.push(value.0);
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut KeyedProcessContext<'_, u8, (u8, i64)>) -> Result<()> {
        let (mut away, mut pending) = (std::mem::take(&mut self.away), std::mem::take(&mut self.pending));
        self.count(&mut away, ctx);
        self.count(&mut pending, ctx);
        Ok(())
    }

    fn end_batch(&mut self, ctx: &mut KeyedProcessContext<'_, u8, (u8, i64)>) -> Result<()> {
        if !self.defer {
            return self.finish_batch(ctx);
        }
        let mut away = std::mem::replace(&mut self.away, std::mem::take(&mut self.pending));
        self.count(&mut away, ctx);
        Ok(())
    }

    fn owes_results(&self) -> bool {
        !self.away.is_empty()
    }
}

#[test]
fn buffered_records_are_finished_before_each_watermark_with_their_timestamps() {
    let events: Vec<Event> = (0..3000).map(|t| ((t % 5) as u8, t, 1)).collect();
    let window_counts = |buffered: bool| {
        let env = env(2);
        let source = common::timed_source(&env, &events, 0);
        let stream = if buffered { source.process(Buffering::default()) } else { source };
        let counts = stream
            .key_by(|e| e.0)
            .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
            .apply(|key: &u8, window: &TimeWindow, events: &[Event]| [(*key, window.start, events.len())]);
        collect_sorted(&counts)
    };
    // Records held past a watermark would be late for their windows and dropped.
    let direct = window_counts(false);
    assert_eq!(direct.iter().map(|c| c.2).sum::<usize>(), 3000);
    assert_eq!(window_counts(true), direct);
}

#[test]
fn results_owed_past_the_end_of_a_batch_precede_the_next_watermark_and_keep_their_timestamps() {
    let window_counts = |deferred: bool| {
        let env = env(2);
        env.set_auto_watermark_interval(Duration::from_millis(1));
        let strategy = WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|n: &i64, _| n / 10);
        let numbers = env.from_sequence(0, 199_999).unwrap().assign_timestamps_and_watermarks(strategy);
        let numbers = if deferred { numbers.process(Deferring::default()) } else { numbers };
        let counts = numbers
            .key_by(|n| n % 3)
            .window(TumblingEventTimeWindows::of(Duration::from_millis(500)))
            .apply(|key: &i64, window: &TimeWindow, numbers: &[i64]| [(*key, window.start, numbers.len())]);
        collect_sorted(&counts)
    };
    // Results emitted after a watermark that passed their timestamps would be late and dropped.
    let deferred = window_counts(true);
    assert_eq!(deferred.iter().map(|c| c.2).sum::<usize>(), 200_000);
    assert_eq!(deferred, window_counts(false));
}

#[test]
fn a_keyed_function_finishing_its_batch_updates_the_state_of_each_records_key() {
    for (p, defer) in PARALLELISMS.into_iter().flat_map(|p| [(p, false), (p, true)]) {
        let env = env(p);
        let events: Vec<Event> = (0..20_000).map(|n| ((n * 7 % 11) as u8, 0, 0)).collect();
        let function = BufferedCount { defer, ..BufferedCount::default() };
        let counts = env.from_collection(events.clone()).key_by(|e| e.0).process(function);
        let out = collect(&counts);
        let mut last = std::collections::BTreeMap::new();
        for (key, count) in out {
            let previous = last.insert(key, count).unwrap_or(0);
            assert_eq!(count, previous + 1, "parallelism {p}: key {key} counted out of order");
        }
        let mut expected = std::collections::BTreeMap::new();
        for e in &events {
            *expected.entry(e.0).or_insert(0) += 1;
        }
        assert_eq!(last, expected, "parallelism {p}");
    }
}

/// Emits each key's count only when the input ends.
#[derive(Clone, Default)]
struct CountAtEnd {
    keys: Vec<u8>,
    count: Option<ValueState<i64>>,
}

impl KeyedProcessFunction<u8, Event, (u8, i64)> for CountAtEnd {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, u8>) -> Result<()> {
        self.count = Some(context.get_state(&ValueStateDescriptor::new("count"))?);
        Ok(())
    }

    fn process_element(&mut self, value: Event, _: &mut KeyedProcessContext<'_, u8, (u8, i64)>) -> Result<()> {
        let count = self.count.as_ref().expect("opened");
        let next = count.value().unwrap_or(0) + 1;
        if next == 1 {
            self.keys.push(value.0);
        }
        count.update(next);
        Ok(())
    }

    fn end_input(&mut self, ctx: &mut KeyedProcessContext<'_, u8, (u8, i64)>) -> Result<()> {
        let count = self.count.as_ref().expect("opened");
        for key in self.keys.drain(..) {
            ctx.set_current_key(key);
            ctx.collect((key, count.value().unwrap_or(0)));
        }
        Ok(())
    }
}

#[test]
fn a_keyed_function_emits_held_results_when_its_input_ends() {
    for p in PARALLELISMS {
        let env = env(p);
        let events: Vec<Event> = (0..1000).map(|n| ((n % 13) as u8, 0, 0)).collect();
        let counts = env.from_collection(events).key_by(|e| e.0).process(CountAtEnd::default());
        let expected: Vec<(u8, i64)> = (0..13u8).map(|k| (k, if k < 12 { 77 } else { 76 })).collect();
        assert_eq!(collect_sorted(&counts), expected, "parallelism {p}");
    }
}

/// Counts records in a metric.
#[derive(Clone, Default)]
struct Metered {
    seen: Option<pyflink_core::metrics::Counter>,
}

impl ProcessFunction<i64, i64> for Metered {
    fn open(&mut self, context: &pyflink_core::RuntimeContext) -> Result<()> {
        self.seen = Some(context.get_metric_group().add_group("io").counter("seen"));
        Ok(())
    }

    fn process_element(&mut self, value: i64, ctx: &mut ProcessContext<'_, i64>) -> Result<()> {
        self.seen.as_ref().expect("opened").inc();
        ctx.collect(value);
        Ok(())
    }
}

#[test]
fn metrics_of_every_instance_are_in_the_jobs_result() {
    let env = env(4);
    env.from_sequence(1, 1000).unwrap().process(Metered::default()).name("metered").discard();
    let result = env.execute("metrics").unwrap();
    let counts: Vec<i64> = (0..4)
        .map(|i| match result.get_metrics().get(&format!("metered.{i}.io.seen")) {
            Some(pyflink_core::metrics::MetricValue::Counter(count)) => *count,
            other => panic!("instance {i}: {other:?}"),
        })
        .collect();
    assert_eq!(counts.iter().sum::<i64>(), 1000);
}

#[test]
fn a_timestamp_assigner_runs_beside_its_input_so_each_keys_order_is_kept() {
    use pyflink_core::time::WatermarkStrategy;
    let env = env(4);
    let events: Vec<Event> = (0..2000).map(|n| ((n % 7) as u8, n, n)).collect();
    let stamped = env.from_collection(events).assign_timestamps_and_watermarks(
        WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|e: &Event, _| e.1),
    );
    let seen = collect(&stamped.key_by(|e| e.0).map(|e| (e.0, e.2)));
    let mut last = std::collections::BTreeMap::new();
    for (key, value) in seen {
        let previous = last.insert(key, value).unwrap_or(-1);
        assert!(value > previous, "key {key}: {value} after {previous}");
    }
    assert_eq!(last.len(), 7);
}
