//! Row 4: long chains. A synthetic chain (see `synthetic`) of 30, 100 and
//! 300 migrations, checked by the release binary with
//! `check --only apply,roundtrip --format json`; how the cost per migration
//! grows with the length. Baseline: what a hand-rolled CI script does with
//! the same chain, `psql -1 -f` of all ups, all downs (newest first), all ups.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pgharness::schema::SchemaSnapshot;

use crate::process::{psql_sequence, run_check, Endpoint};
use crate::report::{Figure, Row, Unit, Verdict};
use crate::synthetic::write_chain;
use crate::Bench;

const BASELINE: &str = "psql -1 -f: all ups, all downs, all ups";

/// One chain length's results.
struct Size {
    n: usize,
    /// Wall time of the pgharness process, per run.
    wall: Vec<Duration>,
    /// `summary.seconds` of its report (the check alone, no process or
    /// server start), per run.
    check: Vec<f64>,
    psql: Vec<Duration>,
    /// One `SchemaSnapshot::capture` of the chain's head schema.
    capture: Vec<Duration>,
}

pub async fn measure(bench: &Bench) -> Vec<Row> {
    // 300 only in the full run: it alone takes about a minute here.
    let sizes = bench.options.pick(vec![30, 100], vec![30, 100, 300]);
    let mut rows = Vec::new();
    let mut measured = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let id = format!("4{}", (b'a' + i as u8) as char);
        let mut row = Row::new(
            &id,
            &format!("check --only apply,roundtrip, {n}-migration synthetic chain (wall)"),
            BASELINE,
            "— (none in DESIGN.md)",
        );
        crate::progress(&format!("4: {n} migrations"));
        match measure_size(bench, n, &mut row).await {
            Ok(size) => measured.push(size),
            Err(e) => row.error(format!("{e:#}")),
        }
        rows.push(row);
    }
    rows.push(growth_row(&measured, rows.len()));
    crate::progress("4: the largest vendored real chain");
    rows.push(real_chain_row(bench, &format!("4{}", (b'a' + rows.len() as u8) as char)).await);
    rows
}

/// The largest vendored real-world chain (`tests/realworld/zksync-era`, 269
/// migrations): `check --only apply,idempotency,roundtrip` (every property
/// the chain carries what it needs for) against psql running its ups, its
/// downs newest first and its ups again, each file with `psql -1 -f` and
/// errors let through (21 of its downs fail, as they do in psql).
async fn real_chain_row(bench: &Bench, id: &str) -> Row {
    let mut row = Row::new(
        id,
        "check --only apply,idempotency,roundtrip, zksync-era (269 migrations, real; wall)",
        "psql -1 -f: its ups, downs, ups",
        "<= 3x psql (issue 13)",
    );
    if let Err(e) = measure_real_chain(bench, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

async fn measure_real_chain(bench: &Bench, row: &mut Row) -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/realworld/zksync-era");
    let config = pgharness::config::Config::load(&root.join("pgharness.toml"))?;
    let chain = config.migrations.discover()?;
    let mut sequence: Vec<PathBuf> = chain.migrations.iter().map(|m| m.up.path.clone()).collect();
    sequence.extend(
        chain
            .migrations
            .iter()
            .rev()
            .filter_map(|m| m.down.as_ref().map(|d| d.path.clone())),
    );
    sequence.extend(chain.migrations.iter().map(|m| m.up.path.clone()));
    let runs = bench.options.pick(1, 2);
    let (mut wall, mut psql, mut rss) = (Vec::new(), Vec::new(), 0);
    let config_arg = root.join("pgharness.toml").display().to_string();
    for _ in 0..runs {
        let cmd = bench.pgharness(
            &root,
            &[
                "-c",
                &config_arg,
                "--backend",
                "local",
                "--format",
                "json",
                "check",
                "--only",
                "apply,idempotency,roundtrip",
            ],
        );
        let (done, _) = run_check(cmd).await?;
        wall.push(done.wall);
        rss = rss.max(done.max_rss_kib);
        let db = bench.server.create_database().await?;
        let endpoint = Endpoint::of(&db);
        let started = Instant::now();
        for file in &sequence {
            // Errors let through: the time is psql's, whatever it meets.
            let _ = crate::process::run(endpoint.psql_file(&bench.psql, db.name(), file)).await?;
        }
        psql.push(started.elapsed());
        bench.server.drop_database(db.name()).await?;
    }
    row.figures(Figure::of_durations(&wall), Figure::of_durations(&psql));
    let ratio = Figure::of_durations(&wall).map_or(f64::NAN, |f| f.median)
        / Figure::of_durations(&psql).map_or(f64::NAN, |f| f.median);
    row.verdict = if ratio <= 3.0 {
        Verdict::Met
    } else {
        Verdict::Missed
    };
    row.note(format!("peak RSS {:.0} MiB", rss as f64 / 1024.0));
    Ok(())
}

async fn measure_size(bench: &Bench, n: usize, row: &mut Row) -> Result<Size> {
    let runs = bench.options.pick(1, if n >= 300 { 2 } else { 3 });
    let dir = tempfile::Builder::new()
        .prefix("pgharness-bench-chain-")
        .tempdir()
        .context("creating a temp dir")?;
    let chain_dir = dir.path().join("migrations");
    std::fs::create_dir(&chain_dir)?;
    let files = write_chain(&chain_dir, n)?;
    let mut sequence: Vec<PathBuf> = files.iter().map(|f| f.up.clone()).collect();
    sequence.extend(files.iter().rev().map(|f| f.down.clone()));
    sequence.extend(files.iter().map(|f| f.up.clone()));

    let mut size = Size {
        n,
        wall: Vec::new(),
        check: Vec::new(),
        psql: Vec::new(),
        capture: Vec::new(),
    };
    let chain_arg = chain_dir.display().to_string();
    let mut rss = 0;
    for _ in 0..runs {
        let cmd = bench.pgharness(
            dir.path(),
            &[
                "--migrations",
                &chain_arg,
                "--layout",
                "sqlx",
                "--backend",
                "local",
                "--format",
                "json",
                "check",
                "--only",
                "apply,roundtrip",
            ],
        );
        let (done, report) = run_check(cmd).await?;
        let summary = &report["summary"];
        let failed = summary["failed"].as_u64().unwrap_or(0);
        if failed > 0
            && !row
                .notes
                .iter()
                .any(|n| n.starts_with("the synthetic chain"))
        {
            let first = report["results"]
                .as_array()
                .and_then(|r| r.iter().find(|r| r["status"] == "fail"))
                .map(|r| format!("{} {}: {}", r["property"], r["target"], r["message"]))
                .unwrap_or_default();
            row.note(format!(
                "the synthetic chain failed {failed} checks (first: {first})"
            ));
        }
        size.wall.push(done.wall);
        size.check
            .push(summary["seconds"].as_f64().unwrap_or(f64::NAN));
        rss = rss.max(done.max_rss_kib);

        let db = bench.server.create_database().await?;
        let result = async {
            let (time, _) =
                psql_sequence(&Endpoint::of(&db), &bench.psql, db.name(), &sequence).await?;
            // The database is now at head: how long one schema capture
            // takes at this length (roundtrip captures 4 per migration).
            let mut conn = db.connect().await?;
            let mut captures = Vec::new();
            for _ in 0..3 {
                let t = Instant::now();
                SchemaSnapshot::capture(&mut conn).await?;
                captures.push(t.elapsed());
            }
            let _ = sqlx::Connection::close(conn).await;
            Ok::<_, anyhow::Error>((time, captures))
        }
        .await;
        bench.server.drop_database(db.name()).await?;
        let (time, captures) = result?;
        size.psql.push(time);
        size.capture.extend(captures);
    }
    row.figures(
        Figure::of_durations(&size.wall),
        Figure::of_durations(&size.psql),
    );
    let check = Figure::of(Unit::Seconds, size.check.clone());
    if let Some(c) = &check {
        row.note(format!(
            "check alone (report's summary.seconds): {}, {:.1} ms per migration; peak RSS {:.0} MiB",
            c.display(),
            c.median * 1e3 / n as f64,
            rss as f64 / 1024.0
        ));
    }
    row.details = serde_json::json!({
        "migrations": n,
        "check_seconds": check,
        "max_rss_kib": rss,
    });
    Ok(size)
}

/// Cost per migration at each length (the check's own time, without the
/// process and server start), and how it grows from the shortest to the
/// longest chain.
fn growth_row(sizes: &[Size], index: usize) -> Row {
    let id = format!("4{}", (b'a' + index as u8) as char);
    let (Some(first), Some(last)) = (sizes.first(), sizes.last()) else {
        let mut row = Row::new(&id, "cost per migration growth", BASELINE, "≈ linear");
        row.error("no chain length was measured");
        return row;
    };
    let mut row = Row::new(
        &id,
        &format!(
            "cost per migration at {} (check time / n; growth vs {})",
            last.n, first.n
        ),
        "psql ups/downs/ups time / n",
        &format!(
            "≈ linear (issue): per-migration cost at {} <= 1.5x at {}",
            last.n, first.n
        ),
    );
    let per =
        |samples: &[f64], n: usize| -> Vec<f64> { samples.iter().map(|s| s / n as f64).collect() };
    let secs = |d: &[Duration]| -> Vec<f64> { d.iter().map(Duration::as_secs_f64).collect() };
    let ours: Vec<Option<Figure>> = sizes
        .iter()
        .map(|s| Figure::of(Unit::Seconds, per(&s.check, s.n)))
        .collect();
    let base: Vec<Option<Figure>> = sizes
        .iter()
        .map(|s| Figure::of(Unit::Seconds, per(&secs(&s.psql), s.n)))
        .collect();
    let median = |f: &Option<Figure>| f.as_ref().map_or(f64::NAN, |f| f.median);
    let growth = median(&ours[ours.len() - 1]) / median(&ours[0]);
    let base_growth = median(&base[base.len() - 1]) / median(&base[0]);
    row.figures(ours[ours.len() - 1].clone(), base[base.len() - 1].clone());
    row.note(
        "peak RSS: that of the chains' rows above (this row's figure is theirs per migration)",
    );
    if sizes.len() < 2 {
        row.verdict = Verdict::Info;
    } else {
        row.judge(growth <= 1.5);
    }
    let listing: Vec<String> = sizes
        .iter()
        .zip(ours.iter().zip(&base))
        .map(|(s, (o, b))| {
            format!(
                "{}: {:.1} ms vs psql {:.1} ms",
                s.n,
                median(o) * 1e3,
                median(b) * 1e3
            )
        })
        .collect();
    row.note(format!(
        "per migration (pgharness check time vs psql): {}; growth {}→{}: pgharness {:.2}x, psql {:.2}x",
        listing.join(", "),
        first.n,
        last.n,
        growth,
        base_growth
    ));
    let marginal: Vec<String> = sizes
        .windows(2)
        .map(|w| {
            let m = |s: &Size| s.check.iter().copied().fold(f64::NAN, f64::min);
            let cost = (m(&w[1]) - m(&w[0])) / (w[1].n - w[0].n) as f64;
            format!("{}→{}: {:.1} ms", w[0].n, w[1].n, cost * 1e3)
        })
        .collect();
    let captures: Vec<String> = sizes
        .iter()
        .map(|s| {
            let f = Figure::of_durations(&s.capture);
            format!("{}: {:.1} ms", s.n, median(&f) * 1e3)
        })
        .collect();
    row.note(format!(
        "one whole SchemaSnapshot::capture of the head schema (what each of roundtrip's 3 captures per migration cost before a walk's captures read only what the migration touched): {}",
        captures.join(", ")
    ));
    if !marginal.is_empty() {
        row.note(format!(
            "marginal check cost per added migration: {}",
            marginal.join(", ")
        ));
    }
    row.details = serde_json::json!({
        "sizes": sizes.iter().map(|s| s.n).collect::<Vec<_>>(),
        "per_migration": ours,
        "psql_per_migration": base,
        "growth": growth,
        "psql_growth": base_growth,
    });
    row
}
