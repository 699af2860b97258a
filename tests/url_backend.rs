//! The `url` backend against a server the test started: the harness creates
//! and drops only its own databases, never the user's.

use std::path::Path;
use std::process::Command;

use pgharness::server::{Server, DATABASE_PREFIX};
use sqlx::Connection;

#[tokio::test]
async fn the_url_backend_leaves_other_databases_alone() {
    // A server standing in for the user's: a private local one.
    let users_server = Server::start_local().await.unwrap();
    let admin_url = users_server.database("postgres").url();
    let mut admin = users_server.admin_connection().await.unwrap();
    sqlx::raw_sql("create database shop")
        .execute(&mut admin)
        .await
        .unwrap();
    let mut shop = users_server.database("shop").connect().await.unwrap();
    sqlx::raw_sql("create table orders (id int primary key, total numeric); insert into orders values (1, 9.5), (2, 20)")
        .execute(&mut shop)
        .await
        .unwrap();
    shop.close().await.unwrap();

    // A leftover of a killed run on this machine (its marker names a pid
    // that cannot be running), a database of a live run (this test's
    // process), a run's of another PID namespace (not ours to judge), and a
    // user's database that only looks like ours by name: only the first is
    // reaped.
    let host = users_server.new_database_name("x");
    let host_tag = host[DATABASE_PREFIX.len()..]
        .split('_')
        .next()
        .unwrap()
        .to_string();
    let me: String = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap()
        .trim()
        .to_string();
    let pidns = std::fs::read_link("/proc/self/ns/pid")
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("pid:[")
        .trim_end_matches(']')
        .to_string();
    // This test process is a live owner: its pid and start time.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let my_start = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    let my_pid = std::process::id().to_string();
    let marker = |pid: &str, ns: &str| {
        let start = if pid == my_pid {
            my_start.as_str()
        } else {
            "1"
        };
        format!("pgharness-owner host={host_tag} boot={me} pidns={ns} pid={pid} start={start}")
    };
    let dead = format!("{DATABASE_PREFIX}{host_tag}_4000000000_0_v3");
    let live = format!("{DATABASE_PREFIX}{host_tag}_1_0_v3");
    let elsewhere = format!("{DATABASE_PREFIX}{host_tag}_4000000001_0_v3");
    let lookalike = format!("{DATABASE_PREFIX}{host_tag}_4000000002_0_notes");
    for (name, comment) in [
        (&dead, Some(marker("4000000000", &pidns))),
        (&live, Some(marker(&my_pid, &pidns))),
        (&elsewhere, Some(marker("4000000001", "1"))),
        (&lookalike, None),
    ] {
        sqlx::raw_sql(&format!("create database \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap();
        if let Some(comment) = comment {
            sqlx::raw_sql(&format!("comment on database \"{name}\" is '{comment}'"))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layouts/sqlx");
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args([
            "--backend",
            "url",
            "--database-url",
            &admin_url,
            "--migrations",
        ])
        .arg(&fixture)
        .args(["check", "--only", "apply"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("on url PostgreSQL"), "{stdout}");
    assert!(
        stderr.contains("reaped 1 database(s) left by killed runs"),
        "{stderr}"
    );

    // The password never shows.
    let password = admin_url
        .split(':')
        .nth(2)
        .unwrap()
        .split('@')
        .next()
        .unwrap();
    assert!(!stdout.contains(password) && !stderr.contains(password));

    let names: Vec<String> = sqlx::query_scalar("select datname from pg_database order by datname")
        .fetch_all(&mut admin)
        .await
        .unwrap();
    assert!(names.contains(&"shop".to_string()), "{names:?}");
    assert!(
        names.contains(&live),
        "a live run's database was dropped: {names:?}"
    );
    assert!(
        !names.contains(&dead),
        "the killed run's database survived: {names:?}"
    );
    assert!(
        names.contains(&elsewhere) && names.contains(&lookalike),
        "a database that is not known to be a dead run's was reaped: {names:?}"
    );
    let ours: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with(DATABASE_PREFIX) && ![&live, &elsewhere, &lookalike].contains(n))
        .collect();
    assert!(ours.is_empty(), "the run left databases behind: {ours:?}");

    let mut shop = users_server.database("shop").connect().await.unwrap();
    let rows: Vec<(i32, String)> = sqlx::query_as("select id, total::text from orders order by id")
        .fetch_all(&mut shop)
        .await
        .unwrap();
    assert_eq!(rows, vec![(1, "9.5".to_string()), (2, "20".to_string())]);
    shop.close().await.unwrap();

    // The library refuses to drop anything without the prefix.
    let url_server = Server::connect_url(&admin_url).await.unwrap();
    let err = url_server.drop_database("shop").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("refusing to touch database `shop`"),
        "{err}"
    );
    url_server.shutdown().await;
    admin.close().await.unwrap();
    users_server.shutdown().await;
}

/// A checksum of everything in database `shop`: its schema snapshot and the
/// contents of its table.
async fn shop_checksum(server: &Server) -> String {
    let mut conn = server.database("shop").connect().await.unwrap();
    let schema = pgharness::schema::SchemaSnapshot::capture(&mut conn)
        .await
        .unwrap()
        .render();
    let rows: String =
        sqlx::query_scalar("select md5(string_agg(t::text, ',' order by id)) from orders t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    format!("{schema}\n{rows}")
}

#[tokio::test]
async fn the_users_database_survives_check_and_a_killed_run_byte_for_byte_and_no_password_shows() {
    let users_server = Server::start_local().await.unwrap();
    let admin_url = users_server.database("postgres").url();
    let password = admin_url
        .split(':')
        .nth(2)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_string();
    assert!(password.len() >= 16);
    let mut admin = users_server.admin_connection().await.unwrap();
    sqlx::raw_sql("create database shop")
        .execute(&mut admin)
        .await
        .unwrap();
    let mut shop = users_server.database("shop").connect().await.unwrap();
    sqlx::raw_sql(
        "create table orders (id int primary key, total numeric, note text);
         insert into orders select i, i * 1.5, md5(i::text) from generate_series(1, 500) i;",
    )
    .execute(&mut shop)
    .await
    .unwrap();
    shop.close().await.unwrap();
    let before = shop_checksum(&users_server).await;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pgharness"))
            .args(["--database-url", &admin_url])
            .args(args)
            .current_dir(root)
            .output()
            .unwrap()
    };
    // A full check of the sample project (auto picks url: a URL was given).
    let out = run(&["check"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("backend: url (an admin URL was given)"),
        "{stderr}"
    );
    assert!(
        !stdout.contains(&password) && !stderr.contains(&password),
        "password leaked"
    );

    // A failing run and its JSON report do not show it either.
    let broken = root.join("tests/fixtures/broken/syntax_error");
    let out = run(&[
        "--migrations",
        broken.to_str().unwrap(),
        "--format",
        "json",
        "check",
        "--only",
        "apply",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(&password), "password leaked: {all}");
    // Nor does a URL that cannot be reached.
    // Port 1: nothing listens there.
    let port = admin_url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let bad_url = admin_url.replace(&format!(":{port}/"), ":1/");
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["--database-url", &bad_url, "check", "--only", "apply"])
        .current_dir(root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("postgres://postgres:***@127.0.0.1:1/"),
        "{stderr}"
    );
    assert!(!stderr.contains(&password), "password leaked: {stderr}");

    // A run killed in the middle leaves its databases; the next run reaps
    // them; the user's database is untouched throughout.
    let slow = tempfile::tempdir().unwrap();
    std::fs::write(
        slow.path().join("0001_slow.up.sql"),
        "select pg_sleep(60);\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["--database-url", &admin_url, "--migrations"])
        .arg(slow.path())
        .args(["check", "--only", "apply"])
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pattern = format!("{DATABASE_PREFIX}%\\_{}\\_%", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let n: i64 = sqlx::query_scalar("select count(*) from pg_stat_activity where query like '%pg_sleep(60)%' and datname like $1")
            .bind(&pattern)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        if n > 0 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from pg_database where datname like $1")
        .bind(&pattern)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(left > 0, "the killed run should have left its databases");
    let out = run(&["check", "--only", "apply"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("left by killed runs"));
    let ours: i64 =
        sqlx::query_scalar("select count(*) from pg_database where datname like 'pgharness\\_%'")
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!(ours, 0, "harness databases left behind");

    assert_eq!(
        shop_checksum(&users_server).await,
        before,
        "the user's database changed"
    );
    admin.close().await.unwrap();
    users_server.shutdown().await;
}

/// Harness databases on `server`.
async fn harness_databases(admin: &mut sqlx::PgConnection) -> Vec<String> {
    sqlx::query_scalar("select datname::text from pg_database where datname like 'pgharness\\_%'")
        .fetch_all(admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stop_signal_on_the_url_backend_drops_the_runs_databases_and_exits_128_plus_its_number() {
    let users_server = Server::start_local().await.unwrap();
    let admin_url = users_server.database("postgres").url();
    let mut admin = users_server.admin_connection().await.unwrap();
    let chain = tempfile::tempdir().unwrap();
    std::fs::write(
        chain.path().join("0001_a.up.sql"),
        "create table a (id int);\n",
    )
    .unwrap();
    std::fs::write(
        chain.path().join("0002_slow.up.sql"),
        "select pg_sleep(120);\n",
    )
    .unwrap();
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let child = Command::new(env!("CARGO_BIN_EXE_pgharness"))
            .args([
                "--backend",
                "url",
                "--database-url",
                &admin_url,
                "--migrations",
            ])
            .arg(chain.path())
            .args(["check", "--only", "apply"])
            .current_dir(std::env::temp_dir())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the run sits in the slow migration: its databases
        // exist and one of its sessions sleeps.
        let started = std::time::Instant::now();
        loop {
            let sleeping: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_activity where query like 'select pg_sleep(120)%' and datname like 'pgharness\\_%'",
            )
            .fetch_one(&mut admin)
            .await
            .unwrap();
            if sleeping > 0 {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the run never reached the slow migration"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(!harness_databases(&mut admin).await.is_empty());
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "signal {signal}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            harness_databases(&mut admin).await,
            Vec::<String>::new(),
            "signal {signal} left databases: {stderr}"
        );
    }
}

/// Runs pgharness against `admin_url` on the chain in `dir` (its own
/// pgharness.toml, if any, is used).
fn check_chain(admin_url: &str, dir: &Path, only: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["--backend", "url", "--database-url", admin_url])
        .args(["check", "--only", only])
        .current_dir(dir)
        .output()
        .unwrap()
}

/// What a chain could break of the user's server, read as the admin.
async fn users_state(admin: &mut sqlx::PgConnection) -> String {
    sqlx::query_scalar(
        "select concat_ws(' | ',
            (select string_agg(datname, ',' order by datname) from pg_database where datname not like 'pgharness\\_%'),
            (select string_agg(rolname || ':' || md5(coalesce(rolpassword, '')) || ':' || rolsuper, ',' order by rolname)
               from pg_authid where rolname !~ '^pg_'),
            (select string_agg(name || '=' || setting, ',' order by name) from pg_file_settings
              where sourcefile like '%postgresql.auto.conf'))",
    )
    .fetch_one(admin)
    .await
    .unwrap()
}

#[tokio::test]
async fn migrations_cannot_change_the_users_server_and_what_a_superuser_run_creates_is_reported_and_removed(
) {
    let users_server = Server::start_local().await.unwrap();
    let admin_url = users_server.database("postgres").url();
    let mut admin = users_server.admin_connection().await.unwrap();
    for sql in [
        "create database victimdb",
        "create role victim login password 'original'",
        "create role keeper",
    ] {
        sqlx::raw_sql(sql).execute(&mut admin).await.unwrap();
    }
    let before = users_state(&mut admin).await;

    // Each attack alone, contained: the migration fails (as it would for a
    // role without rights), the server is as it was.
    let attacks: &[(&str, &str, &str, &str)] = &[
        (
            "apply",
            "-- no-transaction\ndrop database if exists victimdb;",
            "",
            "must be owner of database victimdb",
        ),
        (
            "apply",
            "alter role victim password 'hacked';",
            "",
            "permission denied",
        ),
        (
            "apply",
            "create role newrole;",
            "",
            "permission denied to create role",
        ),
        (
            "apply",
            "-- no-transaction\nalter system set work_mem = '7MB';",
            "",
            "permission denied",
        ),
        (
            "apply",
            "-- no-transaction\ncreate database madebychain;",
            "",
            "permission denied to create database",
        ),
        (
            "roundtrip",
            "create table t (id int);",
            "drop table t;\ndrop role keeper;",
            "permission denied to drop role",
        ),
    ];
    for (only, up, down, expected) in attacks {
        let chain = tempfile::tempdir().unwrap();
        std::fs::write(chain.path().join("0001_attack.up.sql"), up).unwrap();
        if !down.is_empty() {
            std::fs::write(chain.path().join("0001_attack.down.sql"), down).unwrap();
        }
        std::fs::write(
            chain.path().join("pgharness.toml"),
            "[migrations]\ndir = \".\"\n",
        )
        .unwrap();
        let out = check_chain(&admin_url, chain.path(), only);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{up}: {stdout}");
        assert!(stdout.contains(expected), "{up}: {stdout}");
        assert!(
            !stdout.contains("pgharness_"),
            "internal names leaked: {stdout}"
        );
        assert_eq!(users_state(&mut admin).await, before, "{up}");
    }

    // Opted in to superuser: the change is made, reported as a finding
    // naming the migration and what changed, and undone at the end.
    let chain = tempfile::tempdir().unwrap();
    std::fs::write(
        chain.path().join("0001_roles.up.sql"),
        "-- no-transaction\ncreate role reporter nologin;\nalter system set work_mem = '7MB';\n",
    )
    .unwrap();
    std::fs::write(
        chain.path().join("pgharness.toml"),
        "[migrations]\ndir = \".\"\n\n[server]\nsuperuser = true\n",
    )
    .unwrap();
    let out = check_chain(&admin_url, chain.path(), "apply");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("0001_roles")
            && stdout.contains("changes server-wide state")
            && stdout.contains("created role reporter")
            && stdout.contains("ALTER SYSTEM setting work_mem"),
        "{stdout}"
    );
    assert_eq!(users_state(&mut admin).await, before);

    // The bootstrap's roles (the sample's app_user, app_readonly) are gone
    // after a run, the user's own are kept.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["--database-url", &admin_url, "check", "--only", "apply"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(users_state(&mut admin).await, before);
}
