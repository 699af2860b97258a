//! Row 9: `check --pg 15,17,18` on the sample project, one run on three
//! majors (15 on the local binaries, 17 and 18 in the offline images
//! `pgharness/postgres:<major>-debian`), against the three single-version
//! runs one after another (`--pg 15`, `--pg 17`, `--pg 18`): what a user
//! without the matrix would script. Needs a Docker engine and the images
//! (`cargo xtask image --pg 15,17,18`); the row says so when they are
//! missing.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::process::run_check;
use crate::report::{Figure, Row};
use crate::Bench;

const IMAGE: &str = "pgharness/postgres:{major}-debian";

pub async fn measure(bench: &Bench) -> Row {
    let mut row = Row::new(
        "9",
        "`check --pg 15,17,18` on the sample project (wall)",
        "3 single-version checks one after another",
        "— (issue 19: report it)",
    );
    if let Err(e) = measure_into(bench, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

/// The wall time of `--pg <majors> check` and its peak RSS in MiB.
async fn one_check(bench: &Bench, majors: &str) -> Result<(Duration, f64)> {
    let mut cmd = bench.pgharness(&bench.root, &["--pg", majors, "--format", "json", "check"]);
    cmd.env("PGHARNESS_IMAGE", IMAGE);
    let (done, report) = run_check(cmd).await?;
    if done.code != 0 {
        let failing: Vec<String> = report["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["status"] == "fail")
            .map(|r| {
                format!(
                    "{} {} on {}",
                    r["property"], r["target"], r["server"]["version"]
                )
            })
            .collect();
        bail!(
            "check --pg {majors} exited {}: {}",
            done.code,
            failing.join(", ")
        );
    }
    Ok((done.wall, done.max_rss_kib as f64 / 1024.0))
}

async fn measure_into(bench: &Bench, row: &mut Row) -> Result<()> {
    for major in [15, 17, 18] {
        let image = IMAGE.replace("{major}", &major.to_string());
        let present = std::process::Command::new("docker")
            .args(["image", "inspect", &image])
            .output()
            .is_ok_and(|o| o.status.success());
        if !present && major != 15 {
            bail!("image {image} is missing: cargo xtask image --pg 15,17,18");
        }
    }
    let runs = bench.options.pick(2, 4);
    let mut matrix = Vec::new();
    let mut sequential = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let (wall, peak) = one_check(bench, "15,17,18").await?;
        matrix.push(wall);
        rss.push(peak);
        let mut total = Duration::ZERO;
        for major in ["15", "17", "18"] {
            total += one_check(bench, major).await?.0;
        }
        sequential.push(total);
    }
    row.note(crate::report::peak_rss(crate::report::PGHARNESS, rss));
    row.figures(
        Figure::of_durations(&matrix),
        Figure::of_durations(&sequential),
    );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    row.note(format!(
        "figure: wall time of the release binary, `--pg 15,17,18 check` (every property on each major, {cores} at once: as many as cores) against `--pg 15`, `--pg 17`, `--pg 18` one after another; 15 on the local binaries, 17 and 18 in containers of {IMAGE}; server starts included in both"
    ));
    Ok(())
}
