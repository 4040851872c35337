//! Objects of user functions per operator instance (`pyflink_table::function_instances`): a
//! scalar function of a query gets one object in each parallel instance of the operator that
//! calls it, made on the instance's first call with the instance's runtime context, kept for
//! its later calls, and closed when the operator closes; a failing call names its expression.

use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType as ArrowType, Int64Type};
use datafusion::common::DataFusionError;
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use pyflink_core::StreamExecutionEnvironment;
use pyflink_table::environment::TableEnvironment;
use pyflink_table::function_instances::{with_instance, FunctionId, FunctionInstance};

/// What the objects did, in order.
type Log = Arc<Mutex<Vec<String>>>;

/// A function's object in one operator instance: the rows it numbered so far.
struct Numbering {
    instance: usize,
    rows: i64,
    log: Log,
}

impl FunctionInstance for Numbering {
    fn close(&mut self) -> pyflink_table::Result<()> {
        self.log.lock().unwrap().push(format!("close {} after {}", self.instance, self.rows));
        Ok(())
    }
}

/// `numbered(x)`: `1000 * instance + k` for the `k`-th row an operator instance saw, through an
/// object per instance; fails on a negative `x`.
fn register_numbered(t_env: &TableEnvironment, log: &Log) {
    let id = FunctionId::new();
    let log = Arc::clone(log);
    let numbered = Arc::new(move |args: &[ColumnarValue]| {
        let x = args[0].to_array(1)?;
        let x = x.as_primitive::<Int64Type>();
        if x.values().iter().any(|&x| x < 0) {
            return Err(DataFusionError::Execution("a negative number".into()));
        }
        let open = |task: Option<&pyflink_core::TaskInfo>| {
            let instance = task.map_or(usize::MAX, |task| task.get_index_of_this_subtask());
            let task = task.map_or(String::new(), |task| task.get_task_name().to_string());
            log.lock().unwrap().push(format!("open {instance} in {task}"));
            Ok::<_, DataFusionError>(Numbering { instance, rows: 0, log: Arc::clone(&log) })
        };
        let numbers = with_instance(id, open, |object: &mut Numbering| {
            let base = 1000 * object.instance as i64;
            let numbers: Int64Array = (0..x.len())
                .map(|_| {
                    object.rows += 1;
                    base + object.rows
                })
                .collect();
            Ok(numbers)
        })?;
        Ok(ColumnarValue::Array(Arc::new(numbers)))
    });
    let function = create_udf("numbered", vec![ArrowType::Int64], ArrowType::Int64, Volatility::Volatile, numbered);
    t_env.create_temporary_system_function(function);
}

fn streaming(parallelism: usize, log: &Log) -> TableEnvironment {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    let t_env = TableEnvironment::from_stream_environment(&env);
    register_numbered(&t_env, log);
    t_env
}

fn sequence(t_env: &TableEnvironment, last: i64) {
    let ddl = format!(
        "CREATE TABLE numbers (x BIGINT) WITH ('connector' = 'datagen', 'fields.x.kind' = 'sequence', \
         'fields.x.start' = '0', 'fields.x.end' = '{last}')"
    );
    t_env.execute_sql(&ddl).unwrap();
}

#[test]
fn each_operator_instance_has_an_object_of_its_own_closed_with_the_operator() {
    let log = Log::default();
    let t_env = streaming(2, &log);
    sequence(&t_env, 99);
    let rows = t_env.execute_sql("SELECT numbered(x) FROM numbers").unwrap().collect().unwrap();
    let mut numbers: Vec<i64> = rows
        .iter()
        .map(|row| row.to_string().trim_start_matches("+I[").trim_end_matches(']').parse().unwrap())
        .collect();
    numbers.sort_unstable();
    let log = log.lock().unwrap().clone();
    // Two instances, each numbering its own rows from 1, in one object kept across batches.
    let first: Vec<i64> = numbers.iter().copied().filter(|&n| n < 1000).collect();
    let second: Vec<i64> = numbers.iter().copied().filter(|&n| n >= 1000).collect();
    assert_eq!(first, (1..=first.len() as i64).collect::<Vec<_>>(), "{log:?}");
    assert_eq!(second, (1001..=1000 + second.len() as i64).collect::<Vec<_>>(), "{log:?}");
    assert_eq!(first.len() + second.len(), 100);
    let mut opened: Vec<&String> = log.iter().filter(|line| line.starts_with("open")).collect();
    opened.sort();
    assert_eq!(opened.len(), 2, "{log:?}");
    assert!(opened[0].starts_with("open 0 in Calc(select=[numbered("), "{log:?}");
    assert!(opened[1].starts_with("open 1 in Calc(select=[numbered("), "{log:?}");
    let mut closed: Vec<String> = log.iter().filter(|line| line.starts_with("close")).cloned().collect();
    closed.sort();
    assert_eq!(closed, [format!("close 0 after {}", first.len()), format!("close 1 after {}", second.len())]);
}

#[test]
fn a_failing_call_names_its_expression() {
    let log = Log::default();
    let t_env = streaming(1, &log);
    sequence(&t_env, 9);
    let failed = t_env.execute_sql("SELECT x, numbered(x - 5) AS n FROM numbers").unwrap().collect().unwrap_err();
    assert!(failed.to_string().contains("in the expression numbered(x - 5)"), "{failed}");
    assert!(failed.to_string().contains("a negative number"), "{failed}");
}
