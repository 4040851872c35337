//! The print sink on a running job: `N> value` lines at parallelism above 1, plain lines at 1.
//!
//! Test output is captured by the harness, so the test runs this test binary again as a child
//! process whose standard output it reads.

use std::process::Command;

const CHILD: &str = "PYFLINK_PRINT_CHILD";
const MARKER: &str = "--- print job output ---";

/// Runs a print job when started as the child; does nothing in a normal test run.
#[test]
fn print_child_job() {
    let Ok(parallelism) = std::env::var(CHILD) else { return };
    // Ends the harness's "test ... " line, so the job's lines start on lines of their own.
    println!("\n{MARKER}");
    let env = pyflink_core::StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism.parse().unwrap());
    env.from_collection((1..=40i64).map(|i| (format!("w{i}"), i)).collect::<Vec<_>>()).print();
    env.execute("print").unwrap();
}

fn printed(parallelism: usize) -> Vec<String> {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["print_child_job", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, parallelism.to_string())
        .output()
        .expect("child runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let (_, job_output) = stdout.split_once(MARKER).expect("the child printed its marker");
    job_output.lines().filter(|l| l.contains("(w")).map(str::to_string).collect()
}

#[test]
fn print_prefixes_lines_with_the_subtask_number_above_parallelism_one() {
    let lines = printed(3);
    assert_eq!(lines.len(), 40);
    let mut values = Vec::new();
    for line in &lines {
        let (prefix, value) = line.split_once("> ").expect("a subtask prefix");
        assert!(["1", "2", "3"].contains(&prefix), "prefix of {line:?}");
        values.push(value.to_string());
    }
    values.sort();
    let mut expected: Vec<String> = (1..=40).map(|i| format!("(w{i},{i})")).collect();
    expected.sort();
    assert_eq!(values, expected);
}

#[test]
fn print_writes_plain_lines_at_parallelism_one() {
    let expected: Vec<String> = (1..=40).map(|i| format!("(w{i},{i})")).collect();
    assert_eq!(printed(1), expected, "one printer, in order, without prefix");
}
