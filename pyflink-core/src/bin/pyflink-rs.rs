//! The `pyflink-rs` command for Rust programs: `pyflink-rs run --processes N [--threads T] --
//! program [args]` starts N processes of `program` as one cluster of this machine (see
//! `pyflink_core::cluster`), forwards their output, starts again a process other than process 0
//! that dies by a signal (it rejoins the job from its latest checkpoint), starts the whole
//! cluster again when process 0 dies by a signal (the job, whose id the command fixes with
//! `PYFLINK_RS_JOB_ID`, resumes from its newest checkpoint), and exits with the first failing
//! process's status. A Python job (`-py`, `-pym`) and every other command go to the
//! Python package's command (`python -m pyflink_rs.cli`), which has the same flags.

use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitCode, ExitStatus};
use std::time::Duration;

use pyflink_core::cluster::{COORDINATOR_VAR, HOSTS_VAR, PROCESS_ID_VAR, THREADS_VAR};
use pyflink_core::{JobId, JOB_ID_VAR};

/// How many times, at most, the processes of one run are started again.
const MAX_PROCESS_RESTARTS: usize = 10;

const USAGE: &str = "usage: pyflink-rs run --processes N [--threads T] -- PROGRAM [ARGS...]
       pyflink-rs run [flags] (-py job.py | -pym module) [ARGS...]   (runs python -m pyflink_rs.cli)
       pyflink-rs list | cancel | savepoint | stop ...               (runs python -m pyflink_rs.cli)";

/// A run of a Rust program on local processes.
#[derive(Debug, PartialEq)]
struct ProgramRun {
    processes: usize,
    threads: usize,
    program: Vec<String>,
}

/// What the arguments ask for.
#[derive(Debug, PartialEq)]
enum Request {
    Program(ProgramRun),
    Python,
}

fn parse(args: &[String]) -> Result<Request, String> {
    let Some((command, rest)) = args.split_first() else { return Err(USAGE.into()) };
    if command != "run" || rest.iter().any(|a| a == "-py" || a == "-pym" || a == "--python" || a == "--pyModule") {
        return Ok(Request::Python);
    }
    let (flags, program) = match rest.iter().position(|a| a == "--") {
        Some(split) => (&rest[..split], rest[split + 1..].to_vec()),
        None => return Err(format!("pyflink-rs run: give the program after --\n{USAGE}")),
    };
    if program.is_empty() {
        return Err(format!("pyflink-rs run: no program after --\n{USAGE}"));
    }
    let (mut processes, mut threads) = (1, 1);
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let value = flags.next().ok_or_else(|| format!("pyflink-rs run: {flag} needs a number"))?;
        let number: usize = value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("pyflink-rs run: {flag} must be at least 1, not {value}"))?;
        match flag.as_str() {
            "--processes" => processes = number,
            "--threads" => threads = number,
            other => return Err(format!("pyflink-rs run: unknown flag {other}\n{USAGE}")),
        }
    }
    Ok(Request::Program(ProgramRun { processes, threads, program }))
}

fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<std::io::Result<Vec<_>>>()?;
    listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect()
}

/// Where the processes of one start of a cluster listen.
struct ClusterPorts {
    hosts: String,
    coordinator: String,
}

impl ClusterPorts {
    fn free(processes: usize) -> Result<Self, String> {
        let ports = free_ports(processes + 1).map_err(|e| format!("pyflink-rs run: no free ports: {e}"))?;
        let hosts: Vec<String> = ports[..processes].iter().map(|p| format!("127.0.0.1:{p}")).collect();
        Ok(ClusterPorts { hosts: hosts.join(","), coordinator: format!("127.0.0.1:{}", ports[processes]) })
    }
}

/// Runs `run`'s processes to their end; the exit status of the first that failed, else 0.
fn supervise(run: &ProgramRun) -> Result<u8, String> {
    let job_id = std::env::var(JOB_ID_VAR).unwrap_or_else(|_| JobId::random().to_string());
    let start = |process: usize, ports: &ClusterPorts| -> Result<Child, String> {
        let mut command = Command::new(&run.program[0]);
        command.args(&run.program[1..]).env(JOB_ID_VAR, &job_id);
        if run.processes > 1 {
            command
                .env(HOSTS_VAR, &ports.hosts)
                .env(PROCESS_ID_VAR, process.to_string())
                .env(THREADS_VAR, run.threads.to_string())
                .env(COORDINATOR_VAR, &ports.coordinator);
        }
        command.spawn().map_err(|e| format!("pyflink-rs run: cannot start {}: {e}", run.program[0]))
    };
    let mut ports = ClusterPorts::free(run.processes)?;
    let mut children = (0..run.processes).map(|p| start(p, &ports)).collect::<Result<Vec<_>, _>>()?;
    let mut statuses: Vec<Option<ExitStatus>> = vec![None; run.processes];
    let mut restarts = 0;
    while statuses.iter().any(Option::is_none) {
        for process in 0..run.processes {
            if statuses[process].is_some() {
                continue;
            }
            let Some(status) = children[process].try_wait().map_err(|e| format!("pyflink-rs run: {e}"))? else {
                continue;
            };
            let killed = status.signal();
            if let (Some(signal), 0, true) = (killed, process, restarts < MAX_PROCESS_RESTARTS) {
                eprintln!(
                    "pyflink-rs run: process 0 died (signal {signal}); starting the cluster again, the job from its \
                     newest checkpoint"
                );
                for other in children.iter_mut().skip(1) {
                    let _ = other.kill();
                    let _ = other.wait();
                }
                ports = ClusterPorts::free(run.processes)?;
                children = (0..run.processes).map(|p| start(p, &ports)).collect::<Result<Vec<_>, _>>()?;
                statuses = vec![None; run.processes];
                restarts += 1;
                break;
            }
            if let (Some(signal), true) = (killed, statuses[0].is_none() && restarts < MAX_PROCESS_RESTARTS) {
                eprintln!("pyflink-rs run: process {process} died (signal {signal}); starting it again");
                children[process] = start(process, &ports)?;
                restarts += 1;
            } else {
                statuses[process] = Some(status);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for (process, status) in statuses.iter().flatten().enumerate() {
        if let Some(signal) = status.signal() {
            eprintln!("pyflink-rs run: process {process} was killed by signal {signal}");
        }
    }
    let failed = statuses.iter().flatten().find(|s| !s.success());
    Ok(failed.map_or(0, |s| s.code().map_or(1, |c| c.clamp(1, 255) as u8)))
}

/// Hands the command to the Python package's, with the same arguments.
fn python(args: &[String]) -> Result<u8, String> {
    let python = std::env::var("PYFLINK_RS_PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(&python).args(["-m", "pyflink_rs.cli"]).args(args).status().map_err(|e| {
        format!("pyflink-rs: cannot run {python} -m pyflink_rs.cli (is the pyflink-rs wheel installed?): {e}")
    })?;
    Ok(status.code().map_or(1, |c| c.clamp(0, 255) as u8))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match parse(&args) {
        Ok(Request::Program(run)) => supervise(&run),
        Ok(Request::Python) => python(&args),
        Err(message) => Err(message),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn programs_run_on_local_processes_and_python_jobs_go_to_python() {
        let run = parse(&args("run --processes 3 --threads 2 -- ./job --n 5")).unwrap();
        let expected = ProgramRun { processes: 3, threads: 2, program: args("./job --n 5") };
        assert_eq!(run, Request::Program(expected));
        assert_eq!(parse(&args("run -p 2 -py job.py")).unwrap(), Request::Python);
        assert_eq!(parse(&args("list -a")).unwrap(), Request::Python);
    }

    #[test]
    fn flags_that_cannot_work_say_why() {
        assert!(parse(&args("run --processes 2 ./job")).unwrap_err().contains("after --"));
        assert!(parse(&args("run --processes 0 -- ./job")).unwrap_err().contains("at least 1"));
        assert!(parse(&args("run --nodes 2 -- ./job")).unwrap_err().contains("unknown flag --nodes"));
        assert!(parse(&args("run --processes -- ./job")).unwrap_err().contains("needs a number"));
    }
}
