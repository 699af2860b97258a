//! The defects a new user met on real chains, each on a fixture chain
//! (`tests/fixtures/real/`) that shows it: discovery by the tools' own
//! rules, what psql runs, settings that must survive template clones,
//! findings that must stay separate, and passes that must say what they
//! did not check.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgharness::config::{Config, IdempotencyMode};
use pgharness::properties::{check, CheckOptions, PropertyKind, PropertyResult, Status};

fn fixture(name: &str) -> PathBuf {
    common::root().join("tests/fixtures/real").join(name)
}

fn pgharness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn run(dir: &Path, kind: PropertyKind, mode: IdempotencyMode) -> Vec<PropertyResult> {
    let mut config = Config::load(&common::root().join("pgharness.toml")).unwrap();
    config.migrations.dir = dir.to_path_buf();
    config.server.bootstrap = String::new();
    config.idempotency.enabled = mode;
    let harness = pgharness::testing::harness_for(config).await.unwrap();
    let options = CheckOptions {
        properties: vec![kind],
        migration: None,
        cases: 4,
        seed: Some(3),
        ..Default::default()
    };
    check(&harness, &options).await.unwrap().results
}

/// As [`run`], on a private local server: for verdicts about server-wide
/// state (roles), which a server shared with other work (the url backend
/// the suite may run on) cannot give as a plain server would.
async fn run_on_a_private_server(dir: &Path, kind: PropertyKind) -> Vec<PropertyResult> {
    let mut config = Config::load(&common::root().join("pgharness.toml")).unwrap();
    config.migrations.dir = dir.to_path_buf();
    config.server.bootstrap = String::new();
    let chain = config.migrations.discover().unwrap();
    let server = std::sync::Arc::new(pgharness::server::Server::start_local().await.unwrap());
    let harness = pgharness::Harness::with_server(config, chain, server.clone());
    let options = CheckOptions {
        properties: vec![kind],
        migration: None,
        cases: 4,
        seed: Some(3),
        ..Default::default()
    };
    let results = check(&harness, &options).await.unwrap().results;
    server.shutdown().await;
    results
}

#[test]
fn diesel_orders_versions_as_strings_and_skips_files_beside_its_folders() {
    let dir = fixture("diesel_order");
    let out = pgharness(&[
        "--migrations",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "list",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = list["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    // As strings "2024..." (18 characters) sorts before "2025..." (14
    // digits); numerically it would come after.
    assert_eq!(
        ids,
        ["202401011200000000_new_format", "20250101120000_old_format"]
    );
    let ignored = list["ignored"].to_string();
    assert!(
        ignored.contains("data_x.sql") && ignored.contains("diesel skips it"),
        "{ignored}"
    );
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let dir = common::root().join("tests/realworld/zksync-era/migrations");
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c"])
        .arg(format!(
            "'{}' --migrations '{}' list | head -1",
            env!("CARGO_BIN_EXE_pgharness"),
            dir.display()
        ))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout).lines().count(), 1);
}

#[test]
fn bootstrap_database_settings_reach_every_clone() {
    let config = fixture("bootstrap_search_path").join("pgharness.toml");
    let out = pgharness(&[
        "-c",
        config.to_str().unwrap(),
        "check",
        "--only",
        "apply,roundtrip,idempotency",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("PASS  apply        0001_token"), "{stdout}");
}

#[tokio::test]
async fn copy_from_stdin_and_a_byte_order_mark_run_as_psql_runs_them() {
    let mut config = Config::load(&common::root().join("pgharness.toml")).unwrap();
    config.migrations.dir = fixture("psql_scripts");
    config.server.bootstrap = String::new();
    let harness = pgharness::testing::harness_for(config).await.unwrap();
    let db = harness.database_at(None).await.unwrap();
    let mut conn = db.connect().await.unwrap();
    let rows: Vec<(i32, String)> = sqlx::query_as("select id, name from t order by id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        rows,
        [
            (1, "alpha".to_string()),
            (2, "beta; not a statement".to_string())
        ]
    );
}

#[test]
fn a_begin_without_commit_is_a_finding_at_its_line() {
    let dir = fixture("unclosed_begin");
    let out = pgharness(&[
        "--migrations",
        dir.to_str().unwrap(),
        "check",
        "--only",
        "apply",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  apply  0002_u"), "{stdout}");
    assert!(
        stdout.contains("0002_u.sql:1:1: this BEGIN is never committed"),
        "{stdout}"
    );
}

#[test]
fn a_psql_meta_command_is_an_input_error_naming_file_and_line() {
    let dir = fixture("meta_command");
    let out = pgharness(&["--migrations", dir.to_str().unwrap(), "list"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("0001_t.sql:2: psql meta-command `\\connect other` is not supported"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_down_that_cascades_into_an_earlier_trigger_has_two_findings() {
    let results = run(
        &fixture("reup_cascade"),
        PropertyKind::Roundtrip,
        IdempotencyMode::Auto,
    )
    .await;
    let mine: Vec<&PropertyResult> = results
        .iter()
        .filter(|r| r.target == "0002_touch_v2")
        .collect();
    assert_eq!(mine.len(), 2, "{mine:#?}");
    assert!(mine.iter().all(|r| r.status == Status::Fail));
    assert!(
        mine[0].message.contains("down does not restore"),
        "{:#?}",
        mine[0]
    );
    assert!(
        mine[0].diff.as_deref().unwrap_or("").contains("item_touch"),
        "{:#?}",
        mine[0]
    );
    assert!(
        mine[1]
            .message
            .contains("up after down gives a different schema"),
        "{:#?}",
        mine[1]
    );
}

#[tokio::test]
async fn the_second_run_sees_exactly_the_state_the_first_left() {
    let results = run(
        &fixture("lowercase"),
        PropertyKind::Idempotency,
        IdempotencyMode::Required,
    )
    .await;
    let r = results
        .iter()
        .find(|r| r.target == "0002_lowercase")
        .unwrap();
    assert_eq!(r.status, Status::Pass, "{r:#?}");
    assert!(r.message.contains("generated rows"), "{r:#?}");
}

#[tokio::test]
async fn a_pass_without_data_says_so_in_its_status() {
    let results = run(
        &fixture("no_generator"),
        PropertyKind::Idempotency,
        IdempotencyMode::Required,
    )
    .await;
    let r = results
        .iter()
        .find(|r| r.target == "0002_book_index")
        .unwrap();
    assert_eq!(r.status, Status::Partial, "{r:#?}");
    assert!(r.message.contains("data not checked"), "{r:#?}");
}

#[tokio::test]
async fn a_chain_not_written_to_be_rerun_gets_one_summary_line() {
    let dir = common::root().join("tests/fixtures/broken/non_idempotent_create_table");
    let results = run(&dir, PropertyKind::Idempotency, IdempotencyMode::Auto).await;
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0].status, Status::Skip);
    assert!(
        results[0]
            .message
            .starts_with("not required: 1 of 2 migrations are not re-runnable"),
        "{results:#?}"
    );
    // Declared: every miss is a failure again.
    let results = run(&dir, PropertyKind::Idempotency, IdempotencyMode::Required).await;
    assert!(
        results.iter().any(|r| r.status == Status::Fail),
        "{results:#?}"
    );
}

#[tokio::test]
async fn a_down_that_drops_a_role_is_judged_as_on_a_plain_server() {
    let results = run_on_a_private_server(&fixture("role_down"), PropertyKind::Roundtrip).await;
    let r = results
        .iter()
        .find(|r| r.target == "0002_reporter_role")
        .unwrap();
    assert_eq!(r.status, Status::Fail, "{r:#?}");
    // The real finding: the down leaves the two functions behind; not
    // "role cannot be dropped" because of the harness's other databases.
    assert!(r.message.contains("down does not restore"), "{r:#?}");
    let diff = r.diff.as_deref().unwrap_or("");
    assert!(
        diff.contains("report_count") && diff.contains("report_ids"),
        "{diff}"
    );
    let everything = format!("{results:?}");
    assert!(
        !everything.contains("pgharness_"),
        "a harness database shows: {everything}"
    );
    assert!(!everything.contains("cannot be dropped"), "{everything}");
}

#[tokio::test]
async fn a_view_that_only_follows_its_tables_column_order_is_column_order_too() {
    let results = run(
        &fixture("view_column_order"),
        PropertyKind::Roundtrip,
        IdempotencyMode::Auto,
    )
    .await;
    let r = results.iter().find(|r| r.target == "0002_drop_a").unwrap();
    assert_eq!(r.status, Status::Pass, "{r:#?}");
    assert!(r.message.contains("only column order differs"), "{r:#?}");
}

#[test]
fn migrations_ignore_leaves_out_what_the_tool_is_configured_to_skip() {
    let config = fixture("ignore_globs").join("pgharness.toml");
    let out = pgharness(&["-c", config.to_str().unwrap(), "list"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("(sqlx, 1 migrations)"), "{stdout}");
    assert!(
        stdout.contains("not a migration:")
            && stdout.contains("0000_archived.sql (matches migrations.ignore)"),
        "{stdout}"
    );
}
