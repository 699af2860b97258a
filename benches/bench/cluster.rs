//! The baseline of "server ready": a plain `initdb` + `pg_ctl start -w`,
//! with the same throwaway settings as pgharness' local backend, run as the
//! `postgres` user when we are root.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::process::{run, run_ok};

/// The unprivileged account to run as when root (what pgharness does).
#[derive(Debug, Clone, Copy)]
pub struct RunAs {
    uid: u32,
    gid: u32,
}

/// `postgres` (or `PGHARNESS_RUN_AS`) when we are root, `None` otherwise.
pub fn run_as() -> Result<Option<RunAs>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::env::var("PGHARNESS_RUN_AS").unwrap_or_else(|_| "postgres".into());
    let c_name = std::ffi::CString::new(name.clone())?;
    // SAFETY: getpwnam returns a pointer into static storage or null; the
    // fields are copied out at once, single-threaded use here.
    let pwd = unsafe { libc::getpwnam(c_name.as_ptr()) };
    if pwd.is_null() {
        anyhow::bail!("running as root and there is no user `{name}` to run initdb as");
    }
    // SAFETY: non-null, see above.
    let (uid, gid) = unsafe { ((*pwd).pw_uid, (*pwd).pw_gid) };
    Ok(Some(RunAs { uid, gid }))
}

/// A cluster made by `initdb` and started by `pg_ctl`; stopped (immediate)
/// and deleted on drop, whatever happened.
pub struct PlainCluster {
    dir: PathBuf,
    pg_ctl: PathBuf,
    owner: Option<RunAs>,
    started: bool,
}

/// Timings of one baseline start.
pub struct PlainTimings {
    pub initdb: Duration,
    pub start: Duration,
}

impl PlainCluster {
    /// `initdb` then `pg_ctl start -w`, timed separately.
    pub async fn start(
        bin_dir: &Path,
        owner: Option<RunAs>,
    ) -> Result<(PlainCluster, PlainTimings)> {
        let dir = make_dir(owner)?;
        // An interrupted run drops this cluster while initdb or pg_ctl may
        // still be running in a blocking thread: once they are done, stop
        // whatever server came up and delete the dir.
        {
            let (dir, pg_ctl) = (dir.clone(), bin_dir.join("pg_ctl"));
            crate::sweep_with(Box::new(move || {
                if dir.join("data/postmaster.pid").exists() {
                    let mut stop = Command::new(&pg_ctl);
                    stop.args(["stop", "-w", "-m", "immediate", "-D"])
                        .arg(dir.join("data"))
                        .current_dir(&dir)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null());
                    if let Some(o) = owner {
                        stop.uid(o.uid).gid(o.gid);
                    }
                    let _ = stop.status();
                }
                let _ = fs::remove_dir_all(&dir);
            }));
        }
        let mut cluster = PlainCluster {
            dir,
            pg_ctl: bin_dir.join("pg_ctl"),
            owner,
            started: false,
        };
        let data = cluster.dir.join("data");
        let mut initdb = cluster.command(&bin_dir.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth=trust"]);
        let initdb_time = run_ok(initdb, "initdb").await?.wall;
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c wal_level=minimal -c max_wal_senders=0 -c autovacuum=off",
            cluster.dir.display()
        );
        let mut start = cluster.command(&cluster.pg_ctl);
        start
            .args(["start", "-w", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(cluster.dir.join("log"))
            .args(["-o", &options]);
        // Marked started before the call: a half-started server is stopped
        // too.
        cluster.started = true;
        let start_time = run_ok(start, "pg_ctl start -w").await?.wall;
        Ok((
            cluster,
            PlainTimings {
                initdb: initdb_time,
                start: start_time,
            },
        ))
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.dir);
        if let Some(o) = self.owner {
            crate::process::run_as(&mut cmd, o.uid, o.gid);
        }
        cmd
    }

    /// `pg_ctl stop -m immediate` (not timed) and removes the directory.
    pub async fn stop(mut self) -> Result<()> {
        if self.started {
            self.started = false;
            let mut stop = self.command(&self.pg_ctl);
            stop.args(["stop", "-w", "-m", "immediate", "-D"])
                .arg(self.dir.join("data"));
            run_ok(stop, "pg_ctl stop").await?;
        }
        Ok(())
    }
}

impl Drop for PlainCluster {
    fn drop(&mut self) {
        if self.started {
            let mut stop = self.command(&self.pg_ctl);
            stop.args(["stop", "-w", "-m", "immediate", "-D"])
                .arg(self.dir.join("data"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let _ = stop.status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A run dir named like pgharness' own (`pgharness-run-…`, with an owner
/// file), so that if this process is killed the next pgharness run reaps
/// it, server included. In /dev/shm like pgharness' servers.
fn make_dir(owner: Option<RunAs>) -> Result<PathBuf> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let shm = Path::new("/dev/shm");
    let base = match std::env::var_os("PGHARNESS_TMPDIR") {
        Some(dir) => PathBuf::from(dir),
        None if shm.is_dir() => shm.to_path_buf(),
        None => std::env::temp_dir(),
    };
    let dir = base.join(format!(
        "pgharness-run-bench-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::write(
        dir.join("pgharness.owner"),
        format!("pid {}\n", std::process::id()),
    )
    .context("writing the owner file")?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    if let Some(o) = owner {
        std::os::unix::fs::chown(&dir, Some(o.uid), Some(o.gid))?;
    }
    Ok(dir)
}

/// Whether `docker image inspect image` succeeds.
pub async fn docker_image_present(image: &str) -> bool {
    let mut cmd = Command::new("docker");
    cmd.args(["image", "inspect", image]);
    matches!(run(cmd).await, Ok(done) if done.code == 0)
}
