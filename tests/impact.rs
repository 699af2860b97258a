//! `pgharness impact` and `check --only impact`: each migration traced
//! statement by statement on data at a profile's scale, on a real server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const RISKY: &str = "tests/fixtures/impact/risky";

fn pgharness() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgharness"));
    cmd.current_dir(root()).env_remove("PGHARNESS_DATABASE_URL");
    cmd
}

fn run(args: &[&str]) -> Output {
    pgharness().args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `impact --format json` with `config`, which must exit 1 (findings).
fn impact_with_findings(config: &Path) -> Value {
    common::json_run(config, &["impact"], 1)
}

fn migration<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["migration"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

fn rules(m: &Value) -> Vec<String> {
    m["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

/// The locks a migration's statements took on relations that existed.
fn locks(m: &Value) -> Vec<(String, String, i64)> {
    m["statements"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["locks"].as_array().unwrap().iter())
        .filter(|l| l["existing"] == true)
        .map(|l| {
            (
                l["relation"].as_str().unwrap().to_string(),
                l["mode"].as_str().unwrap().to_string(),
                l["rows"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The acceptance: at a million orders, exactly the rewrite and the
/// blocking index build are reported, with their lock modes and durations.
#[test]
fn at_a_million_orders_exactly_the_two_risky_migrations_are_reported() {
    let config = format!("{RISKY}/pgharness.toml");
    let out = run(&["-c", &config, "--format", "json", "impact"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let loaded: i64 = report["seeding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rows"].as_i64().unwrap())
        .sum();
    assert!(loaded >= 1_000_000, "{loaded}");

    let rewrite = migration(&report, "0002_wider_quantity");
    assert_eq!(rewrite["data"], "seeded");
    let statement = &rewrite["statements"][0];
    assert_eq!(statement["line"], 3);
    assert!(statement["duration_ms"].as_f64().unwrap() > 0.0);
    assert!(statement["held_ms"].as_f64().unwrap() >= statement["duration_ms"].as_f64().unwrap());
    assert_eq!(
        statement["rewrites"][0]["relation"], "public.orders",
        "{statement:#}"
    );
    assert_eq!(statement["rewrites"][0]["rows"], 1_000_000);
    assert!(locks(rewrite).contains(&(
        "public.orders".into(),
        "AccessExclusiveLock".into(),
        1_000_000
    )));
    assert!(rules(rewrite).contains(&"rewrite".to_string()));

    let index = migration(&report, "0003_orders_by_status");
    assert_eq!(
        locks(index),
        vec![("public.orders".into(), "ShareLock".into(), 1_000_000)]
    );
    assert!(rules(index).contains(&"blocking_index".to_string()));
    assert!(index["duration_ms"].as_f64().unwrap() > 0.0);

    // The safe one takes ACCESS EXCLUSIVE too, for a catalog change, with a
    // lock_timeout: nothing to report. The first creates its tables.
    let safe = migration(&report, "0004_order_note");
    assert!(rules(safe).is_empty(), "{safe:#}");
    let add = safe["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sql"].as_str().unwrap().contains("add column"))
        .unwrap();
    assert_eq!(add["lock_timeout"], "2s");
    assert_eq!(add["locks"][0]["mode"], "AccessExclusiveLock");
    assert!(rules(migration(&report, "0001_orders")).is_empty());

    // Errors only where the risk is.
    let with_errors: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["severity"] == "error")
        })
        .map(|m| m["migration"].as_str().unwrap())
        .collect();
    assert_eq!(
        with_errors,
        ["0002_wider_quantity", "0003_orders_by_status"]
    );
    assert_eq!(report["summary"]["with_findings"], 2);
    let errors = |m: &Value| -> Vec<String> {
        m["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    // The rewrite checks the column's CHECK as it copies: not a separate
    // validation.
    assert_eq!(errors(rewrite), ["rewrite"], "{rewrite:#}");
    assert_eq!(errors(index), ["blocking_index"], "{index:#}");
}

#[test]
fn markdown_for_a_pull_request_and_fail_on_never() {
    let config = format!("{RISKY}/pgharness.toml");
    let profile = format!("{RISKY}/seeds/small.toml");
    let out = run(&[
        "-c",
        &config,
        "--format",
        "markdown",
        "impact",
        "--profile",
        &profile,
        "--fail-on",
        "never",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("### pgharness impact: 2 of 4 migrations need attention"),
        "{text}"
    );
    assert!(text.contains("| migration | line | statement |"), "{text}");
    assert!(text.contains("| 0002_wider_quantity | 3 |"), "{text}");
    assert!(
        text.contains("ACCESS EXCLUSIVE on public.orders (50,000 rows)"),
        "{text}"
    );
    assert!(text.contains("**error** blocking_index"), "{text}");
    assert!(text.contains("<details>"), "{text}");
}

/// A chain written for this test: validations under a strong lock, an up
/// that fails only on data, a build outside a transaction (sampled), and
/// ignore comments.
fn write_chain(dir: &Path) {
    let m = dir.join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    let files = [
        (
            "0001_t.up.sql",
            "create table t (id bigint primary key, v integer, w integer);\n",
        ),
        (
            "0002_checks.up.sql",
            "alter table t add constraint v_positive check (v > 0);\nalter table t alter column v set not null;\n",
        ),
        (
            "0003_ignored.up.sql",
            "-- pgharness: ignore blocking_index, no_lock_timeout\ncreate index t_w_idx on t (w);\n",
        ),
        (
            "0004_concurrently.up.sql",
            "-- no-transaction\ncreate index concurrently t_v_idx on t (v);\n",
        ),
        (
            "0005_no_default.up.sql",
            "alter table t add column x integer not null;\n",
        ),
        (
            "0006_volatile_default.up.sql",
            "alter table t add column seen_at timestamptz default clock_timestamp();\n",
        ),
    ];
    for (name, sql) in files {
        std::fs::write(m.join(name), sql).unwrap();
    }
    std::fs::write(
        dir.join("profile.toml"),
        "seed = 3\ndefault_rows = 0\n[tables.t]\nrows = 200000\n[tables.t.columns.v]\nrange = [1, 1000]\nnull_ratio = 0.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pgharness.toml"),
        "[migrations]\ndir = \"migrations\"\nlayout = \"sqlx\"\n[impact]\nprofile = \"profile.toml\"\n",
    )
    .unwrap();
}

#[test]
fn validations_failures_on_data_sampled_builds_and_ignore_comments() {
    let dir = tempfile::tempdir().unwrap();
    write_chain(dir.path());
    let config = dir.path().join("pgharness.toml");
    let report = impact_with_findings(&config);

    let checks = migration(&report, "0002_checks");
    let found = rules(checks);
    assert_eq!(
        found
            .iter()
            .filter(|r| *r == "validated_under_lock")
            .count(),
        2,
        "{checks:#}"
    );
    let messages: Vec<&str> = checks["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(messages
        .iter()
        .any(|m| m.contains("CHECK constraint v_positive")));
    assert!(messages.iter().any(|m| m.contains("NOT NULL on column v")));

    // The comment turns both of its rules off; the statement says so.
    let ignored = migration(&report, "0003_ignored");
    assert!(rules(ignored).is_empty(), "{ignored:#}");
    assert_eq!(
        ignored["statements"][0]["ignored"],
        serde_json::json!(["blocking_index", "no_lock_timeout"])
    );
    assert_eq!(
        locks(ignored),
        vec![("public.t".into(), "ShareLock".into(), 200_000)]
    );

    // Outside a transaction the locks are sampled while it runs: SHARE
    // UPDATE EXCLUSIVE, which blocks no reads or writes.
    let concurrently = migration(&report, "0004_concurrently");
    assert_eq!(concurrently["statements"][0]["sampled"], true);
    assert!(
        locks(concurrently)
            .iter()
            .any(|(r, m, _)| r == "public.t" && m == "ShareUpdateExclusiveLock"),
        "{concurrently:#}"
    );
    assert!(rules(concurrently).is_empty(), "{concurrently:#}");

    // Applies to the empty database, not to one with rows.
    let no_default = migration(&report, "0005_no_default");
    assert_eq!(rules(no_default), ["fails_on_data"]);
    let error = no_default["error"].as_str().unwrap();
    assert!(error.contains("0005_no_default.up.sql:1"), "{error}");
    assert!(error.contains("23502"), "{error}");

    // After a failure the walk seeds again, at the failed migration's
    // version, for the next one. A volatile default rewrites the table.
    let volatile = migration(&report, "0006_volatile_default");
    assert_eq!(volatile["data"], "seeded");
    let rewrite = volatile["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "rewrite")
        .unwrap_or_else(|| panic!("{volatile:#}"));
    assert!(
        rewrite["message"]
            .as_str()
            .unwrap()
            .contains("volatile default"),
        "{rewrite:#}"
    );
}

#[test]
fn check_only_impact_gives_one_result_per_migration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pgharness.toml");
    std::fs::write(
        &config,
        format!(
            "[migrations]\ndir = \"{0}/{RISKY}/migrations\"\nlayout = \"sqlx\"\n[impact]\nprofile = \"{0}/{RISKY}/seeds/small.toml\"\n",
            root().display()
        ),
    )
    .unwrap();
    let report = common::json_run(&config, &["check", "--only", "impact"], 1);
    let verdicts: Vec<(String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["property"], "impact");
            (
                r["target"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("0001_orders".into(), "pass".into()),
            ("0002_wider_quantity".into(), "fail".into()),
            ("0003_orders_by_status".into(), "fail".into()),
            ("0004_order_note".into(), "pass".into()),
        ]
    );
    let failed = &report["results"][1];
    assert_eq!(failed["location"]["line"], 3);
    assert!(failed["rerun"]
        .as_str()
        .unwrap()
        .ends_with("impact --migration 0002_wider_quantity"));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let config = format!("{RISKY}/pgharness.toml");
    let dir = tempfile::tempdir().unwrap();
    let bad_config = dir.path().join("pgharness.toml");
    std::fs::write(&bad_config, "[impact]\nfail_on = \"sometimes\"\n").unwrap();
    let bad_rule = dir.path().join("rule.toml");
    std::fs::write(&bad_rule, "[impact]\nignore = [\"rewrites\"]\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "-c".into(),
                config.clone(),
                "impact".into(),
                "--profile".into(),
                "nope.toml".into(),
            ],
            "nope.toml",
        ),
        (
            vec![
                "-c".into(),
                config.clone(),
                "impact".into(),
                "--fail-on".into(),
                "bogus".into(),
            ],
            "--fail-on",
        ),
        (
            vec![
                "-c".into(),
                config.clone(),
                "impact".into(),
                "--migration".into(),
                "99".into(),
            ],
            "99",
        ),
        (
            vec![
                "-c".into(),
                bad_config.display().to_string(),
                "impact".into(),
            ],
            "impact.fail_on",
        ),
        (
            vec!["-c".into(), bad_rule.display().to_string(), "impact".into()],
            "no rule `rewrites`",
        ),
        (
            vec![
                "-c".into(),
                config.clone(),
                "--format".into(),
                "markdown".into(),
                "check".into(),
            ],
            "markdown",
        ),
    ];
    for (args, needle) in cases {
        let out = pgharness().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let last = stderr.trim_end().lines().last().unwrap_or("");
        assert!(last.contains(needle), "{args:?}: {stderr}");
    }
}

/// eugene's own traces of the same files on an empty database (recorded in
/// `tests/fixtures/impact/eugene/`): every lock it reports on a relation of
/// the chain is in pgharness' report, on the same statement.
#[test]
fn every_lock_eugene_reports_is_reported_too() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(&profile, "default_rows = 20\non_limit = \"cap\"\n").unwrap();
    let profile = profile.display().to_string();
    let risky_config = format!("{RISKY}/pgharness.toml");
    for (name, args) in [
        (
            "sample",
            vec!["--format", "json", "impact", "--profile", &profile],
        ),
        (
            "risky",
            vec![
                "-c",
                &risky_config,
                "--format",
                "json",
                "impact",
                "--profile",
                &profile,
            ],
        ),
    ] {
        let out = run(&args);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = json(&out);
        let eugene: Value = serde_json::from_str(
            &std::fs::read_to_string(
                root().join(format!("tests/fixtures/impact/eugene/{name}.json")),
            )
            .unwrap(),
        )
        .unwrap();
        let mut compared = 0;
        for file in eugene.as_array().unwrap() {
            let file_name = file["name"].as_str().unwrap();
            let m = ours["migrations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["file"].as_str().unwrap().ends_with(file_name))
                .unwrap_or_else(|| panic!("{name}: no {file_name} in our report"));
            for statement in file["statements"].as_array().unwrap() {
                let line = &statement["line_number"];
                for lock in statement["new_locks_taken"].as_array().unwrap() {
                    // System catalogs (pg_toast_2618 of pg_rewrite) are the
                    // server's, not the chain's.
                    if lock["schema"] != "public" {
                        continue;
                    }
                    let relation = format!("public.{}", lock["object_name"].as_str().unwrap());
                    let found = m["statements"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|s| &s["line"] == line)
                        .flat_map(|s| s["locks"].as_array().unwrap())
                        .any(|l| l["relation"] == relation.as_str() && l["mode"] == lock["mode"]);
                    assert!(
                        found,
                        "{name}: eugene reports {} on {relation} at {file_name}:{line}; we do not:\n{m:#}",
                        lock["mode"]
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 0, "{name}: nothing compared");
    }
}

/// A migration that creates a role: its template already made the role on
/// the run's server, so it is traced on a private one, where it creates
/// it once (and the trace on the empty database is rolled back).
#[test]
fn a_migration_that_creates_a_role_is_traced_once() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("0001_t.up.sql"),
        "create table t (id bigint primary key, v integer);\n",
    )
    .unwrap();
    std::fs::write(
        m.join("0002_role.up.sql"),
        "create role impact_reporter nologin;\ngrant select on t to impact_reporter;\nalter table t add column c integer;\n",
    )
    .unwrap();
    std::fs::write(
        m.join("0003_index.up.sql"),
        "create index t_v_idx on t (v);\n",
    )
    .unwrap();
    let config = dir.path().join("pgharness.toml");
    std::fs::write(
        &config,
        "[migrations]\ndir = \"migrations\"\nlayout = \"sqlx\"\n[impact]\nrows = 2000\n",
    )
    .unwrap();
    let report = impact_with_findings(&config);
    let role = migration(&report, "0002_role");
    assert!(role.get("error").is_none(), "{role:#}");
    assert_eq!(role["data"], "seeded");
    assert!(locks(role).contains(&("public.t".into(), "AccessExclusiveLock".into(), 2000)));
    let index = migration(&report, "0003_index");
    assert_eq!(index["data"], "seeded");
    assert!(
        rules(index).contains(&"blocking_index".to_string()),
        "{index:#}"
    );
}

#[test]
fn a_chain_that_does_not_apply_stops_there_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(&profile, "default_rows = 50\n[tables.nope]\nrows = 1\n").unwrap();
    let out = run(&[
        "--migrations",
        "tests/fixtures/broken/syntax_error",
        "--format",
        "json",
        "impact",
        "--profile",
        &profile.display().to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let last = report["migrations"].as_array().unwrap().last().unwrap();
    assert_eq!(last["migration"], "0003_tags");
    assert_eq!(last["chain_stops"], true);
    assert!(
        last["error"]
            .as_str()
            .unwrap()
            .contains("0003_tags.up.sql:4:8"),
        "{last:#}"
    );
    // The profile's `nope` is named, not silently dropped.
    assert_eq!(report["unmatched_tables"], serde_json::json!(["nope"]));
}
