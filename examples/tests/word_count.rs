//! The word count example prints the same counts as PyFlink's DataStream word_count example.
//!
//! The fixture is PyFlink 2.3.0's output of its example on the same text, recorded once. PyFlink
//! orders BATCH results by its serialized keys, so lines are compared as sorted lists.

use std::process::Command;

#[test]
fn word_count_matches_pyflink() {
    let output = Command::new(env!("CARGO_BIN_EXE_word_count")).output().expect("example runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut ours: Vec<&str> = stdout.lines().filter(|l| l.starts_with('(')).collect();
    let mut expected: Vec<&str> = include_str!("fixtures/word_count_pyflink_2.3.txt").lines().collect();
    ours.sort();
    expected.sort();
    assert_eq!(expected.len(), 183);
    assert_eq!(ours, expected);
}

#[test]
fn word_count_reads_an_input_file() {
    let dir = std::env::temp_dir().join(format!("pyflink-wc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.txt");
    std::fs::write(&input, "b a b\nc b\n").unwrap();
    let output =
        Command::new(env!("CARGO_BIN_EXE_word_count")).arg("--input").arg(&input).output().expect("example runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('(')).collect();
    lines.sort();
    assert_eq!(lines, vec!["(a,1)", "(b,3)", "(c,1)"]);
    std::fs::remove_dir_all(dir).unwrap();
}
