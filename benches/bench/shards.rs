//! Row 4s: `check --partition k/n` on the synthetic chain (300 migrations;
//! 100 with --quick). pgharness: the wall time of 4 shards run at once on
//! this machine (each builds the chain's templates and does a quarter of
//! the checks), and each shard alone (what one job of a CI matrix takes on
//! a machine of its own). Baseline: the same check unsharded.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::process::run;
use crate::report::{Figure, Row};
use crate::Bench;

const SHARDS: usize = 4;

pub async fn measure(bench: &Bench) -> Row {
    let n = bench.options.pick(100, 300);
    let mut row = Row::new(
        "4s",
        &format!("check --only apply,roundtrip --partition k/{SHARDS}, {n}-migration synthetic chain: {SHARDS} shards at once (wall)"),
        "the same check unsharded",
        "— (reported; a CI matrix runs each shard on its own machine)",
    );
    if let Err(e) = measure_into(bench, n, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

async fn measure_into(bench: &Bench, n: usize, row: &mut Row) -> Result<()> {
    let dir = tempfile::tempdir()?;
    crate::sweep_at_exit(dir.path());
    std::fs::create_dir_all(dir.path().join("migrations"))?;
    crate::synthetic::write_chain(&dir.path().join("migrations"), n)?;
    std::fs::write(
        dir.path().join("pgharness.toml"),
        "[migrations]\ndir = \"migrations\"\nlayout = \"sqlx\"\n",
    )?;
    let check = |partition: Option<usize>| {
        let mut args = vec![
            "--backend".to_string(),
            "local".to_string(),
            "--format".to_string(),
            "json".to_string(),
            "check".to_string(),
            "--only".to_string(),
            "apply,roundtrip".to_string(),
            "--seed".to_string(),
            "1".to_string(),
        ];
        if let Some(k) = partition {
            args.extend(["--partition".to_string(), format!("{k}/{SHARDS}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bench.pgharness(dir.path(), &args)
    };
    let runs = bench.options.pick(1, 2);
    let (mut together, mut whole, mut alone) = (Vec::new(), Vec::new(), Vec::<Duration>::new());
    let mut shard_rss = Vec::new();
    for _ in 0..runs {
        let done = run(check(None)).await?;
        if done.code != 0 {
            bail!(
                "the unsharded check exited {}: {}",
                done.code,
                done.stderr_tail()
            );
        }
        whole.push(done.wall);
        let started = std::time::Instant::now();
        let shards =
            futures_util::future::join_all((1..=SHARDS).map(|k| run(check(Some(k))))).await;
        together.push(started.elapsed());
        for done in shards {
            let done = done?;
            if done.code != 0 {
                bail!("a shard exited {}: {}", done.code, done.stderr_tail());
            }
            shard_rss.push(done.max_rss_kib as f64 / 1024.0);
        }
    }
    for k in 1..=SHARDS {
        alone.push(run(check(Some(k))).await?.wall);
    }
    row.figures(
        Figure::of_durations(&together),
        Figure::of_durations(&whole),
    );
    let slowest = alone.iter().max().copied().unwrap_or_default();
    row.note(format!(
        "{} (each of the shards run at once)",
        crate::report::peak_rss(crate::report::PGHARNESS, shard_rss)
    ));
    row.note(format!(
        "{SHARDS} shards at once on this machine's cores; each shard alone: {} (the slowest, {:.2} s, is a CI matrix's wall time with a machine per shard); every shard builds the chain's templates",
        alone
            .iter()
            .map(|d| format!("{:.2} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", "),
        slowest.as_secs_f64()
    ));
    row.details = serde_json::json!({
        "migrations": n,
        "shard_alone_seconds": alone.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
    });
    Ok(())
}
