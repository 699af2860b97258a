//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses a subset

use std::path::{Path, PathBuf};

/// The repository root (the sample project).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies the files (not subdirectories) of `from` into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A copy of the sample project with its chain, `properties` (name, text)
/// as its only property files, and `file` of the chain patched (`from` ->
/// `to`, which must occur) when given.
pub fn sample_project(
    properties: &[(&str, &str)],
    patch: Option<(&str, &str, &str)>,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("pgharness.toml"),
        dir.path().join("pgharness.toml"),
    )
    .unwrap();
    copy_dir(&root().join("migrations"), &dir.path().join("migrations"));
    std::fs::create_dir_all(dir.path().join("properties")).unwrap();
    for (name, text) in properties {
        std::fs::write(dir.path().join("properties").join(name), text).unwrap();
    }
    if let Some((file, from, to)) = patch {
        let path = dir.path().join("migrations").join(file);
        let sql = std::fs::read_to_string(&path).unwrap();
        assert!(sql.contains(from), "{file} no longer contains `{from}`");
        std::fs::write(&path, sql.replacen(from, to, 1)).unwrap();
    }
    dir
}

/// A property file of the sample project: (name, text).
pub fn sample_property(name: &str) -> (&str, String) {
    let text = std::fs::read_to_string(root().join("properties").join(name)).unwrap();
    (name, text)
}

/// `check --only properties` of `project` through the library.
pub async fn run_properties(
    project: &Path,
    cases: u32,
    seed: u64,
) -> Vec<pgharness::properties::PropertyResult> {
    use pgharness::properties::{check, CheckOptions, PropertyKind};
    let config = pgharness::config::Config::load(&project.join("pgharness.toml")).unwrap();
    let harness = pgharness::testing::harness_for(config).await.unwrap();
    let options = CheckOptions {
        properties: vec![PropertyKind::Properties],
        migration: None,
        cases,
        seed: Some(seed),
        ..Default::default()
    };
    check(&harness, &options).await.unwrap().results
}

/// A property result's message and evidence, for assertion messages.
pub fn evidence(r: &pgharness::properties::PropertyResult) -> String {
    format!("{}\n{}", r.message, r.diff.as_deref().unwrap_or(""))
}

/// `pgharness -c <config> --format json <args>` from the repository root,
/// which must exit `code`: its JSON report.
pub fn json_run(config: &Path, args: &[&str], code: i32) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .current_dir(root())
        .env_remove("PGHARNESS_DATABASE_URL")
        .arg("-c")
        .arg(config)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A fresh empty database on the shared test server, connected.
pub async fn fresh_database() -> sqlx::PgConnection {
    let server = pgharness::testing::shared_server()
        .await
        .expect("start the shared test server");
    let db = server.create_database().await.expect("create a database");
    db.connect().await.expect("connect to the new database")
}

/// Runs `sql` (any number of statements), panicking with it on failure.
pub async fn run_sql(conn: &mut sqlx::PgConnection, sql: &str) {
    if let Err(e) = sqlx::raw_sql(sql).execute(&mut *conn).await {
        panic!("SQL failed: {e}\n{sql}");
    }
}

/// The schema fixture chain (`tests/fixtures/schema/*.sql`), in order.
pub fn schema_fixture_files() -> Vec<PathBuf> {
    let dir = root().join("tests/fixtures/schema");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read tests/fixtures/schema")
        .map(|entry| entry.expect("list tests/fixtures/schema").path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "fixture chain missing in {}",
        dir.display()
    );
    files
}
