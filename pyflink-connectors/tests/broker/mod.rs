//! A real Kafka-protocol broker for the tests: `tansu`, started on a free port of 127.0.0.1
//! with in-memory storage and stopped when dropped. `.ci/run` installs the binary; the tests
//! find it through `TANSU_BIN`, else in `~/.cache/pyflink-tansu/tansu`.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

/// A running broker.
pub struct Broker {
    child: Child,
    /// `127.0.0.1:port`, for `bootstrap.servers`.
    pub bootstrap: String,
}

fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let path = PathBuf::from(home).join(".cache/pyflink-tansu/tansu");
    assert!(path.exists(), "no tansu broker at {}: run .ci/run, or set TANSU_BIN", path.display());
    path
}

impl Broker {
    /// Starts a broker and waits until it accepts connections.
    pub fn start() -> Broker {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        let bootstrap = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&bootstrap).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {bootstrap}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Broker { child, bootstrap }
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", &self.bootstrap).create().expect("admin client");
        let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let created = futures_executor::block_on(admin.create_topics([&new_topic], &AdminOptions::new()))
            .expect("create_topics answers");
        for result in created {
            result.unwrap_or_else(|(name, error)| panic!("topic {name} not created: {error}"));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
