//! `fidelity` and `pgharness snapshot`: a copy of the sample project whose
//! chain gains a column fails against the approved snapshot with a readable
//! diff, and passes once the change is accepted.

mod common;

use common::{copy_dir, root};

use std::path::Path;
use std::process::{Command, Output};

/// A copy of the sample project (config, chain, approved snapshot).
fn sample_copy() -> tempfile::TempDir {
    let root = root();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root.join("pgharness.toml"),
        dir.path().join("pgharness.toml"),
    )
    .unwrap();
    copy_dir(&root.join("migrations"), &dir.path().join("migrations"));
    copy_dir(&root.join("snapshots"), &dir.path().join("snapshots"));
    dir
}

fn pgharness(dir: &Path, args: &[&str], ci: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgharness"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("PGHARNESS_DATABASE_URL");
    if ci {
        cmd.env("CI", "true");
    } else {
        cmd.env_remove("CI");
    }
    cmd.output().unwrap()
}

#[test]
fn an_added_column_fails_fidelity_until_accepted() {
    let project = sample_copy();
    let dir = project.path();
    let out = pgharness(dir, &["check", "--only", "fidelity"], false);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the approved snapshot must match the sample: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    std::fs::write(
        dir.join("migrations/9999_goal_priority.up.sql"),
        "alter table goal add column if not exists priority integer not null default 0;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("migrations/9999_goal_priority.down.sql"),
        "alter table goal drop column if exists priority;\n",
    )
    .unwrap();

    let out = pgharness(dir, &["check", "--only", "fidelity"], false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  fidelity  chain"), "{stdout}");
    assert!(
        stdout.contains("the head schema differs from the approved snapshot snapshots/schema.snap"),
        "{stdout}"
    );
    // The diff names the table in its hunk header and shows the new line.
    assert!(
        stdout.contains("@@ ") && stdout.contains("table public.goal"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+  priority integer not null default 0"),
        "{stdout}"
    );
    assert!(
        dir.join("snapshots/schema.snap.new").is_file(),
        "a .snap.new for cargo insta review"
    );
    // `snapshot --format json` says the same for scripts.
    let out = pgharness(dir, &["--format", "json", "snapshot"], false);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "differs");
    assert_eq!(report["snapshot"], "snapshots/schema.snap");
    assert!(report["diff"]
        .as_str()
        .unwrap()
        .contains("+  priority integer not null default 0"));

    let out = pgharness(dir, &["snapshot", "--accept"], false);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.join("snapshots/schema.snap.new").exists());
    let approved = std::fs::read_to_string(dir.join("snapshots/schema.snap")).unwrap();
    assert!(
        approved.starts_with("---\nsource: pgharness\n"),
        "insta header"
    );
    assert!(approved.contains("  priority integer not null default 0\n"));
    // The header as insta writes it (no quotes around a plain expression),
    // so that accepting here and in `cargo insta review` agree.
    assert!(
        approved.contains("\nexpression: schema at the head of migrations\n"),
        "{approved}"
    );

    let out = pgharness(dir, &["check", "--only", "fidelity"], false);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A pending snapshot left from an earlier difference goes once the
    // schema matches again (`cargo insta pending-snapshots` must not list
    // an outdated schema).
    std::fs::write(dir.join("snapshots/schema.snap.new"), "---\nstale\n---\n").unwrap();
    let out = pgharness(dir, &["check", "--only", "fidelity"], false);
    assert_eq!(out.status.code(), Some(0));
    assert!(!dir.join("snapshots/schema.snap.new").exists());
    std::fs::write(dir.join("snapshots/schema.snap.new"), "---\nstale\n---\n").unwrap();
    let out = pgharness(dir, &["snapshot"], false);
    assert_eq!(out.status.code(), Some(0));
    assert!(!dir.join("snapshots/schema.snap.new").exists());
}

#[test]
fn in_ci_a_missing_snapshot_fails_and_nothing_is_written() {
    let project = sample_copy();
    let dir = project.path();
    std::fs::remove_file(dir.join("snapshots/schema.snap")).unwrap();
    for args in [&["check", "--only", "fidelity"][..], &["snapshot"][..]] {
        let out = pgharness(dir, args, true);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            all.contains("no approved snapshot at snapshots/schema.snap"),
            "{all}"
        );
        assert!(!dir.join("snapshots/schema.snap").exists());
        assert!(!dir.join("snapshots/schema.snap.new").exists());
    }
}

#[test]
fn schema_prints_any_version() {
    let root = root();
    let out = pgharness(&root, &["schema", "--at", "0005"], false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("table public.goal\n"), "{stdout}");
    assert!(stdout.contains("table public.users\n"), "{stdout}");
    assert!(!stdout.contains("table public.weekly_plan"), "{stdout}");
    let out = pgharness(&root, &["schema", "--at", "0099"], false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no migration `0099` in the chain"));
}

#[tokio::test]
async fn the_library_asserts_the_head_snapshot_in_one_line() {
    let root = root();
    let harness = pgharness::testing::harness(root.join("pgharness.toml"))
        .await
        .unwrap();
    pgharness::testing::assert_head_snapshot(&harness).await;
}
