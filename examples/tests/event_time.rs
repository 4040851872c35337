//! The event-time examples print what PyFlink 2.3.0's examples print on the same data.
//!
//! Fixtures are PyFlink's output, recorded once. Print prefixes (`N> `) depend on how keys are
//! spread over instances, which differs from PyFlink's hashing, and the order of results of
//! different keys is not defined, so lines are compared without prefix, as sorted lists.

use std::process::Command;

fn run(binary: &str) -> Vec<String> {
    let output = Command::new(binary).output().expect("example runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    sorted_results(&String::from_utf8(output.stdout).unwrap())
}

fn sorted_results(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| match line.split_once("> ") {
            Some((prefix, rest)) if prefix.chars().all(|c| c.is_ascii_digit()) => rest.to_string(),
            _ => line.to_string(),
        })
        .filter(|line| line.starts_with('('))
        .collect();
    lines.sort();
    lines
}

#[test]
fn event_time_timer_matches_pyflink() {
    let expected = sorted_results(include_str!("fixtures/event_time_timer_pyflink_2.3.txt"));
    assert_eq!(expected.len(), 8);
    assert_eq!(run(env!("CARGO_BIN_EXE_event_time_timer")), expected);
}

/// Runs one job of the `windowing` example and returns its result lines in printed order.
fn windowing(example: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_windowing")).arg(example).output().expect("example runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().filter(|l| l.starts_with('(')).map(str::to_string).collect()
}

/// At parallelism 1 with one key, windows fire in a defined order: compare lines in order.
fn fixture_lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

#[test]
fn tumbling_time_window_matches_pyflink() {
    let expected = fixture_lines(include_str!("fixtures/tumbling_time_window_pyflink_2.3.txt"));
    assert_eq!(windowing("tumbling_time_window"), expected);
}

#[test]
fn sliding_time_window_matches_pyflink() {
    let expected = fixture_lines(include_str!("fixtures/sliding_time_window_pyflink_2.3.txt"));
    assert_eq!(windowing("sliding_time_window"), expected);
}

#[test]
fn session_with_gap_window_matches_pyflink() {
    let expected = fixture_lines(include_str!("fixtures/session_with_gap_window_pyflink_2.3.txt"));
    assert_eq!(windowing("session_with_gap_window"), expected);
}

#[test]
fn session_with_dynamic_gap_window_matches_pyflink() {
    let expected = fixture_lines(include_str!("fixtures/session_with_dynamic_gap_window_pyflink_2.3.txt"));
    assert_eq!(windowing("session_with_dynamic_gap_window"), expected);
}

#[test]
fn tumbling_count_window_matches_pyflink() {
    let expected = fixture_lines(include_str!("fixtures/tumbling_count_window_pyflink_2.3.txt"));
    assert_eq!(windowing("tumbling_count_window"), expected);
}

#[test]
fn windowing_rejects_an_unknown_example() {
    let output = Command::new(env!("CARGO_BIN_EXE_windowing")).arg("hopping").output().expect("example runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown example 'hopping'"));
}
