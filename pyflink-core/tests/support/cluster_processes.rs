//! Clusters of real processes on loopback for the tests: a test binary starts itself as each
//! process of a cluster, the job to run named by [`JOB_VAR`] and the process's place in the
//! cluster by pyflink-rs's cluster variables. Shared by the core's and the connectors' cluster
//! tests (included with `#[path]`).

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

use pyflink_core::cluster::{COORDINATOR_VAR, HOSTS_VAR, PROCESS_ID_VAR, THREADS_VAR};

/// The job a child process runs; absent in the test binary's first process.
pub const JOB_VAR: &str = "PFRS_CLUSTER_TEST_JOB";

/// `n` ports free on loopback a moment ago.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// The command of this test binary running `job` alone, its output piped.
pub fn child(job: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.env(JOB_VAR, job).env_remove(HOSTS_VAR).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// Starts `jobs.len()` children, process `p` running `jobs[p]`, as a cluster of `threads`
/// threads each.
pub fn start_cluster(jobs: &[&str], threads: usize, extra: &[(&str, String)]) -> Vec<Child> {
    let cluster = ClusterCommands::new(jobs, threads, extra);
    (0..jobs.len()).map(|process| cluster.spawn(process)).collect()
}

/// The commands of each process of a cluster on free ports of loopback.
pub struct ClusterCommands {
    jobs: Vec<String>,
    threads: usize,
    hosts: String,
    coordinator: String,
    extra: Vec<(String, String)>,
}

impl ClusterCommands {
    /// The commands of a cluster whose process `p` runs `jobs[p]` with `threads` threads and
    /// the environment variables `extra`.
    pub fn new(jobs: &[&str], threads: usize, extra: &[(&str, String)]) -> Self {
        let ports = free_ports(jobs.len() + 1);
        let hosts: Vec<String> = ports[..jobs.len()].iter().map(|p| format!("127.0.0.1:{p}")).collect();
        ClusterCommands {
            jobs: jobs.iter().map(|j| j.to_string()).collect(),
            threads,
            hosts: hosts.join(","),
            coordinator: format!("127.0.0.1:{}", ports[jobs.len()]),
            extra: extra.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        }
    }

    /// Starts process `process` (again).
    pub fn spawn(&self, process: usize) -> Child {
        let mut command = child(&self.jobs[process]);
        command
            .env(HOSTS_VAR, &self.hosts)
            .env(PROCESS_ID_VAR, process.to_string())
            .env(THREADS_VAR, self.threads.to_string())
            .env(COORDINATOR_VAR, &self.coordinator);
        for (key, value) in &self.extra {
            command.env(key, value);
        }
        command.spawn().unwrap()
    }
}

/// Waits for every child, reading all their outputs at once: a child whose pipe nobody reads
/// blocks on its next print, and with it the whole cluster.
pub fn wait_all(children: Vec<Child>) -> Vec<Output> {
    let readers: Vec<_> =
        children.into_iter().map(|c| std::thread::spawn(move || c.wait_with_output().unwrap())).collect();
    readers.into_iter().map(|r| r.join().unwrap()).collect()
}

/// Fails the test unless every process exited with success.
pub fn assert_succeeded(name: &str, outputs: &[Output]) {
    for (process, output) in outputs.iter().enumerate() {
        assert!(
            output.status.success(),
            "{name}: process {process} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Whether a job under the checkpoint directory `dir` has a complete checkpoint (its
/// metadata written).
pub fn has_complete_checkpoint(dir: &str) -> bool {
    latest_checkpoint(dir).is_some()
}

/// The newest complete checkpoint under the checkpoint directory `dir`: `<job>/chk-<n>` with
/// its metadata written, of the largest `n`.
pub fn latest_checkpoint(dir: &str) -> Option<std::path::PathBuf> {
    let jobs = std::fs::read_dir(dir).ok()?;
    let checkpoints = jobs
        .filter_map(Result::ok)
        .filter_map(|job| std::fs::read_dir(job.path()).ok())
        .flat_map(|entries| entries.filter_map(Result::ok).map(|entry| entry.path()));
    checkpoints
        .filter(|path| path.join("_metadata").exists())
        .filter_map(|path| {
            let n: u64 = path.file_name()?.to_str()?.strip_prefix("chk-")?.parse().ok()?;
            Some((n, path))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, path)| path)
}

/// One scenario of a cluster test binary.
pub type Scenario = Box<dyn Fn()>;

/// Runs the scenarios whose names hold the binary's first argument that is not an option (all
/// without one, as libtest filters), printing each one's time, then how many of `what` passed.
pub fn run_scenarios<N: AsRef<str>>(scenarios: Vec<(N, Scenario)>, what: &str) {
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-')).unwrap_or_default();
    let picked: Vec<_> = scenarios.into_iter().filter(|(name, _)| name.as_ref().contains(&filter)).collect();
    for (name, scenario) in &picked {
        let started = Instant::now();
        scenario();
        println!("test {} ... ok ({:.1}s)", name.as_ref(), started.elapsed().as_secs_f64());
    }
    println!("{} {what} passed", picked.len());
}
