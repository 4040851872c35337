//! The `pyflink-rs` command for Rust programs, shaped like Flink's `flink run`:
//!
//! ```text
//! pyflink-rs run [-p N] [-D key=value ...] [-s savepoint] [-n]
//!                [--processes N [--threads T] | --hosts hostfile --process-id I [--threads T]]
//!                -- PROGRAM [ARGS...]
//! ```
//!
//! The flags' options reach the program's environments through `PYFLINK_RS_OPTIONS`
//! ([`pyflink_core::OPTIONS_VAR`]): `-p` is `parallelism.default`, `-s`
//! `execution.savepoint.path`, `-n` `execution.savepoint.ignore-unclaimed-state`, `-D` any
//! option; the job serves the REST API on the first free port of 8081-8099 unless `-D` says
//! otherwise, where `pyflink-rs list`, `cancel` and `savepoint` find it.
//!
//! `--processes N` starts N processes of `PROGRAM` as one cluster of this machine (see
//! `pyflink_core::cluster`), forwards their output, starts again a process other than process 0
//! that dies by a signal (it rejoins the job from its latest checkpoint), starts the whole
//! cluster again when process 0 dies by a signal (the job, whose id the command fixes with
//! `PYFLINK_RS_JOB_ID`, resumes from its newest checkpoint), and exits with the first failing
//! process's status. `--hosts hostfile --process-id I` runs `PROGRAM` as process I of the
//! processes the host file lists (`host:port` a line), for a job across machines, each running
//! the same command with its own id. A Python job (`-py`, `-pym`) and every other command go to
//! the Python package's command (`python -m pyflink_rs.cli`), which has the same flags.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, ExitStatus};
use std::time::Duration;

use pyflink_core::cluster::{COORDINATOR_VAR, HOSTFILE_VAR, HOSTS_VAR, PROCESS_ID_VAR, THREADS_VAR};
use pyflink_core::{JobId, JOB_ID_VAR, OPTIONS_VAR};

/// How many times, at most, the processes of one run are started again.
const MAX_PROCESS_RESTARTS: usize = 10;

/// The ports where a job's REST API is looked for by `pyflink-rs list` (`rest.bind-port`).
const DEFAULT_REST_PORTS: &str = "8081-8099";

const USAGE: &str = "usage: pyflink-rs run [-p N] [-D key=value ...] [-s savepoint] [-n]
                      [--processes N [--threads T] | --hosts hostfile --process-id I [--threads T]]
                      -- PROGRAM [ARGS...]
       pyflink-rs run [flags] (-py job.py | -pym module) [ARGS...]   (runs python -m pyflink_rs.cli)
       pyflink-rs list | cancel | savepoint | stop ...               (runs python -m pyflink_rs.cli)";

/// Where the processes of a run are.
#[derive(Debug, PartialEq)]
enum Placement {
    /// `processes` processes of this machine, supervised by the command (one: no cluster).
    Local { processes: usize, threads: usize },
    /// This machine's process of the cluster a host file lists.
    Member { hosts: PathBuf, process_id: usize, threads: usize },
}

/// A run of a Rust program.
#[derive(Debug, PartialEq)]
struct ProgramRun {
    placement: Placement,
    /// The configuration options of the flags, handed over in [`OPTIONS_VAR`].
    options: BTreeMap<String, String>,
    program: Vec<String>,
}

/// What the arguments ask for.
#[derive(Debug, PartialEq)]
enum Request {
    Program(ProgramRun),
    Python,
}

/// The flags of `run` as given, before they are checked against each other.
#[derive(Default)]
struct Flags {
    processes: Option<usize>,
    threads: Option<usize>,
    hosts: Option<String>,
    process_id: Option<usize>,
    options: BTreeMap<String, String>,
}

impl Flags {
    /// Reads `flags` (the arguments of `run` before `--`).
    fn read(flags: &[String]) -> Result<Flags, String> {
        let mut read = Flags::default();
        let mut flags = flags.iter();
        while let Some(flag) = flags.next() {
            if matches!(flag.as_str(), "-n" | "--allowNonRestoredState") {
                read.options.insert("execution.savepoint.ignore-unclaimed-state".into(), "true".into());
                continue;
            }
            let value = flags.next().ok_or_else(|| format!("pyflink-rs run: {flag} needs a value"))?;
            match flag.as_str() {
                "--processes" => read.processes = Some(at_least_one(flag, value)?),
                "--threads" => read.threads = Some(at_least_one(flag, value)?),
                "-p" | "--parallelism" => {
                    read.options.insert("parallelism.default".into(), at_least_one(flag, value)?.to_string());
                }
                "--process-id" => {
                    let id =
                        value.parse().map_err(|_| format!("pyflink-rs run: {flag} is a number from 0, not {value}"))?;
                    read.process_id = Some(id);
                }
                "--hosts" => read.hosts = Some(value.clone()),
                "-s" | "--fromSavepoint" => {
                    read.options.insert("execution.savepoint.path".into(), value.clone());
                }
                "-D" => {
                    let (key, option) = value
                        .split_once('=')
                        .filter(|(key, _)| !key.trim().is_empty())
                        .ok_or_else(|| format!("pyflink-rs run: -D takes key=value, not '{value}'"))?;
                    read.options.insert(key.trim().into(), option.trim().into());
                }
                other => return Err(format!("pyflink-rs run: unknown flag {other}\n{USAGE}")),
            }
        }
        Ok(read)
    }

    /// Where the run's processes are, from the cluster flags.
    fn placement(&self) -> Result<Placement, String> {
        let threads = self.threads.unwrap_or(1);
        match (self.processes, &self.hosts, self.process_id) {
            (Some(_), Some(_), _) => Err("pyflink-rs run: give --processes (local processes) or --hosts (one process \
                 of many), not both"
                .into()),
            (_, Some(_), None) => {
                Err("pyflink-rs run: --hosts needs --process-id, this process's line of the host file from 0".into())
            }
            (_, None, Some(_)) => {
                Err("pyflink-rs run: --process-id needs --hosts, the file of every process's host:port".into())
            }
            (_, Some(hosts), Some(process_id)) => {
                let path = std::path::absolute(hosts).map_err(|e| format!("pyflink-rs run: --hosts {hosts}: {e}"))?;
                if !path.is_file() {
                    return Err(format!("pyflink-rs run: no host file at {hosts}"));
                }
                Ok(Placement::Member { hosts: path, process_id, threads })
            }
            (processes, None, None) => Ok(Placement::Local { processes: processes.unwrap_or(1), threads }),
        }
    }
}

fn at_least_one(flag: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("pyflink-rs run: {flag} must be at least 1, not {value}"))
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
    let mut flags = Flags::read(flags)?;
    let placement = flags.placement()?;
    if !flags.options.contains_key("rest.port") && !flags.options.contains_key("rest.bind-port") {
        flags.options.insert("rest.bind-port".into(), DEFAULT_REST_PORTS.into());
    }
    Ok(Request::Program(ProgramRun { placement, options: flags.options, program }))
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

impl ProgramRun {
    /// A command that runs the program with the options of the flags.
    fn command(&self) -> Result<Command, String> {
        let options = serde_json::to_string(&self.options).map_err(|e| format!("pyflink-rs run: {e}"))?;
        let mut command = Command::new(&self.program[0]);
        command.args(&self.program[1..]).env(OPTIONS_VAR, options);
        Ok(command)
    }

    fn spawn(&self, command: &mut Command) -> Result<Child, String> {
        command.spawn().map_err(|e| format!("pyflink-rs run: cannot start {}: {e}", self.program[0]))
    }

    /// Runs the program where the flags place it; its exit status (the first failing
    /// process's, with several).
    fn run(&self) -> Result<u8, String> {
        match &self.placement {
            Placement::Local { processes, threads } => self.supervise(*processes, *threads),
            Placement::Member { hosts, process_id, threads } => {
                let mut command = self.command()?;
                command
                    .env_remove(HOSTS_VAR)
                    .env(HOSTFILE_VAR, hosts)
                    .env(PROCESS_ID_VAR, process_id.to_string())
                    .env(THREADS_VAR, threads.to_string());
                let status = self.spawn(&mut command)?.wait().map_err(|e| format!("pyflink-rs run: {e}"))?;
                Ok(exit_code(&status))
            }
        }
    }

    /// Runs `processes` processes of the program on this machine to their end; the exit status
    /// of the first that failed, else 0.
    fn supervise(&self, processes: usize, threads: usize) -> Result<u8, String> {
        let job_id = std::env::var(JOB_ID_VAR).unwrap_or_else(|_| JobId::random().to_string());
        let start = |process: usize, ports: &ClusterPorts| -> Result<Child, String> {
            let mut command = self.command()?;
            command.env(JOB_ID_VAR, &job_id);
            if processes > 1 {
                command
                    .env(HOSTS_VAR, &ports.hosts)
                    .env(PROCESS_ID_VAR, process.to_string())
                    .env(THREADS_VAR, threads.to_string())
                    .env(COORDINATOR_VAR, &ports.coordinator);
            }
            self.spawn(&mut command)
        };
        supervise(processes, start)
    }
}

/// The exit code that reports `status`: its own, or 1 for a process killed by a signal.
fn exit_code(status: &ExitStatus) -> u8 {
    status.code().map_or(1, |c| c.clamp(0, 255) as u8)
}

/// Runs `processes` processes, each begun by `start`, to their end, starting again those that
/// die by a signal (see the module's documentation); the exit status of the first that failed,
/// else 0.
fn supervise(processes: usize, start: impl Fn(usize, &ClusterPorts) -> Result<Child, String>) -> Result<u8, String> {
    let mut ports = ClusterPorts::free(processes)?;
    let mut children = (0..processes).map(|p| start(p, &ports)).collect::<Result<Vec<_>, _>>()?;
    let mut statuses: Vec<Option<ExitStatus>> = vec![None; processes];
    let mut restarts = 0;
    while statuses.iter().any(Option::is_none) {
        for process in 0..processes {
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
                ports = ClusterPorts::free(processes)?;
                children = (0..processes).map(|p| start(p, &ports)).collect::<Result<Vec<_>, _>>()?;
                statuses = vec![None; processes];
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
    Ok(exit_code(&status))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match parse(&args) {
        Ok(Request::Program(run)) => run.run(),
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

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn programs_run_on_local_processes_and_python_jobs_go_to_python() {
        let run = parse(&args("run --processes 3 --threads 2 -- ./job --n 5")).unwrap();
        let expected = ProgramRun {
            placement: Placement::Local { processes: 3, threads: 2 },
            options: options(&[("rest.bind-port", DEFAULT_REST_PORTS)]),
            program: args("./job --n 5"),
        };
        assert_eq!(run, Request::Program(expected));
        assert_eq!(parse(&args("run -p 2 -py job.py")).unwrap(), Request::Python);
        assert_eq!(parse(&args("list -a")).unwrap(), Request::Python);
    }

    #[test]
    fn flink_run_flags_become_options_of_the_program() {
        let run = parse(&args("run -p 4 -D a.b=c -D rest.port=0 -s /tmp/sp -n -- ./job")).unwrap();
        let Request::Program(run) = run else { panic!("a program run") };
        let expected = options(&[
            ("a.b", "c"),
            ("execution.savepoint.ignore-unclaimed-state", "true"),
            ("execution.savepoint.path", "/tmp/sp"),
            ("parallelism.default", "4"),
            ("rest.port", "0"),
        ]);
        assert_eq!(run.options, expected);
        assert_eq!(run.placement, Placement::Local { processes: 1, threads: 1 });
    }

    #[test]
    fn a_host_file_places_this_process_in_a_cluster_of_machines() {
        let hosts = std::env::temp_dir().join(format!("pyflink-rs-hosts-{}", std::process::id()));
        std::fs::write(&hosts, "a:1\nb:2\n").unwrap();
        let given = format!("run --hosts {} --process-id 1 --threads 2 -- ./job", hosts.display());
        let Request::Program(run) = parse(&args(&given)).unwrap() else { panic!("a program run") };
        assert_eq!(run.placement, Placement::Member { hosts: hosts.clone(), process_id: 1, threads: 2 });
        std::fs::remove_file(&hosts).unwrap();
        assert!(parse(&args(&given)).unwrap_err().contains("no host file at"));
    }

    #[test]
    fn flags_that_cannot_work_say_why() {
        assert!(parse(&args("run --processes 2 ./job")).unwrap_err().contains("after --"));
        assert!(parse(&args("run --processes 0 -- ./job")).unwrap_err().contains("at least 1"));
        assert!(parse(&args("run -p 0 -- ./job")).unwrap_err().contains("at least 1"));
        assert!(parse(&args("run --nodes 2 -- ./job")).unwrap_err().contains("unknown flag --nodes"));
        assert!(parse(&args("run --processes -- ./job")).unwrap_err().contains("needs a value"));
        assert!(parse(&args("run -D novalue -- ./job")).unwrap_err().contains("key=value"));
        assert!(parse(&args("run --hosts h -- ./job")).unwrap_err().contains("needs --process-id"));
        assert!(parse(&args("run --process-id 1 -- ./job")).unwrap_err().contains("needs --hosts"));
        assert!(parse(&args("run --processes 2 --hosts h --process-id 0 -- ./job")).unwrap_err().contains("not both"));
    }
}
