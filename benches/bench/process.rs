//! Running the programs a user would otherwise run (`psql`, `pgbench`,
//! `initdb`, `pg_ctl`) and the release `pgharness` binary, timed, with the
//! child's peak memory from `wait4`.
//!
//! A child's `ru_maxrss` counts the address space it was forked from: Linux
//! keeps the high-water mark of the memory a process replaces at `exec`, so
//! every program this bench started directly reported at least the bench's
//! own RSS (a psql of a few MiB showed 12 MiB, and 63 MiB after the seeding
//! rows had grown the bench). Each program is therefore started by this
//! binary run afresh as a spawner ([`SPAWN`]), small and without a runtime,
//! which times the program from its spawn to its exit and reports that and
//! its peak RSS. Its own size is the floor of what it reports: `/bin/true`
//! through it shows 4.6 MiB (1 MiB under `/usr/bin/time`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// What a finished child did.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// The exit status (128 + signal when killed).
    pub code: i32,
    /// Peak resident memory of the child (and its waited-for
    /// descendants), KiB.
    pub max_rss_kib: u64,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The last lines of stderr, for an error message.
    pub fn stderr_tail(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        lines[lines.len().saturating_sub(6)..].join("\n    ")
    }
}

/// Runs `cmd` to completion off the async runtime. stdout and stderr are
/// captured (read on their own threads so a chatty child never blocks).
pub async fn run(cmd: Command) -> Result<Finished> {
    tokio::task::spawn_blocking(move || run_blocking(cmd))
        .await
        .context("the process runner task failed")?
}

/// Starts a new peak of this process's RSS: Linux sets its high-water mark
/// to the current RSS when `5` is written to `/proc/self/clear_refs`.
pub fn reset_own_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak RSS since [`reset_own_peak_rss`], MiB (`VmHWM`).
pub fn own_peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Where the spawner finds the user a program must run as: `uid:gid`
/// (`CommandExt::uid` cannot be read back from a `Command`).
const RUN_AS: &str = "PGHARNESS_BENCH_RUN_AS";

/// Runs `cmd` as `uid`:`gid`, directly or through the spawner.
pub fn run_as(cmd: &mut Command, uid: u32, gid: u32) {
    use std::os::unix::process::CommandExt as _;
    cmd.uid(uid).gid(gid).env(RUN_AS, format!("{uid}:{gid}"));
}

/// The first argument that makes this binary a spawner: `SPAWN <report
/// file> <program> <args>...`.
pub const SPAWN: &str = "--spawn-measured";

/// The spawner: runs the program with this process's standard streams and
/// environment, waits for it with `wait4`, writes "<wall ns> <max RSS KiB>"
/// to the report file, and exits with its status.
pub fn spawner(args: &[String]) -> std::process::ExitCode {
    let [report, program, rest @ ..] = args else {
        eprintln!("bench: {SPAWN} <report file> <program> <args>...");
        return std::process::ExitCode::from(2);
    };
    let mut cmd = Command::new(program);
    cmd.args(rest);
    let run_as = std::env::var(RUN_AS).ok();
    let ids = run_as.as_deref().and_then(|v| v.split_once(':'));
    if let Some((Ok(uid), Ok(gid))) = ids.map(|(u, g)| (u.parse(), g.parse())) {
        use std::os::unix::process::CommandExt as _;
        cmd.uid(uid).gid(gid).env_remove(RUN_AS);
    }
    let started = Instant::now();
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("bench: starting {program}: {e}");
            return std::process::ExitCode::from(127);
        }
    };
    let (code, usage) = match wait_measured(child) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("bench: waiting for {program}: {e}");
            return std::process::ExitCode::from(127);
        }
    };
    let wall = started.elapsed().as_nanos();
    let line = format!("{wall} {}", usage.ru_maxrss);
    if let Err(e) = std::fs::write(report, line) {
        eprintln!("bench: writing {report}: {e}");
        return std::process::ExitCode::from(127);
    }
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(255))
}

/// Waits for `child` with `wait4`: its exit status (128 + signal when
/// killed) and its resource usage. The child is reaped here.
fn wait_measured(child: std::process::Child) -> std::io::Result<(i32, libc::rusage)> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 on our own child with valid out-pointers. The
        // child is reaped here, so `child` must not be waited on again.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    std::mem::forget(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((code, usage))
}

/// `cmd` as run by the spawner: the same program, arguments, environment
/// changes and directory, the report written to `report`.
fn through_spawner(cmd: &Command, report: &Path) -> Result<Command> {
    let exe = std::env::current_exe().context("finding the bench binary")?;
    let mut spawner = Command::new(exe);
    spawner
        .arg(SPAWN)
        .arg(report)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => spawner.env(key, value),
            None => spawner.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        spawner.current_dir(dir);
    }
    Ok(spawner)
}

fn run_blocking(cmd: Command) -> Result<Finished> {
    let program = format!("{:?}", cmd.get_program());
    let report = tempfile::NamedTempFile::new().context("a spawner report file")?;
    let mut cmd = through_spawner(&cmd, report.path())?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("starting {program}"))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let (code, _) = wait_measured(child).with_context(|| format!("waiting for {program}"))?;
    let measured = std::fs::read_to_string(report.path()).unwrap_or_default();
    let mut numbers = measured.split(' ').map(|n| n.trim().parse::<u64>());
    let (Some(Ok(wall_ns)), Some(Ok(max_rss_kib))) = (numbers.next(), numbers.next()) else {
        bail!(
            "{program} did not run (exit {code}):\n    {}",
            err.join().unwrap_or_default()
        );
    };
    Ok(Finished {
        wall: Duration::from_nanos(wall_ns),
        code,
        max_rss_kib,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Runs `cmd` and fails unless it exits 0.
pub async fn run_ok(cmd: Command, what: &str) -> Result<Finished> {
    let done = run(cmd).await?;
    if done.code != 0 {
        bail!(
            "{what} exited with {}:\n    {}",
            done.code,
            done.stderr_tail()
        );
    }
    Ok(done)
}

/// Runs a `pgharness --format json check` command: what it did, and its
/// JSON report. Fails without a report, or when the check could not run
/// (exit status above 1; 1 is failing properties).
pub async fn run_check(cmd: Command) -> Result<(Finished, serde_json::Value)> {
    let done = run(cmd).await?;
    let report: serde_json::Value = serde_json::from_str(&done.stdout).with_context(|| {
        format!(
            "pgharness check exited {} without a JSON report:\n    {}",
            done.code,
            done.stderr_tail()
        )
    })?;
    if done.code > 1 {
        bail!(
            "pgharness check exited {}: {}",
            done.code,
            report["error"]["message"]
        );
    }
    Ok((done, report))
}

/// How `psql`/`pgbench` reach a database: the server's private socket.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Socket directory, or host.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
}

impl Endpoint {
    /// The endpoint of a pgharness database (socket when it has one).
    pub fn of(db: &pgharness::server::Database) -> Endpoint {
        let options = db.connect_options();
        let host = match options.get_socket() {
            Some(dir) => dir.display().to_string(),
            None => options.get_host().to_string(),
        };
        let password = url::Url::parse(&db.url())
            .ok()
            .and_then(|u| u.password().map(str::to_string));
        Endpoint {
            host,
            port: options.get_port(),
            user: options.get_username().to_string(),
            password,
        }
    }

    fn apply(&self, cmd: &mut Command) {
        cmd.args(["-h", &self.host])
            .args(["-p", &self.port.to_string()])
            .args(["-U", &self.user]);
        if let Some(p) = &self.password {
            cmd.env("PGPASSWORD", p);
        }
    }

    /// `psql -X -q -v ON_ERROR_STOP=1 -1 -f file` into `database`: how a
    /// person applies one migration file by hand.
    pub fn psql_file(&self, psql: &Path, database: &str, file: &Path) -> Command {
        let mut cmd = self.psql(psql, database);
        cmd.arg("-1").arg("-f").arg(file);
        cmd
    }

    /// `psql -X -q -v ON_ERROR_STOP=1 -c sql` into `database`.
    pub fn psql_command(&self, psql: &Path, database: &str, sql: &str) -> Command {
        let mut cmd = self.psql(psql, database);
        cmd.args(["-c", sql]);
        cmd
    }

    /// `psql -X -q -v ON_ERROR_STOP=1 -d database`, quiet and strict.
    fn psql(&self, psql: &Path, database: &str) -> Command {
        let mut cmd = Command::new(psql);
        self.apply(&mut cmd);
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database]);
        cmd
    }

    /// `pgbench -i -q -s scale` into `database`.
    pub fn pgbench_init(&self, pgbench: &Path, database: &str, scale: u32) -> Command {
        let mut cmd = Command::new(pgbench);
        self.apply(&mut cmd);
        cmd.args(["-i", "-q", "-s", &scale.to_string(), database]);
        cmd
    }
}

/// Runs `files` in order with one `psql -1 -f` each into `database`; the
/// summed wall time of the whole sequence and the largest psql's peak RSS.
pub async fn psql_sequence(
    endpoint: &Endpoint,
    psql: &Path,
    database: &str,
    files: &[PathBuf],
) -> Result<(Duration, u64)> {
    let started = Instant::now();
    let mut peak = 0;
    for file in files {
        let done = run_ok(
            endpoint.psql_file(psql, database, file),
            &format!("psql -f {}", file.display()),
        )
        .await?;
        peak = peak.max(done.max_rss_kib);
    }
    Ok((started.elapsed(), peak))
}

/// The full path of a client program: the server's bin dir first (same
/// version), then `PATH`.
pub fn client_program(bin_dir: &Path, name: &str) -> Result<PathBuf> {
    let local = bin_dir.join(name);
    if local.is_file() {
        return Ok(local);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!("`{name}` not found in {} or PATH", bin_dir.display())
}
