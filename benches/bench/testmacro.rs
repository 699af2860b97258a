//! Row 8: a project's test suite under `cargo nextest run` (a process per
//! test): eight trivial tests written with `#[pgharness::test]` against the
//! same eight with the real `#[sqlx::test]`, both on the sample chain. The
//! fixture crate is `benches/testmacro/` (a workspace of its own, built once
//! into `target/testmacro/`).
//!
//! pgharness' tests run the way a user's would on the local backend: every
//! test process leases the project's shared server and shares its
//! templates and clones made ahead. Its cache (initdb cluster, the shared
//! server's state) is a temp dir of this run (`PGHARNESS_CACHE_DIR`), so
//! that the first run is known to be cold and the server known to be this
//! run's. sqlx::test gets `DATABASE_URL` to a local server the bench starts
//! (warm throughout), with the roles of the sample's bootstrap created
//! first.
//!
//! The figure is the wall time of `cargo nextest run --test ...` (cargo's
//! up-to-date check, nextest's listing and the eight processes), warm: the
//! shared server already running. The first runs are reported apart.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use pgharness::server::Server;

use crate::process::{self, Finished};
use crate::report::{Figure, Row};
use crate::Bench;

/// How long the shared server stays up after the last test process, during
/// the warm runs: long enough to cover the sqlx::test run between two of
/// them (the default, 5 s, would do on an idle machine).
const WARM_LINGER_SECS: u64 = 20;

pub async fn measure(bench: &Bench) -> Row {
    let mut row = Row::new(
        "8",
        "cargo nextest run, 8 trivial tests: #[pgharness::test] vs the real #[sqlx::test]",
        "#[sqlx::test(migrations = …)], same tests, cargo nextest run",
        "<= 0.5x sqlx::test",
    );
    if let Err(e) = measure_into(bench, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

/// The fixture crate, its target dir and the temp cache its tests use.
struct Fixture {
    dir: PathBuf,
    target: PathBuf,
    cache: PathBuf,
    cargo: PathBuf,
    database_url: String,
}

/// Which test file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suite {
    Pgharness,
    Sqlx,
}

impl Suite {
    fn test(self) -> &'static str {
        match self {
            Suite::Pgharness => "pgharness_tests",
            Suite::Sqlx => "sqlx_tests",
        }
    }
}

/// `cargo nextest run` or `cargo test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    Nextest,
    CargoTest,
}

impl Fixture {
    /// `cargo <args>` in the fixture crate, with what the bench's own
    /// environment has of cargo's run of it removed.
    fn cargo(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.cargo);
        cmd.current_dir(&self.dir).args(args);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let set_by_cargo_run = [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_BIN_NAME",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&&*key)
                || key.starts_with("CARGO_PKG_");
            let ours = key.starts_with("PGHARNESS_") || key == "DATABASE_URL";
            if set_by_cargo_run || ours {
                cmd.env_remove(&*key);
            }
        }
        cmd.env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_TERM_COLOR", "never")
            .env("PGHARNESS_BACKEND", "local")
            .env("PGHARNESS_CACHE_DIR", &self.cache)
            .env("PGHARNESS_LOG", "warn")
            .env("DATABASE_URL", &self.database_url);
        cmd
    }

    /// Runs `suite` under `runner`; fails unless every test passed.
    async fn run(&self, runner: Runner, suite: Suite, linger: u64) -> Result<Finished> {
        let mut cmd = match runner {
            Runner::Nextest => self.cargo(&["nextest", "run", "--test", suite.test()]),
            Runner::CargoTest => self.cargo(&["test", "--test", suite.test()]),
        };
        cmd.env("PGHARNESS_LINGER_SECS", linger.to_string());
        let what = format!("{runner:?} --test {}", suite.test());
        let done = process::run_ok(cmd, &what).await?;
        let passed = match runner {
            Runner::Nextest => done.stderr.contains("8 tests run: 8 passed"),
            Runner::CargoTest => done.stdout.contains("8 passed; 0 failed"),
        };
        if !passed {
            bail!("{what}: not 8 passing tests:\n    {}", done.stderr_tail());
        }
        Ok(done)
    }

    /// The shared server's state dir.
    fn shared_dir(&self) -> Option<PathBuf> {
        shared_dir_in(&self.cache)
    }

    /// The run dir of the shared server, when one runs.
    fn running_server(&self) -> Option<PathBuf> {
        let run = crate::shared_server::run_dir(&self.shared_dir()?)?;
        run.exists().then_some(run)
    }

    /// Waits for the shared server to stop by itself (its linger time);
    /// how long that took.
    async fn wait_stopped(&self, wait: Duration) -> Result<Duration> {
        let Some(dir) = self.shared_dir() else {
            return Ok(Duration::ZERO);
        };
        let ended =
            tokio::task::spawn_blocking(move || crate::shared_server::wait_stopped(&dir, wait))
                .await?;
        match ended {
            crate::shared_server::Ended::Gone => Ok(Duration::ZERO),
            crate::shared_server::Ended::Stopped(after) => Ok(after),
            other => bail!(
                "the fixture's shared server did not stop within {} s of its last test process ({other:?})",
                wait.as_secs()
            ),
        }
    }
}

/// The shared server's state dir in `cache` (`shared-<key>/`: one
/// project, so one of them).
fn shared_dir_in(cache: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(cache).ok()?;
    entries.flatten().map(|e| e.path()).find(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("shared-"))
    })
}

/// nextest's own time for the run, from its summary line
/// (`Summary [   1.234s] 8 tests run: ...`).
fn nextest_seconds(done: &Finished) -> Option<f64> {
    let line = done.stderr.lines().find(|l| l.contains("Summary ["))?;
    let inside = line.split_once('[')?.1.split_once(']')?.0;
    inside.trim().trim_end_matches('s').parse().ok()
}

/// Where cargo is: `$CARGO` (set by cargo for what it runs), else `cargo`.
fn cargo_program() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// The target dir of this bench build (`target/` of `target/release/deps/bench-…`).
fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("the bench binary is not in target/<profile>/deps")
}

async fn measure_into(bench: &Bench, row: &mut Row) -> Result<()> {
    let n = bench.options.pick(3, 5);
    let n_cargo_test = bench.options.pick(2, 3);

    // sqlx::test's server: the sample's roles first (its bootstrap; roles
    // are server-wide, and sqlx::test only runs the migrations).
    let sqlx_server = Server::start_local()
        .await
        .context("starting the server for sqlx::test")?;
    let result = async {
        let mut admin = sqlx_server.admin_connection().await?;
        sqlx::raw_sql(&bench.config.server.bootstrap)
            .execute(&mut admin)
            .await
            .context("running the sample's bootstrap on sqlx::test's server")?;
        drop(admin);
        let database_url = sqlx_server.database("postgres").url();

        let cache = tempfile::Builder::new()
            .prefix("pgharness-bench-cache-")
            .tempdir()
            .context("creating a cache dir for the fixture's tests")?
            .keep();
        let fixture = Fixture {
            dir: bench.root.join("benches").join("testmacro"),
            target: target_dir()?.join("testmacro"),
            cache: cache.clone(),
            cargo: cargo_program(),
            database_url,
        };
        // When the bench exits: the fixture's shared server has stopped
        // (or is stopped), then its cache goes.
        crate::sweep_with(Box::new(move || match shared_dir_in(&cache) {
            Some(dir) => {
                crate::shared_server::retire(
                    "8",
                    &dir,
                    Some(&cache),
                    Duration::from_secs(WARM_LINGER_SECS + 10),
                );
            }
            None => {
                let _ = std::fs::remove_dir_all(&cache);
            }
        }));
        measure_fixture(bench, &fixture, row, n, n_cargo_test).await
    }
    .await;
    sqlx_server.shutdown().await;
    result
}

async fn measure_fixture(
    bench: &Bench,
    fixture: &Fixture,
    row: &mut Row,
    n: usize,
    n_cargo_test: usize,
) -> Result<()> {
    // Built once (cached in target/testmacro across bench runs), with the
    // repository's lock file, so the versions are the repository's.
    let lock = bench.root.join("Cargo.lock");
    std::fs::copy(&lock, fixture.dir.join("Cargo.lock"))
        .with_context(|| format!("seeding the fixture's Cargo.lock from {}", lock.display()))?;
    let build = process::run_ok(
        fixture.cargo(&["nextest", "run", "--no-run"]),
        "building the fixture's tests (cargo nextest run --no-run)",
    )
    .await?;

    // Cold, first ever: an empty cache, so initdb, the server's start and
    // the templates are in it.
    crate::progress("8: pgharness tests, first run (empty cache: initdb, server start, templates)");
    let first = fixture.run(Runner::Nextest, Suite::Pgharness, 1).await?;
    fixture
        .wait_stopped(Duration::from_secs(15))
        .await
        .context("after the first run")?;
    // Cold: the server starts from the cached cluster; templates built.
    crate::progress(
        "8: pgharness tests, cold run (server start from the cached cluster, templates)",
    );
    let cold = fixture
        .run(Runner::Nextest, Suite::Pgharness, WARM_LINGER_SECS)
        .await?;
    let server_run = fixture.running_server();
    // sqlx::test's first run (its bookkeeping schema in `postgres` made).
    let sqlx_first = fixture.run(Runner::Nextest, Suite::Sqlx, 0).await?;

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut ours_inner = Vec::new();
    let mut theirs_inner = Vec::new();
    let mut restarted = 0;
    let mut rss = Vec::new();
    for i in 0..n {
        crate::progress(&format!("8: warm runs {}/{n}", i + 1));
        let order = if i % 2 == 0 {
            [Suite::Pgharness, Suite::Sqlx]
        } else {
            [Suite::Sqlx, Suite::Pgharness]
        };
        for suite in order {
            if suite == Suite::Pgharness && fixture.running_server() != server_run {
                restarted += 1;
            }
            let done = fixture
                .run(Runner::Nextest, suite, WARM_LINGER_SECS)
                .await?;
            let (walls, inner) = match suite {
                Suite::Pgharness => (&mut ours, &mut ours_inner),
                Suite::Sqlx => (&mut theirs, &mut theirs_inner),
            };
            walls.push(done.wall);
            if suite == Suite::Pgharness {
                rss.push(done.max_rss_kib as f64 / 1024.0);
            }
            if let Some(s) = nextest_seconds(&done) {
                inner.push(s);
            }
        }
    }

    // Plain `cargo test`: one process per test binary, tests on threads.
    let mut ours_ct = Vec::new();
    let mut theirs_ct = Vec::new();
    for i in 0..n_cargo_test {
        crate::progress(&format!("8: cargo test {}/{n_cargo_test}", i + 1));
        let order = if i % 2 == 0 {
            [Suite::Pgharness, Suite::Sqlx]
        } else {
            [Suite::Sqlx, Suite::Pgharness]
        };
        for suite in order {
            let done = fixture
                .run(Runner::CargoTest, suite, WARM_LINGER_SECS)
                .await?;
            match suite {
                Suite::Pgharness => ours_ct.push(done.wall),
                Suite::Sqlx => theirs_ct.push(done.wall),
            }
        }
    }
    if fixture.running_server() != server_run {
        restarted += 1;
    }

    row.note(crate::report::peak_rss(
        "the warm #[pgharness::test] runs' largest process (cargo, nextest or a test binary: wait4 counts the descendants it reaped)",
        rss,
    ));
    let ours_figure = Figure::of_durations(&ours);
    let theirs_figure = Figure::of_durations(&theirs);
    let ratio = match (&ours_figure, &theirs_figure) {
        (Some(a), Some(b)) if b.median > 0.0 => a.median / b.median,
        _ => f64::MAX,
    };
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    row.note(
        "figure: wall time of `cargo nextest run --test pgharness_tests` (resp. `sqlx_tests`) in benches/testmacro, warm (the shared server already up, its templates built), runs alternated; includes cargo's up-to-date check and nextest's listing, the same for both; 2 test processes at a time (nextest's default here)",
    );
    row.note(format!(
        "pgharness cold runs, not in the figure: first ever (empty cache: initdb, server start, templates) {}; cold (server started from the cached cluster, templates built) {}; sqlx::test's first run {}",
        secs(first.wall),
        secs(cold.wall),
        secs(sqlx_first.wall)
    ));
    if let (Some(a), Some(b)) = (
        Figure::of(crate::report::Unit::Seconds, ours_inner.clone()),
        Figure::of(crate::report::Unit::Seconds, theirs_inner.clone()),
    ) {
        row.note(format!(
            "nextest's own summary time (test processes only, no cargo): pgharness {}, sqlx::test {} ({:.2}x)",
            a.display(),
            b.display(),
            a.median / b.median
        ));
    }
    if let (Some(a), Some(b)) = (
        Figure::of_durations(&ours_ct),
        Figure::of_durations(&theirs_ct),
    ) {
        row.note(format!(
            "plain `cargo test --test …` (one process, tests on 2 threads), warm: pgharness {}, sqlx::test {} ({:.2}x)",
            a.display(),
            b.display(),
            a.median / b.median
        ));
    }
    row.note(format!(
        "pgharness' tests: the local backend (PGHARNESS_BACKEND=local; `auto` would pick docker where it is reachable, without a shared server), the repository's pgharness.toml (`config = \"../../pgharness.toml\"`), a cache dir of this run (PGHARNESS_CACHE_DIR), PGHARNESS_LINGER_SECS={WARM_LINGER_SECS} during the warm runs so that the sqlx::test run between two of them cannot outlast it; {}",
        if restarted == 0 {
            "the shared server ran throughout the warm runs".to_string()
        } else {
            format!("the shared server had been replaced before {restarted} warm run(s): those were not warm")
        }
    ));
    row.note(format!(
        "sqlx::test: DATABASE_URL to a local server of the bench's (Server::start_local) with the bootstrap's roles created first; fixture built once into target/testmacro ({} this time, not in the figures)",
        secs(build.wall)
    ));
    row.details = serde_json::json!({
        "build_seconds": build.wall.as_secs_f64(),
        "first_run_seconds": first.wall.as_secs_f64(),
        "cold_run_seconds": cold.wall.as_secs_f64(),
        "sqlx_first_run_seconds": sqlx_first.wall.as_secs_f64(),
        "nextest_summary_seconds": { "pgharness": ours_inner, "sqlx": theirs_inner },
        "cargo_test_seconds": {
            "pgharness": ours_ct.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
            "sqlx": theirs_ct.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
        },
        "warm_runs_not_warm": restarted,
        "warm_linger_seconds": WARM_LINGER_SECS,
    });
    row.figures(ours_figure, theirs_figure);
    row.judge(ratio <= 0.5);
    Ok(())
}
