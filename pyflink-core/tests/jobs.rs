//! Job life cycle: execution results, failures, cancellation, invalid programs, and the built-in
//! sources.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{collect, collect_sorted, env};
use pyflink_core::sources::DataGenSource;
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{
    FlinkError, JobStatus, ProcessContext, ProcessFunction, Result, RuntimeExecutionMode, StreamExecutionEnvironment,
};

/// Runs `job` on another thread and fails the test if it takes longer than a minute: a job that
/// hangs must fail the test, not the test run.
fn within_a_minute<R: Send + 'static>(job: impl FnOnce() -> R + Send + 'static) -> R {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || send.send(job()));
    receive.recv_timeout(Duration::from_secs(60)).expect("the job ended within a minute")
}

fn unbounded(env: &StreamExecutionEnvironment) -> pyflink_core::DataStream<u64> {
    env.from_source(DataGenSource::new(|ctx| ctx.index()), WatermarkStrategy::no_watermarks(), "Unbounded")
}

#[test]
fn execute_reports_name_and_runtime() {
    let env = env(2);
    env.from_sequence(1, 1000).unwrap().map(|x| x + 1).discard();
    let result = env.execute("my job").unwrap();
    assert_eq!(result.job_name(), "my job");
    assert!(result.net_runtime() > Duration::ZERO);
}

#[test]
fn a_panicking_function_fails_the_job_with_operator_and_cause() {
    for parallelism in [1, 4] {
        let err = within_a_minute(move || {
            let env = env(parallelism);
            unbounded(&env).map(|x| if x == 5000 { panic!("bad record {x}") } else { x }).name("Explode").discard();
            env.execute("panics").unwrap_err()
        });
        match &err {
            FlinkError::TaskFailed { operator, cause, .. } => {
                assert_eq!(operator, "Explode");
                assert_eq!(cause, "bad record 5000");
            }
            other => panic!("expected a task failure, got {other}"),
        }
        assert!(err.to_string().contains("operator 'Explode'"), "{err}");
    }
}

#[test]
fn an_error_from_a_process_function_fails_the_job() {
    let err = within_a_minute(|| {
        let env = env(2);
        env.from_sequence(1, 100)
            .unwrap()
            .process(|x: i64, ctx: &mut ProcessContext<'_, i64>| {
                if x == 42 {
                    return Err(FlinkError::user("the answer is not allowed"));
                }
                ctx.collect(x);
                Ok(())
            })
            .name("Checker")
            .discard();
        env.execute("errors").unwrap_err()
    });
    assert!(err.to_string().contains("operator 'Checker'"), "{err}");
    assert!(err.to_string().contains("the answer is not allowed"), "{err}");
}

#[test]
fn a_failure_surfaces_through_execute_and_collect() {
    let outcome: Result<Vec<i64>> = within_a_minute(|| {
        let env = env(2);
        let stream = env.from_sequence(1, 10).unwrap().map(|x| if x == 7 { panic!("seven") } else { x });
        stream.execute_and_collect().unwrap().collect()
    });
    assert!(outcome.unwrap_err().to_string().contains("seven"));
}

#[test]
fn execute_async_can_be_waited_for_or_cancelled() {
    let env = env(2);
    env.from_sequence(1, 100).unwrap().discard();
    let mut client = env.execute_async("bounded").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.job_status() == JobStatus::Running {
        assert!(Instant::now() < deadline, "bounded job did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(client.job_status(), JobStatus::Finished);
    assert!(client.wait().is_ok());

    unbounded(&env).map(|x| x * 2).discard();
    let mut client = env.execute_async("unbounded").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(client.job_status(), JobStatus::Running);
    client.cancel();
    let outcome = within_a_minute(move || client.wait());
    assert_eq!(outcome.unwrap_err(), FlinkError::Cancelled);
}

#[test]
fn collecting_from_an_unbounded_stream_and_dropping_the_iterator() {
    let first: Vec<u64> = within_a_minute(|| {
        unbounded(&env(2)).map(|x| x).execute_and_collect().unwrap().take(100).map(Result::unwrap).collect()
    });
    assert_eq!(first.len(), 100);
}

/// Opens and closes counted by [`CountsCloses`].
static OPENED: AtomicUsize = AtomicUsize::new(0);
static CLOSED: AtomicUsize = AtomicUsize::new(0);

/// Passes records on and counts its `open()` and `close()` calls.
#[derive(Clone)]
struct CountsCloses;

impl ProcessFunction<u64, u64> for CountsCloses {
    fn open(&mut self, _context: &pyflink_core::RuntimeContext) -> Result<()> {
        OPENED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn process_element(&mut self, value: u64, ctx: &mut ProcessContext<'_, u64>) -> Result<()> {
        ctx.collect(value);
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        CLOSED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_cancelled_job_closes_its_functions_and_close_after_cancel_waits_for_it() {
    let mut records = unbounded(&env(2)).process(CountsCloses).execute_and_collect().unwrap();
    assert!(records.next().is_some());
    // A cancel alone does not wait; the close after it still does.
    records.cancel();
    within_a_minute(move || records.close());
    // An instance is opened on its first activation, which a cancel may come before.
    let opened = OPENED.load(Ordering::SeqCst);
    assert!(opened >= 1);
    assert_eq!(CLOSED.load(Ordering::SeqCst), opened, "each opened instance is closed once");
}

#[test]
fn invalid_programs_are_rejected_with_what_to_change() {
    let env = common::env(2);
    let err = env.execute("empty").unwrap_err();
    assert!(err.to_string().contains("add a sink"), "{err}");

    env.from_sequence(1, 10).unwrap().forward().map(|x| x).set_parallelism(1).discard();
    let err = env.execute("forward").unwrap_err();
    assert!(err.to_string().contains("forward partitioning does not allow change of parallelism"), "{err}");

    let env = common::env(2);
    env.set_runtime_mode(RuntimeExecutionMode::Batch);
    unbounded(&env).discard();
    let err = env.execute("batch").unwrap_err();
    assert!(err.to_string().contains("UNBOUNDED source 'Unbounded'"), "{err}");

    let env = common::env(2);
    env.from_collection(vec![1]).set_parallelism(2).discard();
    let err = env.execute("collection").unwrap_err();
    assert!(err.to_string().contains("is not parallel"), "{err}");

    let env = common::env(2);
    assert!(env.set_max_parallelism(0).is_err());
    env.set_max_parallelism(4).unwrap();
    env.from_sequence(1, 2).unwrap().map(|x| x).set_parallelism(8).discard();
    let err = env.execute("too wide").unwrap_err();
    assert!(err.to_string().contains("between 1 and the max parallelism 4"), "{err}");

    assert!(env.from_sequence(5, 1).is_err());
}

#[test]
fn automatic_mode_is_batch_for_bounded_sources() {
    let env = env(2);
    env.set_runtime_mode(RuntimeExecutionMode::Automatic);
    let sums = env.from_collection(vec![(1, 1i64), (1, 2), (2, 5)]).key_by(|t| t.0).sum(|t| &mut t.1);
    assert_eq!(collect_sorted(&sums), vec![(1, 3), (2, 5)]);
}

#[test]
fn a_second_execute_runs_only_the_new_sinks() {
    let env = env(2);
    let numbers = env.from_sequence(1, 5).unwrap();
    assert_eq!(collect_sorted(&numbers.map(|x| x * 10)), vec![10, 20, 30, 40, 50]);
    assert_eq!(collect_sorted(&numbers.map(|x| -x)), vec![-5, -4, -3, -2, -1]);
    let err = env.execute("nothing new").unwrap_err();
    assert!(err.to_string().contains("add a sink"), "{err}");
}

#[test]
fn number_sequence_is_complete_at_any_parallelism() {
    for p in [1, 3, 4] {
        let env = env(p);
        assert_eq!(collect_sorted(&env.from_sequence(-20, 1000).unwrap()), (-20..=1000).collect::<Vec<_>>());
    }
}

#[test]
fn datagen_generates_each_row_once_with_sequence_and_random_fields() {
    for p in [1, 3] {
        let env = env(p);
        let source = DataGenSource::new(|ctx| (ctx.sequence(100), ctx.random_long(-5, 5), ctx.random_string(4)))
            .number_of_rows(500)
            .seed(7);
        let rows = collect_sorted(&env.from_source(source, WatermarkStrategy::no_watermarks(), "gen"));
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), (100..600).collect::<Vec<_>>());
        assert!(rows.iter().all(|r| (-5..=5).contains(&r.1) && r.2.len() == 4));
        let distinct: std::collections::BTreeSet<i64> = rows.iter().map(|r| r.1).collect();
        assert!(distinct.len() > 5, "random fields vary: {distinct:?}");
    }
}

#[test]
fn datagen_rate_limit_slows_the_source_down() {
    let env = env(2);
    let source = DataGenSource::new(|ctx| ctx.index()).number_of_rows(300).rows_per_second(1000.0).unwrap();
    let start = Instant::now();
    assert_eq!(collect(&env.from_source(source, WatermarkStrategy::no_watermarks(), "limited")).len(), 300);
    // 300 rows at 1000 rows/s take at least about 0.3 s; allow for the first row of each reader.
    assert!(start.elapsed() >= Duration::from_millis(250), "took {:?}", start.elapsed());
    assert!(DataGenSource::new(|ctx| ctx.index()).rows_per_second(0.0).is_err());
}

#[test]
fn a_panicking_key_selector_fails_the_job() {
    let err = within_a_minute(|| {
        let env = env(2);
        env.from_sequence(1, 10_000)
            .unwrap()
            .key_by(|x| if *x == 777 { panic!("no key for {x}") } else { x % 5 })
            .reduce(|a, b| a + b)
            .discard();
        env.execute("bad key").unwrap_err()
    });
    assert!(err.to_string().contains("no key for 777"), "{err}");
}

#[test]
fn a_job_id_that_is_not_32_hex_digits_is_refused_naming_its_key() {
    let env = pyflink_core::StreamExecutionEnvironment::get_execution_environment();
    let mut config = pyflink_core::Configuration::new();
    config.set_string(pyflink_core::JOB_ID_KEY, "not-an-id");
    let error = env.configure(&config).err().expect("refused").to_string();
    assert!(error.contains("$internal.pipeline.job-id") && error.contains("32 hexadecimal digits"), "{error}");
    config.set_string(pyflink_core::JOB_ID_KEY, "0123456789abcdef0123456789ABCDEF");
    assert!(env.configure(&config).is_ok());
}
