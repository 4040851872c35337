//! Real databases for the tests: a MariaDB and a PostgreSQL server of Debian's packages, each
//! started once per test binary in a directory of its own under the temporary directory, on a free port of 127.0.0.1, and
//! killed when the test binary exits. `.ci/run` installs the packages; every test makes its
//! own database and user with [`Server::create_database`], so tests share a server safely.
//!
//! The servers are started from a thread that lives as long as the test binary, with
//! `PR_SET_PDEATHSIG`, so they die with it even when a test panics.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// Which database a [`Server`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MariaDb,
    Postgres,
}

/// A running server, shared by the tests of one binary.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    /// The administrator's password, over TCP.
    admin_password: &'static str,
}

/// A database made for one test, with a user who owns it.
pub struct Database {
    pub kind: Kind,
    pub port: u16,
    pub name: String,
    pub user: String,
    pub password: String,
}

const ADMIN_PASSWORD: &str = "admin-secret";

impl Server {
    /// The MariaDB server of this test binary.
    pub fn mariadb() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(|| start(Kind::MariaDb))
    }

    /// The PostgreSQL server of this test binary.
    pub fn postgres() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(|| start(Kind::Postgres))
    }

    /// A new database `prefix_N` owned by a new user with a password.
    pub fn create_database(&self, prefix: &str) -> Database {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("{prefix}_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let user = format!("{name}_user");
        let password = format!("{name}-pw");
        match self.kind {
            Kind::MariaDb => self.admin(&[
                &format!("CREATE DATABASE {name}"),
                &format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
                &format!("GRANT ALL ON {name}.* TO '{user}'@'%'"),
            ]),
            Kind::Postgres => self.admin(&[
                &format!("CREATE USER {user} PASSWORD '{password}'"),
                &format!("CREATE DATABASE {name} OWNER {user}"),
            ]),
        }
        Database { kind: self.kind, port: self.port, name, user, password }
    }

    fn admin(&self, statements: &[&str]) {
        match self.kind {
            Kind::MariaDb => {
                let mut conn = mysql_admin(self.port);
                for statement in statements {
                    mysql::prelude::Queryable::query_drop(&mut conn, *statement).expect(statement);
                }
            }
            Kind::Postgres => {
                let mut client = postgres_client(self.port, "postgres", "postgres", self.admin_password);
                for statement in statements {
                    client.batch_execute(statement).expect(statement);
                }
            }
        }
    }
}

impl Database {
    /// The table's JDBC URL, as a Flink job names it.
    pub fn jdbc_url(&self) -> String {
        match self.kind {
            Kind::MariaDb => format!("jdbc:mysql://127.0.0.1:{}/{}", self.port, self.name),
            Kind::Postgres => format!("jdbc:postgresql://127.0.0.1:{}/{}", self.port, self.name),
        }
    }

    /// Runs `statements` as the database's owner.
    pub fn execute(&self, statements: &str) {
        match self.kind {
            Kind::MariaDb => {
                let mut conn = self.mysql();
                for statement in statements.split(';').filter(|s| !s.trim().is_empty()) {
                    mysql::prelude::Queryable::query_drop(&mut conn, statement).expect(statement);
                }
            }
            Kind::Postgres => self.postgres().batch_execute(statements).expect(statements),
        }
    }

    /// The rows of `query`, each value as text (`None` for NULL), in the order the database
    /// gives them.
    pub fn rows(&self, query: &str) -> Vec<Vec<Option<String>>> {
        match self.kind {
            Kind::MariaDb => {
                let rows: Vec<mysql::Row> = mysql::prelude::Queryable::query(&mut self.mysql(), query).expect(query);
                rows.into_iter()
                    .map(|row| {
                        row.unwrap()
                            .into_iter()
                            .map(|value| match value {
                                mysql::Value::NULL => None,
                                mysql::Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                                other => Some(other.as_sql(true).trim_matches('\'').to_string()),
                            })
                            .collect()
                    })
                    .collect()
            }
            Kind::Postgres => self
                .postgres()
                .simple_query(query)
                .expect(query)
                .into_iter()
                .filter_map(|message| match message {
                    postgres::SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
                    }
                    _ => None,
                })
                .collect(),
        }
    }

    fn mysql(&self) -> mysql::Conn {
        let opts = mysql::OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(self.port)
            .user(Some(&self.user))
            .pass(Some(&self.password))
            .db_name(Some(&self.name));
        mysql::Conn::new(opts).expect("the test's user connects to MariaDB")
    }

    fn postgres(&self) -> postgres::Client {
        postgres_client(self.port, &self.name, &self.user, &self.password)
    }
}

fn admin_opts(port: u16) -> mysql::OptsBuilder {
    mysql::OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(port)
        .user(Some("root"))
        .pass(Some(ADMIN_PASSWORD))
}

fn mysql_admin(port: u16) -> mysql::Conn {
    mysql::Conn::new(admin_opts(port)).expect("root connects to MariaDB")
}

fn postgres_config(port: u16, database: &str, user: &str, password: &str) -> String {
    format!("host=127.0.0.1 port={port} dbname={database} user={user} password={password}")
}

fn postgres_client(port: u16, database: &str, user: &str, password: &str) -> postgres::Client {
    postgres::Client::connect(&postgres_config(port, database, user, password), postgres::NoTls)
        .expect("connects to PostgreSQL")
}

/// Starts a server of `kind` from a thread that stays alive (a child started with
/// `PR_SET_PDEATHSIG` dies with the thread that started it), and waits until it answers.
fn start(kind: Kind) -> Server {
    let (started, port) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("{kind:?} server keeper"))
        .spawn(move || {
            let directory = server_directory(kind);
            let port = free_port();
            let child = match kind {
                Kind::MariaDb => start_mariadb(&directory, port),
                Kind::Postgres => start_postgres(&directory, port),
            };
            started.send((port, child.id())).unwrap();
            // Lives as long as the test binary: the server dies with this thread.
            loop {
                std::thread::park();
            }
        })
        .unwrap();
    let (port, _pid) = port.recv().expect("the server was started");
    let server = Server { kind, port, admin_password: ADMIN_PASSWORD };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answered = match kind {
            Kind::MariaDb => mysql::Conn::new(admin_opts(port)).is_ok(),
            Kind::Postgres => postgres::Client::connect(
                &postgres_config(port, "postgres", "postgres", ADMIN_PASSWORD),
                postgres::NoTls,
            )
            .is_ok(),
        };
        if answered {
            return server;
        }
        assert!(Instant::now() < deadline, "{kind:?} did not answer on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A new directory for a server's files, named by this process: the directories of test
/// binaries that have exited (which could not remove their own) are removed first.
fn server_directory(kind: Kind) -> PathBuf {
    let temp = std::env::temp_dir();
    let prefix = "pyflink-db-";
    for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(prefix).and_then(|rest| rest.split('-').next()) else { continue };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let directory = temp.join(format!("{prefix}{}-{kind:?}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir(&directory).expect("a directory for the server's files");
    directory
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn dies_with_parent(command: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    }
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn start_mariadb(directory: &Path, port: u16) -> std::process::Child {
    let install = which(&["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"])
        .expect("no MariaDB: run .ci/run, or apt-get install mariadb-server");
    let data = directory.join("data");
    run(
        Command::new(install).arg("--no-defaults").arg(format!("--datadir={}", data.display())).args([
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]),
        "mariadb-install-db",
    );
    let child = dies_with_parent(
        Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", directory.join("socket").display()))
            .arg(format!("--port={port}"))
            .args([
                "--user=root",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0",
            ]),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("mariadbd starts");
    // root has no password yet and may only come in through the socket until it has one.
    let socket = directory.join("socket");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "mariadbd made no socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    let opts = mysql::OptsBuilder::new().socket(Some(socket.to_str().unwrap())).user(Some("root"));
    let mut conn = loop {
        match mysql::Conn::new(opts.clone()) {
            Ok(conn) => break conn,
            Err(e) => {
                assert!(Instant::now() < deadline, "mariadbd does not answer on its socket: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    for statement in [
        format!("CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY '{ADMIN_PASSWORD}'"),
        "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION".to_string(),
    ] {
        mysql::prelude::Queryable::query_drop(&mut conn, &statement).expect(&statement);
    }
    child
}

fn start_postgres(directory: &Path, port: u16) -> std::process::Child {
    let bin = postgres_bin().expect("no PostgreSQL: run .ci/run, or apt-get install postgresql");
    // PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user.
    let owner = if unsafe { libc::geteuid() } == 0 { Some(postgres_user()) } else { None };
    let as_owner = |command: &mut Command| {
        if let Some((uid, gid)) = owner {
            command.uid(uid).gid(gid);
        }
    };
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(directory, Some(uid), Some(gid)).unwrap();
    }
    let password_file = directory.join("password");
    std::fs::write(&password_file, ADMIN_PASSWORD).unwrap();
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&password_file, Some(uid), Some(gid)).unwrap();
    }
    let data = directory.join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-E", "UTF8", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256"])
        .arg(format!("--pwfile={}", password_file.display()))
        .env("LC_ALL", "C");
    as_owner(&mut initdb);
    run(&mut initdb, "initdb");
    let mut server = Command::new(bin.join("postgres"));
    server
        .arg("-D")
        .arg(&data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(directory)
        .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    as_owner(&mut server);
    dies_with_parent(&mut server).spawn().expect("postgres starts")
}

fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn postgres_user() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd
        .lines()
        .find(|line| line.starts_with("postgres:"))
        .expect("Debian's postgresql package makes a `postgres` user");
    let fields: Vec<&str> = line.split(':').collect();
    (fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

fn which(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|path| path.exists())
}
