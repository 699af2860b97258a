//! One local server shared by every test process of a project (`cargo
//! test`'s binaries, nextest's process per test), with a lease.
//!
//! The server's state lives in the cache dir, in `shared-<key>/`:
//! - `lease`: every process using the server holds a shared `flock` on it
//!   for as long as it lives; the kernel releases it when the process ends,
//!   however it ends (SIGKILL included);
//! - `start.lock`: held alone while a process finds, checks or starts the
//!   server, so two processes never start two;
//! - `state`: run dir, port and password of the running server.
//!
//! The server runs detached from every test process (its own session), and
//! a watchdog (a small `sh` loop, also detached) stops it and removes its
//! run dir once no process has held a lease for the linger time
//! (`PGHARNESS_LINGER_SECS`, 5 s by default: long enough for the next
//! test process nextest starts; 600 s once a failed test kept a database
//! to inspect, `PGHARNESS_KEEP_LINGER_SECS`). It takes the lease file alone
//! for that, so no process can attach while the server goes away. The run
//! dir's owner file names the watchdog: if the watchdog is killed, the
//! next local start reaps the server like any killed run's. A server that
//! died is found dead (it does not answer) and replaced.

use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;

use super::exit_client;
use super::local::{self, Binaries};
use super::naming::{process_start_time, Owner};
use super::ServerError;

/// How long a new shared server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The run dir's marker that a failed test kept a database there.
const KEEP_MARKER: &str = "kept";

/// A lease on the shared server: while this value lives, the server stays.
pub(crate) struct SharedLocal {
    /// Holds the shared `flock`; closing it releases the lease.
    _lease: fs::File,
    run_dir: PathBuf,
    port: u16,
    password: String,
    /// `show server_version`, read once when the server started.
    version: Option<String>,
}

impl std::fmt::Debug for SharedLocal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLocal")
            .field("run_dir", &self.run_dir)
            .field("port", &self.port)
            .finish()
    }
}

/// What `state` records.
struct State {
    run_dir: PathBuf,
    port: u16,
    password: String,
    version: Option<String>,
}

impl SharedLocal {
    /// Attaches to the project's shared server (`key` names the project
    /// and binaries), starting it when none is running. Blocking.
    pub(crate) fn attach(key: &str) -> Result<SharedLocal, ServerError> {
        let dir = local::cache_root().join(format!("shared-{key}"));
        fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
        // The lease first: from here on, no watchdog can stop the server.
        let lease = lock_file(&dir.join("lease"), libc::LOCK_SH)?;
        let start = lock_file(&dir.join("start.lock"), libc::LOCK_EX)?;
        let state_path = dir.join("state");
        let state = match read_state(&state_path).filter(answers) {
            Some(state) => state,
            None => {
                let mut state = start_server(&dir)?;
                state.version = server_version(&state);
                write_state(&state_path, &state)?;
                state
            }
        };
        drop(start);
        Ok(SharedLocal {
            _lease: lease,
            run_dir: state.run_dir,
            port: state.port,
            password: state.password,
            version: state.version,
        })
    }

    /// The server's version, when the state file has it.
    pub(crate) fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Connection options for database `db`, through the private socket.
    pub(crate) fn connect_options(&self, db: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.run_dir)
            .port(self.port)
            .username("postgres")
            .database(db)
    }

    /// A TCP URL for database `db`, with the password.
    pub(crate) fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{db}",
            self.password, self.port
        )
    }

    /// Where a synchronous client reaches database `db`.
    pub(crate) fn target(&self, db: &str) -> exit_client::Target {
        exit_client::Target {
            host: self.run_dir.to_string_lossy().into_owned(),
            port: self.port,
            user: "postgres".into(),
            password: None,
            database: db.into(),
        }
    }

    /// Keeps the server up for the keep linger after the last lease ends
    /// while database `name` (a failed test's, kept to inspect) is there.
    pub(crate) fn mark_kept(&self, name: &str) {
        // The watchdog reads the marker by this name.
        debug_assert!(WATCHDOG.contains(KEEP_MARKER));
        let path = self.run_dir.join(KEEP_MARKER);
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{name}");
        }
    }

    /// Database `name` is gone: it no longer keeps the server up.
    pub(crate) fn unmark_kept(&self, name: &str) {
        let path = self.run_dir.join(KEEP_MARKER);
        let Ok(text) = fs::read_to_string(&path) else {
            return;
        };
        let rest: String = text
            .lines()
            .filter(|l| *l != name)
            .map(|l| format!("{l}\n"))
            .collect();
        if rest.len() != text.len() {
            let _ = fs::write(&path, rest);
        }
    }
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
    let what = what.into();
    move |source| ServerError::Io { what, source }
}

/// Opens (creating) `path` and takes `mode` (`LOCK_SH`/`LOCK_EX`) on it.
fn lock_file(path: &Path, mode: libc::c_int) -> Result<fs::File, ServerError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err(format!("opening {}", path.display())))?;
    loop {
        // SAFETY: flock on an open descriptor; released when `file` closes.
        if unsafe { libc::flock(file.as_raw_fd(), mode) } == 0 {
            return Ok(file);
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(io_err(format!("locking {}", path.display()))(error));
        }
    }
}

fn read_state(path: &Path) -> Option<State> {
    let text = fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    Some(State {
        run_dir: PathBuf::from(lines.next()?),
        port: lines.next()?.parse().ok()?,
        password: lines.next()?.to_string(),
        version: lines.next().map(str::to_string).filter(|v| !v.is_empty()),
    })
}

fn write_state(path: &Path, state: &State) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    let text = format!(
        "{}\n{}\n{}\n{}\n",
        state.run_dir.display(),
        state.port,
        state.password,
        state.version.as_deref().unwrap_or("")
    );
    fs::write(&tmp, text).map_err(io_err(format!("writing {}", tmp.display())))?;
    let _ = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600));
    fs::rename(&tmp, path).map_err(io_err(format!("writing {}", path.display())))
}

/// Where a synchronous client reaches the admin database of the server
/// `state` names (its private socket; local connections are trusted).
fn admin_target(state: &State) -> exit_client::Target {
    exit_client::Target {
        host: state.run_dir.to_string_lossy().into_owned(),
        port: state.port,
        user: "postgres".into(),
        password: None,
        database: "postgres".into(),
    }
}

/// `show server_version` (its first word) of the server `state` names.
fn server_version(state: &State) -> Option<String> {
    let mut client = exit_client::Client::connect(&admin_target(state)).ok()?;
    let version = client.query_first("show server_version").ok().flatten();
    client.close();
    version.and_then(|v| v.split_whitespace().next().map(str::to_string))
}

/// Whether the server `state` names is up and answers.
fn answers(state: &State) -> bool {
    match exit_client::Client::connect(&admin_target(state)) {
        Ok(mut client) => {
            let ok = client.execute("select 1").is_ok();
            client.close();
            ok
        }
        Err(_) => false,
    }
}

/// Starts a detached server from the cached cluster, and its watchdog.
fn start_server(dir: &Path) -> Result<State, ServerError> {
    let bins = Binaries::find()?;
    let owner = local::run_as()?;
    local::reap_leftovers();
    let (cluster, _cold) = local::cached_cluster(&bins, owner)?;
    let run_dir = local::make_run_dir(local::RUN_DIR_PREFIX)?;
    let started = (|| {
        local::chown(&run_dir, owner)?;
        let data = run_dir.join("data");
        local::copy_tree(&cluster.data, &data, owner)?;
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700))
            .map_err(io_err(format!("chmod {}", data.display())))?;
        let log = run_dir.join("postgres.log");
        fs::write(&log, b"").map_err(io_err(format!("creating {}", log.display())))?;
        local::chown(&log, owner)?;
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = local::free_port()?;
            let pid = spawn_detached(&bins, &run_dir, &data, port, owner, &log)?;
            match wait_ready(&run_dir, port, pid, &log) {
                Ok(()) => {
                    spawn_watchdog(dir, &run_dir, pid)?;
                    return Ok(State {
                        run_dir: run_dir.clone(),
                        port,
                        password: cluster.password.clone(),
                        version: None,
                    });
                }
                Err(Some(message)) if message.contains("could not bind") => {
                    last_error = message;
                }
                Err(message) => {
                    local::stop_orphan_postmaster(&data);
                    return Err(ServerError::Start {
                        message: "the shared server did not start".into(),
                        log: message.into_iter().chain(log_tail(&log)).collect(),
                    });
                }
            }
        }
        Err(ServerError::Start {
            message: format!("no free port after 5 attempts ({last_error})"),
            log: Vec::new(),
        })
    })();
    if started.is_err() {
        let _ = fs::remove_dir_all(&run_dir);
    }
    started
}

/// Starts `postgres` in a session of its own, not a child of this process
/// (so that no test process waits for it or takes it down), with its log
/// in `log`. Returns the postmaster's pid.
fn spawn_detached(
    bins: &Binaries,
    run_dir: &Path,
    data: &Path,
    port: u16,
    owner: Option<local::RunAs>,
    log: &Path,
) -> Result<u32, ServerError> {
    let postgres = local::postgres_command(bins, run_dir, data, port);
    let mut cmd = Command::new("sh");
    // The shell starts postgres in the background, prints its pid and
    // exits: postgres is then nobody's child but init's.
    cmd.arg("-c")
        .arg(r#"log="$1"; shift; "$@" </dev/null >/dev/null 2>>"$log" & echo $!"#)
        .arg("sh")
        .arg(log)
        .arg(postgres.get_program())
        .args(postgres.get_args())
        .current_dir(run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(o) = owner {
        cmd.uid(o.uid).gid(o.gid);
    }
    // SAFETY: setsid is async-signal-safe; it runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let out = cmd.output().map_err(io_err(format!(
        "starting {}/postgres",
        bins.bin_dir.display()
    )))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| ServerError::Start {
            message: "could not start postgres in the background".into(),
            log: Vec::new(),
        })
}

/// Whether `pid` runs (a zombie does not: nobody may reap an orphan).
fn running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|at| stat[at + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// Waits until the server answers on its socket. `Err(Some(line))`: it
/// exited, and its log says why.
fn wait_ready(run_dir: &Path, port: u16, pid: u32, log: &Path) -> Result<(), Option<String>> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let state = State {
        run_dir: run_dir.to_path_buf(),
        port,
        password: String::new(),
        version: None,
    };
    while Instant::now() < deadline {
        if answers(&state) {
            return Ok(());
        }
        if !running(pid) {
            let reason = log_tail(log)
                .into_iter()
                .rev()
                .find(|l| l.contains("FATAL") || l.contains("could not bind"));
            return Err(reason.or_else(|| Some("postgres exited".into())));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(Some(format!(
        "postgres did not accept connections within {} s",
        READY_TIMEOUT.as_secs()
    )))
}

fn log_tail(log: &Path) -> Vec<String> {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[lines.len().saturating_sub(20)..].to_vec()
}

/// Seconds from the environment, or `default`.
fn seconds(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The watchdog: once a second, whether any lease is held; after the
/// linger time without one, it takes the lease file alone, stops the
/// server and removes its run dir. A server that died takes its run dir
/// with it.
const WATCHDOG: &str = r#"
lease="$1"; pid="$2"; run="$3"; linger="$4"; keep_linger="$5"
alive() { [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" | grep -q '^[ZX]'; }
stop() {
  # Fast shutdown: it also removes the server's shared memory segments
  # (an immediate one leaves them in /dev/shm). Harder after 5 and 10 s.
  kill -INT "$pid" 2>/dev/null
  n=0
  while alive "$pid" && [ "$n" -lt 100 ]; do sleep 0.05; n=$((n+1)); done
  alive "$pid" && kill -QUIT "$pid" 2>/dev/null
  while alive "$pid" && [ "$n" -lt 200 ]; do sleep 0.05; n=$((n+1)); done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  rm -rf "$run"
}
idle=0
while sleep 1; do
  if ! alive "$pid"; then rm -rf "$run"; exit 0; fi
  # 1: a lease is held; 0, or an error (the lease file removed): none is.
  flock -n -x "$lease" true; rc=$?
  if [ "$rc" -eq 1 ]; then idle=0; else idle=$((idle+1)); fi
  limit="$linger"
  [ -s "$run/kept" ] && limit="$keep_linger"
  if [ "$idle" -ge "$limit" ]; then
    if [ ! -e "$lease" ]; then stop; exit 0; fi
    exec 9>>"$lease"
    if flock -n -x 9; then stop; exit 0; fi
    exec 9>&-
    idle=0
  fi
done
"#;

fn spawn_watchdog(dir: &Path, run_dir: &Path, pid: u32) -> Result<(), ServerError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(WATCHDOG)
        .arg("pgharness-watchdog")
        .arg(dir.join("lease"))
        .arg(pid.to_string())
        .arg(run_dir)
        .arg(seconds("PGHARNESS_LINGER_SECS", 5).to_string())
        .arg(seconds("PGHARNESS_KEEP_LINGER_SECS", 600).to_string())
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: as in `spawn_detached`.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(io_err("starting the shared server's watchdog"))?;
    let watchdog = child.id();
    // Not waited for: it outlives this process. The run dir belongs to the
    // watchdog now; if it is killed, the next local start reaps the server.
    std::mem::forget(child);
    let owner = Owner {
        pid: watchdog,
        start: process_start_time(watchdog).unwrap_or(0),
        ..Owner::current()
    };
    let path = run_dir.join(local::OWNER_FILE);
    let mut f = fs::File::create(&path).map_err(io_err(format!("creating {}", path.display())))?;
    writeln!(f, "{}", owner.marker()).map_err(io_err(format!("writing {}", path.display())))
}
