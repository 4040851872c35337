//! Running one job on several processes, on one machine or many, with timely's cluster
//! communication: every process runs the same program and builds the same dataflow on its
//! `threads` workers, and worker `process x threads + thread` of the cluster runs what worker of
//! that index would run in one process, so key groups, splits and parallelism stay as they are.
//! Records move between processes through timely; this module only connects the processes and
//! coordinates them.
//!
//! Process 0 is the coordinator. Before a job starts, every other process connects to it and
//! sends a description of the job it built; a process whose job differs is refused and the job
//! fails everywhere with the difference. Each attempt of the job starts once every process
//! listens for its peers; when the workers of any process stop early (a task failed, the
//! connection to a process was lost, a client cancelled), every process stops its workers, and
//! the coordinator decides under the job's restart strategy whether all restart. A process that
//! died is waited for when the next attempt begins (up to the connect timeout): started again
//! with the same program and id, it rejoins the job at that attempt, from the checkpoint the
//! others restore. Process 0 cannot be replaced: its death ends the job everywhere.
//!
//! A process joins a cluster when its environment says so ([`ClusterConfig::from_env`], which
//! the `pyflink-rs run --processes` command sets for each process it starts), or when a Rust
//! program sets [`ClusterConfig`] on its environment:
//!
//! ```no_run
//! use pyflink_core::cluster::ClusterConfig;
//! use pyflink_core::StreamExecutionEnvironment;
//!
//! let hosts = vec!["10.0.0.1:2101".to_string(), "10.0.0.2:2101".to_string()];
//! let process_id = std::env::args().nth(1).unwrap().parse().unwrap();
//! let env = StreamExecutionEnvironment::get_execution_environment();
//! env.set_cluster(ClusterConfig::new(hosts, process_id).unwrap().with_threads(2));
//! env.from_sequence(1, 1_000).unwrap().map(|x| x * 2).print();
//! env.execute("doubled on two machines").unwrap();
//! ```
//!
//! Checkpoints cover the whole cluster: process 0's checkpoint coordinator triggers them and
//! completes one when every task of every process has acknowledged it; the other processes write
//! their tasks' snapshots into the checkpoint directory all processes share
//! (`execution.checkpointing.dir`, which must be one directory to every process: a local path
//! for processes of one machine, a shared file system across machines). A restart restores every
//! process from the checkpoint the coordinator names.

pub(crate) mod admission;
pub(crate) mod checkpoints;
mod config;
pub(crate) mod control;
mod mesh;
mod reader;
pub(crate) mod wire;

use std::net::TcpStream;

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::Hooks;
use timely::execute::execute_from;
use timely::worker::Worker;
use timely::WorkerConfig;

pub use config::{
    parse_hostfile, ClusterConfig, COORDINATOR_VAR, DEFAULT_CONNECT_TIMEOUT, HOSTFILE_VAR, HOSTS_VAR, PROCESS_ID_VAR,
    THREADS_VAR,
};

use crate::{FlinkError, Result};

/// Runs `work` on this process's workers, connected to the other processes' workers by
/// `sockets`; returns timely's guards, whose joining waits for the local workers.
pub(crate) fn execute<T, F>(
    config: &ClusterConfig,
    sockets: Vec<Option<TcpStream>>,
    work: F,
) -> Result<timely::communication::WorkerGuards<T>>
where
    T: Send + 'static,
    F: Fn(&mut Worker) -> T + Send + Sync + 'static,
{
    let hooks = Hooks::default();
    let local = ProcessBuilder::new_typed_vector(config.threads(), hooks.refill.clone(), hooks.spill.clone());
    let (builders, network) =
        initialize_networking_from_sockets(local, sockets, config.process_id(), config.threads(), hooks)
            .map_err(|e| FlinkError::Runtime(format!("cannot start the record connections of the cluster: {e}")))?;
    let builders = builders.into_iter().map(AllocatorBuilder::Tcp).collect();
    execute_from(builders, Box::new(network), WorkerConfig::default(), work)
        .map_err(|e| FlinkError::Runtime(format!("cannot start {} workers: {e}", config.threads())))
}
