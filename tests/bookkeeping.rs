//! The chain tool's own history, recorded in a database the harness hands
//! out, must be what the tool itself writes: the real sqlx migrator finds a
//! head database up to date and applies exactly what lies past a level;
//! the other tools' tables, columns, keys and rows are compared with the
//! tools' definitions and with values worked out here independently.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pgharness::chain::bookkeeping::{
    bookkeeping_schemas, bookkeeping_sql, bookkeeping_tables, record_bookkeeping,
};
use pgharness::chain::{discover, LayoutChoice};
use pgharness::testing::harness_for_dir;
use pgharness::Harness;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::PgConnection;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

async fn harness(rel: &str) -> Arc<Harness> {
    harness_for_dir(fixture(rel)).await.unwrap()
}

/// A database at `level` with the chain's bookkeeping recorded, connected.
async fn recorded(harness: &Harness, level: usize) -> PgConnection {
    let db = harness.database_at_level(level).await.unwrap();
    let mut conn = db.connect().await.unwrap();
    record_bookkeeping(&mut conn, harness.chain(), level)
        .await
        .unwrap();
    conn
}

/// A column as `information_schema.columns` describes it.
#[derive(Debug, PartialEq, Eq)]
struct Col {
    name: String,
    data_type: String,
    max_length: Option<i32>,
    nullable: bool,
    default: Option<String>,
}

fn col(
    name: &str,
    data_type: &str,
    max_length: Option<i32>,
    nullable: bool,
    default: Option<&str>,
) -> Col {
    Col {
        name: name.into(),
        data_type: data_type.into(),
        max_length,
        nullable,
        default: default.map(Into::into),
    }
}

/// (column_name, data_type, character_maximum_length, is_nullable,
/// column_default).
type ColumnRow = (String, String, Option<i32>, String, Option<String>);

async fn columns(conn: &mut PgConnection, schema: &str, table: &str) -> Vec<Col> {
    let rows: Vec<ColumnRow> = sqlx::query_as(
        "SELECT column_name::text, data_type::text, character_maximum_length::int, is_nullable::text, column_default::text \
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(name, data_type, max_length, nullable, default)| Col {
            name,
            data_type,
            max_length,
            nullable: nullable == "YES",
            default,
        })
        .collect()
}

/// (name, definition) of the table's constraints, then of its indexes.
async fn keys(
    conn: &mut PgConnection,
    qualified: &str,
) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let constraints = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY conname",
    )
    .bind(qualified)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let indexes = sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid = $1::regclass ORDER BY c.relname",
    )
    .bind(qualified)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    (constraints, indexes)
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn strings(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(&mut *conn).await.unwrap()
}

/// (version, description, installed_on as text, execution_time, checksum).
type SqlxRow = (i64, String, String, i64, Vec<u8>);

async fn sqlx_rows(conn: &mut PgConnection) -> Vec<SqlxRow> {
    sqlx::query_as(
        "SELECT version, description, installed_on::text, execution_time, checksum FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sqlx_migrator_finds_a_head_database_up_to_date() {
    let harness = harness("bookkeeping/sqlx").await;
    let migrator = Migrator::new(fixture("bookkeeping/sqlx").as_path())
        .await
        .unwrap();
    let head = harness.chain().migrations.len();
    assert_eq!(head, 4);

    // Without the bookkeeping sqlx runs the first migration again, which
    // fails: what the recorded history must prevent.
    let bare = harness.database_at(None).await.unwrap();
    let mut conn = bare.connect().await.unwrap();
    match migrator.run(&mut conn).await {
        Err(MigrateError::ExecuteMigration(_, 1)) => {}
        other => panic!("expected sqlx to fail re-running migration 1, got {other:?}"),
    }

    let mut conn = recorded(&harness, head).await;
    let before = sqlx_rows(&mut conn).await;
    // sqlx's own reading of the same files: version, description
    // (`2_note_and_tag.sql` -> "note and tag"), SHA-384 checksum of the
    // CRLF file's raw bytes.
    let expected: Vec<(i64, String, Vec<u8>)> = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| (m.version, m.description.to_string(), m.checksum.to_vec()))
        .collect();
    let got: Vec<(i64, String, Vec<u8>)> = before
        .iter()
        .map(|r| (r.0, r.1.clone(), r.4.clone()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        got.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["account", "note and tag", "note index", "audit log"]
    );

    migrator.run(&mut conn).await.unwrap();
    assert_eq!(
        sqlx_rows(&mut conn).await,
        before,
        "sqlx changed its history: it applied something"
    );
}

#[tokio::test]
async fn the_sqlx_migrator_applies_exactly_what_lies_past_the_level() {
    let harness = harness("bookkeeping/sqlx").await;
    let migrator = Migrator::new(fixture("bookkeeping/sqlx").as_path())
        .await
        .unwrap();
    let mut conn = recorded(&harness, 2).await;
    let before = sqlx_rows(&mut conn).await;
    assert_eq!(before.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2]);
    assert!(before.iter().all(|r| r.3 == -1));

    migrator.run(&mut conn).await.unwrap();
    let after = sqlx_rows(&mut conn).await;
    assert_eq!(after.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(after[..2], before[..], "rows 1 and 2 were rewritten");
    // sqlx timed the two it ran (nanoseconds) where the recorded rows keep -1.
    assert!(after[2..].iter().all(|r| r.3 >= 0), "{after:?}");
    let made = strings(
        &mut conn,
        "SELECT relname::text FROM pg_class WHERE relname IN ('note_account_id_idx', 'audit_log') ORDER BY 1",
    )
    .await;
    assert_eq!(made, ["audit_log", "note_account_id_idx"]);

    // And a second run is a no-op.
    migrator.run(&mut conn).await.unwrap();
    assert_eq!(sqlx_rows(&mut conn).await, after);
}

#[tokio::test]
async fn a_chain_of_up_files_gets_golang_migrate_s_table_beside_sqlx_s() {
    let harness = harness("bookkeeping/golang_migrate").await;
    assert_eq!(
        bookkeeping_tables(harness.chain()),
        ["public._sqlx_migrations", "public.schema_migrations"]
    );
    let mut conn = recorded(&harness, 2).await;
    // database/postgres/postgres.go, ensureVersionTable.
    assert_eq!(
        columns(&mut conn, "public", "schema_migrations").await,
        [
            col("version", "bigint", None, false, None),
            col("dirty", "boolean", None, false, None),
        ]
    );
    let (constraints, _) = keys(&mut conn, "public.schema_migrations").await;
    assert_eq!(
        constraints,
        pairs(&[("schema_migrations_pkey", "PRIMARY KEY (version)")])
    );
    // One row: the last version (`0002` read as a number), not dirty.
    let rows: Vec<(i64, bool)> = sqlx::query_as("SELECT version, dirty FROM schema_migrations")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, [(2, false)]);
    let migrator = Migrator::new(fixture("bookkeeping/golang_migrate").as_path())
        .await
        .unwrap();
    migrator.run(&mut conn).await.unwrap();

    let mut conn = recorded(&harness, 1).await;
    let rows: Vec<(i64, bool)> = sqlx::query_as("SELECT version, dirty FROM schema_migrations")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, [(1, false)]);

    // A plain `.sql` (which golang-migrate never reads) or a
    // `-- no-transaction` marks a chain as sqlx's alone.
    for sqlx_only in ["bookkeeping/sqlx", "layouts/sqlx"] {
        let chain = discover(&fixture(sqlx_only), LayoutChoice::Auto).unwrap();
        assert_eq!(
            bookkeeping_tables(&chain),
            ["public._sqlx_migrations"],
            "{sqlx_only}"
        );
    }
}

#[tokio::test]
async fn a_schema_migrations_table_of_the_chain_s_own_is_left_alone() {
    let harness = harness("bookkeeping/sqlx_own_table").await;
    assert_eq!(
        bookkeeping_tables(harness.chain()),
        ["public._sqlx_migrations"]
    );
    let mut conn = recorded(&harness, 1).await;
    let rows = strings(&mut conn, "SELECT applied FROM schema_migrations").await;
    assert_eq!(rows, ["by the app"]);
    assert_eq!(sqlx_rows(&mut conn).await.len(), 1);
}

#[tokio::test]
async fn diesel_history_is_diesel_s() {
    let harness = harness("layouts/diesel").await;
    assert_eq!(
        bookkeeping_tables(harness.chain()),
        ["public.__diesel_schema_migrations"]
    );
    let mut conn = recorded(&harness, 4).await;
    // diesel/src/migration/setup_migration_table.sql.
    assert_eq!(
        columns(&mut conn, "public", "__diesel_schema_migrations").await,
        [
            col("version", "character varying", Some(50), false, None),
            col(
                "run_on",
                "timestamp without time zone",
                None,
                false,
                Some("CURRENT_TIMESTAMP")
            ),
        ]
    );
    let (constraints, _) = keys(&mut conn, "public.__diesel_schema_migrations").await;
    assert_eq!(
        constraints,
        pairs(&[("__diesel_schema_migrations_pkey", "PRIMARY KEY (version)")])
    );
    // The folder names before `_`, dashes removed
    // (migrations_internals::version_from_string).
    let versions = strings(
        &mut conn,
        "SELECT version::text FROM __diesel_schema_migrations ORDER BY version",
    )
    .await;
    assert_eq!(
        versions,
        [
            "00000000000000",
            "20240102030405",
            "20240103000000",
            "20240110000000"
        ]
    );
    let recent = strings(
        &mut conn,
        "SELECT (count(*) FILTER (WHERE run_on > localtimestamp - interval '1 hour'))::text FROM __diesel_schema_migrations",
    )
    .await;
    assert_eq!(recent, ["4"]);

    let mut conn = recorded(&harness, 2).await;
    let versions = strings(
        &mut conn,
        "SELECT version::text FROM __diesel_schema_migrations ORDER BY version",
    )
    .await;
    assert_eq!(versions, ["00000000000000", "20240102030405"]);
}

#[tokio::test]
async fn dbmate_history_is_dbmate_s() {
    let harness = harness("layouts/dbmate").await;
    assert_eq!(
        bookkeeping_tables(harness.chain()),
        ["public.schema_migrations"]
    );
    let mut conn = recorded(&harness, 3).await;
    // pkg/driver/postgres/postgres.go, CreateMigrationsTable (dbmate 2.27+).
    assert_eq!(
        columns(&mut conn, "public", "schema_migrations").await,
        [col("version", "character varying", None, false, None)]
    );
    let (constraints, _) = keys(&mut conn, "public.schema_migrations").await;
    assert_eq!(
        constraints,
        pairs(&[("schema_migrations_pkey", "PRIMARY KEY (version)")])
    );
    let versions = strings(
        &mut conn,
        "SELECT version FROM schema_migrations ORDER BY version",
    )
    .await;
    assert_eq!(
        versions,
        ["20240102030405", "20240103000000", "20240110000000"]
    );
}

#[tokio::test]
async fn a_table_that_clashes_with_the_tool_s_is_reported() {
    let harness = harness("bookkeeping/dbmate_own_table").await;
    let db = harness.database_at(None).await.unwrap();
    let mut conn = db.connect().await.unwrap();
    let err = record_bookkeeping(&mut conn, harness.chain(), 2)
        .await
        .unwrap_err();
    let message = err.to_string();
    for part in [
        "schema_migrations",
        "20240101000000_history",
        "name text",
        "version character varying",
        "dbmate",
    ] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
    assert_eq!(err.exit_code(), 2);
    // Nothing was written.
    let rows = strings(&mut conn, "SELECT name FROM schema_migrations").await;
    assert!(rows.is_empty(), "{rows:?}");
}

#[tokio::test]
async fn a_table_of_the_tool_s_shape_made_by_the_chain_is_used() {
    let harness = harness("bookkeeping/dbmate_same_table").await;
    let mut conn = recorded(&harness, 2).await;
    assert_eq!(
        columns(&mut conn, "public", "schema_migrations").await,
        [col("version", "character varying", Some(128), false, None)]
    );
    let versions = strings(
        &mut conn,
        "SELECT version FROM schema_migrations ORDER BY version",
    )
    .await;
    assert_eq!(versions, ["20240101000000", "20240102000000"]);
}

/// (installed_rank, version, description, type, script, checksum,
/// installed_by is current_user, execution_time, success).
type FlywayRow = (
    i32,
    Option<String>,
    String,
    String,
    String,
    Option<i32>,
    bool,
    i32,
    bool,
);

#[tokio::test]
async fn flyway_history_is_flyway_s() {
    let harness = harness("bookkeeping/flyway").await;
    assert_eq!(
        bookkeeping_tables(harness.chain()),
        ["public.flyway_schema_history"]
    );
    let mut conn = recorded(&harness, 4).await;
    // PostgreSQLDatabase.getRawCreateScript.
    assert_eq!(
        columns(&mut conn, "public", "flyway_schema_history").await,
        [
            col("installed_rank", "integer", None, false, None),
            col("version", "character varying", Some(50), true, None),
            col("description", "character varying", Some(200), false, None),
            col("type", "character varying", Some(20), false, None),
            col("script", "character varying", Some(1000), false, None),
            col("checksum", "integer", None, true, None),
            col("installed_by", "character varying", Some(100), false, None),
            col(
                "installed_on",
                "timestamp without time zone",
                None,
                false,
                Some("now()")
            ),
            col("execution_time", "integer", None, false, None),
            col("success", "boolean", None, false, None),
        ]
    );
    let (constraints, indexes) = keys(&mut conn, "public.flyway_schema_history").await;
    assert_eq!(
        constraints,
        pairs(&[("flyway_schema_history_pk", "PRIMARY KEY (installed_rank)")])
    );
    assert_eq!(
        indexes,
        pairs(&[
            (
                "flyway_schema_history_pk",
                "CREATE UNIQUE INDEX flyway_schema_history_pk ON public.flyway_schema_history USING btree (installed_rank)"
            ),
            (
                "flyway_schema_history_s_idx",
                "CREATE INDEX flyway_schema_history_s_idx ON public.flyway_schema_history USING btree (success)"
            ),
        ])
    );
    // Checksums: zlib.crc32 of each file's lines without their terminators
    // (and without V002's byte order mark), as a signed int — Flyway's
    // ChecksumCalculator; computed with
    // `python3 -c 'import zlib; print(zlib.crc32(b"..."))'`.
    let rows: Vec<FlywayRow> = sqlx::query_as(
        "SELECT installed_rank, version, description, type, script, checksum, installed_by = current_user, execution_time, success \
         FROM flyway_schema_history ORDER BY installed_rank",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let s = |v: &str| v.to_string();
    assert_eq!(
        rows,
        [
            (
                1,
                Some(s("1")),
                s("create account"),
                s("SQL"),
                s("V1__create_account.sql"),
                Some(-215_201_422),
                true,
                0,
                true
            ),
            (
                2,
                Some(s("1.1")),
                s("add note"),
                s("SQL"),
                s("sub/V1_1__add_note.sql"),
                Some(-1_293_372_655),
                true,
                0,
                true
            ),
            (
                3,
                Some(s("002")),
                s("note index"),
                s("SQL"),
                s("V002__note_index.sql"),
                Some(756_575_852),
                true,
                0,
                true
            ),
            (
                4,
                None,
                s("account view"),
                s("SQL"),
                s("R__account_view.sql"),
                Some(-53_365_165),
                true,
                0,
                true
            ),
        ]
    );

    let mut conn = recorded(&harness, 2).await;
    let ranks = strings(
        &mut conn,
        "SELECT installed_rank || ':' || version FROM flyway_schema_history ORDER BY installed_rank",
    )
    .await;
    assert_eq!(ranks, ["1:1", "2:1.1"]);
}

#[tokio::test]
async fn supabase_history_is_the_cli_s() {
    let harness = harness("bookkeeping/supabase").await;
    assert_eq!(
        bookkeeping_tables(harness.chain()),
        ["supabase_migrations.schema_migrations"]
    );
    assert_eq!(
        bookkeeping_schemas(harness.chain()),
        ["supabase_migrations"]
    );
    let mut conn = recorded(&harness, 3).await;
    // pkg/migration/history.go, CreateMigrationTable.
    assert_eq!(
        columns(&mut conn, "supabase_migrations", "schema_migrations").await,
        [
            col("version", "text", None, false, None),
            col("statements", "ARRAY", None, true, None),
            col("name", "text", None, true, None),
        ]
    );
    let (constraints, _) = keys(&mut conn, "supabase_migrations.schema_migrations").await;
    assert_eq!(
        constraints,
        pairs(&[("schema_migrations_pkey", "PRIMARY KEY (version)")])
    );
    // The statements as pkg/parser's SplitAndTrim cuts the files: comments
    // kept, `;` inside comments, dollar quotes, strings, parentheses and
    // BEGIN ATOMIC bodies not splitting, the trailing `;` and white space
    // dropped.
    let rows: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let s = |v: &str| v.to_string();
    assert_eq!(
        rows,
        [
            (
                s("20240102030405"),
                s("create_account"),
                vec![
                    s("-- Accounts; and their emails.\ncreate table account (id bigint primary key, email text)"),
                    s("create function account_count() returns bigint language sql as $$\n  select count(*) from account; -- counted\n$$"),
                    s("comment on table account is 'who; signs in'"),
                ]
            ),
            (
                s("20240103000000"),
                s("note"),
                vec![
                    s("create table note (id bigint primary key, account_id bigint references account(id))"),
                    s("create function note_total() returns bigint language sql\nbegin atomic\n  select count(*) from note;\nend"),
                ]
            ),
            (
                s("20240110000000"),
                s("note_index"),
                vec![s("create index note_account_id_idx on note (account_id)")]
            ),
        ]
    );
}

#[tokio::test]
async fn nothing_is_recorded_at_level_zero() {
    let harness = harness("layouts/dbmate").await;
    assert_eq!(bookkeeping_sql(harness.chain(), 0), None);
    let mut conn = recorded(&harness, 0).await;
    let tables = strings(
        &mut conn,
        "SELECT relname::text FROM pg_class WHERE relname = 'schema_migrations'",
    )
    .await;
    assert!(tables.is_empty(), "{tables:?}");
}
