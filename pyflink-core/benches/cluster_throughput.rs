//! Throughput of a keyed sum (`sequence -> map -> key_by -> sum -> blackhole`) on two workers,
//! as one process of two threads and as two processes of one thread each over loopback TCP,
//! printed side by side. The binary starts itself as each process of the cluster.
//!
//! Run: `cargo bench -p pyflink-core --bench cluster_throughput [-- RECORDS]`

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Instant;

use pyflink_core::cluster::{COORDINATOR_VAR, HOSTS_VAR, PROCESS_ID_VAR, THREADS_VAR};
use pyflink_core::StreamExecutionEnvironment;

#[path = "common/keyed_sum.rs"]
mod keyed_sum;
use keyed_sum::add_keyed_sum;

/// Set in a child: the records to sum.
const RECORDS_VAR: &str = "PFRS_CLUSTER_BENCH_RECORDS";

/// Runs the job in this process (alone or as one process of a cluster); prints its seconds.
fn child(records: i64) {
    let env = StreamExecutionEnvironment::get_execution_environment();
    if std::env::var(HOSTS_VAR).is_err() {
        env.set_parallelism(2);
    }
    add_keyed_sum(&env, records);
    let start = Instant::now();
    env.execute("cluster throughput").expect("job succeeds");
    println!("{}", start.elapsed().as_secs_f64());
}

fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// Starts `processes` children (a cluster of one thread each when more than one) and returns
/// the records per second of the slowest.
fn run(processes: usize, records: i64) -> f64 {
    let ports = free_ports(processes + 1);
    let hosts: Vec<String> = ports[..processes].iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let children: Vec<_> = (0..processes)
        .map(|process| {
            let mut command = Command::new(std::env::current_exe().unwrap());
            command.env(RECORDS_VAR, records.to_string()).stdout(Stdio::piped());
            if processes > 1 {
                command
                    .env(HOSTS_VAR, hosts.join(","))
                    .env(PROCESS_ID_VAR, process.to_string())
                    .env(THREADS_VAR, "1")
                    .env(COORDINATOR_VAR, format!("127.0.0.1:{}", ports[processes]));
            }
            command.spawn().unwrap()
        })
        .collect();
    let seconds = children
        .into_iter()
        .map(|c| {
            let output = c.wait_with_output().unwrap();
            assert!(output.status.success(), "a process of the benchmark failed");
            String::from_utf8_lossy(&output.stdout).trim().parse::<f64>().unwrap()
        })
        .fold(0.0, f64::max);
    records as f64 / seconds
}

fn main() {
    if let Ok(records) = std::env::var(RECORDS_VAR) {
        return child(records.parse().unwrap());
    }
    let records = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20_000_000i64);
    println!("sequence -> map -> key_by -> sum -> blackhole, {records} records, 10000 keys, 2 workers");
    let threads = (0..3).map(|_| run(1, records)).fold(0.0, f64::max);
    let processes = (0..3).map(|_| run(2, records)).fold(0.0, f64::max);
    println!("1 process x 2 threads:  {:.1} M records/s", threads / 1e6);
    println!("2 processes x 1 thread: {:.1} M records/s ({:.2}x of one process)", processes / 1e6, processes / threads);
}
