//! Row 5: constraint property throughput. pgharness: the release binary's
//! `check --only properties` on a copy of the sample project without its
//! race files (row 5c; they would compete for the server), whose JSON
//! summary gives cases/s (5a), and `check --only property:goal_unique`,
//! the file the baseline does by hand, run alone (5b). Baseline: the
//! same work written by hand, a loop over one connection on a database at
//! head: per case, a transaction that inserts goal_unique's data set (a
//! user, 4 cycles, 8 goals), runs both of its checks (each row in a
//! savepoint), then rolls back.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use sqlx::{Connection, Row as _};

use crate::process::run;
use crate::report::{peak_rss, Figure, Row, Unit, Verdict, PGHARNESS};
use crate::Bench;

pub async fn measure(bench: &Bench) -> Vec<Row> {
    let mut all = Row::new(
        "5a",
        "constraint property cases/s, all sample properties (JSON summary)",
        BASELINE,
        ">= 500 cases/s",
    );
    let mut like = Row::new(
        "5b",
        "constraint property cases/s, `check --only property:goal_unique` alone (like for like)",
        BASELINE,
        ">= 2x the hand loop and >= 1,000 cases/s (issue 18)",
    );
    if let Err(e) = measure_into(bench, &mut all, &mut like).await {
        for row in [&mut all, &mut like] {
            if row.verdict != Verdict::Pending {
                row.error(format!("{e:#}"));
            }
        }
    }
    vec![all, like]
}

const BASELINE: &str =
    "hand-written loop over one connection: goal_unique's data set and both checks per case";

/// What one `check --only properties` run said.
enum Outcome {
    Rates {
        /// The summary's figure.
        overall: f64,
        cases: Option<u64>,
        /// `(property, cases/s)` from each result's message.
        each: Vec<(String, f64)>,
        /// The process's peak RSS, MiB.
        rss: f64,
    },
    NotAvailable(String),
}

async fn measure_into(bench: &Bench, all: &mut Row, like: &mut Row) -> Result<()> {
    let runs = bench.options.pick(2, 5);
    let project = crate::races::sample_project(&bench.root, |t| !crate::races::is_race_file(t))?;
    let files = std::fs::read_dir(project.path().join("properties"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
                .count()
        })
        .unwrap_or(0);
    let mut overall = Vec::new();
    let mut goal_unique = Vec::new();
    let (mut rss_all, mut rss_alone) = (Vec::new(), Vec::new());
    let mut each_last = Vec::new();
    let mut base = Vec::new();
    let mut pending = None;
    let cases = u64::from(bench.config.properties.cases).max(256);
    let cases_text = cases.to_string();
    for run in 0..runs {
        if pending.is_none() {
            let seed = run as u64 + 1;
            match pgharness_run(bench, project.path(), seed, &["--only", "properties"]).await? {
                Outcome::Rates {
                    overall: rate,
                    cases,
                    each,
                    rss,
                } => {
                    overall.push(rate);
                    rss_all.push(rss);
                    // Alone, as the hand loop runs, as many cases.
                    let only = ["--only", "property:goal_unique", "--cases", &cases_text];
                    if let Outcome::Rates { overall, rss, .. } =
                        pgharness_run(bench, project.path(), seed, &only).await?
                    {
                        goal_unique.push(overall);
                        rss_alone.push(rss);
                    }
                    if let Some(c) = cases {
                        all.details = serde_json::json!({ "cases_per_run": c });
                    }
                    each_last = each;
                }
                Outcome::NotAvailable(why) => pending = Some(why),
            }
        }
        base.push(baseline_rate(bench, cases).await?);
    }
    let baseline = Figure::of(Unit::CasesPerSec, base);
    if let Some(why) = pending {
        for row in [all, like] {
            row.baseline = baseline.clone();
            row.pending(format!("properties runner not available ({why})"));
        }
        return Ok(());
    }
    let overall = Figure::of(Unit::CasesPerSec, overall);
    let median = overall.as_ref().map_or(0.0, |f| f.median);
    all.figures(overall, baseline.clone());
    all.judge(median >= 500.0);
    let listing: Vec<String> = each_last
        .iter()
        .map(|(p, r)| format!("{} {r:.0}", p.trim_start_matches("property:")))
        .collect();
    all.note(peak_rss(PGHARNESS, rss_all));
    like.note(peak_rss(PGHARNESS, rss_alone));
    all.note(format!(
        "{files} property files, {} cases each; per property (cases/s, last run): {}",
        bench.config.properties.cases,
        listing.join(", ")
    ));
    // Where the time goes: files run at once, so the wall is bounded by
    // the slowest file; each file's own time from its own rate.
    let per_file = f64::from(bench.config.properties.cases);
    let mut spent: Vec<(String, f64)> = each_last
        .iter()
        .map(|(p, r)| (p.trim_start_matches("property:").to_string(), per_file / r))
        .collect();
    spent.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total = per_file * each_last.len() as f64 / median.max(1e-9);
    let times: Vec<String> = spent
        .iter()
        .map(|(p, t)| format!("{p} {:.0} ms", t * 1e3))
        .collect();
    all.note(format!(
        "where the time goes (median run ≈ {:.0} ms of cases; files run at once, so the slowest bounds it): {}",
        total * 1e3,
        times.join(", "),
    ));
    let goal_unique = Figure::of(Unit::CasesPerSec, goal_unique);
    let alone = goal_unique.as_ref().map_or(0.0, |f| f.median);
    like.figures(goal_unique, baseline);
    let doubled = like.ratio.is_some_and(|r| r >= 2.0);
    like.judge(doubled && alone >= 1000.0);
    like.note(
        "a file's cases run on one database per core, half as many again for a file alone (at most 4, each with 16 cases or more), the hand loop on one connection".to_string(),
    );
    like.note(format!(
        "baseline per case ({cases} cases per run): BEGIN, 1 user, 4 cycles, 8 goals (2 kinds each), `for_each` + a duplicate insert in a savepoint per goal (must fail 23505), the lateral `for_each` + an insert of a missing kind per cycle (must succeed), ROLLBACK; pgharness per case: the file's tables and their parents (up to 10 users, 4 cycles, 8 goals, counts drawn per case), the same checks on every row"
    ));
    Ok(())
}

/// `check <check_args>` (`--only properties`, or one `property:<file>`).
async fn pgharness_run(
    bench: &Bench,
    project: &std::path::Path,
    seed: u64,
    check_args: &[&str],
) -> Result<Outcome> {
    let done = run(check_properties(bench, project, seed, check_args)).await?;
    let report: serde_json::Value = serde_json::from_str(&done.stdout).unwrap_or_default();
    if done.code == 2 {
        let message = report["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| done.stderr_tail());
        if message.contains("properties") {
            return Ok(Outcome::NotAvailable(format!(
                "`check --only properties`: {message}"
            )));
        }
    }
    if done.code > 1 || report.is_null() {
        bail!(
            "check --only properties exited {}:\n    {}",
            done.code,
            done.stderr_tail()
        );
    }
    let Some(overall) = find_number(&report["summary"], "cases_per") else {
        return Ok(Outcome::NotAvailable(
            "the JSON summary has no cases/s figure".to_string(),
        ));
    };
    // "64 cases, 301 cases/s; exercised in …"
    let each = report["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let message = r["message"].as_str()?;
            // Race files report schedules/s (row 5c), not cases/s.
            if !message.contains(" cases/s") {
                return None;
            }
            let before = message.split(" cases/s").next()?;
            let rate = before.rsplit(' ').next()?.parse::<f64>().ok()?;
            Some((r["property"].as_str()?.to_string(), rate))
        })
        .collect();
    Ok(Outcome::Rates {
        overall,
        cases: report["summary"]["cases"].as_u64(),
        each,
        rss: done.max_rss_kib as f64 / 1024.0,
    })
}

/// `check <check_args>` of `project` with `seed`, JSON on stdout.
pub fn check_properties(
    bench: &Bench,
    project: &std::path::Path,
    seed: u64,
    check_args: &[&str],
) -> std::process::Command {
    let seed = seed.to_string();
    let mut args = vec!["--backend", "local", "--format", "json", "check"];
    args.extend_from_slice(check_args);
    args.extend(["--seed", seed.as_str()]);
    bench.pgharness(project, &args)
}

/// The first number under a key containing `needle`, searched depth-first.
fn find_number(value: &serde_json::Value, needle: &str) -> Option<f64> {
    match value {
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains(needle) {
                v.as_f64()
            } else {
                find_number(v, needle)
            }
        }),
        serde_json::Value::Array(items) => items.iter().find_map(|v| find_number(v, needle)),
        _ => None,
    }
}

/// Runs `cases` cases by hand; returns cases/s.
async fn baseline_rate(bench: &Bench, cases: u64) -> Result<f64> {
    let db = bench.harness.database_at(None).await?;
    let result = async {
        let mut conn = db.connect().await?;
        // One case untimed: plans and caches warm, as for the runner.
        one_case(&mut conn, 0).await?;
        let t = Instant::now();
        for case in 1..=cases {
            one_case(&mut conn, case).await?;
        }
        let rate = cases as f64 / t.elapsed().as_secs_f64();
        let _ = conn.close().await;
        Ok::<_, anyhow::Error>(rate)
    }
    .await;
    bench.harness.drop_database(&db).await?;
    result.context("baseline property loop")
}

async fn one_case(conn: &mut sqlx::PgConnection, case: u64) -> Result<()> {
    let mut tx = conn.begin().await?;
    let user: i64 = sqlx::query_scalar(
        "insert into app_users (email, display_name) values ($1, $2) returning id",
    )
    .bind(format!("case{case}@example.com"))
    .bind(format!("Case {case}"))
    .fetch_one(&mut *tx)
    .await?;
    let cycles: Vec<i64> = sqlx::query_scalar(
        "insert into cycle (owner_id, title, start_date)
         select $1, 'cycle ' || g, date '2025-01-06' + 84 * g from generate_series(1, 4) g
         returning id",
    )
    .bind(user)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "insert into goal (cycle_id, kind, title)
         select c, k::goal_kind, 'goal ' || k from unnest($1::bigint[]) c,
           unnest(array['career', 'health']) k",
    )
    .bind(&cycles)
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query("select cycle_id, kind::text from goal")
        .fetch_all(&mut *tx)
        .await?;
    for r in rows {
        let cycle: i64 = r.try_get(0)?;
        let kind: String = r.try_get(1)?;
        let outcome = insert_in_savepoint(
            &mut tx,
            "insert into goal (cycle_id, kind, title) values ($1, $2::goal_kind, 'again')",
            cycle,
            &kind,
        )
        .await?;
        match outcome {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => {}
            other => bail!("the duplicate goal was not rejected with 23505: {other:?}"),
        }
    }
    // Check 2: a kind the cycle does not have yet is accepted.
    let rows = sqlx::query(
        "select c.id, k.kind::text
           from cycle c
          cross join lateral (select kind from unnest(enum_range(null::goal_kind)) kind
                               where not exists (select 1 from goal g
                                                  where g.cycle_id = c.id and g.kind = kind)
                               limit 1) k",
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in rows {
        let cycle: i64 = r.try_get(0)?;
        let kind: String = r.try_get(1)?;
        let outcome = insert_in_savepoint(
            &mut tx,
            "insert into goal (cycle_id, kind, title) values ($1, $2::goal_kind, 'new kind')",
            cycle,
            &kind,
        )
        .await?;
        if let Err(e) = outcome {
            bail!("a new kind of goal was rejected: {e}");
        }
    }
    tx.rollback().await?;
    Ok(())
}

/// Runs `insert` (of a goal: `$1` the cycle, `$2` the kind) in a
/// savepoint, rolled back after: the database's verdict.
async fn insert_in_savepoint(
    conn: &mut sqlx::PgConnection,
    insert: &'static str,
    cycle: i64,
    kind: &String,
) -> Result<Result<sqlx::postgres::PgQueryResult, sqlx::Error>> {
    sqlx::raw_sql("savepoint check_case")
        .execute(&mut *conn)
        .await?;
    let outcome = sqlx::query(insert)
        .bind(cycle)
        .bind(kind)
        .execute(&mut *conn)
        .await;
    sqlx::raw_sql("rollback to savepoint check_case")
        .execute(&mut *conn)
        .await?;
    Ok(outcome)
}
