//! Row 5c: race schedules/s. pgharness: the release binary's `check --only
//! properties` on a copy of the sample project that holds only its race
//! files (those with a `[[race]]`); the JSON summary gives schedules/s (each schedule on its own
//! clone of the case's data, every interleaving, `hold` checked after
//! each). Baseline: PostgreSQL's own isolation tester (`isolationtester`,
//! shipped with postgresql-client) running task_start_race's 6 schedules as
//! permutations on a database at head holding that race's minimal data
//! set, the state reset by the spec's teardown, as a person would write it
//! by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::process::{run, Endpoint};
use crate::report::{Figure, Row, Unit};
use crate::Bench;

const BASELINE: &str =
    "isolationtester: task_start_race's schedules as permutations, reset by setup/teardown";

/// The distinct orders of task_start_race's schedules (a `begin` goes with
/// the step after it) ...
const ORDERS: usize = 4;
/// ... each repeated this many times per isolationtester run.
const REPEATS: usize = 25;

pub async fn measure(bench: &Bench) -> Row {
    let mut row = Row::new(
        "5c",
        "race schedules/s, the sample's race files (JSON summary)",
        BASELINE,
        "— (no target yet)",
    );
    if let Err(e) = measure_into(bench, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

async fn measure_into(bench: &Bench, row: &mut Row) -> Result<()> {
    let runs = bench.options.pick(2, 5);
    let project = race_project(&bench.root)?;
    let tester = isolationtester(&bench.bins.bin_dir);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut last = serde_json::Value::Null;
    let mut rss = Vec::new();
    for run_no in 0..runs {
        let (rate, summary, peak) =
            pgharness_rate(bench, project.path(), run_no as u64 + 1).await?;
        ours.push(rate);
        rss.push(peak);
        last = summary;
        if let Some(tester) = &tester {
            theirs.push(baseline_rate(bench, tester).await?);
        }
    }
    row.figures(
        Figure::of(Unit::SchedulesPerSec, ours),
        Figure::of(Unit::SchedulesPerSec, theirs),
    );
    row.details = serde_json::json!({ "summary": last });
    row.note(crate::report::peak_rss(crate::report::PGHARNESS, rss));
    row.note(format!(
        "pgharness: {} schedules per run ({} cases per race file, every interleaving; each schedule clones the case's database, opens a connection per session, drives the steps, checks `hold`, drops the clone); baseline: {} permutations per run, no clone: the spec's teardown resets the rows",
        last["schedules"].as_u64().unwrap_or(0),
        pgharness::properties::race::MAX_RACE_CASES,
        ORDERS * REPEATS
    ));
    if tester.is_none() {
        row.note(
            "baseline not measured: isolationtester not found (Debian's postgresql-client ships it under lib/pgxs/src/test/isolation)",
        );
    }
    Ok(())
}

/// A copy of the sample project whose only property files are its races.
fn race_project(root: &Path) -> Result<tempfile::TempDir> {
    sample_project(root, is_race_file)
}

/// Whether a property file holds races (read as pgharness reads it).
pub fn is_race_file(text: &str) -> bool {
    pgharness::properties::rules::parse(text, Path::new("property.toml"))
        .is_ok_and(|file| !file.races.is_empty())
}

/// A copy of the sample project (its config and chain) with the property
/// files whose text `keep` accepts.
pub fn sample_project(root: &Path, keep: impl Fn(&str) -> bool) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir().context("creating a temp project")?;
    crate::sweep_at_exit(dir.path());
    std::fs::copy(
        root.join("pgharness.toml"),
        dir.path().join("pgharness.toml"),
    )?;
    let migrations = dir.path().join("migrations");
    std::fs::create_dir_all(&migrations)?;
    for entry in std::fs::read_dir(root.join("migrations"))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), migrations.join(entry.file_name()))?;
        }
    }
    let properties = dir.path().join("properties");
    std::fs::create_dir_all(&properties)?;
    for entry in std::fs::read_dir(root.join("properties"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            if keep(&text) {
                std::fs::write(properties.join(path.file_name().unwrap_or_default()), text)?;
            }
        }
    }
    Ok(dir)
}

async fn pgharness_rate(
    bench: &Bench,
    project: &Path,
    seed: u64,
) -> Result<(f64, serde_json::Value, f64)> {
    let done = run(crate::properties::check_properties(
        bench,
        project,
        seed,
        &["--only", "properties"],
    ))
    .await?;
    let report: serde_json::Value = serde_json::from_str(&done.stdout).unwrap_or_default();
    if done.code != 0 {
        bail!(
            "check --only properties on the race files exited {}:\n    {}",
            done.code,
            done.stderr_tail()
        );
    }
    let summary = report["summary"].clone();
    let Some(rate) = summary["schedules_per_second"].as_f64() else {
        bail!("the JSON summary has no schedules_per_second: {summary}");
    };
    Ok((rate, summary, done.max_rss_kib as f64 / 1024.0))
}

fn isolationtester(bin_dir: &Path) -> Option<PathBuf> {
    let path = bin_dir
        .parent()?
        .join("lib/pgxs/src/test/isolation/isolationtester");
    path.is_file().then_some(path)
}

/// task_start_race as an isolation spec: the interleavings of (begin +
/// start, commit) of two sessions, each `REPEATS` times.
fn spec() -> String {
    let mut spec = String::from(
        "setup { update task set status = 'todo' where cycle_id = 1; }\n\
         teardown { select count(*) <= 1 from task where cycle_id = 1 and status = 'in_progress'; \
         update task set status = 'todo' where cycle_id = 1; }\n\
         session s1\n\
         step s1a { begin; update task set status = 'in_progress' where id = 1; }\n\
         step s1c { commit; }\n\
         session s2\n\
         step s2a { begin; update task set status = 'in_progress' where id = 2; }\n\
         step s2c { commit; }\n",
    );
    // The orders isolationtester can run: it cannot send a step of a
    // session whose earlier step still waits, which pgharness queues
    // instead (its 1 2 2 1 runs as 1 2 1 2 here).
    let orders = [
        "s1a s1c s2a s2c",
        "s1a s2a s1c s2c",
        "s2a s1a s2c s1c",
        "s2a s2c s1a s1c",
    ];
    for _ in 0..REPEATS {
        for order in orders {
            spec.push_str(&format!("permutation {order}\n"));
        }
    }
    spec
}

/// One isolationtester run on a fresh database at head with a user, a
/// cycle and two tasks; returns permutations/s.
async fn baseline_rate(bench: &Bench, tester: &Path) -> Result<f64> {
    let db = bench.harness.database_at(None).await?;
    let result = async {
        let mut conn = db.connect().await?;
        sqlx::raw_sql(
            "insert into app_users (id, email, display_name) values (1, 'a@example.com', 'a');
             insert into cycle (id, owner_id, title, start_date) values (1, 1, 'c', '2025-01-06');
             insert into task (id, cycle_id, title, status) values (1, 1, 't1', 'todo'), (2, 1, 't2', 'todo');",
        )
        .execute(&mut conn)
        .await
        .context("loading the baseline's data set")?;
        let _ = sqlx::Connection::close(conn).await;
        let spec_dir = tempfile::tempdir()?;
        let spec_file = spec_dir.path().join("task_start_race.spec");
        std::fs::write(&spec_file, spec())?;
        let endpoint = Endpoint::of(&db);
        let mut conninfo = format!(
            "host={} port={} user={} dbname={}",
            endpoint.host,
            endpoint.port,
            endpoint.user,
            db.name()
        );
        if let Some(p) = &endpoint.password {
            conninfo.push_str(&format!(" password={p}"));
        }
        // isolationtester reads its spec from stdin.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("exec \"$0\" \"$1\" < \"$2\"")
            .arg(tester)
            .arg(&conninfo)
            .arg(&spec_file);
        let done = run(cmd).await?;
        if done.code != 0 {
            bail!(
                "isolationtester exited {}:\n    {}",
                done.code,
                done.stderr_tail()
            );
        }
        let permutations = done.stdout.matches("starting permutation").count();
        if permutations != ORDERS * REPEATS {
            bail!(
                "isolationtester ran {permutations} permutations, expected {}",
                ORDERS * REPEATS
            );
        }
        Ok::<_, anyhow::Error>(permutations as f64 / done.wall.as_secs_f64())
    }
    .await;
    bench.harness.drop_database(&db).await?;
    result.context("isolationtester baseline")
}
