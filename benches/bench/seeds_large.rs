//! Row 6d (issue 18): a large seed. `pgharness seed --database-url` of a
//! profile giving the sample about 10 million rows (1.1 million with
//! --quick), nearly all chat messages, into an empty database: the whole
//! command's wall time, rows/s and peak RSS. Baseline: the same data as a
//! psql script (`seed --out`, written beforehand, not timed; the chain's
//! schema, then one COPY per table) loaded with `psql -f` into an empty
//! database: one stream, what a person loads a dump with.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::process::{run, run_ok, Endpoint};
use crate::report::{thousands, Figure, Row, Verdict};
use crate::seeds;
use crate::Bench;

/// Peak RSS the target allows at 10 million rows.
const MAX_RSS_MIB: f64 = 256.0;

pub async fn measure(bench: &Bench) -> Row {
    let mut row = Row::new(
        "6d",
        "`pgharness seed --database-url` of ~10M rows (the sample: 20,000 users, ~60,000 chat sessions, ~10M messages; whole command: chain, generate, COPY; wall, peak RSS)",
        "psql -f of the same data (`seed --out` script: schema, then COPY)",
        ">= 1.5x psql -f, <= 256 MiB peak RSS (issue 18)",
    );
    if let Err(e) = measure_into(bench, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

async fn measure_into(bench: &Bench, row: &mut Row) -> Result<()> {
    let scratch = tempfile::tempdir().context("creating a temp dir")?;
    let messages = bench.options.pick("[10, 24]", "[150, 183]");
    let profile = scratch.path().join("large.toml");
    std::fs::write(
        &profile,
        format!(
            "seed = 7\nnow = \"2025-01-01T00:00:00Z\"\ndefault_rows = 0\n\
             [tables.app_users]\nrows = 20000\n\
             [tables.chat_session]\nper_parent = {{ user_id = [2, 4] }}\n\
             [tables.chat_message]\nper_parent = {{ session_id = {messages} }}\n\
             [tables.chat_message.columns.role]\nvalues = [\"system\", \"user\", \"assistant\"]\n\
             weights = [1, 10, 10]\n"
        ),
    )
    .context("writing the profile")?;
    let script = scratch.path().join("large.sql");
    let profile_arg = profile.display().to_string();
    let script_arg = script.display().to_string();
    let wrote = run(bench.pgharness(
        &bench.root,
        &[
            "seed",
            "--backend",
            "local",
            "--profile",
            &profile_arg,
            "--out",
            &script_arg,
        ],
    ))
    .await?;
    if wrote.code != 0 {
        bail!(
            "pgharness seed --out exited {}:\n    {}",
            wrote.code,
            wrote.stderr_tail()
        );
    }
    let runs = bench.options.pick(2, 1);
    let (mut ours, mut psql, mut rss, mut rows) = (Vec::new(), Vec::new(), 0u64, 0u64);
    let mut streamed = String::new();
    for _ in 0..runs {
        let (wall, peak, n, tables) = seed_once(bench, &profile_arg).await?;
        ours.push(wall);
        rss = rss.max(peak);
        rows = n;
        streamed = tables;
        psql.push(psql_once(bench, &script).await?);
    }
    let ours_figure = Figure::of_durations(&ours);
    let psql_figure = Figure::of_durations(&psql);
    row.figures(ours_figure.clone(), psql_figure.clone());
    let median = |f: &Option<Figure>| f.as_ref().map_or(f64::NAN, |f| f.median);
    let speedup = median(&psql_figure) / median(&ours_figure);
    let rss_mib = rss as f64 / 1024.0;
    row.verdict = if speedup >= 1.5 && rss_mib <= MAX_RSS_MIB {
        Verdict::Met
    } else {
        Verdict::Missed
    };
    row.note(format!(
        "{rows} rows ({} rows/s over the whole command; psql {} rows/s); {speedup:.2}x psql's speed; peak RSS {rss_mib:.0} MiB (the largest of pgharness and the servers it reaped); streamed: {streamed}",
        thousands(rows as f64 / median(&ours_figure)),
        thousands(rows as f64 / median(&psql_figure)),
    ));
    row.details = serde_json::json!({
        "rows": rows,
        "max_rss_kib": rss,
        "speedup_over_psql": speedup,
        "streamed": streamed,
        "script_bytes": std::fs::metadata(&script).map(|m| m.len()).unwrap_or(0),
    });
    Ok(())
}

/// One `seed --database-url` into an empty database: (wall, peak RSS in
/// KiB, rows in the database, the tables it streamed).
async fn seed_once(bench: &Bench, profile: &str) -> Result<(Duration, u64, u64, String)> {
    let (done, rows) = seeds::seed_into_empty(bench, &["--format", "json"], profile).await?;
    let report: serde_json::Value =
        serde_json::from_str(&done.stdout).context("reading seed's JSON report")?;
    let streamed = report["streamed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Ok((done.wall, done.max_rss_kib, rows, streamed))
}

/// `psql -f` of the script into an empty database: the wall time.
async fn psql_once(bench: &Bench, script: &Path) -> Result<Duration> {
    let db = bench.server.create_database().await?;
    let cmd = Endpoint::of(&db).psql_file(&bench.psql, db.name(), script);
    let result = run_ok(cmd, "psql -f <seed script>").await;
    bench.server.drop_database(db.name()).await?;
    Ok(result?.wall)
}
