//! A private PostgreSQL cluster for one test: `initdb` into a temporary directory (as the
//! `postgres` user when the tests run as root, as CI does), the server on an ephemeral loopback
//! port, stopped and deleted on drop. Debian's `postgresql` package provides the binaries
//! (`tests/setup.sh` installs it); nothing is skipped when it is missing — the test fails and says
//! what to install.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running cluster.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    server: Option<Child>,
    databases: u32,
}

/// Directory of `initdb` and `postgres`: `$REPLYGUARD_PG_BIN`, else Debian's newest
/// `/usr/lib/postgresql/N/bin`, else whatever `PATH` finds.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("REPLYGUARD_PG_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_default()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The `postgres` user's uid and gid.
fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("run id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a `postgres` user (created by Debian's postgresql package)")
    };
    (id("-u"), id("-g"))
}

/// A command run as the `postgres` user when we are root (PostgreSQL refuses to run as root);
/// the process itself changes user, so signals reach the server, not a wrapper.
fn as_owner(program: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(program);
    if is_root() {
        let (uid, gid) = postgres_ids();
        cmd.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("an ephemeral port")
}

impl PgCluster {
    /// Creates and starts a cluster.
    pub fn start() -> PgCluster {
        let bin = bin_dir();
        let initdb = bin.join("initdb");
        assert!(
            initdb.exists() || Command::new("initdb").arg("--version").output().is_ok(),
            "PostgreSQL's initdb is not installed: run `sh tests/setup.sh` (Debian package postgresql)"
        );
        let dir = tempfile::Builder::new()
            .prefix("replyguard-pg-")
            .tempdir()
            .expect("temporary directory");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster directory to postgres");
        }
        let data = dir.path().join("data");
        let out = as_owner(&initdb)
            .arg("-D")
            .arg(&data)
            .args([
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cluster = PgCluster {
            dir,
            bin,
            port: 0,
            server: None,
            databases: 0,
        };
        cluster.start_server();
        cluster
    }

    /// Starts the server (again, after [`stop_server`](Self::stop_server)) on the same port.
    pub fn start_server(&mut self) {
        for _ in 0..5 {
            if self.port == 0 {
                self.port = free_port();
            }
            let child = as_owner(&self.bin.join("postgres"))
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-p", &self.port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1"])
                .arg("-c")
                .arg(format!(
                    "unix_socket_directories={}",
                    self.dir.path().display()
                ))
                .args(["-c", "max_connections=200"])
                // A throwaway cluster: no fsync (PostgreSQL's advice for test data). Commits
                // still go through the WAL, so a restart or a killed replica loses nothing the
                // tests could see; only an operating-system crash would, and none is simulated.
                // The storage conformance suite's 10,000-operation history took 36 s with it on.
                .args(["-c", "fsync=off"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start postgres");
            self.server = Some(child);
            if self.wait_ready(Duration::from_secs(30)) {
                return;
            }
            self.stop_server();
            self.port = 0;
        }
        panic!("PostgreSQL did not start");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(child) = self.server.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Stops the server at once (SIGKILL of the postmaster is what a crash looks like; SIGINT is
    /// PostgreSQL's "fast shutdown", which is what a restart by an operator does).
    pub fn stop_server(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new empty database, as a `postgres://` URL.
    pub fn database(&mut self) -> String {
        self.databases += 1;
        let name = format!("replyguard_{}", self.databases);
        let out = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(&name)
            .output()
            .expect("run createdb");
        assert!(
            out.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs SQL with psql and returns its unaligned output.
    pub fn psql(&self, url: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-A", "-t", "-q", url, "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.take() {
            // Immediate shutdown: the data is thrown away with the directory.
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}
