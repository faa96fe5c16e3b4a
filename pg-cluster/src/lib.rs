//! A throwaway PostgreSQL server for the tests: Debian's `postgresql` binaries (`make test`
//! installs them when missing), a cluster made by `initdb` in a temporary directory, listening
//! on 127.0.0.1 at a free port, stopped and removed when dropped. PostgreSQL refuses to run as
//! root, so under root (as CI runs) the server runs as the `postgres` user the package creates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A running PostgreSQL server of its own.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// `shared_buffers`: small for the tests, sized to the data for a benchmark.
    shared_buffers: String,
}

/// The directory of `initdb` and `pg_ctl`: the newest of Debian's /usr/lib/postgresql/N/bin.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).expect(
        "PostgreSQL's server binaries are installed (make test installs Debian's postgresql: apt-get install -y postgresql)",
    )
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Cluster {
    /// Makes and starts a cluster with 32 MB of shared buffers (the tests' data is small); panics
    /// with the server's own words when it cannot.
    pub fn start() -> Cluster {
        Self::start_with_buffers("32MB")
    }

    /// Makes and starts a cluster whose `shared_buffers` is `size` (a PostgreSQL size such as
    /// `512MB`), as a server is sized to hold its working set.
    pub fn start_with_buffers(size: &str) -> Cluster {
        let dir = tempfile::Builder::new().prefix("pg-cluster-").tempdir().expect("a temporary directory");
        let cluster = Cluster { bin: bin_dir(), port: free_port(), dir, shared_buffers: size.to_string() };
        if is_root() {
            let owned = Command::new("chown").args(["-R", "postgres:postgres"]).arg(cluster.dir.path()).status();
            assert!(owned.is_ok_and(|s| s.success()), "chown to the postgres user (made by Debian's package)");
        }
        let data = cluster.data();
        let made = cluster.run(
            "initdb",
            &["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        );
        assert!(made.status.success(), "initdb: {}", String::from_utf8_lossy(&made.stderr));
        cluster.start_server();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server's programs, as the `postgres` user under root.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut c = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        c.args(args).current_dir(self.dir.path()).output().unwrap_or_else(|e| panic!("{program}: {e}"))
    }

    fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers={}",
            self.port,
            self.dir.path().display(),
            self.shared_buffers
        );
        let log = self.dir.path().join("server.log");
        let data = self.data();
        let started = self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-o", &options, "-l", log.to_str().unwrap(), "-w", "-t", "60", "start"],
        );
        assert!(
            started.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while postgres::Client::connect(&self.url(), postgres::NoTls).is_err() {
            assert!(Instant::now() < deadline, "the server did not take connections");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server (fast: open sessions are ended, committed work is kept).
    pub fn stop(&self) {
        let data = self.data();
        let _ = self.run("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"]);
    }

    /// Starts it again on the same port.
    pub fn restart(&self) {
        self.start_server();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A new empty database `name`, and its URL.
    pub fn database(&self, name: &str) -> String {
        let mut c = postgres::Client::connect(&self.url(), postgres::NoTls).expect("a connection to the cluster");
        c.batch_execute(&format!("CREATE DATABASE \"{name}\"")).expect("CREATE DATABASE");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The cluster's directory (its `server.log` tells what the server did).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"]);
    }
}
