//! Faults injected into real runs: a killed `pgharness` process, a hanging
//! migration. Nothing may outlive a run, and the next run reaps what a
//! killed one left.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn pgharness(tmp: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgharness"));
    cmd.env("PGHARNESS_TMPDIR", tmp)
        .env_remove("PGHARNESS_DATABASE_URL")
        .current_dir(std::env::temp_dir());
    cmd
}

fn run_dirs(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("pgharness-run-")
        })
        .collect()
}

/// A temporary chain directory holding `files` (name, SQL).
fn chain_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in files {
        std::fs::write(dir.path().join(name), sql).unwrap();
    }
    dir
}

/// How many sessions of the server in `run_dir` are in `pg_sleep`.
fn sleeping_queries(run_dir: &Path) -> usize {
    let Ok(text) = std::fs::read_to_string(run_dir.join("data/postmaster.pid")) else {
        return 0;
    };
    let Some(port) = text.lines().nth(3).map(str::trim) else {
        return 0;
    };
    let out = Command::new("psql")
        .args([
            "-X", "-At", "-U", "postgres", "-d", "postgres", "-p", port, "-h",
        ])
        .arg(run_dir)
        .args([
            "-c",
            "select count(*) from pg_stat_activity where query like 'select pg_sleep%'",
        ])
        .output();
    out.ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(0)
}

/// Polls `condition` every 20 ms for at most `limit`.
fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    condition()
}

fn postmaster_pid(run_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(run_dir.join("data/postmaster.pid")).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    // Line 8 says "ready" once the server accepts connections.
    (text.lines().nth(7)?.trim() == "ready").then_some(pid)
}

#[test]
fn a_killed_run_stops_its_server_and_the_next_run_reaps_its_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = chain_dir(&[
        ("0001_a.up.sql", "create table a (id int);\n"),
        ("0002_slow.up.sql", "select pg_sleep(120);\n"),
    ]);

    let mut child = pgharness(tmp.path())
        .args(["--migrations"])
        .arg(chain.path())
        .args(["check", "--only", "apply"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pid = None;
    assert!(
        wait_for(Duration::from_secs(30), || {
            pid = run_dirs(tmp.path()).first().and_then(|d| postmaster_pid(d));
            pid.is_some()
        }),
        "the server never came up"
    );
    let pid = pid.unwrap();
    child.kill().unwrap(); // SIGKILL: no destructor runs.
    child.wait().unwrap();

    // The server stops with its owner (parent-death signal) ...
    assert!(
        wait_for(Duration::from_secs(15), || !Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()),
        "postmaster {pid} outlived the killed run"
    );
    // ... and its directory is left for the next run to reap.
    let left = run_dirs(tmp.path());
    assert_eq!(left.len(), 1, "{left:?}");

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layouts/sqlx");
    let out = pgharness(tmp.path())
        .arg("--migrations")
        .arg(&fixture)
        .args(["check", "--only", "apply"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("left by a killed run"), "{stderr}");
    assert!(stderr.contains(&left[0].display().to_string()), "{stderr}");
    assert!(
        run_dirs(tmp.path()).is_empty(),
        "{:?}",
        run_dirs(tmp.path())
    );
}

#[test]
fn a_hanging_migration_hits_the_statement_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = chain_dir(&[
        ("0001_a.up.sql", "create table a (id int);\n"),
        (
            "0002_slow.up.sql",
            "-- waits forever\nselect pg_sleep(600);\n",
        ),
    ]);
    let started = Instant::now();
    let out = pgharness(tmp.path())
        .args(["--timeout", "1", "--migrations"])
        .arg(chain.path())
        .args(["check", "--only", "apply"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(stdout.contains("FAIL  apply  0002_slow"), "{stdout}");
    assert!(
        stdout.contains(
            "0002_slow.up.sql:2:1: canceling statement due to statement timeout (SQLSTATE 57014)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("raise it with --timeout"), "{stdout}");
    assert!(run_dirs(tmp.path()).is_empty());
}

#[test]
fn every_stop_signal_cleans_up_and_exits_128_plus_its_number() {
    for (signal, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let chain = chain_dir(&[("0001_slow.up.sql", "select pg_sleep(120);\n")]);
        let child = pgharness(tmp.path())
            .arg("--migrations")
            .arg(chain.path())
            .args(["check", "--only", "apply"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(
            wait_for(Duration::from_secs(30), || run_dirs(tmp.path())
                .first()
                .and_then(|d| postmaster_pid(d))
                .is_some()),
            "the server never came up"
        );
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "signal {signal}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            run_dirs(tmp.path()).is_empty(),
            "signal {signal}: {:?}",
            run_dirs(tmp.path())
        );
    }
}

#[test]
fn a_server_that_dies_mid_run_exits_3_without_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = chain_dir(&[
        ("0001_a.up.sql", "create table a (id int);\n"),
        ("0002_slow.up.sql", "select pg_sleep(60);\n"),
    ]);
    let child = pgharness(tmp.path())
        .args(["--migrations"])
        .arg(chain.path())
        .args(["check", "--only", "apply"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pid = None;
    assert!(wait_for(Duration::from_secs(30), || {
        pid = run_dirs(tmp.path()).first().and_then(|d| postmaster_pid(d));
        pid.is_some()
    }));
    // Wait until the run is inside the sleeping migration (seen through the
    // server's private socket), then pull the server out from under it.
    let run_dir = run_dirs(tmp.path())[0].clone();
    assert!(
        wait_for(Duration::from_secs(30), || sleeping_queries(&run_dir) > 0),
        "the run never reached the slow migration"
    );
    let started = Instant::now();
    // SAFETY: plain kill(2) of the postmaster we found.
    unsafe { libc::kill(pid.unwrap(), libc::SIGKILL) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the run hung after the server died"
    );
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let error = stderr.lines().find(|l| l.contains("error")).unwrap_or("");
    assert!(
        error.contains("the server went away while applying 0002_slow"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(run_dirs(tmp.path()).is_empty(), "cleanup did not run");
}

#[test]
fn four_checks_at_once_do_not_collide() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_pgharness"))
                .args([
                    "--backend",
                    "local",
                    "check",
                    "--only",
                    "apply,idempotency,roundtrip,fidelity",
                ])
                .current_dir(root)
                .env_remove("PGHARNESS_DATABASE_URL")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("0 failed"), "{stdout}");
    }
}

#[tokio::test]
async fn thirty_two_fresh_databases_at_once_from_one_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let harness = pgharness::testing::harness(root.join("pgharness.toml"))
        .await
        .unwrap();
    let dbs = futures_util::future::join_all((0..32).map(|_| harness.database_at(None))).await;
    let mut names = std::collections::BTreeSet::new();
    for db in dbs {
        let db = db.unwrap();
        let mut conn = db.connect().await.unwrap();
        let n: i64 = sqlx::query_scalar("select count(*) from goal")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 0);
        assert!(names.insert(db.name().to_string()));
        drop(conn);
        harness.drop_database(&db).await.unwrap();
    }
    assert_eq!(names.len(), 32);
}

#[tokio::test]
async fn a_large_migration_is_applied() {
    // ~10 MB of SQL in one file: 2,000 multi-row inserts.
    let dir = tempfile::tempdir().unwrap();
    let mut sql = String::from("create table big (id int primary key, payload text not null);\n");
    let payload = "x".repeat(1000);
    for batch in 0..2000 {
        sql.push_str("insert into big values ");
        for i in 0..5 {
            let id = batch * 5 + i;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("({id}, '{payload}')"));
        }
        sql.push_str(";\n");
    }
    assert!(sql.len() > 10_000_000);
    std::fs::write(dir.path().join("0001_big.up.sql"), &sql).unwrap();
    let harness = pgharness::testing::harness_for_dir(dir.path())
        .await
        .unwrap();
    let db = harness.database_at(None).await.unwrap();
    let mut conn = db.connect().await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from big")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 10_000);
}

#[tokio::test]
async fn an_enum_label_used_in_the_migration_that_adds_it_gets_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_mood.up.sql"),
        "create type mood as enum ('ok');\ncreate table person (mood mood);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("0002_meh.up.sql"),
        "alter type mood add value 'meh';\ninsert into person values ('meh');\n",
    )
    .unwrap();
    let harness = pgharness::testing::harness_for_dir(dir.path())
        .await
        .unwrap();
    let pgharness::Error::Migration { error, .. } = harness.database_at(None).await.unwrap_err()
    else {
        panic!("expected a migration error");
    };
    assert_eq!(error.sqlstate.as_deref(), Some("55P04"), "{error}");
    assert_eq!(error.line, 2, "{error}");
    let hint = error.hint.clone().unwrap_or_default();
    assert!(
        hint.contains("move its use to the next migration") && hint.contains("-- no-transaction"),
        "{error}"
    );

    // With the marker, the same migration applies.
    std::fs::write(
        dir.path().join("0002_meh.up.sql"),
        "-- no-transaction\nalter type mood add value 'meh';\ninsert into person values ('meh');\n",
    )
    .unwrap();
    let harness = pgharness::testing::harness_for_dir(dir.path())
        .await
        .unwrap();
    harness.database_at(None).await.unwrap();
}

/// Sets `path`'s modification time an hour back.
fn age(path: &Path) {
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    let f = std::fs::File::open(path).unwrap();
    f.set_modified(hour_ago).unwrap();
}

#[test]
fn only_leftovers_marked_as_a_dead_runs_of_this_machine_are_reaped() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let pidns = std::fs::read_link("/proc/self/ns/pid")
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("pid:[")
        .trim_end_matches(']')
        .to_string();
    // The host tag, as the harness computes it (FNV-1a of the hostname).
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let mut hash: u32 = 0x811c_9dc5;
    for b in hostname.trim().bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let marker = |pid: u32, ns: &str| {
        format!(
            "pgharness-owner host={hash:08x} boot={} pidns={ns} pid={pid} start=1\n",
            boot.trim()
        )
    };
    let make = |name: &str, owner: Option<String>| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        if let Some(owner) = owner {
            std::fs::write(dir.join("pgharness.owner"), owner).unwrap();
        }
        age(&dir);
        dir
    };
    let users = make("pgharness-run-notes", None);
    let dead = make(
        "pgharness-run-4000000000-0-0000abcd",
        Some(marker(4_000_000_000, &pidns)),
    );
    let other_ns = make(
        "pgharness-run-4000000001-0-0000abcd",
        Some(marker(4_000_000_001, "1")),
    );
    // A cold start killed while copying the cached cluster.
    let staging = cache.path().join("initdb-15-x.tmp-4000000002");
    std::fs::create_dir(&staging).unwrap();
    age(&staging);

    let chain = chain_dir(&[("0001_a.up.sql", "create table a (id int);\n")]);
    let out = pgharness(tmp.path())
        .env("PGHARNESS_CACHE_DIR", cache.path())
        .args(["--backend", "local", "--migrations"])
        .arg(chain.path())
        .args(["check", "--only", "apply"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(users.join("notes.txt").exists(), "a user's dir was reaped");
    assert!(
        other_ns.exists(),
        "another PID namespace's run dir was reaped"
    );
    assert!(!dead.exists(), "a dead run's dir survived");
    assert!(!staging.exists(), "a killed cold start's copy survived");
}
