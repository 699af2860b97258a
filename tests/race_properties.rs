//! Race properties (`[[race]]`): the sample's races hold; a trigger that
//! checks without locking is caught in every run with the failing schedule
//! printed; lock waits, serialization failures and deadlocks show in the
//! schedule as the server reported them.

mod common;

use common::{evidence, sample_project as project, sample_property};

use std::path::Path;
use std::process::Command;

use pgharness::properties::{PropertyResult, Status};

async fn run_properties(project: &Path, seed: u64) -> Vec<PropertyResult> {
    common::run_properties(project, 64, seed).await
}

/// The start trigger of 0015 without its lock on the cycle row: two starts
/// that both run before either commits each see no task in progress.
const UNLOCKED_START: (&str, &str, &str) = (
    "0015_one_task_in_progress.up.sql",
    "    perform 1 from cycle c where c.id = new.cycle_id for no key update;\n",
    "",
);

#[test]
fn a_start_trigger_without_its_lock_is_caught_in_every_run_with_the_schedule() {
    for seed in [1u64, 2, 3] {
        let (name, text) = sample_property("task_start_race.toml");
        // A fresh copy per run: no regression file replays an earlier
        // failure, so each seed finds it on its own.
        let dir = project(&[(name, &text)], Some(UNLOCKED_START));
        let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
            .args(["check", "--only", "properties", "--seed"])
            .arg(seed.to_string())
            .current_dir(dir.path())
            .env_remove("PGHARNESS_DATABASE_URL")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "seed {seed}:\n{stdout}\n{stderr}"
        );
        for expected in [
            "FAIL  property:task_start_race",
            "`hold` is false after this schedule: select count(*) <= 1 from task",
            "schedule (sessions in the order 1 2 1 2, each `begin` with the step after it; one of 6, every interleaving):",
            "session 1: update task set status = 'in_progress' where id = ",
            "session 2: update task set status = 'in_progress' where id = ",
            // The broken schedule: both starts succeed, both commit.
            "5. session 1: commit  ->  ok",
            "6. session 2: commit  ->  ok",
            // Shrunk to the rows the race needs: a user, a cycle, two tasks.
            "minimal data set (4 rows):",
            &format!("rerun: pgharness check --only property:task_start_race --seed {seed}"),
        ] {
            assert!(stdout.contains(expected), "seed {seed}: no `{expected}` in\n{stdout}");
        }
    }
}

#[tokio::test]
async fn the_sample_races_hold_and_report_schedules() {
    let (a, a_text) = sample_property("task_start_race.toml");
    let (b, b_text) = sample_property("week_lock_race.toml");
    let dir = project(&[(a, &a_text), (b, &b_text)], None);
    let results = run_properties(dir.path(), 7).await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{}", evidence(r));
        // Every case raced: 4 cases, every interleaving of each.
        assert!(r.message.starts_with("4 cases"), "{}", r.message);
        assert!(
            r.message.contains("exercised in race 1: 4"),
            "{}",
            r.message
        );
    }
    // 3 + 3 steps, each `begin` with the next: 6 interleavings; 4 + 3: 10.
    assert!(
        results[0].message.contains(", 24 race schedules at "),
        "{}",
        results[0].message
    );
    assert!(
        results[1].message.contains(", 40 race schedules at "),
        "{}",
        results[1].message
    );
}

#[tokio::test]
async fn a_week_lock_without_its_share_lock_loses_to_a_racing_quota_change() {
    let (name, text) = sample_property("week_lock_race.toml");
    let dir = project(
        &[(name, &text)],
        Some(("0008_week_lock.up.sql", "     for share;", "     ;")),
    );
    let results = run_properties(dir.path(), 4).await;
    let r = &results[0];
    assert_eq!(r.status, Status::Fail, "{}", evidence(r));
    let text = evidence(r);
    assert!(
        text.contains("`hold` is false after this schedule"),
        "{text}"
    );
    // The quota change slips in after the lock, before the lock commits.
    assert!(
        text.contains("session 2: update weekly_plan set quota")
            && text.contains("session 1: update cycle set plan_locked_at = now()"),
        "{text}"
    );
}

/// Two sessions updating one cycle row, at `isolation`, allowing `allow`.
fn one_row_race(isolation: &str, allow: &str) -> String {
    format!(
        r#"name = "one row, two writers"

[data]
rows = {{ cycle = 1 }}

[[race]]
name = "both rename the cycle"
for_each = "select id from cycle order by 1"
steps = [
  ["begin", "update cycle set title = 'one' where id = $1", "commit"],
  ["begin", "update cycle set title = 'two' where id = $1", "commit"],
]
isolation = "{isolation}"
allow = {allow}
hold = "select title in ('one', 'two') from cycle where id = $1"
"#
    )
}

#[tokio::test]
async fn a_lock_wait_and_a_serialization_failure_show_in_the_schedule() {
    let refused = one_row_race("repeatable read", "[\"23\"]");
    let allowed = one_row_race("repeatable read", "[\"23\", \"40001\"]");
    let dir = project(
        &[("a_refused.toml", &refused), ("b_allowed.toml", &allowed)],
        None,
    );
    let results = run_properties(dir.path(), 5).await;
    let r = &results[0];
    assert_eq!(r.status, Status::Fail, "{}", evidence(r));
    let text = evidence(r);
    // The first schedule where session 2 writes before session 1 commits:
    // it waits for session 1's row lock, then fails to serialize.
    for expected in [
        "session 2 step 2 failed with SQLSTATE 40001",
        "which the race does not allow (allow = [23])",
        "schedule (sessions in the order 1 2 1 2,",
        "4. session 2: update cycle set title = 'two' where id = '1'  ->  waits for session 1",
        "5. session 1: commit  ->  ok",
        "session 2 resumes: ERROR 40001: could not serialize access due to concurrent update (not allowed)",
        "6. session 2: commit  ->  ok (rolled back: the transaction had failed)",
        "minimal data set (2 rows):",
    ] {
        assert!(text.contains(expected), "no `{expected}` in\n{text}");
    }
    // Allowed, the same race holds in every schedule.
    assert_eq!(results[1].status, Status::Pass, "{}", evidence(&results[1]));
    assert!(
        results[1].message.contains("race schedules at"),
        "{}",
        results[1].message
    );
}

#[tokio::test]
async fn a_deadlock_is_an_outcome_the_file_forbids_unless_it_allows_it() {
    let race = |allow: &str| {
        format!(
            r#"name = "two cycles, opposite orders"

[data]
rows = {{ cycle = 2 }}

[[race]]
name = "each session renames both cycles"
for_each = "select a.id, b.id from cycle a join cycle b on a.id < b.id order by 1, 2"
steps = [
  ["begin", "update cycle set title = 'x' where id = $1", "update cycle set title = 'x' where id = $2", "commit"],
  ["begin", "update cycle set title = 'y' where id = $2", "update cycle set title = 'y' where id = $1", "commit"],
]
allow = {allow}
hold = "select count(*) = 2 from cycle where id in ($1, $2) and title in ('x', 'y')"
"#
        )
    };
    let forbidden = race("[\"23\"]");
    let allowed = race("[\"40P01\"]");
    let dir = project(
        &[
            ("a_forbidden.toml", &forbidden),
            ("b_allowed.toml", &allowed),
        ],
        None,
    );
    let results = run_properties(dir.path(), 6).await;
    let text = evidence(&results[0]);
    assert_eq!(results[0].status, Status::Fail, "{text}");
    assert!(text.contains("failed with SQLSTATE 40P01"), "{text}");
    assert!(text.contains("waits for session"), "{text}");
    assert!(text.contains("ERROR 40P01: deadlock detected"), "{text}");
    assert_eq!(results[1].status, Status::Pass, "{}", evidence(&results[1]));
}

#[test]
fn a_race_that_cannot_be_run_exits_2_naming_file_and_line() {
    let cases = [
        (
            "name = \"x\"\n\n[[race]]\nname = \"r\"\nsessions = 3\nsteps = [[\"select 1\"], [\"select 1\"]]\nhold = \"select true\"\n",
            "properties/rule.toml:3: race 1: sessions = 3, but `steps` lists 2 session(s)",
        ),
        (
            "name = \"x\"\n\n[[race]]\nname = \"r\"\nsteps = [[\"select 1\"], [\"select 1\"]]\nallow = [\"dead\"]\nhold = \"select true\"\n",
            "race 1: allow: \"dead\" is neither a 5-character SQLSTATE nor a 2-character class",
        ),
        (
            "name = \"x\"\n\n[[race]]\nname = \"r\"\nsteps = [[\"select 1\"], [\"select 1\"]]\nhold = \"select true\"\nholds = \"select true\"\n",
            "properties/rule.toml:7:1: unknown field `holds`",
        ),
        (
            "name = \"x\"\n\n[[race]]\nname = \"r\"\nsteps = [[\"select 1\"], [\"selec 1\"]]\nhold = \"select true\"\n",
            "properties/rule.toml:3:",
        ),
    ];
    for (text, expected) in cases {
        let dir = project(&[("rule.toml", text)], None);
        let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
            .args(["check", "--only", "properties"])
            .current_dir(dir.path())
            .env_remove("PGHARNESS_DATABASE_URL")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}\n{stderr}");
        let line = stderr.lines().find(|l| l.contains("error")).unwrap_or("");
        assert!(
            line.contains(expected),
            "expected `{expected}` in\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
