//! The local server shared by a project's test processes (nextest runs
//! each test in a process of its own): a second process uses the first
//! one's server and templates; a changed migration gets new templates; the
//! server stops once no process holds a lease for the linger time; a
//! killed server is replaced. Each test here is its own "project" (a temp
//! dir as `CARGO_MANIFEST_DIR`), so it has a server of its own.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Run in a child process: a database at head of `PGHARNESS_TEST_CHAIN`
/// through the shared server; prints what the parent checks.
#[tokio::test]
#[ignore = "run by the tests below, in child processes"]
async fn child() {
    let dir = std::env::var("PGHARNESS_TEST_CHAIN").unwrap();
    let harness = pgharness::testing::harness_for_dir(&dir).await.unwrap();
    let db = pgharness::testing::TestDatabase::at(harness, None)
        .await
        .unwrap();
    let mut conn = db.connect().await.unwrap();
    let (started, data): (String, String) = sqlx::query_as(
        "select pg_postmaster_start_time()::text, current_setting('data_directory')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let templates: Vec<String> = sqlx::query_scalar(
        "select datname::text from pg_database where datname like 'pgharness\\_tpl\\_%' order by 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_tables where schemaname = 'public'
            and tablename not in ('_sqlx_migrations', 'schema_migrations') order by 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    // Databases the process leaves to its exit: dropped then.
    let mut left = Vec::new();
    for _ in 0..3 {
        left.push(harness_left(&dir).await.name().to_string());
    }
    println!("left: {}", left.join(","));
    println!("started: {started}");
    println!("data: {data}");
    println!("templates: {}", templates.join(","));
    println!("tables: {}", tables.join(","));
}

async fn harness_left(dir: &str) -> pgharness::server::Database {
    let harness = pgharness::testing::harness_for_dir(dir).await.unwrap();
    harness.app_database_at(None).await.unwrap()
}

#[derive(Debug)]
struct Seen {
    started: String,
    data: String,
    templates: Vec<String>,
    tables: String,
    left: Vec<String>,
}

fn run_child(project: &Path, linger: &str) -> Seen {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child", "--nocapture"])
        .env("CARGO_MANIFEST_DIR", project)
        .env("PGHARNESS_TEST_CHAIN", project.join("migrations"))
        .env("PGHARNESS_LINGER_SECS", linger)
        .env_remove("PGHARNESS_SHARED_SERVER")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no `{name}` in:\n{stdout}"))
            .to_string()
    };
    Seen {
        started: field("started"),
        data: field("data"),
        templates: field("templates").split(',').map(str::to_string).collect(),
        tables: field("tables"),
        left: field("left").split(',').map(str::to_string).collect(),
    }
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("migrations");
    std::fs::create_dir(&chain).unwrap();
    std::fs::write(chain.join("0001_a.up.sql"), "create table a (id int);\n").unwrap();
    std::fs::write(chain.join("0001_a.down.sql"), "drop table a;\n").unwrap();
    std::fs::write(chain.join("0002_b.up.sql"), "create table b (id int);\n").unwrap();
    std::fs::write(chain.join("0002_b.down.sql"), "drop table b;\n").unwrap();
    dir
}

/// Waits until the server whose data dir is `data` is gone (its run dir
/// removed, its postmaster stopped).
fn wait_gone(data: &str, within: Duration) -> Duration {
    let started = Instant::now();
    while Path::new(data).exists() {
        assert!(
            started.elapsed() < within,
            "the shared server ({data}) still runs {} s after the last process left",
            within.as_secs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

/// The port of the server whose data dir is `data` (line 4 of
/// postmaster.pid).
fn port(data: &str) -> String {
    let text = std::fs::read_to_string(Path::new(data).join("postmaster.pid")).unwrap();
    text.lines().nth(3).unwrap().trim().to_string()
}

fn postmaster_pid(data: &str) -> i32 {
    let text = std::fs::read_to_string(Path::new(data).join("postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

#[test]
fn test_processes_share_one_server_and_its_templates() {
    let project = project();
    let first = run_child(project.path(), "3");
    let second = run_child(project.path(), "3");
    assert_eq!(
        first.started, second.started,
        "one server for both processes"
    );
    assert_eq!(first.data, second.data);
    assert_eq!(
        first.templates, second.templates,
        "the second process built no template of its own"
    );
    assert_eq!(first.tables, "a,b");
    // What the first process left to its exit is gone (the drops run on
    // after it; the second process saw the server meanwhile).
    let names = first.left.join("','");
    let left_query = format!("select count(*) from pg_database where datname in ('{names}')");
    let started = Instant::now();
    loop {
        let out = Command::new("psql")
            .args([
                "-h",
                &first.data.replace("/data", ""),
                "-p",
                &port(&first.data),
            ])
            .args(["-U", "postgres", "-d", "postgres", "-Atc", &left_query])
            .output()
            .unwrap();
        let count = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if count == "0" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the databases the first process left are still there ({count} of {:?}): {}",
            first.left,
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // A changed migration: new templates, with the change.
    let up = project.path().join("migrations/0002_b.up.sql");
    std::fs::write(&up, "create table b (id int);\ncreate table c (id int);\n").unwrap();
    let third = run_child(project.path(), "3");
    assert_eq!(third.started, first.started, "the same server");
    assert!(
        third.templates.len() > first.templates.len(),
        "new templates for the changed chain: {:?} then {:?}",
        first.templates,
        third.templates
    );
    assert_eq!(third.tables, "a,b,c");

    // No lease left: the server stops after the linger time.
    let took = wait_gone(&first.data, Duration::from_secs(20));
    assert!(
        took >= Duration::from_secs(1),
        "stopped after {took:?}: before the linger time"
    );
}

#[test]
fn a_killed_server_is_replaced() {
    let project = project();
    let first = run_child(project.path(), "30");
    // SAFETY: kill(2) on the postmaster of this test's own server.
    let pid = postmaster_pid(&first.data);
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let second = run_child(project.path(), "1");
    assert_ne!(first.started, second.started, "a new server");
    assert_eq!(second.tables, "a,b");
    // The dead server's run dir is removed by its watchdog.
    wait_gone(&first.data, Duration::from_secs(20));
    wait_gone(&second.data, Duration::from_secs(20));
}
