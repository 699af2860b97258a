//! Row 7: the full `pgharness check` on the sample project, as a user runs
//! it (release binary, its own local server), wall time and peak memory.
//! Baseline: what a team without the harness does, `psql -1 -f` of the
//! bootstrap SQL, all ups, all downs (newest first), all ups, on the same
//! chain.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::process::{psql_sequence, run_check, Endpoint};
use crate::report::{Figure, Row, Unit};
use crate::Bench;

const BASELINE: &str = "psql -1 -f: bootstrap, all ups, all downs, all ups";

pub async fn measure(bench: &Bench) -> Vec<Row> {
    let mut wall = Row::new(
        "7a",
        "full `pgharness check` on the sample project (wall)",
        BASELINE,
        "— (none in DESIGN.md)",
    );
    let mut memory = Row::new(
        "7b",
        "full `pgharness check`: peak RSS of the process",
        "peak RSS of the largest psql",
        "— (none in DESIGN.md)",
    );
    if let Err(e) = measure_into(bench, &mut wall, &mut memory).await {
        wall.error(format!("{e:#}"));
        memory.error(format!("{e:#}"));
    }
    vec![wall, memory]
}

async fn measure_into(bench: &Bench, wall_row: &mut Row, memory_row: &mut Row) -> Result<()> {
    let runs = bench.options.pick(2, 5);
    let scratch = tempfile::tempdir().context("creating a temp dir")?;
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(script) = bench.bootstrap_script() {
        let path = scratch.path().join("bootstrap.sql");
        std::fs::write(&path, &script.sql)?;
        files.push(path);
    }
    let migrations = &bench.chain.migrations;
    files.extend(migrations.iter().map(|m| m.up.path.clone()));
    files.extend(
        migrations
            .iter()
            .rev()
            .filter_map(|m| m.down.as_ref().map(|d| d.path.clone())),
    );
    files.extend(migrations.iter().map(|m| m.up.path.clone()));

    let mut wall = Vec::new();
    let mut check = Vec::new();
    let mut rss = Vec::new();
    let mut psql = Vec::new();
    let mut psql_rss = Vec::new();
    let mut summary = serde_json::Value::Null;
    for _ in 0..runs {
        let cmd = bench.pgharness(
            &bench.root,
            &["--backend", "local", "--format", "json", "check"],
        );
        let (done, report) = run_check(cmd).await?;
        wall.push(done.wall);
        check.push(report["summary"]["seconds"].as_f64().unwrap_or(f64::NAN));
        rss.push(done.max_rss_kib as f64 / 1024.0);
        summary = report["summary"].clone();
        if done.code == 1 {
            let failing: Vec<String> = report["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["status"] == "fail")
                .map(|r| format!("{} {}", r["property"], r["target"]))
                .collect();
            let note = format!("check exited 1: failing {}", failing.join(", "));
            if !wall_row.notes.contains(&note) {
                wall_row.note(note);
            }
        }

        let db = bench.server.create_database().await?;
        let result = psql_sequence(&Endpoint::of(&db), &bench.psql, db.name(), &files).await;
        bench.server.drop_database(db.name()).await?;
        let (time, peak) = result?;
        psql.push(time);
        psql_rss.push(peak as f64 / 1024.0);
    }
    wall_row.figures(Figure::of_durations(&wall), Figure::of_durations(&psql));
    let check_figure = Figure::of(Unit::Seconds, check);
    wall_row.note("peak RSS: row 7b");
    wall_row.note(format!(
        "summary: {}; the check alone (summary.seconds) {}; the rest is process + server start",
        summary,
        check_figure.as_ref().map_or("—".into(), Figure::display)
    ));
    wall_row.details = serde_json::json!({ "check_seconds": check_figure, "summary": summary });
    memory_row.figures(Figure::of(Unit::MiB, rss), Figure::of(Unit::MiB, psql_rss));
    memory_row.note("peak RSS from wait4(2) of the child (the pgharness process; the Postgres server is not counted)");
    Ok(())
}
