//! Row 1p: a fresh database at the head of the sample chain the way
//! `#[pgharness::test]` gets one: `Harness::app_database_at(None)` on a
//! shared local server (`Server::attach_shared_local`, a key of this bench
//! run's own) with shared templates. There a test claims a clone made
//! ahead in the background (one `ALTER DATABASE ... RENAME`), and falls
//! back to `CREATE DATABASE ... TEMPLATE` when none is ready.
//!
//! Each iteration is what one trivial test does: the database (timed),
//! then the test (connect, `select 1`, close), the drop a passing test's
//! database gets, and a pause for the test runner; the filler makes its
//! replacements meanwhile. The baseline is the same loop with
//! `Harness::database_at(None)` on the same server: the plain clone made
//! on demand, i.e. what `app_database_at` does when no clone is ready.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pgharness::server::{Database, Server};
use pgharness::Harness;
use sqlx::Connection;

use crate::report::{Figure, Row};
use crate::Bench;

/// The runner's pause between two tests (on top of the test itself and
/// its database's drop).
const PAUSE: Duration = Duration::from_millis(5);
/// A pause long enough for the filler to have made its replacement before
/// the next call: the claim alone, without a `CREATE DATABASE` beside it.
const IDLE_PAUSE: Duration = Duration::from_millis(60);
/// How many clones of a template the harness keeps ready
/// (`server::clones::READY`, private there).
const POOL: i64 = 4;

pub async fn measure(bench: &Bench) -> Row {
    let mut row = Row::new(
        "1p",
        "fresh database at head from clones made ahead (app_database_at, shared server)",
        "CREATE DATABASE … TEMPLATE on demand (database_at(None), same shared server)",
        "<= 2 ms p50",
    );
    if let Err(e) = measure_into(bench, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

/// One test's worth of work, as `#[pgharness::test]` with a `PgPool`
/// would do it around the database.
struct Iteration {
    /// The database call.
    fresh: Duration,
    /// How many clones were waiting when it was asked for.
    ready_before: i64,
    /// Whether the database is a clone made ahead (it existed before the
    /// call: its oid is not newer than every database's before it).
    claimed: bool,
    /// From the database's arrival to the next call: test, drop, pause.
    gap: Duration,
}

async fn measure_into(bench: &Bench, row: &mut Row) -> Result<()> {
    let n = bench.options.pick(30, 100);
    let key = format!(
        "bench-{}-{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    let started = Instant::now();
    let server = Server::attach_shared_local(&key)
        .await
        .context("attaching a shared local server")?;
    let attach_time = started.elapsed();
    // When the bench exits: wait for the server to stop by itself after
    // its linger time (the lease ends with `server` below), then remove
    // its state dir, which nothing else removes.
    if let Some(cache) = crate::shared_server::cache_root() {
        let dir = cache.join(format!("shared-{key}"));
        crate::sweep_with(Box::new(move || {
            crate::shared_server::retire("1p", &dir, None, Duration::from_secs(20));
        }));
    }
    let server = Arc::new(server);
    let mut harness = Harness::with_server(bench.config.clone(), bench.chain.clone(), server);
    harness.share_templates();
    let result = run_loops(&harness, n).await;
    harness.server().shutdown().await;
    drop(harness);
    let loops = result?;

    let Loops {
        build_time,
        fill_time,
        ours,
        base,
        burst,
        idle,
    } = loops;
    let fresh =
        |its: &[Iteration]| Figure::of_durations(&its.iter().map(|i| i.fresh).collect::<Vec<_>>());
    let ours_figure = fresh(&ours);
    let base_figure = fresh(&base);
    let p50 = ours_figure.as_ref().map_or(f64::MAX, |f| f.median);
    let gaps = Figure::of_durations(&ours.iter().map(|i| i.gap).collect::<Vec<_>>());

    if let (Some(o), Some(b)) = (&ours_figure, &base_figure) {
        row.note(format!(
            "p95: {} (baseline {}); figure is the latency of `app_database_at(None)` (claim a ready clone: `ALTER DATABASE … RENAME` on a kept connection, plus a replacement queued; else CREATE DATABASE … TEMPLATE); baseline is `database_at(None)` on the same shared server, the plain on-demand clone (file_copy), i.e. what app_database_at does without a ready clone (row 1's baseline, create + replay, is the sqlx::test-style alternative)",
            o.format(o.p95),
            b.format(b.p95)
        ));
    }
    if let Some(g) = &gaps {
        row.note(format!(
            "gap between calls: each iteration is a trivial test (connect, `select 1`, close), the DROP DATABASE a passing test's database gets, and a {} ms pause for the runner: {} between one database's arrival and the next call (the filler's time to make a replacement); the baseline loop is the same",
            PAUSE.as_millis(),
            g.display()
        ));
    }
    row.note(ready_note("with that gap", &ours));
    if ours.iter().all(|i| !i.claimed) && ours.iter().any(|i| i.ready_before > 0) {
        row.note(
            "no call claimed a waiting clone: every app_database_at fell back to CREATE DATABASE … TEMPLATE after a failed claim",
        );
    }
    row.note(format!(
        "{}; back to back: {}",
        ready_note("back to back (no test, no pause: claim then drop)", &burst),
        fresh(&burst).map_or("—".into(), |f| format!(
            "p50 {}, p95 {}",
            f.format(f.median),
            f.format(f.p95)
        ))
    ));
    row.note(format!(
        "{}; with the filler idle: {}",
        ready_note(
            &format!(
                "with a {} ms pause (the filler idle at each call)",
                IDLE_PAUSE.as_millis()
            ),
            &idle
        ),
        fresh(&idle).map_or("—".into(), |f| format!(
            "p50 {}, p95 {}",
            f.format(f.median),
            f.format(f.p95)
        ))
    ));
    let bookkeeping = bookkeeping_cost(bench);
    if let Some(b) = &bookkeeping {
        row.note(format!(
            "each app_database_at call computes `chain::bookkeeping::bookkeeping_sql` for the level again (for each of the {} migrations it re-reads and hashes the up file and compiles a regex that looks for a `schema_migrations` table): {} per call in this (release) build, inside the figure",
            bench.chain.migrations.len(),
            b.display()
        ));
    }
    row.note(format!(
        "not in the figures: attaching (starting) the shared server {:.0} ms; the first app_database_at (templates and the bookkeeping template built, no clone ready) {:.0} ms; then {:.0} ms more until {POOL} clones were waiting",
        attach_time.as_secs_f64() * 1e3,
        build_time.as_secs_f64() * 1e3,
        fill_time.as_secs_f64() * 1e3,
    ));
    let details = |its: &[Iteration]| {
        serde_json::json!({
            "fresh_seconds": its.iter().map(|i| i.fresh.as_secs_f64()).collect::<Vec<_>>(),
            "ready_before": its.iter().map(|i| i.ready_before).collect::<Vec<_>>(),
            "claimed": its.iter().map(|i| i.claimed).collect::<Vec<_>>(),
            "gap_seconds": its.iter().map(|i| i.gap.as_secs_f64()).collect::<Vec<_>>(),
        })
    };
    row.details = serde_json::json!({
        "pause_seconds": PAUSE.as_secs_f64(),
        "attach_seconds": attach_time.as_secs_f64(),
        "first_call_seconds": build_time.as_secs_f64(),
        "first_fill_seconds": fill_time.as_secs_f64(),
        "app_database_at": details(&ours),
        "database_at": details(&base),
        "back_to_back": details(&burst),
        "filler_idle": details(&idle),
        "bookkeeping_sql_seconds": bookkeeping,
    });
    row.figures(ours_figure, base_figure);
    row.judge(p50 <= 0.002);
    Ok(())
}

/// `4 clones were waiting before 100 of 100 calls; 97 claimed one
/// (median 0.9 ms), 3 created one (median 14 ms)`.
fn ready_note(context: &str, its: &[Iteration]) -> String {
    let waiting = its.iter().filter(|i| i.ready_before > 0).count();
    let (hits, misses): (Vec<&Iteration>, Vec<&Iteration>) = its.iter().partition(|i| i.claimed);
    let median = |v: &[&Iteration]| {
        Figure::of_durations(&v.iter().map(|i| i.fresh).collect::<Vec<_>>())
            .map_or("—".to_string(), |f| f.format(f.median))
    };
    let context = if context.is_empty() {
        String::new()
    } else {
        format!(" {context}")
    };
    format!(
        "{} calls{context}: a clone was waiting before {waiting} of them (counted before each call; this key's server has no other client); {} returned a clone that existed before the call (claimed; median {}), {} a database newer than the call's start (created, or a clone the filler finished during the call: their times tell; median {})",
        its.len(),
        hits.len(),
        median(&hits),
        misses.len(),
        median(&misses)
    )
}

struct Loops {
    build_time: Duration,
    fill_time: Duration,
    ours: Vec<Iteration>,
    base: Vec<Iteration>,
    burst: Vec<Iteration>,
    idle: Vec<Iteration>,
}

/// What computing the head's bookkeeping SQL costs (as `app_database_at`
/// does on every call).
fn bookkeeping_cost(bench: &Bench) -> Option<Figure> {
    let level = bench.chain.migrations.len();
    let samples: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let sql = pgharness::chain::bookkeeping::bookkeeping_sql(&bench.chain, level);
            let elapsed = t.elapsed();
            std::hint::black_box(sql);
            elapsed
        })
        .collect();
    Figure::of_durations(&samples)
}

/// How many clones wait (made ahead, not yet claimed) on this server,
/// and the newest database's oid.
async fn pool_state(admin: &mut sqlx::PgConnection) -> Result<(i64, i64)> {
    let (ready, newest): (i64, Option<i64>) = sqlx::query_as(
        "select count(*) filter (where starts_with(datname, 'pgharness_pool_')), max(oid::int8)
           from pg_database",
    )
    .fetch_one(admin)
    .await
    .context("counting the clones made ahead")?;
    Ok((ready, newest.unwrap_or(0)))
}

async fn ready_count(admin: &mut sqlx::PgConnection) -> Result<i64> {
    Ok(pool_state(admin).await?.0)
}

/// The oid of database `name`.
async fn oid_of(admin: &mut sqlx::PgConnection, name: &str) -> Result<i64> {
    sqlx::query_scalar("select oid::int8 from pg_database where datname = $1")
        .bind(name)
        .fetch_one(admin)
        .await
        .with_context(|| format!("reading the oid of {name}"))
}

/// Waits (up to 10 s) until the pool is full again; how long it took.
async fn wait_full(admin: &mut sqlx::PgConnection) -> Result<Duration> {
    let t = Instant::now();
    while ready_count(admin).await? < POOL && t.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(t.elapsed())
}

/// The trivial test: connect, `select 1`, close.
async fn trivial_test(db: &Database) -> Result<()> {
    let mut conn = db.connect().await?;
    sqlx::query("select 1").execute(&mut conn).await?;
    let _ = conn.close().await;
    Ok(())
}

async fn run_loops(harness: &Harness, n: usize) -> Result<Loops> {
    let mut admin = harness.server().admin_connection().await?;
    // The first call builds the templates (a suite's first test pays it)
    // and finds no clone; the filler then makes the first ones.
    let t = Instant::now();
    let db = harness
        .app_database_at(None)
        .await
        .context("the first app_database_at")?;
    let build_time = t.elapsed();
    harness.drop_database(&db).await?;
    let fill_time = wait_full(&mut admin).await?;
    // The plain clone's template too, before its loop.
    let db = harness.database_at(None).await?;
    harness.drop_database(&db).await?;

    let mut ours = Vec::new();
    let mut base = Vec::new();
    for _ in 0..n {
        ours.push(iteration(harness, &mut admin, true, Some(PAUSE)).await?);
    }
    for _ in 0..n {
        base.push(iteration(harness, &mut admin, false, Some(PAUSE)).await?);
    }
    // Back to back, from a full pool: how fast the pool drains.
    wait_full(&mut admin).await?;
    let mut burst = Vec::new();
    for _ in 0..(n / 2).max(8) {
        burst.push(iteration(harness, &mut admin, true, None).await?);
    }
    // With the filler idle at each call.
    wait_full(&mut admin).await?;
    let mut idle = Vec::new();
    for _ in 0..(n / 2).max(8) {
        idle.push(iteration(harness, &mut admin, true, Some(IDLE_PAUSE)).await?);
    }
    let _ = admin.close().await;
    Ok(Loops {
        build_time,
        fill_time,
        ours,
        base,
        burst,
        idle,
    })
}

/// One test: its database (`app` ? app_database_at : database_at), then
/// (with a `pause`) the trivial test, the drop and the pause.
async fn iteration(
    harness: &Harness,
    admin: &mut sqlx::PgConnection,
    app: bool,
    pause: Option<Duration>,
) -> Result<Iteration> {
    let (ready_before, newest) = pool_state(admin).await?;
    let t = Instant::now();
    let db = if app {
        harness.app_database_at(None).await?
    } else {
        harness.database_at(None).await?
    };
    let fresh = t.elapsed();
    let t = Instant::now();
    let claimed = oid_of(admin, db.name()).await? <= newest;
    if pause.is_some() {
        trivial_test(&db).await?;
    }
    harness.drop_database(&db).await?;
    if let Some(pause) = pause {
        tokio::time::sleep(pause).await;
    }
    Ok(Iteration {
        fresh,
        ready_before,
        claimed,
        gap: t.elapsed(),
    })
}
