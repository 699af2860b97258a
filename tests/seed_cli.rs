//! `pgharness seed`: into a file that psql loads, into a database (never a
//! user's non-empty one), and served from a throwaway server.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use pgharness::server::Server;
use sqlx::Connection;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pgharness() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgharness"));
    cmd.current_dir(root()).env_remove("PGHARNESS_DATABASE_URL");
    cmd
}

async fn count(conn: &mut sqlx::PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_seed_file_loads_with_psql_into_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ci.sql");
    let run = pgharness()
        .args(["seed", "--profile", "seeds/ci.toml", "--seed", "9", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stderr).contains("seed 9"));

    let server = pgharness::testing::shared_server().await.unwrap();
    let db = server.create_database().await.unwrap();
    let psql = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url(), "-f"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        psql.status.success(),
        "{}",
        String::from_utf8_lossy(&psql.stderr)
    );
    let mut conn = db.connect().await.unwrap();
    assert!(count(&mut conn, "app_users").await > 0);
    assert!(count(&mut conn, "goal").await > 0);
    conn.close().await.unwrap();

    // Same seed, same bytes; the file is replaced only because seed wrote it.
    let first = std::fs::read(&out).unwrap();
    let again = pgharness()
        .args(["--format", "json"])
        .args(["seed", "--profile", "seeds/ci.toml", "--seed", "9", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(std::fs::read(&out).unwrap(), first);
    // --format json: what was written, for scripts.
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["seed"], 9);
    assert_eq!(report["out"], out.display().to_string());
    let per_table: u64 = report["rows"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(per_table > 0);
    assert_eq!(report["total_rows"], per_table);
}

#[test]
fn a_file_the_user_owns_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("notes.sql");
    std::fs::write(&out, "select 'my precious notes';\n").unwrap();
    let run = pgharness()
        .args(["seed", "--profile", "seeds/ci.toml", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("notes.sql: exists and was not written by pgharness seed"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "select 'my precious notes';\n"
    );
}

#[tokio::test]
async fn a_database_holding_a_user_table_is_refused_and_left_intact() {
    let server = Server::start_local().await.unwrap();
    let mut admin = server.admin_connection().await.unwrap();
    sqlx::raw_sql("create database crm")
        .execute(&mut admin)
        .await
        .unwrap();
    let crm = server.database("crm");
    let mut conn = crm.connect().await.unwrap();
    sqlx::raw_sql("create table customer (id int primary key, name text); insert into customer values (1, 'Ada'), (2, 'Grace')")
        .execute(&mut conn)
        .await
        .unwrap();
    for extra in [&[][..], &["--reset"][..]] {
        let run = pgharness()
            .args([
                "seed",
                "--profile",
                "seeds/ci.toml",
                "--database-url",
                &crm.url(),
            ])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{extra:?}: {stderr}");
        let expected = if extra.is_empty() {
            "the database is not empty (relation public.customer"
        } else {
            "--reset only undoes this chain, but the database is not at its head"
        };
        assert!(stderr.contains(expected), "{stderr}");
        assert!(
            !stderr.contains(&crm.url()),
            "the password leaked: {stderr}"
        );
    }
    let names: Vec<String> = sqlx::query_scalar("select name from customer order by id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(names, ["Ada", "Grace"]);
    let tables: i64 =
        sqlx::query_scalar("select count(*) from pg_tables where schemaname = 'public'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(tables, 1, "nothing else may appear in the user's database");
    conn.close().await.unwrap();
    admin.close().await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn an_empty_database_is_seeded_and_reset_reseeds_it() {
    let server = pgharness::testing::shared_server().await.unwrap();
    let db = server.create_database().await.unwrap();
    let seed_into = |extra: &[&str]| {
        pgharness()
            .args([
                "seed",
                "--profile",
                "seeds/ci.toml",
                "--database-url",
                &db.url(),
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let run = seed_into(&[]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut conn = db.connect().await.unwrap();
    let users = count(&mut conn, "app_users").await;
    assert!(users > 0);
    // The app's own migrator finds the seeded database at head.
    sqlx::migrate!("./migrations").run(&mut conn).await.unwrap();
    assert_eq!(count(&mut conn, "_sqlx_migrations").await, 15);
    assert_eq!(count(&mut conn, "app_users").await, users);
    // Now it holds the chain's schema and data: refused without --reset ...
    let run = seed_into(&[]);
    assert_eq!(run.status.code(), Some(2));
    // ... and re-seeded with it (the chain's downs, then ups, then data).
    let run = seed_into(&["--reset", "--seed", "77"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(count(&mut conn, "app_users").await, users);
    sqlx::migrate!("./migrations").run(&mut conn).await.unwrap();
    assert_eq!(count(&mut conn, "_sqlx_migrations").await, 15);
    // A record written by an earlier pgharness (the md5 of every table's
    // sorted row hashes) still lets --reset through.
    let comment: String = sqlx::query_scalar(
        "select shobj_description(oid, 'pg_database') from pg_database where datname = current_database()",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(comment.contains("v2-"), "{comment}");
    let legacy = legacy_digest(&mut conn).await;
    let old_record: String = comment
        .split_whitespace()
        .map(|w| match w.strip_prefix("seed=") {
            Some(_) => format!("seed={legacy}"),
            None if w.starts_with("v2-") => legacy.clone(),
            None => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    sqlx::raw_sql(&format!(
        "comment on database {} is '{old_record}'",
        db.name()
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let run = seed_into(&["--reset", "--seed", "78"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    sqlx::migrate!("./migrations").run(&mut conn).await.unwrap();
    // A row the user added is theirs: --reset refuses and keeps it.
    sqlx::raw_sql(
        "insert into app_users (email, display_name) values ('mine@example.com', 'Mine')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let run = seed_into(&["--reset"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the data changed since it was seeded"),
        "{stderr}"
    );
    assert_eq!(count(&mut conn, "app_users").await, users + 1);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn seeding_refuses_system_databases_and_a_failing_seed_changes_nothing() {
    let server = pgharness::testing::shared_server().await.unwrap();
    for system in ["template1", "postgres"] {
        let url = server.database(system).url();
        let run = pgharness()
            .args(["seed", "--profile", "seeds/ci.toml", "--database-url", &url])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{system}: {stderr}");
        assert!(
            stderr.contains("refusing to seed the system database"),
            "{stderr}"
        );
    }
    let mut template1 = server.database("template1").connect().await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'",
    )
    .fetch_one(&mut template1)
    .await
    .unwrap();
    assert_eq!(tables, 0, "template1 was seeded");
    template1.close().await.unwrap();

    // A profile the data cannot satisfy fails after the chain applied: the
    // database is left as empty as it was.
    let db = server.create_database().await.unwrap();
    let profile = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        profile.path(),
        "on_limit = \"error\"\n[tables.goal]\nper_parent = { cycle_id = [7, 7] }\n",
    )
    .unwrap();
    let run = pgharness()
        .args(["seed", "--profile"])
        .arg(profile.path())
        .args(["--database-url", &db.url()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_ne!(run.status.code(), Some(0), "{stderr}");
    let mut conn = db.connect().await.unwrap();
    let objects: i64 = sqlx::query_scalar(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(objects, 0, "a failed seed left the chain behind: {stderr}");
    conn.close().await.unwrap();
    // And the next seed into it is not refused.
    let run = pgharness()
        .args([
            "seed",
            "--profile",
            "seeds/ci.toml",
            "--database-url",
            &db.url(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[tokio::test]
async fn serve_prints_a_url_and_cleans_up_on_ctrl_c_and_on_sigterm() {
    // Ctrl-C is how serving ends (exit 0); SIGTERM stops it too (143).
    for (signal, code) in [(libc::SIGINT, 0), (libc::SIGTERM, 143)] {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = pgharness()
            .env("PGHARNESS_TMPDIR", tmp.path())
            .args([
                "--backend",
                "local",
                "seed",
                "--profile",
                "seeds/ci.toml",
                "--serve",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(url.starts_with("postgres://postgres:"), "{url}");
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        assert!(count(&mut conn, "goal").await > 0);
        sqlx::migrate!("./migrations").run(&mut conn).await.unwrap();
        assert_eq!(count(&mut conn, "_sqlx_migrations").await, 15);
        conn.close().await.unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "signal {signal}");
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
        assert!(left.is_empty(), "signal {signal}: {left:?}");
        assert!(
            sqlx::PgConnection::connect(&url).await.is_err(),
            "the server outlived --serve (signal {signal})"
        );
    }
}

/// The data digest seed records held before version 2: per user table
/// (`schema.table`, in name order) `name:rows:md5 of its rows' md5s,
/// sorted`, joined with `;`, then md5.
async fn legacy_digest(conn: &mut sqlx::PgConnection) -> String {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select n.nspname::text, c.relname::text
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p')
            and n.nspname not in ('pg_catalog', 'information_schema', 'pgharness')
            and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut parts = std::collections::BTreeMap::new();
    for (schema, table) in tables {
        let (n, h): (i64, String) = sqlx::query_as(&format!(
            "select count(*), coalesce(md5(string_agg(h, '' order by h)), '') \
               from (select md5(t::text) as h from only \"{schema}\".\"{table}\" t) s"
        ))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        parts.insert(format!("{schema}.{table}"), format!("{n}:{h}"));
    }
    let text: Vec<String> = parts.iter().map(|(t, v)| format!("{t}:{v}")).collect();
    sqlx::query_scalar("select md5($1)")
        .bind(text.join(";"))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}
