//! Where the processes of a cluster are and which one this is: [`ClusterConfig`], built in Rust
//! or read from the environment variables the `pyflink-rs` command sets for each process.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::{FlinkError, Result};

/// The comma-separated `host:port` of every process, in process order.
pub const HOSTS_VAR: &str = "PYFLINK_RS_CLUSTER_HOSTS";
/// A file listing `host:port` of every process, one a line, in process order (the form of
/// timely's host files; blank lines and lines starting with `#` are skipped).
pub const HOSTFILE_VAR: &str = "PYFLINK_RS_CLUSTER_HOSTFILE";
/// This process's index in the list, from 0.
pub const PROCESS_ID_VAR: &str = "PYFLINK_RS_PROCESS_ID";
/// The worker threads of each process (1 unless set).
pub const THREADS_VAR: &str = "PYFLINK_RS_CLUSTER_THREADS";
/// The `host:port` where process 0 coordinates the others (see [`ClusterConfig::coordinator`]).
pub const COORDINATOR_VAR: &str = "PYFLINK_RS_CLUSTER_COORDINATOR";

/// How long processes wait for each other at the start of a job or of a restart, unless set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// One process's view of a cluster: every process runs the same program on `threads` workers,
/// and worker `process x threads + thread` of the whole cluster runs the same instances a
/// single process with that many workers would.
///
/// ```
/// use pyflink_core::cluster::ClusterConfig;
///
/// let cluster = ClusterConfig::new(vec!["127.0.0.1:2101".into(), "127.0.0.1:2102".into()], 1)
///     .unwrap()
///     .with_threads(2);
/// assert_eq!(cluster.workers(), 4);
/// assert_eq!(cluster.first_worker(), 2);
/// assert_eq!(cluster.coordinator(), "127.0.0.1:2103");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    addresses: Vec<String>,
    process_id: usize,
    threads: usize,
    coordinator: Option<String>,
    connect_timeout: Duration,
}

impl ClusterConfig {
    /// Process `process_id` of the processes at `addresses` (`host:port` each, where the
    /// process accepts its peers' record connections), with one worker thread each.
    pub fn new(addresses: Vec<String>, process_id: usize) -> Result<ClusterConfig> {
        if addresses.is_empty() {
            return Err(invalid("a cluster needs the address of at least one process"));
        }
        if process_id >= addresses.len() {
            return Err(invalid(&format!(
                "process id {process_id} is not in the cluster's {} processes; it must be between 0 and {}",
                addresses.len(),
                addresses.len() - 1
            )));
        }
        for address in &addresses {
            check_address(address)?;
        }
        Ok(ClusterConfig {
            addresses,
            process_id,
            threads: 1,
            coordinator: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        })
    }

    /// The same cluster with `threads` worker threads in every process (at least 1).
    pub fn with_threads(mut self, threads: usize) -> ClusterConfig {
        self.threads = threads.max(1);
        self
    }

    /// The same cluster coordinated at `address` (`host:port` of process 0's machine).
    pub fn with_coordinator(mut self, address: &str) -> Result<ClusterConfig> {
        check_address(address)?;
        self.coordinator = Some(address.to_string());
        Ok(self)
    }

    /// The same cluster, waiting at most `timeout` for the other processes to connect.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> ClusterConfig {
        self.connect_timeout = timeout;
        self
    }

    /// The cluster the environment variables describe ([`HOSTS_VAR`] or [`HOSTFILE_VAR`],
    /// [`PROCESS_ID_VAR`], [`THREADS_VAR`], [`COORDINATOR_VAR`]), or `None` when neither hosts
    /// variable is set and the process runs its jobs alone.
    pub fn from_env() -> Result<Option<ClusterConfig>> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let addresses = match (var(HOSTS_VAR), var(HOSTFILE_VAR)) {
            (Some(hosts), _) => hosts.split(',').map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| invalid(&format!("cannot read the host file {path} ({HOSTFILE_VAR}): {e}")))?;
                parse_hostfile(&text)
            }
            (None, None) => return Ok(None),
        };
        let process_id = match var(PROCESS_ID_VAR) {
            Some(text) => parse_number(PROCESS_ID_VAR, &text)?,
            None => return Err(invalid(&format!("{PROCESS_ID_VAR} must say which process of the cluster this is"))),
        };
        let mut config = ClusterConfig::new(addresses, process_id)?;
        if let Some(text) = var(THREADS_VAR) {
            let threads = parse_number(THREADS_VAR, &text)?;
            if threads == 0 {
                return Err(invalid(&format!("{THREADS_VAR} must be at least 1, not 0")));
            }
            config = config.with_threads(threads);
        }
        if let Some(coordinator) = var(COORDINATOR_VAR) {
            config = config.with_coordinator(&coordinator)?;
        }
        Ok(Some(config))
    }

    /// The number of processes.
    pub fn processes(&self) -> usize {
        self.addresses.len()
    }

    /// This process's index.
    pub fn process_id(&self) -> usize {
        self.process_id
    }

    /// Worker threads per process.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The workers of the whole cluster.
    pub fn workers(&self) -> usize {
        self.processes() * self.threads
    }

    /// The index of this process's first worker in the cluster.
    pub fn first_worker(&self) -> usize {
        self.process_id * self.threads
    }

    /// Whether this process coordinates the others (process 0).
    pub fn is_coordinator(&self) -> bool {
        self.process_id == 0
    }

    /// The address of every process, in process order.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// Where process 0 coordinates the others: as set, or process 0's host at the port after
    /// the cluster's block of ports (process 0's port + the number of processes), which is free
    /// when the processes take consecutive ports of one machine or the same port on each.
    pub fn coordinator(&self) -> String {
        if let Some(address) = &self.coordinator {
            return address.clone();
        }
        let (host, port) = self.addresses[0].rsplit_once(':').expect("checked when the config was built");
        let port: u16 = port.parse().expect("checked when the config was built");
        format!("{host}:{}", port as usize + self.processes())
    }

    /// How long processes wait for each other.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The socket addresses `address` resolves to, for binding or connecting.
    pub(crate) fn resolve(address: &str) -> Result<Vec<SocketAddr>> {
        address
            .to_socket_addrs()
            .map(Iterator::collect)
            .map_err(|e| FlinkError::Runtime(format!("cannot resolve the cluster address {address}: {e}")))
    }
}

/// The addresses of a host file: one `host:port` a line; blank lines and `#` comments skipped.
///
/// ```
/// let hosts = pyflink_core::cluster::parse_hostfile("# workers\nnode-0:2101\n\nnode-1:2101\n");
/// assert_eq!(hosts, vec!["node-0:2101", "node-1:2101"]);
/// ```
pub fn parse_hostfile(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).map(str::to_string).collect()
}

fn check_address(address: &str) -> Result<()> {
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => {
            Err(invalid(&format!("'{address}' is not a cluster address; write host:port, for example 127.0.0.1:2101")))
        }
    }
}

fn parse_number(name: &str, text: &str) -> Result<usize> {
    text.trim().parse().map_err(|_| invalid(&format!("{name} must be a whole number, not '{text}'")))
}

fn invalid(message: &str) -> FlinkError {
    FlinkError::InvalidProgram(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_it_cannot_use() {
        let two = || vec!["a:1".to_string(), "b:2".to_string()];
        assert!(ClusterConfig::new(vec![], 0).unwrap_err().to_string().contains("at least one process"));
        assert!(ClusterConfig::new(two(), 2).unwrap_err().to_string().contains("between 0 and 1"));
        let bad = ClusterConfig::new(vec!["nohost".into()], 0).unwrap_err().to_string();
        assert!(bad.contains("write host:port"), "{bad}");
        assert!(ClusterConfig::new(two(), 0).unwrap().with_coordinator("x").is_err());
    }

    #[test]
    fn numbers_workers_process_by_process() {
        let config = ClusterConfig::new(vec!["h:5".into(); 3], 2).unwrap().with_threads(4);
        assert_eq!((config.workers(), config.first_worker(), config.is_coordinator()), (12, 8, false));
        assert_eq!(config.coordinator(), "h:8");
        let set = config.with_coordinator("c:9").unwrap();
        assert_eq!(set.coordinator(), "c:9");
    }
}
