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

    // A leftover of a killed run on this machine (a pid that cannot be
    // alive) and a database of a live run (pid 1 always exists).
    let host = users_server.new_database_name("x");
    let host_tag = host[DATABASE_PREFIX.len()..]
        .split('_')
        .next()
        .unwrap()
        .to_string();
    let dead = format!("{DATABASE_PREFIX}{host_tag}_4000000000_0_v3");
    let live = format!("{DATABASE_PREFIX}{host_tag}_1_0_v3");
    for name in [&dead, &live] {
        sqlx::raw_sql(&format!("create database \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap();
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
    let ours: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with(DATABASE_PREFIX) && **n != live)
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
