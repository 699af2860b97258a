//! The `local` backend: a private cluster made with the machine's
//! `initdb`/`postgres`, in a temp dir, on a free 127.0.0.1 port and a private
//! unix socket.
//!
//! `initdb` runs once per Postgres version into a cache dir; each server
//! starts from a copy of that cluster (warm start). As root, both run as an
//! unprivileged system user because Postgres refuses root. Every run dir
//! holds an owner file naming the harness process, so a later run can reap
//! what a killed run left behind.

use std::collections::VecDeque;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;

use super::naming::{process_alive, Owner};
use super::ServerError;

/// How long a server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Prefix of run dirs in the temp dir.
pub(super) const RUN_DIR_PREFIX: &str = "pgharness-run-";
/// Prefix of temporary initdb dirs in the temp dir.
const INITDB_DIR_PREFIX: &str = "pgharness-initdb-";
/// The owner file inside a run dir.
pub(super) const OWNER_FILE: &str = "pgharness.owner";
/// Bumped when the cached cluster's settings change.
const CACHE_FORMAT: u32 = 1;

/// The Postgres binaries of this machine.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Directory holding `initdb` and `postgres`.
    pub bin_dir: PathBuf,
    /// Full version (`15.18`).
    pub version: String,
}

impl Binaries {
    /// Finds the binaries: `PGHARNESS_PG_BIN`, `pg_config --bindir`, `PATH`,
    /// then the highest `/usr/lib/postgresql/<major>/bin`.
    pub fn find() -> Result<Binaries, ServerError> {
        Self::find_where(None)
    }

    /// The binaries of PostgreSQL `major`: `PGHARNESS_PG_BIN_<major>`, then
    /// the places [`Binaries::find`] looks, keeping the first of that major
    /// (`/usr/lib/postgresql/<major>/bin` on Debian).
    pub fn find_major(major: u32) -> Result<Binaries, ServerError> {
        Self::find_where(Some(major))
    }

    /// The major version (`15`).
    pub fn major(&self) -> u32 {
        super::major_of(&self.version)
    }

    fn find_where(major: Option<u32>) -> Result<Binaries, ServerError> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(m) = major {
            if let Some(dir) = std::env::var_os(format!("PGHARNESS_PG_BIN_{m}")) {
                candidates.push(PathBuf::from(dir));
            }
            candidates.push(PathBuf::from(format!("/usr/lib/postgresql/{m}/bin")));
        }
        if let Some(dir) = std::env::var_os("PGHARNESS_PG_BIN") {
            candidates.push(PathBuf::from(dir));
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            if out.status.success() {
                candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        let mut majors: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let major = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((major, e.path().join("bin")))
            })
            .collect();
        majors.sort();
        candidates.extend(majors.into_iter().rev().map(|(_, p)| p));
        for dir in candidates {
            if !(dir.join("initdb").is_file() && dir.join("postgres").is_file()) {
                continue;
            }
            // Resolve symlinks (e.g. /usr/local/bin/initdb): the real bin
            // dir is where postgres finds its share files.
            let bin_dir = fs::canonicalize(dir.join("postgres"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or(dir);
            let out = Command::new(bin_dir.join("postgres"))
                .arg("--version")
                .output()
                .map_err(|e| ServerError::Io {
                    what: format!("running {}/postgres --version", bin_dir.display()),
                    source: e,
                })?;
            let text = String::from_utf8_lossy(&out.stdout);
            // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
            let version = text
                .split_whitespace()
                .nth(2)
                .unwrap_or("unknown")
                .to_string();
            let found = Binaries { bin_dir, version };
            if major.is_some_and(|m| found.major() != m) {
                continue;
            }
            return Ok(found);
        }
        if let Some(m) = major {
            return Err(ServerError::Unavailable(format!(
                "no PostgreSQL {m} server binaries (looked in PGHARNESS_PG_BIN_{m}, /usr/lib/postgresql/{m}/bin, PGHARNESS_PG_BIN, pg_config --bindir and PATH)"
            )));
        }
        Err(ServerError::Unavailable(
            "no initdb/postgres binaries found (looked in PGHARNESS_PG_BIN, pg_config --bindir, PATH and /usr/lib/postgresql/*/bin); install the PostgreSQL server (e.g. `apt-get install postgresql`) or use --backend docker / --database-url".to_string(),
        ))
    }
}

/// The unprivileged account the server runs as when we are root.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunAs {
    pub(super) uid: u32,
    pub(super) gid: u32,
}

pub(super) fn run_as() -> Result<Option<RunAs>, ServerError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let user = std::env::var("PGHARNESS_RUN_AS").unwrap_or_else(|_| "postgres".to_string());
    for name in [user.as_str(), "nobody"] {
        if let Some(ids) = lookup_user(name) {
            if ids.uid != 0 {
                return Ok(Some(ids));
            }
        }
    }
    Err(ServerError::Unavailable(format!(
        "running as root, and no unprivileged user `{user}` (or `nobody`) to run Postgres as; create one or set PGHARNESS_RUN_AS"
    )))
}

fn lookup_user(name: &str) -> Option<RunAs> {
    let c_name = std::ffi::CString::new(name).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; getpwnam_r is reentrant.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    Some(RunAs {
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
    let what = what.into();
    move |source| ServerError::Io { what, source }
}

pub(super) fn chown(path: &Path, owner: Option<RunAs>) -> Result<(), ServerError> {
    if let Some(o) = owner {
        std::os::unix::fs::lchown(path, Some(o.uid), Some(o.gid))
            .map_err(io_err(format!("chown {}", path.display())))?;
    }
    Ok(())
}

/// Recursively copies `src` to `dst` (which must not exist), keeping
/// permissions and giving everything to `owner`.
pub(super) fn copy_tree(src: &Path, dst: &Path, owner: Option<RunAs>) -> Result<(), ServerError> {
    let meta = fs::symlink_metadata(src).map_err(io_err(format!("reading {}", src.display())))?;
    if meta.is_dir() {
        fs::create_dir(dst).map_err(io_err(format!("creating {}", dst.display())))?;
        fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(io_err(format!("chmod {}", dst.display())))?;
        for entry in fs::read_dir(src).map_err(io_err(format!("reading {}", src.display())))? {
            let entry = entry.map_err(io_err(format!("reading {}", src.display())))?;
            copy_tree(&entry.path(), &dst.join(entry.file_name()), owner)?;
        }
    } else if meta.file_type().is_symlink() {
        let target = fs::read_link(src).map_err(io_err(format!("reading {}", src.display())))?;
        std::os::unix::fs::symlink(target, dst)
            .map_err(io_err(format!("creating {}", dst.display())))?;
    } else {
        fs::copy(src, dst).map_err(io_err(format!("copying {}", src.display())))?;
    }
    chown(dst, owner)
}

/// Where run dirs go: `PGHARNESS_TMPDIR`, else `/dev/shm` when it is a
/// roomy tmpfs, else the temp dir. Memory matters: on a disk, `CREATE
/// DATABASE` pays for write-back even with fsync off (measured here: ~300 ms
/// per clone on ext4, ~10 ms on tmpfs).
fn temp_base() -> PathBuf {
    if let Some(dir) = std::env::var_os("PGHARNESS_TMPDIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if free_bytes(shm).is_some_and(|free| free >= 2 << 30) {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// Every place run dirs may have been put, for the reaper.
fn temp_bases() -> Vec<PathBuf> {
    let mut bases = vec![temp_base(), PathBuf::from("/dev/shm"), std::env::temp_dir()];
    bases.sort();
    bases.dedup();
    bases
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let c_path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-pointer.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    // SAFETY: access(2) with a valid C string.
    if unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } != 0 {
        return None;
    }
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}

pub(super) fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PGHARNESS_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("pgharness");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("pgharness");
    }
    temp_base().join("pgharness-cache")
}

fn write_owner_file(dir: &Path) -> Result<(), ServerError> {
    let path = dir.join(OWNER_FILE);
    let mut f = fs::File::create(&path).map_err(io_err(format!("creating {}", path.display())))?;
    writeln!(f, "{}", Owner::current().marker())
        .map_err(io_err(format!("writing {}", path.display())))
}

/// Whether `dir` is a run dir of ours whose process is gone: its owner file
/// says so (see [`Owner`]). A dir without one is ours only when its name is
/// exactly what [`make_run_dir`] makes, its pid is not running and it is
/// empty (a run killed between making it and writing the file); anything
/// else that merely looks like ours (`pgharness-run-notes`) is never
/// touched.
fn owner_is_gone(dir: &Path) -> bool {
    if let Ok(text) = fs::read_to_string(dir.join(OWNER_FILE)) {
        return Owner::parse(&text).is_some_and(|owner| owner.is_gone());
    }
    let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(rest) = name
        .strip_prefix(RUN_DIR_PREFIX)
        .or_else(|| name.strip_prefix(INITDB_DIR_PREFIX))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    let made_by_us = matches!(parts.as_slice(), [pid, seq, nanos]
        if pid.parse::<u32>().is_ok()
            && seq.parse::<u64>().is_ok()
            && nanos.len() == 8
            && nanos.chars().all(|c| c.is_ascii_hexdigit()));
    let empty = fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
    made_by_us && empty && parts[0].parse::<u32>().is_ok_and(|pid| !process_alive(pid))
}

/// Stops a postmaster we do not own as a child (left by a killed run).
pub(super) fn stop_orphan_postmaster(data_dir: &Path) {
    let Ok(text) = fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return;
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return;
    };
    // Make sure the pid is still that postmaster before signalling it.
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let data = data_dir.to_string_lossy();
    if !String::from_utf8_lossy(&cmdline).contains(data.as_ref()) {
        return;
    }
    // SAFETY: plain kill(2) on a pid verified above.
    unsafe { libc::kill(pid, libc::SIGQUIT) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        // Not our child, so there is nothing to wait on but /proc.
        std::thread::sleep(Duration::from_millis(10));
    }
    if Path::new(&format!("/proc/{pid}")).exists() {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Removes run dirs (and their servers) left behind by killed runs.
/// Returns how many were reaped.
pub fn reap_leftovers() -> usize {
    let mut reaped = 0;
    for base in temp_bases() {
        let Ok(entries) = fs::read_dir(&base) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !(name.starts_with(RUN_DIR_PREFIX) || name.starts_with(INITDB_DIR_PREFIX)) {
                continue;
            }
            let dir = entry.path();
            if !dir.is_dir() || !owner_is_gone(&dir) {
                continue;
            }
            stop_orphan_postmaster(&dir.join("data"));
            if fs::remove_dir_all(&dir).is_ok() {
                tracing::info!("reaped {} left by a killed run", dir.display());
                reaped += 1;
            }
        }
    }
    reaped + reap_staging_copies()
}

/// Removes half-made copies of the cached cluster (`<name>.tmp-<pid>` in
/// the cache dir) whose maker is gone: a cold start killed while copying.
/// The cache dir is ours; the copy must still be old enough that no live
/// run in another PID namespace can be making it.
fn reap_staging_copies() -> usize {
    let Ok(entries) = fs::read_dir(cache_root()) else {
        return 0;
    };
    let mut reaped = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((_, pid)) = name.rsplit_once(".tmp-") else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if process_alive(pid) || !old {
            continue;
        }
        if fs::remove_dir_all(entry.path()).is_ok() {
            tracing::info!(
                "reaped {} left by a killed cold start",
                entry.path().display()
            );
            reaped += 1;
        }
    }
    reaped
}

/// Makes a unique dir `<temp>/<prefix><pid>-<seq>` owned by us, with an
/// owner file, mode 0700.
pub(super) fn make_run_dir(prefix: &str) -> Result<PathBuf, ServerError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let base = temp_base();
    loop {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("{prefix}{}-{n}-{nanos:08x}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(io_err(format!("chmod {}", dir.display())))?;
                write_owner_file(&dir)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(format!("creating {}", dir.display()))(e)),
        }
    }
}

/// A cached, freshly initialised cluster and its superuser password.
pub(super) struct CachedCluster {
    pub(super) data: PathBuf,
    pub(super) password: String,
}

/// `bytes` random bytes as hex (passwords of throwaway servers).
pub(crate) fn random_hex(bytes: usize) -> String {
    use std::fmt::Write as _;
    let mut buf = vec![0u8; bytes];
    let filled = fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
        .is_ok();
    if !filled {
        // Fall back to time and pid: only the cache password depends on it.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            ^ u128::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8;
        }
    }
    buf.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Returns the cached cluster for these binaries, running `initdb` when it
/// is missing. Concurrent runs serialise on a lock file.
pub(super) fn cached_cluster(
    bins: &Binaries,
    owner: Option<RunAs>,
) -> Result<(CachedCluster, bool), ServerError> {
    let root = cache_root();
    fs::create_dir_all(&root).map_err(io_err(format!("creating {}", root.display())))?;
    let uid = owner.map_or_else(|| unsafe { libc::geteuid() }, |o| o.uid);
    let name = format!("initdb-{}-u{uid}-v{CACHE_FORMAT}", bins.version);
    let dir = root.join(&name);
    let lock_path = root.join(format!("{name}.lock"));
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err(format!("opening {}", lock_path.display())))?;
    // SAFETY: flock on an open descriptor; released when `lock` is dropped.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) } != 0 {
        return Err(io_err(format!("locking {}", lock_path.display()))(
            std::io::Error::last_os_error(),
        ));
    }
    let password_path = dir.join("password");
    let data = dir.join("data");
    if data.join("PG_VERSION").is_file() {
        if let Ok(password) = fs::read_to_string(&password_path) {
            return Ok((
                CachedCluster {
                    data,
                    password: password.trim().to_string(),
                },
                false,
            ));
        }
    }
    let _ = fs::remove_dir_all(&dir);
    // initdb runs as the server's user, in a dir that user can write.
    let work = make_run_dir(INITDB_DIR_PREFIX)?;
    let result = (|| {
        chown(&work, owner)?;
        let password = random_hex(16);
        let pwfile = work.join("pwfile");
        fs::write(&pwfile, &password).map_err(io_err("writing the initdb password file"))?;
        chown(&pwfile, owner)?;
        let target = work.join("data");
        let mut cmd = Command::new(bins.bin_dir.join("initdb"));
        cmd.arg("-D")
            .arg(&target)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .current_dir(&work)
            .stdin(Stdio::null());
        if let Some(o) = owner {
            cmd.uid(o.uid).gid(o.gid);
        }
        let out = cmd
            .output()
            .map_err(io_err(format!("running {}/initdb", bins.bin_dir.display())))?;
        if !out.status.success() {
            return Err(ServerError::Start {
                message: format!("initdb failed ({})", out.status),
                log: String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .map(str::to_string)
                    .collect(),
            });
        }
        let staging = root.join(format!("{name}.tmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir(&staging).map_err(io_err(format!("creating {}", staging.display())))?;
        copy_tree(&target, &staging.join("data"), None)?;
        fs::write(staging.join("password"), &password)
            .map_err(io_err("writing the cached password"))?;
        fs::set_permissions(staging.join("password"), fs::Permissions::from_mode(0o600))
            .map_err(io_err("chmod the cached password"))?;
        fs::rename(&staging, &dir)
            .map_err(io_err(format!("moving the cluster into {}", dir.display())))?;
        Ok(CachedCluster { data, password })
    })();
    let _ = fs::remove_dir_all(&work);
    result.map(|c| (c, true))
}

/// Spawns `cmd` from a thread that lives as long as the process, with the
/// parent-death signal set: if this process dies (even by SIGKILL), the
/// kernel stops the server at once. (The signal is tied to the spawning
/// thread, so it cannot be a short-lived one such as a test's.)
fn spawn_anchored(mut cmd: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static ANCHOR: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);
    let mut guard = ANCHOR.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("pgharness-anchor".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })?;
        *guard = Some(tx);
    }
    // SAFETY: prctl and getppid are async-signal-safe; the closure runs in
    // the child between fork and exec.
    let parent = std::process::id() as libc::pid_t;
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                // The parent died before prctl took effect.
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (reply_tx, reply_rx) = mpsc::channel();
    let sender = guard
        .as_ref()
        .ok_or_else(|| std::io::Error::other("anchor thread missing"))?;
    sender
        .send((cmd, reply_tx))
        .map_err(|_| std::io::Error::other("anchor thread gone"))?;
    drop(guard);
    reply_rx
        .recv()
        .map_err(|_| std::io::Error::other("anchor thread gone"))?
}

/// A running local server.
pub struct LocalServer {
    child: Mutex<Option<Child>>,
    run_dir: PathBuf,
    port: u16,
    password: String,
    log: Arc<Mutex<VecDeque<String>>>,
    /// Whether the cluster had to be initialised (cold start).
    pub cold: bool,
}

impl std::fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServer")
            .field("run_dir", &self.run_dir)
            .field("port", &self.port)
            .finish()
    }
}

enum Startup {
    Ready,
    PortTaken,
    Died(String),
}

impl LocalServer {
    /// Starts a server; blocking work runs off the async runtime.
    pub async fn start() -> Result<LocalServer, ServerError> {
        Self::start_major(None).await
    }

    /// Starts a server of PostgreSQL `major` (`None`: the default
    /// binaries).
    pub async fn start_major(major: Option<u32>) -> Result<LocalServer, ServerError> {
        tokio::task::spawn_blocking(move || Self::start_blocking(major))
            .await
            .map_err(|e| ServerError::Unavailable(format!("server start task failed: {e}")))?
    }

    fn start_blocking(major: Option<u32>) -> Result<LocalServer, ServerError> {
        let bins = match major {
            Some(m) => Binaries::find_major(m)?,
            None => Binaries::find()?,
        };
        let owner = run_as()?;
        reap_leftovers();
        let (cluster, cold) = cached_cluster(&bins, owner)?;
        let run_dir = make_run_dir(RUN_DIR_PREFIX)?;
        let server = (|| {
            chown(&run_dir, owner)?;
            let data = run_dir.join("data");
            copy_tree(&cluster.data, &data, owner)?;
            fs::set_permissions(&data, fs::Permissions::from_mode(0o700))
                .map_err(io_err(format!("chmod {}", data.display())))?;
            let mut last_error = String::new();
            for _attempt in 0..5 {
                let port = free_port()?;
                let log = Arc::new(Mutex::new(VecDeque::new()));
                let (child, startup) =
                    spawn_postgres(&bins, &run_dir, &data, port, owner, log.clone())?;
                match startup {
                    Startup::Ready => {
                        return Ok(LocalServer {
                            child: Mutex::new(Some(child)),
                            run_dir: run_dir.clone(),
                            port,
                            password: cluster.password.clone(),
                            log,
                            cold,
                        })
                    }
                    Startup::PortTaken => {
                        last_error = format!("port {port} was taken");
                        reap_child(child);
                    }
                    Startup::Died(message) => {
                        reap_child(child);
                        let lines = log
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .iter()
                            .cloned()
                            .collect();
                        return Err(ServerError::Start {
                            message,
                            log: lines,
                        });
                    }
                }
            }
            Err(ServerError::Start {
                message: format!("no free port after 5 attempts ({last_error})"),
                log: Vec::new(),
            })
        })();
        if server.is_err() {
            let _ = fs::remove_dir_all(&run_dir);
        }
        server
    }

    /// Connection options for database `db`, through the private socket.
    pub fn connect_options(&self, db: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.run_dir)
            .port(self.port)
            .username("postgres")
            .database(db)
    }

    /// A TCP URL for database `db`, with the password.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{db}",
            self.password, self.port
        )
    }

    /// The server's private directory (data dir and socket).
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Stops the server (immediate shutdown) and deletes its directory.
    /// Idempotent.
    pub fn stop(&self) {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(child) = child {
            reap_child(child);
            let _ = fs::remove_dir_all(&self.run_dir);
        }
    }

    /// [`LocalServer::stop`] from async code: the wait for the server to
    /// exit runs on the blocking pool, not on a runtime worker.
    pub async fn stop_async(&self) {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(child) = child {
            let run_dir = self.run_dir.clone();
            let stopped = tokio::task::spawn_blocking(move || {
                reap_child(child);
                let _ = fs::remove_dir_all(&run_dir);
            });
            let _ = stopped.await;
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGQUIT (immediate shutdown), then wait for exit; SIGKILL if it hangs.
fn reap_child(mut child: Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child, not yet waited for.
    unsafe { libc::kill(pid, libc::SIGQUIT) };
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = child.wait();
        let _ = tx.send(());
    });
    if rx.recv_timeout(Duration::from_secs(10)).is_err() {
        // Still running after an immediate-shutdown request: force it. The
        // child is not reaped yet (the waiter is blocked on it), so the pid
        // cannot have been recycled.
        tracing::warn!("postgres did not stop within 10 s; killing it");
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = waiter.join();
}

pub(super) fn free_port() -> Result<u16, ServerError> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(io_err("finding a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("finding a free port"))?
        .port();
    Ok(port)
}

fn spawn_postgres(
    bins: &Binaries,
    run_dir: &Path,
    data: &Path,
    port: u16,
    owner: Option<RunAs>,
    log: Arc<Mutex<VecDeque<String>>>,
) -> Result<(Child, Startup), ServerError> {
    let mut cmd = postgres_command(bins, run_dir, data, port);
    cmd.current_dir(run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(o) = owner {
        cmd.uid(o.uid).gid(o.gid);
    }
    let mut child = spawn_anchored(cmd).map_err(io_err(format!(
        "starting {}/postgres",
        bins.bin_dir.display()
    )))?;
    let Some(stderr) = child.stderr.take() else {
        return Err(ServerError::Unavailable(
            "postgres stderr not captured".into(),
        ));
    };
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("pgharness-pglog".into())
        .spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(t) = &tx {
                    if line.contains("database system is ready to accept connections") {
                        let _ = t.send(Startup::Ready);
                        tx = None;
                    } else if line.contains("could not bind")
                        || line.contains("Address already in use")
                    {
                        let _ = t.send(Startup::PortTaken);
                        tx = None;
                    }
                }
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                if log.len() >= 200 {
                    log.pop_front();
                }
                log.push_back(line);
            }
            if let Some(t) = tx {
                let _ = t.send(Startup::Died(
                    "postgres exited before accepting connections".into(),
                ));
            }
        })
        .map_err(io_err("starting the log reader"))?;
    let startup = rx.recv_timeout(READY_TIMEOUT).unwrap_or_else(|_| {
        Startup::Died(format!(
            "postgres did not accept connections within {} s",
            READY_TIMEOUT.as_secs()
        ))
    });
    Ok((child, startup))
}

/// The `postgres` command line of a throwaway server: private socket in
/// `run_dir`, `port` on 127.0.0.1, durability off.
pub(super) fn postgres_command(bins: &Binaries, run_dir: &Path, data: &Path, port: u16) -> Command {
    let mut cmd = Command::new(bins.bin_dir.join("postgres"));
    cmd.arg("-D")
        .arg(data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(run_dir)
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "unix_socket_permissions=0700"])
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ])
        .args(["-c", "wal_level=minimal", "-c", "max_wal_senders=0"])
        .args(["-c", "autovacuum=off", "-c", "max_connections=200"])
        .args([
            "-c",
            "logging_collector=off",
            "-c",
            "log_min_messages=warning",
        ])
        .args(["-c", "log_min_error_statement=panic"]);
    cmd
}
