//! The REST API's routes, with Flink's paths and JSON shapes: the jobs overview, a job's
//! details, cancelling, and savepoints (triggered, with or without stopping the job, and
//! polled by request id).

use serde_json::{json, Value};

use super::http::{Request, Response};
use super::jobs::{self, now_millis, AfterSavepoint, JobEntry, SavepointState};
use crate::runtime::client::JobStatus;

/// The answer to `request`.
pub(crate) fn answer(request: &Request) -> Response {
    let path: Vec<&str> = request.path.iter().map(String::as_str).collect();
    // Flink serves the same API with a version prefix.
    let path = match path.as_slice() {
        ["v1", rest @ ..] => rest,
        all => all,
    };
    match (request.method.as_str(), path) {
        ("GET", ["overview"]) => overview(),
        ("GET", ["jobs"]) => Response::ok(json!({
            "jobs": jobs::all().iter().map(|job| json!({"id": job.id.to_string(), "status": job.status().0.name()}))
                .collect::<Vec<_>>()
        })),
        ("GET", ["jobs", "overview"]) => {
            Response::ok(json!({ "jobs": jobs::all().iter().map(|job| details(job)).collect::<Vec<_>>() }))
        }
        (_, ["jobs", id, rest @ ..]) => match jobs::find(id) {
            None => Response::error(404, format!("Job {id} not found")),
            Some(job) => job_route(request, &job, rest),
        },
        ("GET" | "PATCH" | "POST", _) => Response::error(404, "Not found: this path is not part of the REST API"),
        (method, _) => Response::error(405, format!("{method} is not served")),
    }
}

fn job_route(request: &Request, job: &JobEntry, rest: &[&str]) -> Response {
    match (request.method.as_str(), rest) {
        ("GET", []) => Response::ok(details(job)),
        ("PATCH", []) => match request.query("mode").unwrap_or("cancel") {
            "cancel" => match job.cancel() {
                Ok(()) => Response::accepted(json!({})),
                Err(error) => Response::error(409, error.to_string()),
            },
            mode => Response::error(400, format!("mode '{mode}' is not supported; use mode=cancel")),
        },
        ("POST", ["savepoints"]) => {
            let body = body(request);
            let after = match body.get("cancel-job").and_then(Value::as_bool) {
                Some(true) => AfterSavepoint::Cancel,
                _ => AfterSavepoint::Continue,
            };
            trigger(job, body.get("target-directory"), after)
        }
        ("POST", ["stop"]) => {
            let body = body(request);
            let after = match body.get("drain").and_then(Value::as_bool) {
                Some(true) => AfterSavepoint::Drain,
                _ => AfterSavepoint::Stop,
            };
            trigger(job, body.get("targetDirectory"), after)
        }
        ("GET", ["savepoints", request_id]) => match jobs::savepoint(request_id) {
            None => Response::error(404, format!("There is no savepoint operation with request id {request_id}")),
            Some(SavepointState::InProgress) => Response::ok(json!({"status": {"id": "IN_PROGRESS"}})),
            Some(SavepointState::Completed(path)) => Response::ok(json!({
                "status": {"id": "COMPLETED"},
                "operation": {"location": format!("file:{}", path.display())}
            })),
            Some(SavepointState::Failed(message)) => Response::ok(json!({
                "status": {"id": "COMPLETED"},
                "operation": {"failure-cause": {"class": "org.apache.flink.util.FlinkException", "stack-trace": message}}
            })),
        },
        _ => Response::error(404, "Not found: this path is not part of the REST API"),
    }
}

/// The JSON body of `request`, or an empty object.
fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_else(|_| json!({}))
}

fn trigger(job: &JobEntry, target: Option<&Value>, after: AfterSavepoint) -> Response {
    let Some(target) = target.and_then(Value::as_str) else {
        return Response::error(
            400,
            "give the savepoint's target directory: no default savepoint directory is configured",
        );
    };
    let target = crate::configuration::local_path(target);
    match job.trigger_savepoint(target, after) {
        Ok(request_id) => Response::accepted(json!({ "request-id": request_id })),
        Err(error) => Response::error(409, error.to_string()),
    }
}

/// A job as `/jobs/overview` and `/jobs/:jobid` show it.
fn details(job: &JobEntry) -> Value {
    let (status, end_time) = job.status();
    let now = now_millis();
    let duration = if end_time < 0 { now - job.start_time } else { end_time - job.start_time };
    json!({
        "jid": job.id.to_string(),
        "name": job.name,
        "state": status.name(),
        "start-time": job.start_time,
        "end-time": end_time,
        "duration": duration,
        "last-modification": if end_time < 0 { job.start_time } else { end_time },
        "now": now,
        "isStoppable": false,
    })
}

/// The process as one Flink cluster: its jobs by state.
fn overview() -> Response {
    let statuses: Vec<JobStatus> = jobs::all().iter().map(|job| job.status().0).collect();
    let count = |wanted: JobStatus| statuses.iter().filter(|status| **status == wanted).count();
    Response::ok(json!({
        "taskmanagers": 1,
        "jobs-running": count(JobStatus::Running),
        "jobs-finished": count(JobStatus::Finished),
        "jobs-cancelled": count(JobStatus::Canceled),
        "jobs-failed": count(JobStatus::Failed),
        "flink-version": env!("CARGO_PKG_VERSION"),
    }))
}
