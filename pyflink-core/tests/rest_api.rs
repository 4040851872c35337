//! The REST API on Flink's paths: a running job is listed, takes a savepoint by request, is
//! cancelled or stopped, and unknown jobs and paths get Flink's error shape.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use pyflink_core::{CheckpointingMode, Configuration, JobStatus, StreamExecutionEnvironment};
use serde_json::Value;

/// Sends one request and returns the status code and the JSON body.
fn call(port: u16, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(json).unwrap())
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

/// An endless checkpointed job serving the API on `port`.
fn endless(port: u16, name: &str) -> pyflink_core::JobClient {
    let env = StreamExecutionEnvironment::get_execution_environment();
    let mut config = Configuration::new();
    config.set_string("rest.port", &port.to_string());
    env.configure(&config).unwrap();
    env.set_parallelism(1);
    env.enable_checkpointing(Duration::from_secs(3600), CheckpointingMode::ExactlyOnce);
    env.from_sequence(1, i64::MAX).unwrap().discard();
    env.execute_async(name).unwrap()
}

/// Polls a savepoint request until it completes, and returns its operation.
fn savepoint_outcome(port: u16, job: &str, request: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = call(port, "GET", &format!("/jobs/{job}/savepoints/{request}"), "");
        assert_eq!(status, 200, "{body}");
        if body["status"]["id"] == "COMPLETED" {
            return body["operation"].clone();
        }
        assert!(Instant::now() < deadline, "the savepoint did not complete");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_running_job_is_listed_saved_cancelled_and_stopped_through_the_api() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut client = endless(port, "endless through REST");
    let job = client.job_id().to_string();

    let (status, overview) = call(port, "GET", "/jobs/overview", "");
    assert_eq!(status, 200);
    let listed = overview["jobs"].as_array().unwrap().iter().find(|j| j["jid"] == job.as_str()).unwrap().clone();
    assert_eq!((listed["name"].as_str(), listed["state"].as_str()), (Some("endless through REST"), Some("RUNNING")));
    assert_eq!(
        call(port, "GET", "/v1/jobs", "").1["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["id"] == job.as_str())
            .count(),
        1
    );

    let target = dir.path().join("savepoint-1");
    let body = format!(r#"{{"target-directory": "{}", "cancel-job": false}}"#, target.display());
    let (status, triggered) = call(port, "POST", &format!("/jobs/{job}/savepoints"), &body);
    assert_eq!(status, 202, "{triggered}");
    let operation = savepoint_outcome(port, &job, triggered["request-id"].as_str().unwrap());
    let location = operation["location"].as_str().unwrap().strip_prefix("file:").unwrap().to_string();
    assert!(std::path::Path::new(&location).join("_metadata").exists(), "{operation}");
    assert_eq!(client.job_status(), JobStatus::Running, "a savepoint alone keeps the job running");

    let (status, _) = call(port, "PATCH", &format!("/jobs/{job}?mode=cancel"), "");
    assert_eq!(status, 202);
    assert!(client.wait_timeout(Duration::from_secs(60)).expect("cancelled").is_err());
    assert_eq!(call(port, "GET", &format!("/jobs/{job}"), "").1["state"], "CANCELED");
    let (status, refused) = call(port, "PATCH", &format!("/jobs/{job}"), "");
    assert_eq!(status, 409);
    assert!(refused["errors"][0].as_str().unwrap().contains("already ended"), "{refused}");

    // Stop-with-savepoint ends the job as FINISHED.
    let mut client = endless(port, "stopped through REST");
    let job = client.job_id().to_string();
    let body = format!(r#"{{"targetDirectory": "{}", "drain": false}}"#, dir.path().join("savepoint-2").display());
    let (status, triggered) = call(port, "POST", &format!("/jobs/{job}/stop"), &body);
    assert_eq!(status, 202, "{triggered}");
    assert!(savepoint_outcome(port, &job, triggered["request-id"].as_str().unwrap())["location"].is_string());
    assert!(client.wait_timeout(Duration::from_secs(60)).expect("stopped").is_ok());
    assert_eq!(call(port, "GET", &format!("/jobs/{job}"), "").1["state"], "FINISHED");
}

#[test]
fn unknown_jobs_paths_and_savepoints_without_a_target_get_errors() {
    let port = free_port();
    let client = endless(port, "errors");
    let job = client.job_id().to_string();
    let (status, body) = call(port, "GET", "/jobs/00000000000000000000000000000000", "");
    assert_eq!(status, 404);
    assert!(body["errors"][0].as_str().unwrap().contains("not found"), "{body}");
    assert_eq!(call(port, "GET", "/nowhere", "").0, 404);
    let (status, body) = call(port, "POST", &format!("/jobs/{job}/savepoints"), "{}");
    assert_eq!(status, 400);
    assert!(body["errors"][0].as_str().unwrap().contains("target directory"), "{body}");
    let (status, body) = call(port, "POST", &format!("/jobs/{job}/stop"), r#"{"drain": true}"#);
    assert_eq!(status, 400);
    assert!(body["errors"][0].as_str().unwrap().contains("target directory"), "{body}");
    assert!(call(port, "GET", "/overview", "").1["jobs-running"].as_u64().unwrap() >= 1);
    client.cancel();
}

#[test]
fn a_rest_port_that_is_taken_fails_the_job_with_what_to_do() {
    let taken = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let env = StreamExecutionEnvironment::get_execution_environment();
    let mut config = Configuration::new();
    config.set_string("rest.port", &port.to_string());
    env.configure(&config).unwrap();
    env.from_sequence(1, 10).unwrap().discard();
    let error = env.execute("blocked").unwrap_err().to_string();
    assert!(error.contains("no port of") && error.contains("set rest.port"), "{error}");
    let mut bad = Configuration::new();
    bad.set_string("rest.port", "http");
    assert!(env.configure(&bad).is_err());
}
