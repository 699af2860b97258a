//! `check --pg 15,17,18`: one run on three PostgreSQL majors, each on a
//! server of its own (the local binaries where installed, the offline
//! images `pgharness/postgres:<major>-debian` otherwise). Needs a Docker
//! engine and the images (`cargo xtask image --pg 15,17,18`); `.ci/run`
//! runs these when an engine is reachable.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .current_dir(dir)
        .env("PGHARNESS_IMAGE", "pgharness/postgres:{major}-debian")
        .args(["--pg", "15,17,18"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
#[ignore = "needs a Docker engine and the pgharness/postgres:{15,17,18}-debian images"]
fn the_sample_chain_passes_on_15_17_and_18_in_one_run() {
    let (code, stdout, stderr) = check(&root(), &["check", "--format", "json"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let majors: Vec<String> = report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["version"]
                .as_str()
                .unwrap()
                .split('.')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(majors, ["15", "17", "18"]);
    for r in report["results"].as_array().unwrap() {
        assert!(
            r["server"]["version"].is_string(),
            "every result names its server: {r}"
        );
        assert_ne!(r["status"], "fail", "{r}");
    }
}

#[test]
#[ignore = "needs a Docker engine and the pgharness/postgres:{15,17,18}-debian images"]
fn a_chain_that_needs_17_fails_on_15_only_and_says_from_which_major_it_applies() {
    let fixture = root().join("tests/fixtures/matrix/needs17");
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = check(
        dir.path(),
        &[
            "--migrations",
            fixture.to_str().unwrap(),
            "check",
            "--only",
            "apply",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let merge: Vec<(String, String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["target"] == "0002_opening_balances")
        .map(|r| {
            (
                r["server"]["version"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let verdicts: Vec<(&str, &str)> = merge
        .iter()
        .map(|(v, s, _)| (v.as_str(), s.as_str()))
        .collect();
    assert_eq!(verdicts, [("15", "fail"), ("17", "pass"), ("18", "pass")]);
    assert!(
        merge[0].2.contains("syntax error at or near \"returning\"")
            && merge[0]
                .2
                .contains("it applies on PostgreSQL 17 and later: the chain needs 17 or newer"),
        "{}",
        merge[0].2
    );

    let (_, human, _) = check(
        dir.path(),
        &[
            "--migrations",
            fixture.to_str().unwrap(),
            "check",
            "--only",
            "apply",
        ],
    );
    assert!(
        human.contains(
            "0002_opening_balances: differs across versions: fails on 15, passes on 17 and 18"
        ),
        "{human}"
    );
    // 0001 applies everywhere: one line, no version named.
    assert_eq!(
        human.lines().filter(|l| l.contains("0001_account")).count(),
        1,
        "{human}"
    );
}
