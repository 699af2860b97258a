//! Row 2: time until a throwaway server accepts connections. pgharness:
//! `Server::start_local()` with the initdb cache present (warm) and with an
//! empty cache (cold, `PGHARNESS_CACHE_DIR` pointed at an empty temp dir),
//! and `Server::start_docker()` where an engine and our image are there.
//! Baseline: a plain `initdb` + `pg_ctl start -w` with the same settings.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pgharness::server::local::Binaries;
use pgharness::server::Server;

use crate::cluster::{docker_image_present, run_as, PlainCluster};
use crate::report::{Figure, Row};
use crate::Options;

/// The image `cargo xtask image` builds.
const IMAGE: &str = "pgharness/postgres:15-debian";
const BASELINE: &str = "initdb + pg_ctl start -w";

/// Sets an environment variable until dropped, then restores it.
struct EnvGuard {
    key: &'static str,
    old: Option<OsString>,
}

impl EnvGuard {
    fn set(key: &'static str, value: &std::path::Path) -> EnvGuard {
        let old = std::env::var_os(key);
        std::env::set_var(key, value);
        EnvGuard { key, old }
    }
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        match &self.old {
            Some(v) => std::env::set_var(self.key, v),
            None => std::env::remove_var(self.key),
        }
    }
}

pub async fn measure(options: &Options, bins: &Binaries) -> Vec<Row> {
    let mut warm = Row::new(
        "2a",
        "local server ready, warm (cached initdb)",
        BASELINE,
        "<= 300 ms",
    );
    let mut cold = Row::new(
        "2b",
        "local server ready, cold (initdb)",
        BASELINE,
        "<= 1.5 s",
    );
    let mut docker = Row::new(
        "2c",
        &format!("docker server ready ({IMAGE})"),
        BASELINE,
        "— (none in DESIGN.md)",
    );
    if let Err(e) = measure_into(options, bins, &mut warm, &mut cold, &mut docker).await {
        for row in [&mut warm, &mut cold, &mut docker] {
            if row.pgharness.is_none() && row.notes.is_empty() {
                row.error(format!("{e:#}"));
            }
        }
    }
    vec![warm, cold, docker]
}

async fn measure_into(
    options: &Options,
    bins: &Binaries,
    warm_row: &mut Row,
    cold_row: &mut Row,
    docker_row: &mut Row,
) -> Result<()> {
    let warm_n = options.pick(6, 20);
    let base_n = options.pick(3, 8);
    let cold_n = options.pick(2, 6);
    let docker_n = options.pick(2, 6);
    let owner = run_as()?;
    let docker = docker_image_present(IMAGE).await;
    if !docker {
        docker_row.note(format!(
            "skipped: no Docker engine, or no image {IMAGE} (`cargo xtask image` builds it)"
        ));
    }

    // Make sure the cache exists: warm means warm.
    Server::start_local()
        .await
        .context("warming the initdb cache")?
        .shutdown()
        .await;

    let mut warm = Vec::new();
    let mut cold = Vec::new();
    let mut container = Vec::new();
    let mut base = Vec::new();
    let mut base_initdb = Vec::new();
    let mut base_start = Vec::new();
    let mut docker_error = None;
    let rounds = warm_n.max(base_n).max(cold_n).max(docker_n);
    // Interleaved: drift on the machine hits every series alike.
    for i in 0..rounds {
        if i < warm_n {
            warm.push(start_local().await.context("warm start")?);
        }
        if i < base_n {
            let (cluster, t) = PlainCluster::start(&bins.bin_dir, owner)
                .await
                .context("baseline initdb + pg_ctl start")?;
            cluster.stop().await?;
            base.push(t.initdb + t.start);
            base_initdb.push(t.initdb);
            base_start.push(t.start);
        }
        if i < cold_n {
            let cache = tempfile::Builder::new()
                .prefix("pgharness-bench-cache-")
                .tempdir()
                .context("creating an empty cache dir")?;
            // If the run is interrupted, the start goes on in a blocking
            // thread and may write here after `cache` is gone: swept again
            // once the runtime has finished every blocking task.
            crate::sweep_at_exit(cache.path());
            let guard = EnvGuard::set("PGHARNESS_CACHE_DIR", cache.path());
            let result = start_local().await;
            drop(guard);
            cold.push(result.context("cold start")?);
        }
        if docker && docker_error.is_none() && i < docker_n {
            let t = Instant::now();
            match Server::start_docker(IMAGE).await {
                Ok(server) => {
                    container.push(t.elapsed());
                    server.shutdown().await;
                }
                Err(e) => docker_error = Some(e.to_string()),
            }
        }
    }

    let baseline = Figure::of_durations(&base);
    let median = |f: &Option<Figure>| f.as_ref().map_or(f64::MAX, |f| f.median);
    let base_detail = serde_json::json!({
        "initdb": Figure::of_durations(&base_initdb),
        "pg_ctl_start": Figure::of_durations(&base_start),
    });
    let breakdown = format!(
        "baseline = initdb {} + pg_ctl start -w {} (pg_ctl polls every 100 ms)",
        Figure::of_durations(&base_initdb).map_or("—".into(), |f| f.display()),
        Figure::of_durations(&base_start).map_or("—".into(), |f| f.display()),
    );

    let warm = Figure::of_durations(&warm);
    let m = median(&warm);
    warm_row.figures(warm, baseline.clone());
    warm_row.judge(m <= 0.300);
    warm_row.note(breakdown);
    warm_row.details = base_detail.clone();

    let cold = Figure::of_durations(&cold);
    let m = median(&cold);
    cold_row.figures(cold, baseline.clone());
    cold_row.judge(m <= 1.5);
    cold_row.details = base_detail.clone();

    if docker {
        docker_row.figures(Figure::of_durations(&container), baseline);
        docker_row.details = base_detail;
        match docker_error {
            Some(e) => docker_row.error(e),
            None => docker_row.note(
                "container start through testcontainers, ready when Postgres answers a query",
            ),
        }
    } else {
        docker_row.baseline = baseline;
    }
    Ok(())
}

/// `Server::start_local()` until it answers; the stop is not timed.
async fn start_local() -> Result<Duration> {
    let t = Instant::now();
    let server = Server::start_local().await?;
    let elapsed = t.elapsed();
    server.shutdown().await;
    Ok(elapsed)
}
