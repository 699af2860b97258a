//! `#[pgharness::test]` on the bundled sample project (this crate's
//! `pgharness.toml`): what a test gets, at which version, with which
//! fixtures; the app's own migrator sees the database up to date; a failed
//! test's database is kept and a passed one's dropped.

use std::process::Command;

use pgharness::testing::TestDatabase;
use sqlx::{Connection, PgConnection, PgPool};

async fn applied_versions(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("select version from _sqlx_migrations order by version")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[pgharness::test]
async fn a_pool_on_a_fresh_database_at_head(pool: PgPool) {
    // 0013 renamed users to app_users: the database is at head.
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables
          where table_schema = 'public' and table_name in ('users', 'app_users')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(tables, ["app_users"]);
    assert_eq!(
        applied_versions(&pool).await,
        (1..=15).collect::<Vec<i64>>()
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from app_users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "a fresh database holds no rows");
}

#[pgharness::test(at = "0005", fixtures("macro_users"))]
async fn a_connection_at_a_version_with_fixtures(
    mut conn: PgConnection,
) -> Result<(), sqlx::Error> {
    let goal_exists: bool = sqlx::query_scalar(
        "select to_regclass('goal') is not null and to_regclass('weekly_plan') is null",
    )
    .fetch_one(&mut conn)
    .await?;
    assert!(
        goal_exists,
        "at 0005: goal exists, weekly_plan (0006) does not"
    );
    let names: Vec<String> = sqlx::query_scalar("select display_name from users order by 1")
        .fetch_all(&mut conn)
        .await?;
    assert_eq!(names, ["Ada", "Grace"]);
    let max: i64 = sqlx::query_scalar("select max(version) from _sqlx_migrations")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(max, 5);
    conn.close().await
}

#[pgharness::test]
fn a_plain_test_gets_the_database(db: TestDatabase) {
    assert!(db.name().starts_with("pgharness_"));
    assert!(db.url().starts_with("postgres://"));
}

/// The app's own migrator, the real one: nothing to do at head; the rest
/// of the chain from a middle version.
#[pgharness::test]
async fn sqlx_migrate_sees_head_up_to_date(pool: PgPool) {
    let before: Vec<(i64, sqlx::types::chrono::DateTime<sqlx::types::chrono::Utc>)> =
        sqlx::query_as("select version, installed_on from _sqlx_migrations order by 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    sqlx::migrate!("./migrations").run(&pool).await.unwrap();
    let after: Vec<(i64, sqlx::types::chrono::DateTime<sqlx::types::chrono::Utc>)> =
        sqlx::query_as("select version, installed_on from _sqlx_migrations order by 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(before, after, "sqlx applied or changed nothing");
}

#[pgharness::test(at = "0012")]
async fn sqlx_migrate_applies_the_rest_from_a_version(pool: PgPool) {
    sqlx::migrate!("./migrations").run(&pool).await.unwrap();
    assert_eq!(
        applied_versions(&pool).await,
        (1..=15).collect::<Vec<i64>>()
    );
    let renamed: bool = sqlx::query_scalar("select to_regclass('app_users') is not null")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(renamed, "sqlx ran 0013..0015 itself");
}

/// Run by `failed_tests_keep_their_database` in a child process: fails
/// when asked to, after noting its database's name.
#[pgharness::test]
#[ignore = "run by failed_tests_keep_their_database"]
async fn child_that_fails(db: TestDatabase) {
    println!("database: {}", db.name());
    if std::env::var("PGHARNESS_TEST_CHILD_FAILS").is_ok() {
        panic!("failing on purpose");
    }
}

/// Runs `child_that_fails` in a child process; its database name and stderr.
fn run_child(fail: bool, keep: bool) -> (String, String, bool) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "child_that_fails", "--nocapture"]);
    if fail {
        cmd.env("PGHARNESS_TEST_CHILD_FAILS", "1");
    }
    if keep {
        cmd.env("PGHARNESS_KEEP", "1");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let name = stdout
        .lines()
        .find_map(|l| l.strip_prefix("database: "))
        .unwrap_or_else(|| panic!("no database name in the child's output:\n{stdout}"))
        .to_string();
    (
        name,
        String::from_utf8_lossy(&out.stderr).to_string(),
        out.status.success(),
    )
}

async fn exists(name: &str) -> bool {
    let server = pgharness::testing::shared_server().await.unwrap();
    let mut admin = server.admin_connection().await.unwrap();
    sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn failed_tests_keep_their_database() {
    // This process holds a lease: the children's server is this one.
    let server = pgharness::testing::shared_server().await.unwrap();

    let (passed_db, stderr, ok) = run_child(false, false);
    assert!(ok, "{stderr}");
    // Dropped in the background: the server may still be at it.
    let started = std::time::Instant::now();
    while exists(&passed_db).await && started.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        !exists(&passed_db).await,
        "a passed test's database is dropped"
    );
    assert!(!stderr.contains("kept"), "{stderr}");

    let (failed_db, stderr, ok) = run_child(true, false);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("the test failed; database {failed_db} kept"))
            && stderr.contains("psql 'postgres://"),
        "the failure names the kept database and how to connect:\n{stderr}"
    );
    assert!(exists(&failed_db).await, "a failed test's database is kept");

    let (kept_db, stderr, ok) = run_child(false, true);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("PGHARNESS_KEEP=1"), "{stderr}");
    assert!(
        exists(&kept_db).await,
        "PGHARNESS_KEEP=1 keeps a passed test's database"
    );

    for name in [failed_db, kept_db] {
        server.drop_database(&name).await.unwrap();
    }
}

/// On the url backend (a server the user runs), a test binary ends
/// cleanly: no panic at exit, and nothing of the run is left on the
/// server but the database of a failed test, which the message names.
#[tokio::test]
async fn on_the_url_backend_a_test_process_exits_cleanly_and_leaves_only_a_failed_tests_database() {
    let users = pgharness::server::Server::start_local().await.unwrap();
    let admin_url = users.database("postgres").url();
    let run = |fail: bool| {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--ignored", "--exact", "child_that_fails", "--nocapture"])
            .env("PGHARNESS_DATABASE_URL", &admin_url)
            .env("PGHARNESS_BACKEND", "url");
        if fail {
            cmd.env("PGHARNESS_TEST_CHILD_FAILS", "1");
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status, text)
    };
    let harness_databases = || async {
        let mut admin = users.admin_connection().await.unwrap();
        let names: Vec<String> = sqlx::query_scalar(
            "select datname::text from pg_database where datname like 'pgharness\\_%' order by 1",
        )
        .fetch_all(&mut admin)
        .await
        .unwrap();
        names
    };

    let (status, text) = run(false);
    assert!(status.success(), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(harness_databases().await, Vec::<String>::new(), "{text}");

    let (status, text) = run(true);
    assert_eq!(
        status.code(),
        Some(101),
        "a failed test, not an abort:\n{text}"
    );
    assert_eq!(
        text.matches("panicked").count(),
        1,
        "only the test's own panic:\n{text}"
    );
    let kept = harness_databases().await;
    assert_eq!(
        kept.len(),
        1,
        "only the failed test's database stays: {kept:?}\n{text}"
    );
    assert!(
        text.contains(&format!("database {} kept on your server", kept[0])),
        "{text}"
    );
    assert!(
        !text.contains(
            users
                .database("postgres")
                .url()
                .split('@')
                .next()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
        ),
        "no password shown:\n{text}"
    );
    users.shutdown().await;
}

/// A test's database is a clone made ahead (claimed by renaming it, so it
/// keeps its oid), with the template's database settings.
#[tokio::test]
async fn fresh_databases_are_clones_made_ahead_with_their_templates_settings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_a.up.sql"),
        "create table a (id int);\n",
    )
    .unwrap();
    let mut config = pgharness::config::Config::defaults(dir.path());
    config.migrations.dir = dir.path().to_path_buf();
    // A schema name of this run's own: the template is found by it.
    let schema = format!(
        "extra_{}",
        dir.path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    config.server.bootstrap = format!("do $$ begin execute format('alter database %I set search_path = {schema}, public', current_database()); end $$;");
    let harness = pgharness::testing::harness_for(config).await.unwrap();
    let server = harness.server().clone();
    if !server.is_shared() {
        // PGHARNESS_SHARED_SERVER=0 or another backend: no clones made ahead.
        return;
    }
    let mut admin = server.admin_connection().await.unwrap();
    let first = harness.app_database_at(None).await.unwrap();
    // This chain's app template: the one with the bootstrap's setting.
    let template: String = sqlx::query_scalar(
        "select d.datname::text from pg_database d
           join pg_db_role_setting s on s.setdatabase = d.oid
          where d.datname like 'pgharness\\_app\\_%'
            and $1 = any (s.setconfig)",
    )
    .bind(format!("search_path={schema}, public"))
    .fetch_one(&mut admin)
    .await
    .unwrap();
    let prefix = format!(
        "{}_",
        template.replace("pgharness_app_", "pgharness_pool_a")
    );
    // The first database starts the filling; wait for clones to be ready.
    let started = std::time::Instant::now();
    let ready: Vec<(i64, String)> = loop {
        let ready: Vec<(i64, String)> = sqlx::query_as(
            "select oid::int8, datname::text from pg_database where starts_with(datname, $1)",
        )
        .bind(&prefix)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        if ready.len() >= 4 || started.elapsed() > std::time::Duration::from_secs(20) {
            break ready;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(!ready.is_empty(), "no clone was made ahead");
    let second = harness.app_database_at(None).await.unwrap();
    let oid: i64 = sqlx::query_scalar("select oid::int8 from pg_database where datname = $1")
        .bind(second.name())
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(
        ready.iter().any(|(o, _)| *o == oid),
        "{} ({oid}) is not one of the clones made ahead: {ready:?}",
        second.name()
    );
    let mut conn = second.connect().await.unwrap();
    let path: String = sqlx::query_scalar("show search_path")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        path,
        format!("{schema}, public"),
        "the template's settings came along"
    );
    let _ = conn.close().await;
    for db in [first, second] {
        harness.drop_database(&db).await.unwrap();
    }
}
