//! The container backend, on a real Docker engine. These tests need an
//! engine and a Postgres image (`cargo xtask image` builds
//! `pgharness/postgres:15-debian` without a registry), so plain `cargo test`
//! lists them as ignored; `.ci/run` runs them with `--ignored` and
//! `PGHARNESS_REQUIRE_DOCKER=1` whenever an engine is reachable, and then a
//! container that cannot start fails the test. Run them one at a time
//! (`--test-threads=1`): every run reaps what killed runs left, so a
//! concurrent test would reap the container the SIGKILL test leaves for its
//! own next run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REASON: &str = "needs a Docker engine and PGHARNESS_IMAGE; run by .ci/run";

fn image() -> String {
    std::env::var("PGHARNESS_IMAGE").unwrap_or_else(|_| "pgharness/postgres:15-debian".to_string())
}

fn pgharness() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgharness"));
    cmd.env("PGHARNESS_IMAGE", image())
        .env_remove("PGHARNESS_DATABASE_URL")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Ids of containers carrying `label` (e.g. `pgharness.pid=123`).
fn containers(label: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label={label}")])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "needs a Docker engine and PGHARNESS_IMAGE; run by .ci/run"]
fn check_passes_on_the_sample_project_and_leaves_no_container() {
    let _ = REASON;
    let child = pgharness()
        .args(["--backend", "docker", "check"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let label = format!("pgharness.pid={}", child.id());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("on docker PostgreSQL"), "{stdout}");
    assert!(stdout.contains("0 failed"), "{stdout}");
    assert!(
        containers(&label).is_empty(),
        "a container outlived the run"
    );
}

#[test]
#[ignore = "needs a Docker engine and PGHARNESS_IMAGE; run by .ci/run"]
fn auto_picks_docker_when_the_image_is_present_and_says_why() {
    let out = pgharness()
        .args(["--backend", "auto", "check", "--only", "apply"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("backend:"))
        .unwrap_or("");
    assert!(
        line.contains("backend: docker (a Docker engine is reachable and image")
            && line.contains("is present"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs a Docker engine and PGHARNESS_IMAGE; run by .ci/run"]
fn a_container_left_by_a_killed_run_is_removed_by_the_next() {
    let chain = tempfile::tempdir().unwrap();
    std::fs::write(
        chain.path().join("0001_slow.up.sql"),
        "select pg_sleep(300);\n",
    )
    .unwrap();
    let mut child = pgharness()
        .args(["--backend", "docker", "--migrations"])
        .arg(chain.path())
        .args(["check", "--only", "apply"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let label = format!("pgharness.pid={}", child.id());
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut ours = Vec::new();
    while ours.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        ours = containers(&label);
    }
    assert_eq!(ours.len(), 1, "the run never started its container");
    // Kill it without a chance to clean up: the container exists, so
    // whatever the run was doing, it is left behind.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        containers(&label),
        ours,
        "the container should be left behind by SIGKILL"
    );

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layouts/sqlx");
    let out = pgharness()
        .args(["--backend", "docker", "--migrations"])
        .arg(&fixture)
        .args(["check", "--only", "apply"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let short: String = ours[0].chars().take(12).collect();
    assert!(
        stderr.contains(&format!("reaped container {short} left by a killed run")),
        "{stderr}"
    );
    assert!(
        containers(&label).is_empty(),
        "the leftover container survived the next run"
    );
}

#[test]
#[ignore = "needs a Docker engine and PGHARNESS_IMAGE; run by .ci/run"]
fn the_head_snapshot_is_byte_identical_on_both_backends() {
    let schema = |backend: &str| {
        let out = pgharness()
            .args(["--backend", backend, "schema"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let local = schema("local");
    let docker = schema("docker");
    assert!(local.contains("table public.goal\n"));
    assert_eq!(local, docker);
}
