"""The ``pyflink-rs`` commands that act on running jobs through their REST API, as Flink's
``flink list``, ``cancel``, ``savepoint`` and ``stop`` do. Each ``pyflink-rs run`` process
serves its jobs on the first free port of 8081-8099 (``rest.bind-port``); without ``-m
host:port`` the commands ask every one of those ports on this machine, so that they reach the
jobs of every local ``pyflink-rs run``."""

import datetime
import json
import time
import urllib.error
import urllib.request

from pyflink_rs.common import global_configuration

# The ports `pyflink-rs run` serves its REST API on unless told otherwise.
DEFAULT_PORTS = "8081-8099"
_SAVEPOINT_POLL_SECONDS = 0.1


class ControlError(Exception):
    """What went wrong talking to a job, to print."""


def _request(address, method, path, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://{address}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            errors = json.loads(error.read()).get("errors", [])
        except ValueError:
            errors = []
        raise ControlError("; ".join(errors) or f"{method} {path} answered {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ControlError(f"cannot reach the REST API at {address}: {reason}") from None


def _addresses(jobmanager):
    """The REST addresses to ask: the one given, or every local default port."""
    if jobmanager:
        return [jobmanager]
    low, _, high = DEFAULT_PORTS.partition("-")
    return [f"localhost:{port}" for port in range(int(low), int(high) + 1)]


def _jobs(jobmanager):
    """(address, job) for every job the addresses serve."""
    found = []
    for address in _addresses(jobmanager):
        try:
            jobs = _request(address, "GET", "/jobs/overview", timeout=3)["jobs"]
        except ControlError:
            if jobmanager:
                raise
            continue
        found.extend((address, job) for job in jobs)
    return found


def _job_address(jobmanager, job_id):
    for address, job in _jobs(jobmanager):
        if job["jid"] == job_id:
            return address
    where = jobmanager or f"localhost:{DEFAULT_PORTS}"
    raise ControlError(f"no job {job_id} at {where}")


def _line(job):
    started = datetime.datetime.fromtimestamp(job["start-time"] / 1000).strftime("%d.%m.%Y %H:%M:%S")
    return f"{started} : {job['jid']} : {job['name']} ({job['state']})"


def _print_section(title, jobs, none):
    """Flink's listing of a group of jobs, oldest first, or ``none`` when there are none."""
    if not jobs:
        print(none)
        return
    print(title)
    for job in sorted(jobs, key=lambda j: j["start-time"]):
        print(_line(job))
    print("--------------------------------------------------------------")


def list_jobs(jobmanager, show_terminated):
    print("Waiting for response...")
    jobs = [job for _, job in _jobs(jobmanager)]
    running = [job for job in jobs if job["state"] in ("RUNNING", "RESTARTING", "CREATED")]
    ended = [job for job in jobs if job not in running]
    _print_section("------------------ Running/Restarting Jobs -------------------", running, "No running jobs.")
    if show_terminated:
        _print_section("---------------------- Terminated Jobs -----------------------", ended, "No terminated jobs.")


def cancel(jobmanager, job_id):
    address = _job_address(jobmanager, job_id)
    print(f"Cancelling job {job_id}.")
    _request(address, "PATCH", f"/jobs/{job_id}?mode=cancel")
    print(f"Cancelled job {job_id}.")


def _default_savepoint_directory():
    options = global_configuration.load()
    for key in ("execution.checkpointing.savepoint-dir", "state.savepoints.dir"):
        if options.get(key):
            return options[key]
    return None


def _await_savepoint(address, job_id, request_id):
    while True:
        answer = _request(address, "GET", f"/jobs/{job_id}/savepoints/{request_id}")
        if answer["status"]["id"] == "COMPLETED":
            operation = answer["operation"]
            if "failure-cause" in operation:
                raise ControlError(f"the savepoint failed: {operation['failure-cause']['stack-trace']}")
            return operation["location"]
        time.sleep(_SAVEPOINT_POLL_SECONDS)


def savepoint(jobmanager, job_id, target):
    target = target or _default_savepoint_directory()
    if not target:
        raise ControlError("give the savepoint's target directory (state.savepoints.dir is not configured)")
    address = _job_address(jobmanager, job_id)
    print(f"Triggering savepoint for job {job_id}.")
    print("Waiting for response...")
    answer = _request(address, "POST", f"/jobs/{job_id}/savepoints", {"target-directory": target, "cancel-job": False})
    location = _await_savepoint(address, job_id, answer["request-id"])
    print(f"Savepoint completed. Path: {location}")
    print("You can resume your program from this savepoint with the run command.")


def stop(jobmanager, job_id, target, drain):
    target = target or _default_savepoint_directory()
    if not target:
        raise ControlError("give the savepoint's directory with -p (state.savepoints.dir is not configured)")
    address = _job_address(jobmanager, job_id)
    # As Flink's: a drained job (-d) ends its sources at the end of event time first.
    print(f'{"Draining" if drain else "Suspending"} job "{job_id}" with a CANONICAL savepoint.')
    answer = _request(address, "POST", f"/jobs/{job_id}/stop", {"targetDirectory": target, "drain": bool(drain)})
    print(f"Savepoint completed. Path: {_await_savepoint(address, job_id, answer['request-id'])}")
