"""Real MariaDB and PostgreSQL servers for the Python tests (Debian's packages, which `.ci/run`
installs): each started once per test session in a temporary directory, on a free port of
127.0.0.1, and stopped at its end. Every test makes its own database and user with
`Server.create_database`, and reads tables back through the servers' own command-line clients."""

import itertools
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

ADMIN_PASSWORD = "admin-secret"
_names = itertools.count()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Database:
    """A database of a test, owned by a user with a password."""

    def __init__(self, server, name, user, password):
        self.server, self.name, self.user, self.password = server, name, user, password

    @property
    def jdbc_url(self):
        scheme = "mysql" if self.server.kind == "mariadb" else "postgresql"
        return f"jdbc:{scheme}://127.0.0.1:{self.server.port}/{self.name}"

    def execute(self, sql):
        self.server.client(sql, self.name, self.user, self.password)

    def rows(self, query):
        """The rows of `query` as tuples of strings (None for NULL)."""
        return self.server.client(query, self.name, self.user, self.password)


class Server:
    """A running server of `kind` (`mariadb` or `postgres`)."""

    def __init__(self, kind):
        self.kind = kind
        self.directory = pathlib.Path(tempfile.mkdtemp(prefix=f"pyflink-py-{kind}-"))
        self.port = free_port()
        self.process = self._start_mariadb() if kind == "mariadb" else self._start_postgres()

    def create_database(self, prefix):
        name = f"{prefix}_{next(_names)}"
        user, password = f"{name}_user", f"{name}-pw"
        if self.kind == "mariadb":
            statements = [f"CREATE DATABASE {name}", f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'",
                          f"GRANT ALL ON {name}.* TO '{user}'@'%'"]
            admin = ("mysql", "root")
        else:
            statements = [f"CREATE USER {user} PASSWORD '{password}'", f"CREATE DATABASE {name} OWNER {user}"]
            admin = ("postgres", "postgres")
        for statement in statements:
            self.client(statement, admin[0], admin[1], ADMIN_PASSWORD)
        return Database(self, name, user, password)

    def client(self, sql, database, user, password):
        if self.kind == "mariadb":
            command = ["mariadb", "--no-defaults", "--batch", "--skip-column-names", "-h", "127.0.0.1",
                       "-P", str(self.port), "-u", user, f"-p{password}", database, "-e", sql]
            env = dict(os.environ)
        else:
            command = ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                       "-p", str(self.port), "-U", user, "-d", database, "-c", sql]
            env = dict(os.environ, PGPASSWORD=password)
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, f"{sql}: {done.stderr}"
        null = "NULL" if self.kind == "mariadb" else None
        return [tuple(None if value == null else value for value in line.split("\t"))
                for line in done.stdout.splitlines() if line]

    def stop(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _wait(self, ready, what):
        deadline = time.monotonic() + 60
        while not ready():
            assert self.process.poll() is None, f"{what} exited: see {self.directory}/server.log"
            assert time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.1)

    def _start_mariadb(self):
        data, sock = self.directory / "data", self.directory / "socket"
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True)
        log = open(self.directory / "server.log", "w")
        self.process = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={self.port}",
             "--user=root", "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin"],
            stdout=log, stderr=log)

        def answers():
            return sock.exists() and subprocess.run(
                ["mariadb", "--no-defaults", f"--socket={sock}", "-u", "root", "-e", "SELECT 1"],
                capture_output=True).returncode == 0

        self._wait(answers, "mariadbd")
        subprocess.run(["mariadb", "--no-defaults", f"--socket={sock}", "-u", "root", "-e",
                        f"CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY '{ADMIN_PASSWORD}'; "
                        "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION"], check=True)
        return self.process

    def _start_postgres(self):
        bin_dir = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        as_postgres = {}
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: run it as Debian's `postgres` user.
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
            as_postgres = {"user": owner.pw_uid, "group": owner.pw_gid}
        password_file = self.directory / "password"
        password_file.write_text(ADMIN_PASSWORD)
        if as_postgres:
            os.chown(password_file, as_postgres["user"], as_postgres["group"])
        subprocess.run([str(bin_dir / "initdb"), "-D", str(self.directory / "data"), "-U", "postgres", "-E", "UTF8",
                        "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
                        f"--pwfile={password_file}"],
                       check=True, capture_output=True, env=dict(os.environ, LC_ALL="C"), **as_postgres)
        log = open(self.directory / "server.log", "w")
        self.process = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(self.directory / "data"), "-p", str(self.port), "-k",
             str(self.directory), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            stdout=log, stderr=log, **as_postgres)

        def answers():
            return subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
                                   "SELECT 1"], capture_output=True,
                                  env=dict(os.environ, PGPASSWORD=ADMIN_PASSWORD)).returncode == 0

        self._wait(answers, "postgres")
        return self.process
