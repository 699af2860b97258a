//! `check --partition k/n` and `report merge`: n shards together do the
//! whole check, and their merged report equals the unsharded run's, result
//! for result (throughput figures aside), on the sample and on a
//! 300-migration synthetic chain with findings in it.

use std::path::Path;
use std::process::Command;

fn pgharness(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(args)
        .current_dir(dir)
        .env_remove("PGHARNESS_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A result as compared: throughput figures in messages (`14 cases/s`)
/// depend on the machine's load, not on the verdict.
fn verdicts(report: &serde_json::Value) -> Vec<(String, String, String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["property"].as_str().unwrap().to_string(),
                r["target"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                without_rates(r["message"].as_str().unwrap()),
            )
        })
        .collect()
}

/// `message` with each rate (`21 cases/s`, `at 19/s`) made `#`.
fn without_rates(message: &str) -> String {
    let words: Vec<&str> = message.split(' ').collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let core = w.trim_end_matches([';', ',', ')']);
        let number = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
        let rate = core.strip_suffix("/s").is_some_and(number)
            || (number(core) && words.get(i + 1).is_some_and(|n| n.starts_with("cases/s")));
        out.push(if rate {
            format!("#{}", &w[core.len()..])
        } else {
            w.to_string()
        });
    }
    out.join(" ")
}

/// Runs `check` whole and in `n` shards (concurrently), merges the shards,
/// and compares.
fn shards_merge_to_the_whole(dir: &Path, check: &[&str], n: usize) {
    let mut whole = vec!["--format", "json", "check"];
    whole.extend_from_slice(check);
    let (code, stdout, stderr) = pgharness(dir, &whole);
    assert!(matches!(code, Some(0 | 1)), "{stderr}");
    let expected: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    let reports = tempfile::tempdir().unwrap();
    let shards: Vec<_> = (1..=n)
        .map(|k| {
            let dir = dir.to_path_buf();
            let mut args: Vec<String> = whole.iter().map(|s| s.to_string()).collect();
            args.extend(["--partition".to_string(), format!("{k}/{n}")]);
            let out = reports.path().join(format!("shard-{k}.json"));
            std::thread::spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (code, stdout, stderr) = pgharness(&dir, &args);
                assert!(matches!(code, Some(0 | 1)), "shard {k}: {stderr}");
                std::fs::write(&out, stdout).unwrap();
                out
            })
        })
        .collect();
    let files: Vec<String> = shards
        .into_iter()
        .map(|h| h.join().unwrap().display().to_string())
        .collect();
    // Every shard did a part: none is empty, none holds everything.
    for f in &files {
        let shard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let count = shard["results"].as_array().unwrap().len();
        assert!(
            count > 0 && count < verdicts(&expected).len(),
            "{f}: {count}"
        );
    }
    let mut merge = vec!["--format", "json", "report", "merge"];
    merge.extend(files.iter().map(String::as_str));
    let (merge_code, stdout, stderr) = pgharness(dir, &merge);
    assert_eq!(merge_code, code, "{stderr}");
    let merged: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(verdicts(&merged), verdicts(&expected));
    for count in ["passed", "failed", "skipped", "partial"] {
        assert_eq!(
            merged["summary"][count], expected["summary"][count],
            "{count}"
        );
    }
    assert_eq!(merged["summary"]["seed"], expected["summary"]["seed"]);
}

#[test]
fn four_shards_of_the_sample_merge_into_its_whole_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    shards_merge_to_the_whole(root, &["--seed", "3", "--cases", "8"], 4);
}

#[test]
fn merging_refuses_reports_that_do_not_belong_together() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str, file: &str| {
        let (_, stdout, _) = pgharness(
            root,
            &[
                "--format",
                "json",
                "check",
                "--only",
                "apply",
                "--seed",
                seed,
                "--partition",
                "1/2",
            ],
        );
        let path = dir.path().join(file);
        std::fs::write(&path, stdout).unwrap();
        path.display().to_string()
    };
    let a = run("1", "a.json");
    let b = run("2", "b.json");
    let (code, _, stderr) = pgharness(root, &["report", "merge", &a, &b]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("b.json: seed 2 differs from") && stderr.contains("same --seed"),
        "{stderr}"
    );
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"results\": 3}\n").unwrap();
    let (code, _, stderr) = pgharness(root, &["report", "merge", &a, junk.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("junk.json:1: not a pgharness JSON report"),
        "{stderr}"
    );
    let (code, _, stderr) = pgharness(root, &["check", "--partition", "5/4"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("expected k/n with 1 <= k <= n"), "{stderr}");
}

/// A 300-migration chain (a non-restoring down at 0150 among them): run by
/// `cargo xtask realworld` (about a minute in a release build).
#[test]
#[ignore = "slow: run by `cargo xtask realworld`"]
fn four_shards_of_a_300_migration_chain_merge_into_its_whole_check() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    for i in 1..=300 {
        let mut up = format!(
            "create table if not exists t{i} (id int primary key, v text not null default '');\n"
        );
        let mut down = format!("drop table if exists t{i};\n");
        if i % 50 == 0 {
            up.push_str(&format!("create index if not exists t{i}_v on t{i} (v);\n"));
            if i == 150 {
                down = format!("drop index if exists t{i}_v;\n");
            }
        }
        std::fs::write(migrations.join(format!("{i:04}_t{i}.up.sql")), up).unwrap();
        std::fs::write(migrations.join(format!("{i:04}_t{i}.down.sql")), down).unwrap();
    }
    std::fs::write(
        dir.path().join("pgharness.toml"),
        "[migrations]\ndir = \"migrations\"\nlayout = \"sqlx\"\n",
    )
    .unwrap();
    shards_merge_to_the_whole(
        dir.path(),
        &["--only", "apply,idempotency,roundtrip", "--seed", "1"],
        4,
    );
}
