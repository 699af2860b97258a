//! `cargo xtask bench [--quick]`: the performance targets of DESIGN.md,
//! each measured next to the alternative a user would otherwise use, in the
//! same run (interleaved), so that a noisy machine slows both sides.
//!
//! A bench target (`harness = false`), so that `cargo bench` builds the
//! library, and the `pgharness` binary it runs as a subprocess, optimized.
//! Prints a Markdown table and writes `target/bench.json`.
//!
//! ```text
//! cargo bench --bench bench -- [--quick] [--rows 1,3,7] [--out FILE]
//! ```

mod apply;
mod check;
mod cluster;
mod fresh;
mod fresh_shared;
mod impact;
mod long_chain;
mod matrix;
mod process;
mod properties;
mod races;
mod ready;
mod report;
mod seeds;
mod seeds_large;
mod shapes;
mod shards;
mod shared_server;
mod synthetic;
mod testmacro;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use pgharness::chain::{Chain, Script};
use pgharness::config::Config;
use pgharness::server::local::Binaries;
use pgharness::server::Server;
use pgharness::Harness;

use report::{Machine, Row, Run};

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fewer iterations and smaller sizes (under 3 minutes on 2 cores).
    pub quick: bool,
    /// Only these rows (`1`..`10`; `1` includes `1p`); all when empty.
    pub rows: Vec<u32>,
    /// Where the JSON goes.
    pub out: PathBuf,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            quick: false,
            rows: Vec::new(),
            out: default_out(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                // `cargo bench` passes `--bench` to every bench binary.
                "--bench" => {}
                "--rows" => {
                    let list = args.next().context("--rows needs a list, e.g. 1,3")?;
                    for part in list.split(',').filter(|p| !p.is_empty()) {
                        let n: u32 = part
                            .trim()
                            .parse()
                            .with_context(|| format!("--rows: `{part}` is not a row number"))?;
                        if !(1..=10).contains(&n) {
                            bail!("--rows: there is no row {n} (rows are 1 to 10)");
                        }
                        options.rows.push(n);
                    }
                }
                "--out" => {
                    options.out = PathBuf::from(args.next().context("--out needs a file")?);
                }
                "-h" | "--help" => {
                    println!("usage: cargo xtask bench [--quick] [--rows 1,3,7] [--out FILE]");
                    std::process::exit(0);
                }
                other => {
                    bail!("unknown argument `{other}` (expected --quick, --rows LIST, --out FILE)")
                }
            }
        }
        Ok(options)
    }

    fn wants(&self, row: u32) -> bool {
        self.rows.is_empty() || self.rows.contains(&row)
    }

    /// `quick` or `full`, whichever mode this is.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// `target/bench.json`: this binary lives in `target/<profile>/deps/`.
fn default_out() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("bench.json")
}

/// Everything the rows share: the sample project, the machine's Postgres
/// programs, and one local server on which every "same server" comparison
/// runs.
pub struct Bench {
    pub options: Options,
    /// The repository (the sample project's root).
    pub root: PathBuf,
    /// The release `pgharness` binary built with this bench.
    pub exe: PathBuf,
    pub config: Config,
    pub chain: Chain,
    pub bins: Binaries,
    pub psql: PathBuf,
    pub pgbench: PathBuf,
    pub server: Arc<Server>,
    /// The sample chain on `server`.
    pub harness: Harness,
}

impl Bench {
    /// The release binary, run in `cwd` the way CI runs it (`CI=1`: no
    /// snapshot files written), quiet logs.
    pub fn pgharness(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.current_dir(cwd)
            .env("CI", "1")
            .env("PGHARNESS_LOG", "warn")
            .args(args);
        cmd
    }

    /// The config's bootstrap SQL as a script for the apply path.
    pub fn bootstrap_script(&self) -> Option<Script> {
        let sql = &self.config.server.bootstrap;
        if sql.trim().is_empty() {
            return None;
        }
        Some(Script {
            path: "pgharness.toml (server.bootstrap)".into(),
            sql: sql.clone(),
            line_offset: 0,
            transaction: true,
        })
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(process::SPAWN) {
        return process::spawner(&args[1..]);
    }
    let options = match Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            // Dropping the run's future drops its servers, clusters and temp
            // dirs, which stop and delete them.
            result = run(options) => result,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted; cleaned up")),
            _ = terminated() => Err(anyhow::anyhow!("terminated; cleaned up")),
        }
    });
    // Waits for blocking tasks still running (an interrupted server start)
    // to finish; their servers stop as they are dropped.
    drop(runtime);
    let sweeps: Vec<Sweep> = SWEEP
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
        .collect();
    for sweep in sweeps {
        sweep();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Resolves on SIGTERM (never, if it cannot be listened for).
async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            term.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

/// Measures a group of rows (`$rows.extend($measure)`) and notes this
/// process's peak RSS over them on each row that reports no RSS of the
/// programs it runs: such a row's library work runs in this process.
macro_rules! measured {
    ($rows:expr, $measure:expr) => {{
        process::reset_own_peak_rss();
        let mark = $rows.len();
        $rows.extend($measure);
        note_own_rss(&mut $rows[mark..]);
    }};
}

/// See [`measured`].
fn note_own_rss(group: &mut [Row]) {
    let Some(mib) = process::own_peak_rss_mib() else {
        return;
    };
    for row in group {
        if row.notes.iter().any(|n| n.contains("RSS")) {
            continue;
        }
        row.note(format!(
            "peak RSS {mib:.1} MiB: the bench process's while measuring this row, whose library calls run in it (the bench's own memory included; the programs it starts and the servers are not counted)"
        ));
    }
}

async fn run(options: Options) -> Result<()> {
    let started = Instant::now();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_pgharness"));
    let config = Config::load(&root.join("pgharness.toml")).context("loading pgharness.toml")?;
    let chain = config
        .migrations
        .discover()
        .context("discovering the sample chain")?;
    let bins = Binaries::find().context("finding the PostgreSQL binaries")?;
    let psql = process::client_program(&bins.bin_dir, "psql")?;
    let pgbench = process::client_program(&bins.bin_dir, "pgbench")?;

    let mut rows: Vec<Row> = Vec::new();
    // Server start first, while nothing else runs on the machine's behalf.
    if options.wants(2) {
        progress("2: server ready (warm, cold, docker) vs initdb + pg_ctl start");
        measured!(rows, ready::measure(&options, &bins).await);
    }

    let server = Arc::new(
        Server::start_local()
            .await
            .context("starting the bench's local server")?,
    );
    let harness = Harness::with_server(config.clone(), chain.clone(), server.clone());
    let bench = Bench {
        options: options.clone(),
        root,
        exe,
        config,
        chain,
        bins,
        psql,
        pgbench,
        server,
        harness,
    };
    let machine = Machine {
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        postgres: bench.server.version().to_string(),
        backend: bench.server.backend().name().to_string(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!("Linux {}", s.trim()))
            .unwrap_or_default(),
        cpu: cpu_model(),
        quick: options.quick,
    };

    if options.wants(1) {
        progress("1: fresh database at head vs create + replay");
        measured!(rows, [fresh::measure(&bench).await]);
        progress("1p: fresh database at head from clones made ahead (shared server) vs on demand");
        measured!(rows, [fresh_shared::measure(&bench).await]);
    }
    if options.wants(3) {
        progress("3: applying the sample chain vs psql -f");
        measured!(rows, [apply::measure(&bench).await]);
    }
    if options.wants(5) {
        progress("5: constraint property cases/s vs a loop over one connection");
        measured!(rows, properties::measure(&bench).await);
        progress("5c: race schedules/s vs isolationtester");
        measured!(rows, [races::measure(&bench).await]);
    }
    if options.wants(6) {
        progress("6: seed loading rows/s vs pgbench -i");
        measured!(rows, seeds::measure(&bench).await);
        progress("6c: generation for server-decided checks vs a hand-written INSERT ... SELECT");
        measured!(rows, [shapes::measure(&bench).await]);
        progress("6d: a large seed (~10M rows) vs psql -f of the same data");
        measured!(rows, [seeds_large::measure(&bench).await]);
    }
    if options.wants(7) {
        progress("7: full check on the sample project vs psql ups/downs/ups");
        measured!(rows, check::measure(&bench).await);
    }
    if options.wants(4) {
        progress("4: long synthetic chains vs psql ups/downs/ups");
        measured!(rows, long_chain::measure(&bench).await);
        progress("4s: 4 shards of a long synthetic chain vs the unsharded check");
        measured!(rows, [shards::measure(&bench).await]);
    }
    if options.wants(8) {
        progress("8: cargo nextest run, #[pgharness::test] vs #[sqlx::test]");
        measured!(rows, [testmacro::measure(&bench).await]);
    }
    if options.wants(9) {
        progress("9: check on PostgreSQL 15, 17 and 18 at once vs one after another");
        measured!(rows, [matrix::measure(&bench).await]);
    }
    if options.wants(10) {
        progress("10: impact at production scale vs the same work with psql");
        measured!(rows, impact::measure(&bench).await);
    }
    bench.server.shutdown().await;

    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let run = Run {
        machine,
        rows,
        seconds: started.elapsed().as_secs_f64(),
    };
    println!("\n{}", run.to_markdown());
    if let Some(dir) = options.out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(&run).context("serializing the results")?;
    std::fs::write(&options.out, json + "\n")
        .with_context(|| format!("writing {}", options.out.display()))?;
    println!("wrote {}", options.out.display());
    Ok(())
}

type Sweep = Box<dyn FnOnce() + Send>;

static SWEEP: std::sync::Mutex<Vec<Sweep>> = std::sync::Mutex::new(Vec::new());

/// Removes `dir` (again) when the bench exits, after every blocking task.
pub fn sweep_at_exit(dir: &Path) {
    let dir = dir.to_path_buf();
    sweep_with(Box::new(move || {
        let _ = std::fs::remove_dir_all(dir);
    }));
}

/// Runs `sweep` when the bench exits, after every blocking task: the last
/// word on what an interrupted step may have left.
pub fn sweep_with(sweep: Sweep) {
    SWEEP.lock().unwrap_or_else(|e| e.into_inner()).push(sweep);
}

/// A progress line on stderr (the table goes to stdout).
pub fn progress(message: &str) {
    eprintln!("bench: {message}");
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}
