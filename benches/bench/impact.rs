//! Row 10: `pgharness impact` at production scale, as a user runs it
//! (release binary, its own local server), wall time and peak memory.
//!
//! 10a: the impact fixture (`tests/fixtures/impact/risky`): a million orders
//! generated and loaded at its first migration, then the three migrations
//! after it traced statement by statement. Baseline: the same database work
//! by hand with psql: the same data set as a psql script (`pgharness seed
//! --out` of the same profile and seed, written beforehand and not timed)
//! loaded with `psql -f`, then each up with `psql -1 -f`.
//!
//! 10b: the sample chain with `seeds/prod-like.toml` (a million tasks; the
//! walk seeds four versions of the chain). Baseline: `psql -1 -f` of the
//! bootstrap and the ups on an empty database, the floor of any tracer
//! that runs the chain without data.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::process::{psql_sequence, run, Endpoint};
use crate::report::{Figure, Row, Unit};
use crate::Bench;

const FIXTURE: &str = "tests/fixtures/impact/risky";

pub async fn measure(bench: &Bench) -> Vec<Row> {
    let mut fixture = Row::new(
        "10a",
        "`pgharness impact` of the impact fixture at 1,000,000 orders: generate, load, trace (wall)",
        "psql -f of the same data (pre-written seed script), then psql -1 -f of each up",
        "— (issue 20: report it)",
    );
    if let Err(e) = measure_fixture(bench, &mut fixture).await {
        fixture.error(format!("{e:#}"));
    }
    let mut sample = Row::new(
        "10b",
        "`pgharness impact` of the sample chain with seeds/prod-like.toml (wall)",
        "psql -1 -f of the bootstrap and the ups on an empty database",
        "— (issue 20: report it)",
    );
    if let Err(e) = measure_sample(bench, &mut sample).await {
        sample.error(format!("{e:#}"));
    }
    vec![fixture, sample]
}

/// Runs `pgharness impact` in `cwd`; its report (exit 1 is findings).
async fn impact(
    bench: &Bench,
    cwd: &Path,
    args: &[&str],
) -> Result<(crate::process::Finished, serde_json::Value)> {
    let mut all = vec!["--backend", "local", "--format", "json"];
    all.extend_from_slice(args);
    all.push("impact");
    let done = run(bench.pgharness(cwd, &all)).await?;
    if done.code > 1 {
        bail!(
            "pgharness impact exited {}:\n    {}",
            done.code,
            done.stderr_tail()
        );
    }
    let report = serde_json::from_str(&done.stdout).context("impact printed no JSON")?;
    Ok((done, report))
}

fn seeded_rows(report: &serde_json::Value) -> (f64, f64) {
    let seeding = report["seeding"].as_array().cloned().unwrap_or_default();
    let rows: f64 = seeding.iter().filter_map(|s| s["rows"].as_f64()).sum();
    let seconds: f64 = seeding.iter().filter_map(|s| s["seconds"].as_f64()).sum();
    (rows, seconds)
}

async fn measure_fixture(bench: &Bench, row: &mut Row) -> Result<()> {
    let runs = bench.options.pick(1, 3);
    let dir = bench.root.join(FIXTURE);
    let migrations = pgharness::chain::discover(&dir.join("migrations"), Default::default())
        .context("reading the impact fixture's chain")?;
    // The baseline's data: the chain's first migration and the profile's
    // rows, as one psql script.
    let scratch = tempfile::tempdir().context("creating a temp dir")?;
    let first = scratch.path().join("migrations");
    std::fs::create_dir_all(&first)?;
    let up = &migrations.migrations[0].up.path;
    std::fs::copy(up, first.join(up.file_name().context("a file name")?))?;
    let script = scratch.path().join("data.sql");
    let profile = dir.join("seeds/prod.toml");
    let written = run(bench.pgharness(
        scratch.path(),
        &[
            "--migrations",
            &first.display().to_string(),
            "--layout",
            "sqlx",
            "seed",
            "--profile",
            &profile.display().to_string(),
            "--out",
            &script.display().to_string(),
        ],
    ))
    .await?;
    if written.code != 0 {
        bail!(
            "seed --out exited {}: {}",
            written.code,
            written.stderr_tail()
        );
    }
    let mut files: Vec<PathBuf> = vec![script];
    files.extend(migrations.migrations[1..].iter().map(|m| m.up.path.clone()));

    let mut wall = Vec::new();
    let mut rss = Vec::new();
    let mut psql = Vec::new();
    let mut seed_seconds = Vec::new();
    let mut traced_ms = Vec::new();
    let mut findings = serde_json::Value::Null;
    for _ in 0..runs {
        let config = dir.join("pgharness.toml").display().to_string();
        let (done, report) = impact(bench, &bench.root, &["-c", &config]).await?;
        wall.push(done.wall);
        rss.push(done.max_rss_kib as f64 / 1024.0);
        let (rows, seconds) = seeded_rows(&report);
        seed_seconds.push(seconds);
        traced_ms.push(
            report["migrations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["duration_ms"].as_f64())
                .sum::<f64>(),
        );
        findings = serde_json::json!({ "rows": rows as u64, "summary": report["summary"] });

        let db = bench.server.create_database().await?;
        let result = psql_sequence(&Endpoint::of(&db), &bench.psql, db.name(), &files).await;
        bench.server.drop_database(db.name()).await?;
        psql.push(result?.0);
    }
    row.figures(Figure::of_durations(&wall), Figure::of_durations(&psql));
    let seed = Figure::of(Unit::Seconds, seed_seconds.clone());
    let rss_figure = Figure::of(Unit::MiB, rss);
    row.note(format!(
        "of the wall: generating and loading the {} rows (and VACUUM ANALYZE) {}, the traced ups {:.0} ms; peak RSS {}; {}",
        findings["rows"],
        seed.as_ref().map_or("—".into(), Figure::display),
        traced_ms.iter().sum::<f64>() / traced_ms.len().max(1) as f64,
        rss_figure.as_ref().map_or("—".into(), Figure::display),
        findings["summary"]
    ));
    row.details = serde_json::json!({
        "seed_seconds": seed,
        "traced_ms": traced_ms,
        "peak_rss_mib": rss_figure,
        "report": findings,
    });
    Ok(())
}

async fn measure_sample(bench: &Bench, row: &mut Row) -> Result<()> {
    let runs = bench.options.pick(1, 2);
    let scratch = tempfile::tempdir().context("creating a temp dir")?;
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(script) = bench.bootstrap_script() {
        let path = scratch.path().join("bootstrap.sql");
        std::fs::write(&path, &script.sql)?;
        files.push(path);
    }
    files.extend(bench.chain.migrations.iter().map(|m| m.up.path.clone()));
    let mut wall = Vec::new();
    let mut rss = Vec::new();
    let mut psql = Vec::new();
    let mut seeded = serde_json::Value::Null;
    for _ in 0..runs {
        let (done, report) = impact(bench, &bench.root, &[]).await?;
        wall.push(done.wall);
        rss.push(done.max_rss_kib as f64 / 1024.0);
        let (rows, seconds) = seeded_rows(&report);
        seeded = serde_json::json!({
            "rows": rows as u64,
            "seconds": seconds,
            "seedings": report["seeding"].as_array().map_or(0, Vec::len),
            "summary": report["summary"],
        });
        let db = bench.server.create_database().await?;
        let result = psql_sequence(&Endpoint::of(&db), &bench.psql, db.name(), &files).await;
        bench.server.drop_database(db.name()).await?;
        psql.push(result?.0);
    }
    row.figures(Figure::of_durations(&wall), Figure::of_durations(&psql));
    let rss_figure = Figure::of(Unit::MiB, rss);
    row.note(format!(
        "{} rows generated and loaded in {} seedings ({:.1} s of the wall); peak RSS {}; {}",
        seeded["rows"],
        seeded["seedings"],
        seeded["seconds"].as_f64().unwrap_or(f64::NAN),
        rss_figure.as_ref().map_or("—".into(), Figure::display),
        seeded["summary"]
    ));
    row.details = serde_json::json!({ "seeding": seeded, "peak_rss_mib": rss_figure });
    Ok(())
}
