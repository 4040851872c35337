//! The REST API of a process's jobs, on Flink's paths and JSON shapes, so that Flink's tools
//! and the `pyflink-rs list`, `cancel`, `savepoint` and `stop` commands work against a running
//! job: `GET /overview`, `GET /jobs`, `GET /jobs/overview`, `GET /jobs/:jobid`,
//! `PATCH /jobs/:jobid` (cancel), `POST /jobs/:jobid/savepoints` (`target-directory`,
//! `cancel-job`), `POST /jobs/:jobid/stop` (`targetDirectory`) and
//! `GET /jobs/:jobid/savepoints/:requestid`; with or without the `/v1` prefix.
//!
//! The API is served once a job whose configuration sets `rest.port` (or `rest.bind-port`, a
//! port or a range such as `8081-8090`, the first free one taken) starts, on
//! `rest.bind-address` (`127.0.0.1` unless set), and lists every job of the process from then
//! on, running and recently ended. Local jobs do not serve it unless asked, as Flink's local
//! environments do not; the `pyflink-rs run` command asks for port 8081.
//!
//! ```
//! use pyflink_core::rest::RestEndpointConfig;
//! use pyflink_core::Configuration;
//!
//! let mut config = Configuration::new();
//! config.set_string("rest.bind-port", "8081-8085");
//! let endpoint = RestEndpointConfig::of(&config).unwrap().unwrap();
//! assert_eq!((endpoint.address.as_str(), endpoint.ports), ("127.0.0.1", 8081..=8085));
//! assert_eq!(RestEndpointConfig::of(&Configuration::new()).unwrap(), None);
//! ```

mod http;
pub(crate) mod jobs;
mod routes;

use std::net::{TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::sync::Mutex;

use crate::configuration::{invalid, Configuration};
use crate::{FlinkError, Result};

/// Where the REST API is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestEndpointConfig {
    /// The address to bind (`rest.bind-address`, else `rest.address`, else `127.0.0.1`).
    pub address: String,
    /// The ports to try, in order (`rest.bind-port`, else `rest.port`).
    pub ports: RangeInclusive<u16>,
}

impl RestEndpointConfig {
    /// The endpoint `config` asks for, if it sets a REST port.
    pub fn of(config: &Configuration) -> Result<Option<RestEndpointConfig>> {
        let (key, text) = match (config.get_string("rest.bind-port"), config.get_string("rest.port")) {
            (Some(ports), _) => ("rest.bind-port", ports),
            (None, Some(port)) => ("rest.port", port),
            (None, None) => return Ok(None),
        };
        let (low, high) = text.split_once('-').unwrap_or((text, text));
        let ports = match (low.trim().parse::<u16>(), high.trim().parse::<u16>()) {
            (Ok(low), Ok(high)) if low <= high => low..=high,
            _ => return Err(invalid(key, text, "a port or a range like 8081-8090")),
        };
        let address = config
            .get_string("rest.bind-address")
            .or_else(|| config.get_string("rest.address"))
            .unwrap_or("127.0.0.1")
            .to_string();
        Ok(Some(RestEndpointConfig { address, ports }))
    }
}

/// The endpoints served by this process, with the port each got.
static SERVED: Mutex<Vec<(RestEndpointConfig, u16)>> = Mutex::new(Vec::new());

/// Serves the REST API at `endpoint` unless it is served already; the port it is served on.
/// An error when none of its ports is free, as a Flink cluster does not start then.
pub(crate) fn serve(endpoint: &RestEndpointConfig) -> Result<u16> {
    let mut served = SERVED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, port)) = served.iter().find(|(served, _)| served == endpoint) {
        return Ok(*port);
    }
    let listener =
        endpoint.ports.clone().find_map(|port| TcpListener::bind((endpoint.address.as_str(), port)).ok()).ok_or_else(
            || {
                FlinkError::InvalidProgram(format!(
                    "the REST API cannot be served: no port of {:?} is free on {} (set rest.port to a free port)",
                    endpoint.ports, endpoint.address
                ))
            },
        )?;
    let port = listener.local_addr().map_err(|e| FlinkError::Runtime(format!("REST API: {e}")))?.port();
    std::thread::Builder::new()
        .name(format!("REST API :{port}"))
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // One request at a time: the answers are quick, savepoints run in the background.
                let _ = answer(stream);
            }
        })
        .map_err(|e| FlinkError::Runtime(format!("cannot start the REST API's thread: {e}")))?;
    tracing::info!("REST API served on http://{}:{port}", endpoint.address);
    served.push((endpoint.clone(), port));
    Ok(port)
}

fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    let response = match http::read_request(&mut stream)? {
        Some(request) => routes::answer(&request),
        None => http::Response::error(400, "not an HTTP request this API understands"),
    };
    http::write_response(&mut stream, &response)
}
