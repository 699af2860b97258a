//! Row 3: applying the sample chain to an empty database. pgharness: the
//! library's apply path without templates (connect, bootstrap SQL, then
//! `Harness::apply_up` for each migration: what `check --only apply`
//! runs, statement by statement with file:line:col on failure). Baseline:
//! `psql -v ON_ERROR_STOP=1 -1 -f` of the same files in order, the bootstrap
//! SQL first, on the same server.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pgharness::apply::apply_script;

use crate::process::{psql_sequence, Endpoint};
use crate::report::{Figure, Row};
use crate::Bench;

pub async fn measure(bench: &Bench) -> Row {
    let mut row = Row::new(
        "3",
        &format!(
            "apply the sample chain ({} migrations) to an empty database",
            bench.chain.migrations.len()
        ),
        "psql -1 -f per file (bootstrap first)",
        "<= 1.2x psql",
    );
    if let Err(e) = measure_into(bench, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

async fn measure_into(bench: &Bench, row: &mut Row) -> Result<()> {
    let n = bench.options.pick(6, 20);
    let scratch = tempfile::tempdir().context("creating a temp dir")?;
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(script) = bench.bootstrap_script() {
        let path = scratch.path().join("bootstrap.sql");
        std::fs::write(&path, &script.sql).context("writing the bootstrap file")?;
        files.push(path);
    }
    files.extend(bench.chain.migrations.iter().map(|m| m.up.path.clone()));

    let mut ours = Vec::new();
    let mut psql = Vec::new();
    for i in 0..=n {
        let a = apply_once(bench).await?;
        let b = psql_once(bench, &files).await?;
        if i > 0 {
            ours.push(a);
            psql.push(b);
        }
    }
    row.figures(Figure::of_durations(&ours), Figure::of_durations(&psql));
    let ratio = row.ratio.unwrap_or(f64::MAX);
    row.judge(ratio <= 1.2);
    row.note(
        "both sides start from an empty database (created untimed) and include connecting; psql connects once per file",
    );
    Ok(())
}

async fn apply_once(bench: &Bench) -> Result<Duration> {
    let db = bench.server.create_database().await?;
    let result = async {
        let t = Instant::now();
        let mut conn = bench.harness.connect(&db).await?;
        if let Some(script) = bench.bootstrap_script() {
            apply_script(&mut conn, &script, bench.chain.layout)
                .await
                .map_err(|e| anyhow::anyhow!("bootstrap: {e}"))?;
        }
        for i in 0..bench.chain.migrations.len() {
            bench.harness.apply_up(&mut conn, i).await?;
        }
        let elapsed = t.elapsed();
        let _ = sqlx::Connection::close(conn).await;
        Ok::<_, anyhow::Error>(elapsed)
    }
    .await;
    bench.server.drop_database(db.name()).await?;
    result
}

async fn psql_once(bench: &Bench, files: &[PathBuf]) -> Result<Duration> {
    let db = bench.server.create_database().await?;
    let result = psql_sequence(&Endpoint::of(&db), &bench.psql, db.name(), files).await;
    bench.server.drop_database(db.name()).await?;
    Ok(result?.0)
}
