//! `idempotency` and `roundtrip` on the sample project (which must pass)
//! and on a corpus of broken chains, each with the finding it must produce.

use std::path::{Path, PathBuf};
use std::process::Command;

use pgharness::config::Config;
use pgharness::properties::{check, CheckOptions, PropertyKind, PropertyResult, Status};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn run(dir: &Path, properties: Vec<PropertyKind>) -> Vec<PropertyResult> {
    let config_path = root().join("pgharness.toml");
    let mut config = Config::load(&config_path).unwrap();
    config.migrations.dir = dir.to_path_buf();
    // These fixtures are about the checks themselves: hold every migration
    // to re-runnability whatever the chain's intent.
    config.idempotency.enabled = pgharness::config::IdempotencyMode::Required;
    let harness = pgharness::testing::harness_for(config).await.unwrap();
    let options = CheckOptions {
        properties,
        migration: None,
        cases: 8,
        seed: Some(7),
        ..Default::default()
    };
    check(&harness, &options).await.unwrap().results
}

/// (fixture, property, target, a distinctive part of the message or diff)
const FINDINGS: &[(&str, &str, &str, &str)] = &[
    (
        "down_forgets_index",
        "roundtrip",
        "0002_person_name",
        "+  index person_name_idx using btree (name)",
    ),
    (
        "down_forgets_enum",
        "roundtrip",
        "0002_mood",
        "up after down failed: ",
    ),
    (
        "down_forgets_enum",
        "roundtrip",
        "0002_mood",
        "type \"mood\" already exists (SQLSTATE 42710)",
    ),
    (
        "down_changes_column_type",
        "roundtrip",
        "0002_wide_qty",
        "+  qty numeric not null default 0",
    ),
    (
        "down_forgets_policy",
        "roundtrip",
        "0002_note_rls",
        "+  policy note_owner",
    ),
    (
        "down_forgets_trigger",
        "roundtrip",
        "0002_touch_trigger",
        "+  trigger account_touch",
    ),
    (
        "down_drops_too_much",
        "roundtrip",
        "0002_pet",
        "-table public.person",
    ),
    (
        "empty_down",
        "roundtrip",
        "0001_person",
        "the down script is empty (or only comments), but the up changed the schema",
    ),
    (
        "non_idempotent_create_table",
        "idempotency",
        "0002_pet",
        "relation \"pet\" already exists (SQLSTATE 42P07)",
    ),
    (
        "reinserts_seed_rows",
        "idempotency",
        "0001_color",
        "table public.color: 2 rows before, 4 after",
    ),
];

#[tokio::test]
async fn every_broken_chain_produces_its_finding() {
    for (fixture, property, target, fragment) in FINDINGS {
        let dir = root().join("tests/fixtures/broken").join(fixture);
        let kind = property.parse::<PropertyKind>().unwrap();
        let results = run(&dir, vec![kind]).await;
        // A migration may have several findings (a down that does not
        // restore, then what the re-up does): the one with the fragment.
        let mine: Vec<&PropertyResult> = results
            .iter()
            .filter(|r| r.property == *property && r.target == *target)
            .collect();
        let result = mine
            .iter()
            .find(|r| {
                format!("{}\n{}", r.message, r.diff.as_deref().unwrap_or("")).contains(fragment)
            })
            .or(mine.first())
            .unwrap_or_else(|| {
                panic!("{fixture}: no {property} result for {target}: {results:#?}")
            });
        assert_eq!(result.status, Status::Fail, "{fixture}: {result:#?}");
        let text = format!(
            "{}\n{}",
            result.message,
            result.diff.as_deref().unwrap_or("")
        );
        assert!(
            text.contains(fragment),
            "{fixture}: `{fragment}` not in:\n{text}"
        );
        let rerun = result.rerun.as_deref().unwrap_or("");
        assert!(
            rerun.contains(&format!("--only {property} --migration")),
            "{fixture}: {rerun}"
        );
        // A round-trip finding points at a file of its migration (the
        // annotation a CI system shows on it).
        if *property == "roundtrip" {
            let location = result.location.as_ref().unwrap_or_else(|| {
                panic!("{fixture}: a roundtrip finding without a location: {result:#?}")
            });
            assert!(
                location.file.contains(target) && location.line >= 1,
                "{fixture}: {location:?}"
            );
        }
        // Every other migration of the fixture passes: the finding is
        // pinned to the right one.
        for other in results
            .iter()
            .filter(|r| r.property == *property && r.target != *target && r.target != "chain")
        {
            assert_eq!(other.status, Status::Pass, "{fixture}: {other:#?}");
        }
    }
}

#[tokio::test]
async fn a_difference_in_column_order_alone_is_noted_not_failed_unless_strict() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_t.up.sql"),
        "create table t (a int, b int);\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("0001_t.down.sql"), "drop table t;\n").unwrap();
    std::fs::write(
        dir.path().join("0002_drop_a.up.sql"),
        "alter table t drop column a;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("0002_drop_a.down.sql"),
        "alter table t add column a int;\n",
    )
    .unwrap();
    let results = run(dir.path(), vec![PropertyKind::Roundtrip]).await;
    let r = results.iter().find(|r| r.target == "0002_drop_a").unwrap();
    assert_eq!(r.status, Status::Pass, "{r:#?}");
    assert!(r.message.contains("only column order differs"), "{r:#?}");

    let mut config = Config::load(&root().join("pgharness.toml")).unwrap();
    config.migrations.dir = dir.path().to_path_buf();
    config.roundtrip.strict_column_order = true;
    let harness = pgharness::testing::harness_for(config).await.unwrap();
    let options = CheckOptions {
        properties: vec![PropertyKind::Roundtrip],
        migration: Some("0002".into()),
        cases: 1,
        seed: Some(1),
        ..Default::default()
    };
    let results = check(&harness, &options).await.unwrap().results;
    assert_eq!(
        results.len(),
        1,
        "--migration selects one migration and no chain check"
    );
    assert_eq!(results[0].status, Status::Fail, "{:#?}", results[0]);
}

#[tokio::test]
async fn declared_exceptions_are_skipped_with_the_reason() {
    let dir = root().join("tests/fixtures/broken/reinserts_seed_rows");
    let mut config = Config::load(&root().join("pgharness.toml")).unwrap();
    config.migrations.dir = dir;
    config.idempotency.skip = vec!["0001_color".into()];
    config.idempotency.enabled = pgharness::config::IdempotencyMode::Required;
    let harness = pgharness::testing::harness_for(config).await.unwrap();
    let options = CheckOptions {
        properties: vec![PropertyKind::Idempotency, PropertyKind::Roundtrip],
        migration: None,
        cases: 1,
        seed: Some(1),
        ..Default::default()
    };
    let results = check(&harness, &options).await.unwrap().results;
    let idem = results
        .iter()
        .find(|r| r.property == "idempotency")
        .unwrap();
    assert_eq!(idem.status, Status::Skip);
    assert!(
        idem.message.contains("declared not idempotent"),
        "{idem:#?}"
    );
    assert!(results
        .iter()
        .any(|r| r.property == "roundtrip" && r.status == Status::Pass));
}

#[tokio::test]
async fn the_sample_project_passes_both_properties_on_every_migration() {
    let results = run(
        &root().join("migrations"),
        vec![PropertyKind::Idempotency, PropertyKind::Roundtrip],
    )
    .await;
    let migrations = sample_migrations();
    assert_eq!(results.len(), 2 * migrations + 1, "{results:#?}");
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{r:#?}");
    }
}

/// The sample chain's migrations (one `.up.sql` each).
fn sample_migrations() -> usize {
    std::fs::read_dir(root().join("migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".up.sql")
        })
        .count()
}

fn check_json(dir: &Path) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .arg("-c")
        .arg(root().join("pgharness.toml"))
        .arg("--migrations")
        .arg(dir)
        .args([
            "check",
            "--only",
            "idempotency,roundtrip",
            "--format",
            "json",
            "--seed",
            "3",
        ])
        .output()
        .unwrap();
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), value)
}

#[test]
fn the_json_report_matches_the_contract() {
    let (code, v) = check_json(&root().join("migrations"));
    assert_eq!(code, Some(0), "{v:#}");
    let migrations = sample_migrations();
    assert_eq!(v["chain"]["migrations"], migrations);
    // Idempotency and round trip of each migration, and the whole chain.
    assert_eq!(v["summary"]["passed"], 2 * migrations + 1);
    assert_eq!(v["summary"]["failed"], 0);
    for r in v["results"].as_array().unwrap() {
        for key in ["property", "target", "status", "message"] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }

    let (code, v) = check_json(&root().join("tests/fixtures/broken/down_forgets_index"));
    assert_eq!(code, Some(1));
    let failed: Vec<&serde_json::Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{v:#}");
    assert_eq!(failed[0]["property"], "roundtrip");
    assert_eq!(failed[0]["target"], "0002_person_name");
    assert!(failed[0]["diff"]
        .as_str()
        .unwrap()
        .contains("person_name_idx"));
    assert_eq!(v["summary"]["failed"], 1);
}
