//! The record connections of one attempt: every process connects to every other once, the
//! lower-numbered one listening, and hands the sockets to timely, which moves the records.
//!
//! Connecting here rather than in timely lets each attempt have a deadline and a clear error,
//! and lets a process tell a connection of this attempt from a stale one of an earlier attempt.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::cluster::config::ClusterConfig;
use crate::{FlinkError, Result};

/// The first bytes of every record connection: "pfrs".
const MAGIC: u32 = 0x7066_7273;
/// How long a process waits between connection attempts to a peer that is not listening yet.
const RETRY: Duration = Duration::from_millis(20);

/// Binds this process's record address for an attempt, before it tells the coordinator it is
/// ready, so that peers connecting after the start find it listening.
pub(crate) fn listen(config: &ClusterConfig) -> Result<TcpListener> {
    let address = &config.addresses()[config.process_id()];
    let resolved = ClusterConfig::resolve(address)?;
    TcpListener::bind(&resolved[..]).map_err(|e| {
        FlinkError::Runtime(format!(
            "process {} cannot listen on {address} for its peers: {e}; choose a free port in the host list",
            config.process_id()
        ))
    })
}

/// The connections of `attempt` to every other process, by process index (`None` at this
/// process's own index), as timely's networking expects them.
pub(crate) fn connect(
    config: &ClusterConfig,
    listener: TcpListener,
    attempt: u64,
    deadline: Instant,
) -> Result<Vec<Option<TcpStream>>> {
    let me = config.process_id();
    let mut sockets: Vec<Option<TcpStream>> = (0..config.processes()).map(|_| None).collect();
    for (peer, address) in config.addresses().iter().enumerate().take(me) {
        let mut stream = connect_to(address, peer, deadline)?;
        let mut hello = Vec::with_capacity(16);
        hello.extend_from_slice(&MAGIC.to_be_bytes());
        hello.extend_from_slice(&attempt.to_be_bytes());
        hello.extend_from_slice(&(me as u32).to_be_bytes());
        stream.write_all(&hello).map_err(|e| lost(peer, address, e))?;
        sockets[peer] = Some(stream);
    }
    listener.set_nonblocking(true).map_err(|e| FlinkError::Runtime(format!("cannot poll the record listener: {e}")))?;
    let mut waiting = config.processes() - me - 1;
    while waiting > 0 {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(peer) = accept_peer(stream, config, attempt, deadline, &mut sockets)? {
                    tracing::debug!(peer, attempt, "record connection accepted");
                    waiting -= 1;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<usize> = (me + 1..config.processes()).filter(|&p| sockets[p].is_none()).collect();
                    return Err(FlinkError::Runtime(format!(
                        "process {me} waited {:?} for processes {missing:?} to connect; are they running, and can they reach {}?",
                        config.connect_timeout(),
                        config.addresses()[me]
                    )));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(FlinkError::Runtime(format!("process {me} cannot accept a peer: {e}"))),
        }
    }
    Ok(sockets)
}

/// Reads a connecting peer's greeting and keeps the connection if it belongs to this attempt.
fn accept_peer(
    mut stream: TcpStream,
    config: &ClusterConfig,
    attempt: u64,
    deadline: Instant,
    sockets: &mut [Option<TcpStream>],
) -> Result<Option<usize>> {
    let setup = |e: std::io::Error| FlinkError::Runtime(format!("cannot set up a record connection: {e}"));
    prepare_accepted(&stream, deadline).map_err(setup)?;
    let mut hello = [0u8; 16];
    if stream.read_exact(&mut hello).is_err() {
        // A connection that says nothing is not one of ours (or its process died); ignore it.
        return Ok(None);
    }
    let magic = u32::from_be_bytes(hello[0..4].try_into().expect("4 bytes"));
    let their_attempt = u64::from_be_bytes(hello[4..12].try_into().expect("8 bytes"));
    let peer = u32::from_be_bytes(hello[12..16].try_into().expect("4 bytes")) as usize;
    let me = config.process_id();
    if magic != MAGIC || their_attempt != attempt || peer <= me || peer >= config.processes() || sockets[peer].is_some()
    {
        tracing::warn!(peer, their_attempt, attempt, "ignoring a record connection that is not this attempt's");
        return Ok(None);
    }
    stream.set_read_timeout(None).map_err(setup)?;
    sockets[peer] = Some(stream);
    Ok(Some(peer))
}

/// Makes an accepted connection blocking, without delay for small writes, and reading at most
/// until `deadline` while its greeting is awaited.
pub(crate) fn prepare_accepted(stream: &TcpStream, deadline: Instant) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(RETRY)))
}

/// Connects to `peer`, retrying while it is not listening yet, until `deadline`.
fn connect_to(address: &str, peer: usize, deadline: Instant) -> Result<TcpStream> {
    let resolved = ClusterConfig::resolve(address)?;
    loop {
        match TcpStream::connect(&resolved[..]) {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(|e| lost(peer, address, e))?;
                return Ok(stream);
            }
            Err(e) if Instant::now() >= deadline => return Err(lost(peer, address, e)),
            Err(_) => std::thread::sleep(RETRY),
        }
    }
}

fn lost(peer: usize, address: &str, error: std::io::Error) -> FlinkError {
    FlinkError::Runtime(format!("cannot connect to process {peer} at {address}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_addresses(n: usize) -> Vec<String> {
        let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        listeners.iter().map(|l| l.local_addr().unwrap().to_string()).collect()
    }

    #[test]
    fn three_processes_connect_pairwise_and_ignore_stale_attempts() {
        let addresses = free_addresses(3);
        let configs: Vec<ClusterConfig> = (0..3)
            .map(|p| ClusterConfig::new(addresses.clone(), p).unwrap().with_connect_timeout(Duration::from_secs(5)))
            .collect();
        let listeners: Vec<TcpListener> = configs.iter().map(|c| listen(c).unwrap()).collect();
        // A leftover from an earlier attempt knocks on process 0 first.
        let mut stale = TcpStream::connect(&addresses[0]).unwrap();
        let mut greeting = MAGIC.to_be_bytes().to_vec();
        greeting.extend_from_slice(&6u64.to_be_bytes());
        greeting.extend_from_slice(&1u32.to_be_bytes());
        stale.write_all(&greeting).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let handles: Vec<_> = configs
            .into_iter()
            .zip(listeners)
            .map(|(config, listener)| std::thread::spawn(move || connect(&config, listener, 7, deadline).unwrap()))
            .collect();
        let meshes: Vec<Vec<Option<TcpStream>>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for (me, mesh) in meshes.iter().enumerate() {
            let connected: Vec<bool> = mesh.iter().map(Option::is_some).collect();
            let expected: Vec<bool> = (0..3).map(|p| p != me).collect();
            assert_eq!(connected, expected, "process {me}");
        }
    }

    #[test]
    fn a_missing_peer_is_named_when_the_deadline_passes() {
        let addresses = free_addresses(2);
        let config = ClusterConfig::new(addresses, 0).unwrap().with_connect_timeout(Duration::from_millis(50));
        let listener = listen(&config).unwrap();
        let error = connect(&config, listener, 0, Instant::now() + Duration::from_millis(50)).unwrap_err();
        assert!(error.to_string().contains("for processes [1] to connect"), "{error}");
    }
}
