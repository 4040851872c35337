"""The ``pyflink-rs`` command, shaped like Flink's ``flink`` for Python jobs::

    pyflink-rs run [-p N] [-D key=value ...] [-s savepoint] [-pyfs files] [-pyarch archives]
                   [-pyreq requirements.txt] [-pyexec python]
                   [--processes N [--threads T] | --hosts hostfile --process-id I [--threads T]]
                   (-py job.py | -pym module) [args ...]
    pyflink-rs list [-m host:port] [-a]
    pyflink-rs cancel [-m host:port] <jobId>
    pyflink-rs savepoint [-m host:port] <jobId> [targetDirectory]
    pyflink-rs stop [-m host:port] [-d] [-p targetDirectory] <jobId>

The job's program runs in this process as ``__main__`` with ``args`` in ``sys.argv``; its
environments start with the options the flags give (over ``$FLINK_CONF_DIR``'s file):
``-p`` is ``parallelism.default``, ``-s`` ``execution.savepoint.path``, ``-D`` any option, and the
``-py*`` flags the Python dependency options (``python.files``, ``python.archives``,
``python.requirements``, ``python.executable``), which reach process-mode workers too. The
job's process serves the REST API on the first free port of 8081-8099 (``rest.bind-port``), which
``list``, ``cancel``, ``savepoint`` and ``stop`` use (see ``cli_control``).

A job runs on several processes as one cluster (see ``pyflink_core::cluster``): ``--processes N``
starts N processes of this machine, each running the program on ``--threads`` workers, and waits
for them, starting again a process that dies (it rejoins the job from its latest checkpoint); ``--hosts hostfile --process-id I`` runs this process as process I of the processes the
host file lists (``host:port`` a line), for jobs across machines, each machine running the same
command with its own id.
"""

import argparse
import json
import os
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import time

from pyflink_rs import cli_control
from pyflink_rs.common import global_configuration

# Flink's long names of the flags, kept as aliases.
_FLAGS = [
    (("-py", "--python"), dict(dest="python", help="the Python file of the job")),
    (("-pym", "--pyModule"), dict(dest="module", help="the Python module of the job")),
    (("-pyfs", "--pyFiles"), dict(dest="files", help="files or directories to import from, apart by commas")),
    (("-pyarch", "--pyArchives"), dict(dest="archives", help="archives to unpack (archive#target), by commas")),
    (("-pyreq", "--pyRequirements"), dict(dest="requirements", help="a requirements file (file#cache_dir)")),
    (("-pyexec", "--pyExecutable"), dict(dest="executable", help="the Python of worker processes")),
    (("-pyclientexec", "--pyClientExecutable"), dict(dest="client_executable", help="accepted; this Python runs the job")),
    (("-p", "--parallelism"), dict(dest="parallelism", type=int, help="the default parallelism")),
    (("-s", "--fromSavepoint"), dict(dest="savepoint", help="the savepoint or checkpoint to start from")),
    (("-n", "--allowNonRestoredState"), dict(dest="allow_non_restored", action="store_true",
                                             help="skip savepoint state no operator claims")),
    (("-D",), dict(dest="properties", action="append", default=[], metavar="key=value", help="a configuration option")),
    (("--processes",), dict(dest="processes", type=int, help="run the job on this many local processes")),
    (("--threads",), dict(dest="threads", type=int, help="worker threads of each process of a cluster (1)")),
    (("--hosts",), dict(dest="hosts", metavar="hostfile", help="the host:port of every process of the cluster")),
    (("--process-id",), dict(dest="process_id", type=int, help="which process of --hosts this one is")),
]

# The environment variables that place a process in a cluster (read by the engine).
_HOSTS = "PYFLINK_RS_CLUSTER_HOSTS"
_HOSTFILE = "PYFLINK_RS_CLUSTER_HOSTFILE"
_PROCESS_ID = "PYFLINK_RS_PROCESS_ID"
_THREADS = "PYFLINK_RS_CLUSTER_THREADS"
_COORDINATOR = "PYFLINK_RS_CLUSTER_COORDINATOR"


def _parser():
    parser = argparse.ArgumentParser(prog="pyflink-rs", description="Runs PyFlink jobs on pyflink-rs, without a JVM.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a Python job")
    for names, settings in _FLAGS:
        run.add_argument(*names, **settings)
    run.add_argument("args", nargs=argparse.REMAINDER, help="the job's own arguments")
    where = dict(dest="jobmanager", metavar="host:port",
                 help="the REST API of the job's process (default: every local pyflink-rs run)")
    listing = commands.add_parser("list", help="list the jobs")
    listing.add_argument("-m", "--jobmanager", **where)
    listing.add_argument("-r", "--running", action="store_true", help="only running jobs")
    listing.add_argument("-a", "--all", action="store_true", help="running and ended jobs")
    cancelling = commands.add_parser("cancel", help="cancel a job")
    cancelling.add_argument("-m", "--jobmanager", **where)
    cancelling.add_argument("job_id")
    saving = commands.add_parser("savepoint", help="take a savepoint of a running job")
    saving.add_argument("-m", "--jobmanager", **where)
    saving.add_argument("job_id")
    saving.add_argument("target", nargs="?", help="the directory of the savepoint")
    stopping = commands.add_parser("stop", help="take a savepoint and stop a job")
    stopping.add_argument("-m", "--jobmanager", **where)
    stopping.add_argument("-p", "--savepointPath", dest="target", help="the directory of the savepoint")
    stopping.add_argument("-d", "--drain", action="store_true", help="advance to the end of event time first")
    stopping.add_argument("job_id")
    return parser


def _options(arguments):
    """The configuration options the flags of ``run`` give."""
    options = {}
    for entry in arguments.properties:
        key, separator, value = entry.partition("=")
        if not separator or not key.strip():
            raise SystemExit(f"pyflink-rs: -D takes key=value, not {entry!r}")
        options[key.strip()] = value.strip()
    if arguments.parallelism is not None:
        if arguments.parallelism < 1:
            raise SystemExit(f"pyflink-rs: the parallelism must be at least 1, not {arguments.parallelism}")
        options["parallelism.default"] = str(arguments.parallelism)
    if arguments.savepoint:
        options["execution.savepoint.path"] = arguments.savepoint
    if arguments.allow_non_restored:
        options["execution.savepoint.ignore-unclaimed-state"] = "true"
    # As a Flink cluster does, the job's process serves the REST API (list, cancel, savepoint).
    if "rest.port" not in options and "rest.bind-port" not in options:
        options["rest.bind-port"] = cli_control.DEFAULT_PORTS
    for value, key in ((arguments.files, "python.files"), (arguments.archives, "python.archives"),
                       (arguments.requirements, "python.requirements"), (arguments.executable, "python.executable")):
        if value:
            options[key] = value
    return options


def _free_ports(count):
    """``count`` ports of 127.0.0.1 free now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _check_cluster_flags(arguments):
    if arguments.processes is not None and arguments.hosts:
        raise SystemExit("pyflink-rs run: give --processes (local processes) or --hosts (one process of many), not both")
    if arguments.processes is not None and arguments.processes < 1:
        raise SystemExit(f"pyflink-rs run: --processes must be at least 1, not {arguments.processes}")
    if arguments.threads is not None and arguments.threads < 1:
        raise SystemExit(f"pyflink-rs run: --threads must be at least 1, not {arguments.threads}")
    if arguments.hosts and arguments.process_id is None:
        raise SystemExit("pyflink-rs run: --hosts needs --process-id, this process's line of the host file from 0")
    if arguments.process_id is not None and not arguments.hosts:
        raise SystemExit("pyflink-rs run: --process-id needs --hosts, the file of every process's host:port")
    if arguments.hosts and not os.path.isfile(arguments.hosts):
        raise SystemExit(f"pyflink-rs run: no host file at {arguments.hosts}")


# How many times, at most, the processes of one ``--processes`` run are started again.
MAX_PROCESS_RESTARTS = 10


# The option that fixes a job's id: a job started again with it resumes from its newest checkpoint.
JOB_ID_OPTION = "$internal.pipeline.job-id"


def _cluster_environment(count, threads):
    """The environment of ``count`` processes of ``threads`` threads as one cluster on free
    ports of 127.0.0.1."""
    ports = _free_ports(count + 1)
    environment = dict(os.environ)
    environment.update({
        _HOSTS: ",".join(f"127.0.0.1:{port}" for port in ports[:count]),
        _THREADS: str(threads),
        _COORDINATOR: f"127.0.0.1:{ports[count]}",
    })
    return environment


def supervise(arguments, argv):
    """Starts ``--processes`` processes of this machine running the same command as one
    cluster, forwards their output, and returns the first failing process's exit status (0
    when all succeed). A process other than process 0 that dies by a signal while process 0
    runs is started again, and rejoins the job at its next attempt, from its latest checkpoint.
    When process 0 dies by a signal, every process is stopped and the cluster started again:
    the job, whose id this command fixes, resumes from its newest checkpoint. Stopping this
    command stops them."""
    count, threads = arguments.processes, arguments.threads or 1
    if JOB_ID_OPTION not in _options(arguments):
        argv = [argv[0], "-D", f"{JOB_ID_OPTION}={secrets.token_hex(16)}", *argv[1:]]
    command = [sys.executable, "-m", "pyflink_rs.cli", *argv]
    environment = _cluster_environment(count, threads)

    def start(process):
        return subprocess.Popen(command, env={**environment, _PROCESS_ID: str(process)})

    children, statuses, restarts = [], [None] * count, 0
    try:
        children = [start(process) for process in range(count)]
        while None in statuses:
            for process, child in enumerate(children):
                status = child.poll() if statuses[process] is None else None
                if status is None:
                    continue
                if status < 0 and process == 0 and restarts < MAX_PROCESS_RESTARTS:
                    print(f"pyflink-rs run: process 0 died (signal {-status}); starting the cluster again, "
                          "the job from its newest checkpoint", file=sys.stderr, flush=True)
                    for other in children[1:]:
                        other.kill()
                        other.wait()
                    environment = _cluster_environment(count, threads)
                    children, statuses = [start(p) for p in range(count)], [None] * count
                    restarts += 1
                    break
                if status < 0 and statuses[0] is None and restarts < MAX_PROCESS_RESTARTS:
                    print(f"pyflink-rs run: process {process} died (signal {-status}); starting it again",
                          file=sys.stderr, flush=True)
                    children[process] = start(process)
                    restarts += 1
                else:
                    statuses[process] = status
            time.sleep(0.02)
    except KeyboardInterrupt:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait()
        return 130
    for process, status in enumerate(statuses):
        if status < 0:
            print(f"pyflink-rs run: process {process} was killed by signal {-status}", file=sys.stderr)
    failed = [status for status in statuses if status != 0]
    return abs(failed[0]) if failed else 0


def run(arguments, argv=None):
    """Runs the job's program with the options of the flags; returns its exit status."""
    if bool(arguments.python) == bool(arguments.module):
        raise SystemExit("pyflink-rs run: give the job as -py file.py or as -pym module (one of them)")
    _check_cluster_flags(arguments)
    if arguments.processes is not None and _PROCESS_ID not in os.environ:
        return supervise(arguments, argv if argv is not None else sys.argv[1:])
    if arguments.hosts:
        os.environ.pop(_HOSTS, None)
        os.environ[_HOSTFILE] = os.path.abspath(arguments.hosts)
        os.environ[_PROCESS_ID] = str(arguments.process_id)
        os.environ[_THREADS] = str(arguments.threads or 1)
    options = _options(arguments)
    # The options reach every environment the program creates (and the workers it starts).
    os.environ[global_configuration.COMMAND_LINE_OPTIONS] = json.dumps(options)
    # As in Flink, the job's files are importable by the program itself too.
    for path in reversed([p.strip() for p in (arguments.files or "").split(",") if p.strip()]):
        sys.path.insert(0, os.path.abspath(path))
    args = [a for a in arguments.args if a != "--"] if arguments.args[:1] == ["--"] else arguments.args
    if arguments.python:
        path = os.path.abspath(arguments.python)
        if not os.path.isfile(path):
            raise SystemExit(f"pyflink-rs run: no Python file at {arguments.python}")
        sys.argv = [path, *args]
        sys.path.insert(0, os.path.dirname(path))
        runpy.run_path(path, run_name="__main__")
    else:
        sys.argv = [arguments.module, *args]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(arguments.module, run_name="__main__", alter_sys=True)
    return 0


def main(argv=None):
    """The entry point of the ``pyflink-rs`` console script."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "run":
        return run(arguments, argv)
    try:
        if arguments.command == "list":
            # As in Flink: running jobs, and with -a the ended ones too (-r: running only).
            cli_control.list_jobs(arguments.jobmanager, show_terminated=arguments.all and not arguments.running)
        elif arguments.command == "cancel":
            cli_control.cancel(arguments.jobmanager, arguments.job_id)
        elif arguments.command == "savepoint":
            cli_control.savepoint(arguments.jobmanager, arguments.job_id, arguments.target)
        elif arguments.command == "stop":
            cli_control.stop(arguments.jobmanager, arguments.job_id, arguments.target, arguments.drain)
    except cli_control.ControlError as error:
        print(f"pyflink-rs {arguments.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
