//! Discovery and application of one fixture chain per layout, on a real
//! server, and the exact position of a failing statement.

use std::path::{Path, PathBuf};

use pgharness::chain::{discover, Layout, LayoutChoice};
use pgharness::Error;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

struct Expect {
    dir: &'static str,
    layout: Layout,
    ids: &'static [&'static str],
    downs: usize,
    /// Ids of migrations that run outside a transaction.
    no_transaction: &'static [&'static str],
}

const CASES: &[Expect] = &[
    Expect {
        dir: "layouts/sqlx",
        layout: Layout::Sqlx,
        ids: &["0001_account", "0002_note", "0010_note_index"],
        downs: 3,
        no_transaction: &["0010_note_index"],
    },
    Expect {
        dir: "layouts/sqlx_plain",
        layout: Layout::Sqlx,
        ids: &["1_account", "2_note", "10_note_index"],
        downs: 0,
        no_transaction: &[],
    },
    Expect {
        dir: "layouts/diesel",
        layout: Layout::Diesel,
        ids: &[
            "00000000000000_diesel_initial_setup",
            "20240102030405_create account",
            "20240103000000_create_note",
            "20240110000000_note index",
        ],
        downs: 4,
        no_transaction: &["20240110000000_note index"],
    },
    Expect {
        dir: "layouts/dbmate",
        layout: Layout::Dbmate,
        ids: &[
            "20240102030405_account",
            "20240103000000_note",
            "20240110000000_note_index",
        ],
        downs: 3,
        no_transaction: &["20240110000000_note_index"],
    },
    Expect {
        dir: "layouts/flyway",
        layout: Layout::Flyway,
        ids: &["1_account", "1.2_note", "1.10_note_index"],
        downs: 1,
        no_transaction: &["1.10_note_index"],
    },
    Expect {
        dir: "layouts/supabase",
        layout: Layout::Supabase,
        ids: &[
            "20240102030405_account",
            "20240103000000_note",
            "20240110000000_note_index",
        ],
        downs: 0,
        no_transaction: &[],
    },
];

#[test]
fn every_layout_is_detected_and_ordered() {
    for case in CASES {
        let chain = discover(&fixture(case.dir), LayoutChoice::Auto)
            .unwrap_or_else(|e| panic!("{}: {e}", case.dir));
        assert_eq!(chain.layout, case.layout, "{}", case.dir);
        let ids: Vec<String> = chain.migrations.iter().map(|m| m.id()).collect();
        assert_eq!(ids, case.ids, "{}", case.dir);
        let downs = chain.migrations.iter().filter(|m| m.down.is_some()).count();
        assert_eq!(downs, case.downs, "{}", case.dir);
        let no_tx: Vec<String> = chain
            .migrations
            .iter()
            .filter(|m| !m.up.transaction)
            .map(|m| m.id())
            .collect();
        assert_eq!(no_tx, case.no_transaction, "{}", case.dir);
    }
}

#[test]
fn dbmate_sections_keep_file_line_numbers() {
    let chain = discover(&fixture("layouts/dbmate"), LayoutChoice::Auto).unwrap();
    let first = &chain.migrations[0];
    assert_eq!(first.up.line_offset, 1);
    assert!(first.up.sql.starts_with("create table account"));
    let down = first.down.as_ref().unwrap();
    assert_eq!(down.line_offset, 4);
    assert_eq!(down.sql.trim(), "drop table account;");
}

#[tokio::test]
async fn every_layout_applies_to_a_real_server() {
    for case in CASES {
        let harness = pgharness::testing::harness_for_dir(fixture(case.dir))
            .await
            .unwrap();
        let db = harness
            .database_at(None)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.dir));
        let mut conn = db.connect().await.unwrap();
        let tables: i64 = sqlx::query_scalar(
            "select count(*) from pg_tables where schemaname = 'public' and tablename in ('account', 'note')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(tables, 2, "{}", case.dir);
        let index: i64 = sqlx::query_scalar(
            "select count(*) from pg_indexes where indexname = 'note_account_id_idx'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(index, 1, "{}", case.dir);
    }
}

#[tokio::test]
async fn a_syntax_error_is_reported_at_its_file_line_and_column() {
    let harness = pgharness::testing::harness_for_dir(fixture("broken/syntax_error"))
        .await
        .unwrap();
    let err = harness.database_at(None).await.unwrap_err();
    let Error::Migration { migration, error } = err else {
        panic!("expected a migration error, got {err}");
    };
    assert_eq!(migration, "0003_tags");
    assert!(
        error.path.ends_with("broken/syntax_error/0003_tags.up.sql"),
        "{}",
        error.path.display()
    );
    // `create tabel note_tag (` is line 4; `tabel` starts at column 8.
    assert_eq!((error.line, error.col), (4, 8), "{error}");
    assert_eq!(error.sqlstate.as_deref(), Some("42601"));
    assert!(
        error.message.contains("syntax error at or near \"tabel\""),
        "{error}"
    );
    assert_eq!(error.source_line, "create tabel note_tag (");
    // The rendering points at the column with a caret.
    assert!(
        error
            .to_string()
            .contains("  4 | create tabel note_tag (\n    |        ^"),
        "{error}"
    );
    // The database at version 2 is still fine: failures do not leak into
    // earlier templates.
    let db = harness.database_at(Some("0002")).await.unwrap();
    let mut conn = db.connect().await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from note")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_runtime_error_points_at_its_statement_in_a_dbmate_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("20240101000000_a.sql"),
        "-- migrate:up\ncreate table a (id int primary key);\ninsert into a values (1);\ninsert into a values (1);\n-- migrate:down\ndrop table a;\n",
    )
    .unwrap();
    let harness = pgharness::testing::harness_for_dir(dir.path())
        .await
        .unwrap();
    let Error::Migration { error, .. } = harness.database_at(None).await.unwrap_err() else {
        panic!("expected a migration error");
    };
    assert_eq!((error.line, error.col), (4, 1), "{error}");
    assert_eq!(error.sqlstate.as_deref(), Some("23505"));
    assert!(
        error
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("(id)=(1) already exists"),
        "{error}"
    );
}

#[tokio::test]
async fn statements_that_cannot_run_in_a_transaction_get_a_layout_specific_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_a.up.sql"),
        "create table a (id int);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("0002_idx.up.sql"),
        "create index concurrently a_id on a (id);\n",
    )
    .unwrap();
    let harness = pgharness::testing::harness_for_dir(dir.path())
        .await
        .unwrap();
    let Error::Migration { error, .. } = harness.database_at(None).await.unwrap_err() else {
        panic!("expected a migration error");
    };
    assert_eq!(error.sqlstate.as_deref(), Some("25001"));
    assert!(
        error
            .hint
            .as_deref()
            .unwrap_or("")
            .contains("-- no-transaction"),
        "{error}"
    );
}

#[tokio::test]
async fn scripts_that_manage_their_own_transaction_are_not_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_a.up.sql"),
        "begin;\ncreate table a (id int);\ncommit;\ncreate index concurrently a_id on a (id);\n",
    )
    .unwrap();
    let harness = pgharness::testing::harness_for_dir(dir.path())
        .await
        .unwrap();
    let db = harness.database_at(None).await.unwrap();
    let mut conn = db.connect().await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from pg_indexes where indexname = 'a_id'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
