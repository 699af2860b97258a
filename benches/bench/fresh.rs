//! Row 1: a fresh database at the head of the sample chain. pgharness
//! clones its template (`Harness::database_at`); the alternative, what a
//! per-test `sqlx::test`-style setup does, creates an empty database and
//! replays the chain into it (bootstrap SQL, then each up script in a
//! transaction, one simple-protocol query per file, over a kept admin
//! connection).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pgharness::server::quote_ident;
use sqlx::Connection;

use crate::report::{Figure, Row};
use crate::Bench;

pub async fn measure(bench: &Bench) -> Row {
    let mut row = Row::new(
        "1",
        &format!(
            "fresh database at head ({} migrations)",
            bench.chain.migrations.len()
        ),
        "CREATE DATABASE + replay the chain (sqlx::test-style)",
        "<= 30 ms median",
    );
    if let Err(e) = measure_into(bench, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

async fn measure_into(bench: &Bench, row: &mut Row) -> Result<()> {
    let n = bench.options.pick(12, 40);
    let harness = &bench.harness;
    // The templates are built once per server; a test suite pays that once.
    let built = Instant::now();
    harness
        .template(bench.chain.migrations.len())
        .await
        .context("building the templates")?;
    let build_time = built.elapsed();

    let mut admin = bench.server.admin_connection().await?;
    let mut clone = Vec::new();
    let mut connect = Vec::new();
    let mut replay = Vec::new();
    // Iteration 0 warms both paths up and is not counted.
    for i in 0..=n {
        let t = Instant::now();
        let db = harness.database_at(None).await?;
        let cloned = t.elapsed();
        let t = Instant::now();
        let conn = db.connect().await?;
        let connected = t.elapsed();
        let _ = conn.close().await;
        harness.drop_database(&db).await?;

        let replayed = replay_once(bench, &mut admin).await?;
        if i > 0 {
            clone.push(cloned);
            connect.push(connected);
            replay.push(replayed);
        }
    }
    let _ = admin.close().await;

    let ours = Figure::of_durations(&clone);
    let base = Figure::of_durations(&replay);
    let median = ours.as_ref().map_or(f64::MAX, |f| f.median);
    row.figures(ours, base);
    row.judge(median <= 0.030);
    let connect = Figure::of_durations(&connect);
    if let Some(c) = &connect {
        row.note(format!(
            "pgharness figure is `database_at(None)` (CREATE DATABASE … TEMPLATE, strategy file_copy); a first connection to it adds {}",
            c.display()
        ));
    }
    row.note(format!(
        "templates built once per server: {:.0} ms (not in the figure)",
        build_time.as_secs_f64() * 1e3
    ));
    row.details = serde_json::json!({
        "template_build_seconds": build_time.as_secs_f64(),
        "first_connection": connect,
    });
    Ok(())
}

/// Creates a database and replays the chain into it; returns the time.
/// The database is dropped afterwards (not timed).
async fn replay_once(bench: &Bench, admin: &mut sqlx::PgConnection) -> Result<Duration> {
    let name = bench.server.new_database_name("replay");
    let t = Instant::now();
    sqlx::raw_sql(&format!("create database {}", quote_ident(&name)))
        .execute(&mut *admin)
        .await
        .context("creating the replay database")?;
    let result = async {
        let db = bench.server.database(&name);
        let mut conn = db.connect().await?;
        if !bench.config.server.bootstrap.trim().is_empty() {
            sqlx::raw_sql(&bench.config.server.bootstrap)
                .execute(&mut conn)
                .await
                .context("replay: bootstrap")?;
        }
        for m in &bench.chain.migrations {
            if m.up.transaction {
                let mut tx = conn.begin().await?;
                sqlx::raw_sql(&m.up.sql)
                    .execute(&mut *tx)
                    .await
                    .with_context(|| format!("replay: {}", m.id()))?;
                tx.commit().await?;
            } else {
                sqlx::raw_sql(&m.up.sql)
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("replay: {}", m.id()))?;
            }
        }
        let elapsed = t.elapsed();
        let _ = conn.close().await;
        Ok::<_, anyhow::Error>(elapsed)
    }
    .await;
    bench.server.drop_database(&name).await?;
    result
}
