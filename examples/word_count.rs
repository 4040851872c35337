//! Word count: the classic first job, as a Rust program.
//!
//! Counts the words of a text (whitespace-separated, case and punctuation kept) in BATCH mode at
//! parallelism 1, so it prints each word's final count once, like PyFlink's DataStream
//! `word_count` example does on the same text (Hamlet's soliloquy, built in here).
//!
//! Run: `cargo run --release -p pyflink-examples --bin word_count [-- --input FILE]`

use pyflink_core::{Result, RuntimeExecutionMode, StreamExecutionEnvironment};

/// The default input: Hamlet's soliloquy.
const HAMLET: &str = include_str!("data/hamlet.txt");

fn main() -> Result<()> {
    let text = match std::env::args().skip_while(|a| a != "--input").nth(1) {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| pyflink_core::FlinkError::user(format!("cannot read {path}: {e}")))?,
        None => {
            println!("Executing word_count example with default input data set.");
            println!("Use --input to specify file input.");
            HAMLET.to_string()
        }
    };
    let lines: Vec<String> = text.lines().map(str::to_string).collect();

    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_runtime_mode(RuntimeExecutionMode::Batch);
    env.set_parallelism(1);

    env.from_collection(lines)
        .flat_map(|line| line.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .map(|word| (word, 1i32))
        .key_by(|(word, _)| word.clone())
        .reduce(|(word, a), (_, b)| (word, a + b))
        .print();

    println!("Printing result to stdout.");
    env.execute("word_count")?;
    Ok(())
}
