//! The history a chain's own tool keeps in the database, written as that
//! tool writes it, so that a database the harness hands to an application
//! at some version looks to the application's migrator (`sqlx::migrate!()
//! .run(&pool)`, `diesel migration run`, `dbmate up`, `flyway migrate`,
//! `supabase migration up`) like one that tool migrated to that version:
//! up to date at head, the remaining migrations pending below it.
//!
//! Every table definition, row and derived value below is the tool's own,
//! read from its source; each function names the file it follows.
//!
//! | layout | table(s) | version recorded |
//! |---|---|---|
//! | sqlx | `_sqlx_migrations` (and golang-migrate's `schema_migrations` when the chain could be golang-migrate's, see [`bookkeeping_tables`]) | the file name's number |
//! | diesel | `__diesel_schema_migrations` | the folder name before `_`, dashes removed |
//! | dbmate | `schema_migrations` | the file name's leading digits, as written |
//! | flyway | `flyway_schema_history` | `V<version>` with `_` read as `.`; repeatables without one |
//! | supabase | `supabase_migrations.schema_migrations` | the file name's leading digits, as written |
//!
//! Tables the tools create unqualified (all but Supabase's) go to the
//! session's current schema (the first schema of `search_path` that
//! exists), as the tools' own `CREATE TABLE`s do.
//!
//! ```no_run
//! # async fn f(conn: &mut sqlx::PgConnection) -> Result<(), pgharness::Error> {
//! use pgharness::chain::{bookkeeping, discover, LayoutChoice};
//! let chain = discover("migrations".as_ref(), LayoutChoice::Auto)?;
//! // The database holds the chain's first 3 migrations: record them.
//! bookkeeping::record_bookkeeping(conn, &chain, 3).await?;
//! # Ok(()) }
//! ```

use std::sync::LazyLock;

use sha2::{Digest, Sha384};
use sqlx::{Connection, PgConnection};

use super::{Chain, Layout, Migration};

/// The SQL that creates the tables the chain's tool keeps its history in,
/// exactly as the tool creates them, and records the first `level`
/// migrations of `chain.migrations` as applied, as the tool records them
/// when it applies them (a `level` past the chain's end means all of it).
///
/// `None` at level 0: nothing applied is a database no tool has touched
/// (the Supabase CLI does not even create its table when nothing is
/// pending).
///
/// The SQL holds only literals (no parameters) and is meant to run in one
/// transaction on a database the chain's first `level` migrations built;
/// [`record_bookkeeping`] runs it, leaving alone a table the chain made
/// itself. A checksum is computed from the migration's file as the tool
/// reads it (sqlx and the Supabase CLI keep a byte order mark that the
/// chain reader strips), read again here; a file that can no longer be
/// read is taken as discovery read it.
///
/// ```no_run
/// use pgharness::chain::{bookkeeping::bookkeeping_sql, discover, LayoutChoice};
/// let chain = discover("migrations".as_ref(), LayoutChoice::Auto)?;
/// if let Some(sql) = bookkeeping_sql(&chain, chain.migrations.len()) {
///     println!("{sql}");
/// }
/// # Ok::<(), pgharness::chain::ChainError>(())
/// ```
pub fn bookkeeping_sql(chain: &Chain, level: usize) -> Option<String> {
    if level == 0 {
        return None;
    }
    let mut out = String::new();
    for table in history_tables(chain, level) {
        for statement in table.create.iter().chain(&table.rows) {
            out.push_str(statement);
            out.push_str(";\n");
        }
    }
    Some(out)
}

/// The tables [`bookkeeping_sql`] creates, qualified (`schema.name`, each
/// part as PostgreSQL would print it), so that schema comparisons can
/// leave them out. Tables the tool creates in the session's current
/// schema are named in `public`, where a default `search_path` puts them.
///
/// A sqlx-layout chain might be run by golang-migrate instead, which
/// reads the same file names: when every migration is a `.up.sql` with an
/// unsigned version, none starts with sqlx's `-- no-transaction`, and no
/// migration creates a `schema_migrations` table of its own (golang-migrate
/// creates that table before the first migration runs, so such a chain
/// fails under it), golang-migrate's `schema_migrations` is written beside
/// sqlx's `_sqlx_migrations`. Each tool reads only its own table, so the
/// application's migrator finds what it expects whichever it is.
pub fn bookkeeping_tables(chain: &Chain) -> Vec<String> {
    history_tables(chain, chain.migrations.len())
        .iter()
        .map(|t| format!("{}.{}", t.schema.unwrap_or("public"), t.name))
        .collect()
}

/// The schemas [`bookkeeping_sql`] creates (`supabase_migrations` for a
/// Supabase chain; the other tools create none).
pub fn bookkeeping_schemas(chain: &Chain) -> Vec<String> {
    match chain.layout {
        Layout::Supabase => vec![SUPABASE_SCHEMA.to_string()],
        _ => Vec::new(),
    }
}

/// Runs [`bookkeeping_sql`] on `conn`, in one transaction.
///
/// A table of the tool's name that the chain's own migrations created is
/// kept: when it has the columns the tool reads and writes (of the same
/// types; `text` and `varchar` of any length count as one), the tool would
/// have used it as it is, so only the rows are written (Flyway's
/// `CREATE TABLE` is skipped, the other tools' are `IF NOT EXISTS`
/// already). When it has other columns, the chain cannot run under its
/// tool (the tool creates its table before the first migration, so the
/// chain's `CREATE TABLE` fails, or the tool's inserts do): that is an
/// [`Error::Input`](crate::Error::Input) naming the table, the migration
/// that creates it and both sets of columns, except for golang-migrate's
/// table beside sqlx's, which is only written in case the chain is
/// golang-migrate's and is then left out.
pub async fn record_bookkeeping(
    conn: &mut PgConnection,
    chain: &Chain,
    level: usize,
) -> Result<(), crate::Error> {
    if level == 0 {
        return Ok(());
    }
    let level = level.min(chain.migrations.len());
    let mut tx = conn.begin().await.map_err(|e| sql_error("begin", e))?;
    for table in history_tables(chain, level) {
        let what = format!(
            "recording {}'s history in {}",
            table.tool,
            table.display_name()
        );
        let found = existing_table(&mut tx, &table)
            .await
            .map_err(|e| sql_error(&what, e))?;
        let statements: Vec<&String> = match found {
            None => table.create.iter().chain(&table.rows).collect(),
            Some(existing) => match table.incompatibility(&existing) {
                None => table.reuse.iter().chain(&table.rows).collect(),
                Some(_) if table.guessed => {
                    tracing::debug!(
                        "{} exists with other columns: the chain keeps a table of that name, so it is not run by {}; not recorded",
                        table.display_name(),
                        table.tool
                    );
                    continue;
                }
                Some(problem) => {
                    return Err(crate::Error::Input(conflict_message(
                        chain, level, &table, &problem,
                    )))
                }
            },
        };
        for statement in statements {
            sqlx::raw_sql(statement.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| sql_error(&what, e))?;
        }
    }
    tx.commit().await.map_err(|e| sql_error("commit", e))?;
    Ok(())
}

fn sql_error(what: &str, source: sqlx::Error) -> crate::Error {
    crate::Error::Server(crate::server::ServerError::Sql {
        what: what.to_string(),
        source,
    })
}

/// A table as it exists in the database: its kind and columns.
struct Existing {
    /// `pg_class.relkind` (`r` a table, `p` a partitioned one, `v` a view...).
    relkind: String,
    /// (name, `format_type`) in column order.
    columns: Vec<(String, String)>,
}

async fn existing_table(
    conn: &mut PgConnection,
    table: &HistoryTable,
) -> Result<Option<Existing>, sqlx::Error> {
    // The tools resolve an unqualified table in the current schema.
    let relkind: Option<String> = sqlx::query_scalar(
        "SELECT c.relkind::text FROM pg_class c \
         WHERE c.oid = to_regclass(format('%I.%I', coalesce($1::text, current_schema()::text, 'public'), $2::text))",
    )
    .bind(table.schema)
    .bind(table.name)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(relkind) = relkind else {
        return Ok(None);
    };
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
         WHERE a.attrelid = to_regclass(format('%I.%I', coalesce($1::text, current_schema()::text, 'public'), $2::text)) \
           AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
    )
    .bind(table.schema)
    .bind(table.name)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(Existing { relkind, columns }))
}

fn conflict_message(chain: &Chain, level: usize, table: &HistoryTable, problem: &str) -> String {
    let creator = chain.migrations[..level]
        .iter()
        .find(|m| creates_table(&m.up.sql, table.name))
        .map(|m| format!(" (migration {} creates it)", m.id()))
        .unwrap_or_default();
    let wanted: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.type_name))
        .collect();
    format!(
        "{name} already exists{creator}, but {problem}: {tool} keeps its history in {name} ({wanted}) and creates it before the first migration runs, so this chain cannot run under {tool} as it is (its own table clashes with the tool's); rename the chain's table",
        name = table.display_name(),
        tool = table.tool,
        wanted = wanted.join(", "),
    )
}

/// One column of a history table: name and type as `format_type` prints it.
struct Column {
    name: &'static str,
    type_name: &'static str,
    /// Added by the tool's own `ADD COLUMN IF NOT EXISTS` to a table that
    /// lacks it (Supabase's later columns).
    added: bool,
}

const fn col(name: &'static str, type_name: &'static str) -> Column {
    Column {
        name,
        type_name,
        added: false,
    }
}

/// A table a tool keeps its history in, with the SQL that makes it and the
/// rows it holds at some level.
struct HistoryTable {
    tool: &'static str,
    /// `None`: the session's current schema.
    schema: Option<&'static str>,
    name: &'static str,
    /// The columns the tool reads and writes.
    columns: &'static [Column],
    /// Written only in case the chain is this tool's (golang-migrate
    /// beside sqlx): a table of that name with other columns is the
    /// chain's, and is left alone.
    guessed: bool,
    /// The tool's statements creating the table (and its schema).
    create: Vec<String>,
    /// What the tool still runs on a table that exists (its `IF NOT
    /// EXISTS` statements; Flyway's check for the table is its own).
    reuse: Vec<String>,
    /// The statements writing the rows.
    rows: Vec<String>,
}

impl HistoryTable {
    fn display_name(&self) -> String {
        match self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.to_string(),
        }
    }

    /// Why `existing` is not a table the tool would use as it is.
    fn incompatibility(&self, existing: &Existing) -> Option<String> {
        if existing.relkind != "r" && existing.relkind != "p" {
            return Some("it is not a table".to_string());
        }
        let have = || {
            existing
                .columns
                .iter()
                .map(|(n, t)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for column in self.columns {
            match existing.columns.iter().find(|(n, _)| n == column.name) {
                Some((_, t)) if same_type(t, column.type_name) => {}
                None if column.added => {}
                _ => return Some(format!("its columns are ({})", have())),
            }
        }
        None
    }
}

/// Types the tools read alike: all string types are one.
fn same_type(a: &str, b: &str) -> bool {
    let string = |t: &str| t == "text" || t.starts_with("character varying");
    a == b || (string(a) && string(b))
}

/// Whether `sql` holds a `CREATE TABLE` of `name` (unqualified, in
/// `public`, quoted or not).
fn creates_table(sql: &str, name: &str) -> bool {
    let pattern = format!(
        r#"(?i)\bcreate\s+(?:(?:global\s+|local\s+)?(?:temp|temporary)\s+|unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?(?:"?public"?\s*\.\s*)?"?{}"?(?:[\s(]|$)"#,
        regex::escape(name)
    );
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(sql))
}

fn history_tables(chain: &Chain, level: usize) -> Vec<HistoryTable> {
    let applied = &chain.migrations[..level.min(chain.migrations.len())];
    match chain.layout {
        Layout::Sqlx => {
            let mut tables = vec![sqlx_table(applied)];
            if golang_migrate_possible(chain) {
                tables.push(golang_migrate_table(applied));
            }
            tables
        }
        Layout::Diesel => vec![diesel_table(applied)],
        Layout::Dbmate => vec![dbmate_table(applied)],
        Layout::Flyway => vec![flyway_table(chain, applied)],
        Layout::Supabase => vec![supabase_table(applied)],
    }
}

/// The migration's file as the tool reads it (no byte order mark
/// stripped), or as discovery read it when it can no longer be read.
fn raw_text(migration: &Migration) -> String {
    std::fs::read_to_string(&migration.up.path).unwrap_or_else(|_| migration.up.sql.clone())
}

fn file_name(migration: &Migration) -> String {
    migration
        .up
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A string literal that reads the same whatever
/// `standard_conforming_strings` is.
fn literal(s: &str) -> String {
    if s.contains('\\') {
        format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

// ---------------------------------------------------------------- sqlx

const SQLX_COLUMNS: &[Column] = &[
    col("version", "bigint"),
    col("description", "text"),
    col("installed_on", "timestamp with time zone"),
    col("success", "boolean"),
    col("checksum", "bytea"),
    col("execution_time", "bigint"),
];

/// sqlx 0.8 (`sqlx-postgres/src/migrate.rs`, `ensure_migrations_table`
/// and `execute_migration`; `sqlx-core/src/migrate/source.rs`,
/// `resolve_blocking`; `migration.rs`, `Migration::new`):
/// - the table as `ensure_migrations_table` creates it, unqualified;
/// - one row per applied migration: `version` the file name's number
///   before the first `_` (an `i64`), `description` the rest of the name
///   without its suffix (`.up.sql` for a reversible up, `.sql` for a
///   simple one, trimmed as often as it repeats) with `_` read as a space,
///   `success` true, `checksum` the SHA-384 of the file's whole content
///   (`fs::read_to_string`: every byte, a byte order mark and `\r`
///   included), `installed_on` the default `now()`;
/// - `execution_time` -1: sqlx inserts -1 with the row, in the
///   migration's transaction, and overwrites it with the nanoseconds the
///   run took once committed; no run of sqlx was timed here, so the row
///   keeps sqlx's own placeholder (sqlx never reads it back).
fn sqlx_table(applied: &[Migration]) -> HistoryTable {
    let create = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\n    version BIGINT PRIMARY KEY,\n    description TEXT NOT NULL,\n    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),\n    success BOOLEAN NOT NULL,\n    checksum BYTEA NOT NULL,\n    execution_time BIGINT NOT NULL\n)".to_string();
    let rows = applied
        .iter()
        .map(|m| {
            let (version, description) = sqlx_version_description(m);
            let checksum = Sha384::digest(raw_text(m).as_bytes());
            format!(
                "INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time ) VALUES ( {version}, {}, TRUE, decode('{}', 'hex'), -1 )",
                literal(&description),
                hex(&checksum)
            )
        })
        .collect();
    HistoryTable {
        tool: "sqlx",
        schema: None,
        name: "_sqlx_migrations",
        columns: SQLX_COLUMNS,
        guessed: false,
        create: vec![create.clone()],
        reuse: vec![create],
        rows,
    }
}

/// sqlx's version and description of a migration, from its file name.
fn sqlx_version_description(migration: &Migration) -> (i64, String) {
    let name = file_name(migration);
    let (version, rest) = name.split_once('_').unwrap_or((&name, ""));
    let version = version
        .parse::<i64>()
        .or_else(|_| migration.version.parse::<i64>())
        .unwrap_or(0);
    let suffix = if rest.ends_with(".up.sql") {
        ".up.sql"
    } else if rest.ends_with(".down.sql") {
        ".down.sql"
    } else {
        ".sql"
    };
    (version, rest.trim_end_matches(suffix).replace('_', " "))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------- golang-migrate

const GOLANG_MIGRATE_COLUMNS: &[Column] = &[col("version", "bigint"), col("dirty", "boolean")];

/// Whether golang-migrate could be the sqlx-layout chain's tool
/// (`source/parse.go`: only `<uint>_<name>.(up|down).<ext>` files are
/// migrations to it; see [`bookkeeping_tables`]).
fn golang_migrate_possible(chain: &Chain) -> bool {
    chain.layout == Layout::Sqlx
        && chain.migrations.iter().all(|m| {
            let name = file_name(m);
            let version = name.split('_').next().unwrap_or("");
            name.ends_with(".up.sql")
                && !version.is_empty()
                && version.bytes().all(|b| b.is_ascii_digit())
                && version.parse::<u64>().is_ok()
                && !m.up.sql.starts_with("-- no-transaction")
                && !creates_table(&m.up.sql, "schema_migrations")
        })
}

/// golang-migrate (`database/postgres/postgres.go`, `ensureVersionTable`
/// and `SetVersion`): the table in the current schema as
/// `ensureVersionTable` creates it, then, as after its last successful
/// migration, `TRUNCATE` and one row: the last applied version (the file
/// name's number as an unsigned integer), not dirty.
fn golang_migrate_table(applied: &[Migration]) -> HistoryTable {
    let create = "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version bigint not null primary key, dirty boolean not null)".to_string();
    let mut rows = vec!["TRUNCATE \"schema_migrations\"".to_string()];
    if let Some(last) = applied.last() {
        let name = file_name(last);
        let version = name
            .split('_')
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        rows.push(format!(
            "INSERT INTO \"schema_migrations\" (version, dirty) VALUES ({version}, false)"
        ));
    }
    HistoryTable {
        tool: "golang-migrate",
        schema: None,
        name: "schema_migrations",
        columns: GOLANG_MIGRATE_COLUMNS,
        guessed: true,
        create: vec![create.clone()],
        reuse: vec![create],
        rows,
    }
}

// --------------------------------------------------------------- diesel

const DIESEL_COLUMNS: &[Column] = &[
    col("version", "character varying(50)"),
    col("run_on", "timestamp without time zone"),
];

/// diesel 2 (`diesel/src/migration/setup_migration_table.sql`;
/// `diesel_migrations/src/migration_harness.rs`, `run_migration`;
/// `migrations_internals`, `version_from_string`): the table as
/// `setup_migration_table.sql` creates it, unqualified; one row per applied
/// migration holding its version, the folder name before its first `_`
/// with dashes removed; `run_on` the default `CURRENT_TIMESTAMP`.
fn diesel_table(applied: &[Migration]) -> HistoryTable {
    let create = "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (\n       version VARCHAR(50) PRIMARY KEY NOT NULL,\n       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n)".to_string();
    let rows = applied
        .iter()
        .map(|m| {
            let folder =
                m.up.path
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned());
            let version = folder
                .as_deref()
                .and_then(|f| f.split('_').next())
                .map(|v| v.replace('-', ""))
                .unwrap_or_else(|| m.version.clone());
            format!(
                "INSERT INTO \"__diesel_schema_migrations\" (\"version\") VALUES ({})",
                literal(&version)
            )
        })
        .collect();
    HistoryTable {
        tool: "diesel",
        schema: None,
        name: "__diesel_schema_migrations",
        columns: DIESEL_COLUMNS,
        guessed: false,
        create: vec![create.clone()],
        reuse: vec![create],
        rows,
    }
}

// --------------------------------------------------------------- dbmate

const DBMATE_COLUMNS: &[Column] = &[col("version", "character varying")];

/// dbmate 2.27 and later (`pkg/driver/postgres/postgres.go`,
/// `CreateMigrationsTable` and `InsertMigration`; `pkg/dbmate/db.go`,
/// `migrationFileRegexp`): `schema_migrations (version varchar primary
/// key)` in the current schema (dbmate 2.26 and earlier wrote
/// `varchar(128)`, which reads the same); one row per applied migration
/// holding the file name's leading digits as written.
fn dbmate_table(applied: &[Migration]) -> HistoryTable {
    let create =
        "create table if not exists schema_migrations (version varchar primary key)".to_string();
    let rows = applied
        .iter()
        .map(|m| {
            let name = file_name(m);
            let digits = name.bytes().take_while(u8::is_ascii_digit).count();
            let version = if digits > 0 {
                name[..digits].to_string()
            } else {
                m.version.clone()
            };
            format!(
                "insert into schema_migrations (version) values ({})",
                literal(&version)
            )
        })
        .collect();
    HistoryTable {
        tool: "dbmate",
        schema: None,
        name: "schema_migrations",
        columns: DBMATE_COLUMNS,
        guessed: false,
        create: vec![create.clone()],
        reuse: vec![create],
        rows,
    }
}

// --------------------------------------------------------------- Flyway

const FLYWAY_COLUMNS: &[Column] = &[
    col("installed_rank", "integer"),
    col("version", "character varying(50)"),
    col("description", "character varying(200)"),
    col("type", "character varying(20)"),
    col("script", "character varying(1000)"),
    col("checksum", "integer"),
    col("installed_by", "character varying(100)"),
    col("installed_on", "timestamp without time zone"),
    col("execution_time", "integer"),
    col("success", "boolean"),
];

/// Flyway (`flyway-database-postgresql` `PostgreSQLDatabase.
/// getRawCreateScript`; `flyway-core` `SchemaHistory.addAppliedMigration`,
/// `Database.getInsertStatement`, `ChecksumCalculator`,
/// `ResourceNameParser`, `MigrationVersion`, `FileSystemResource`,
/// `AbbreviationUtils`):
/// - the table, its `_pk` primary key and `_s_idx` index as
///   `getRawCreateScript` writes them, in the default schema (the
///   connection's current one);
/// - one row per applied migration, versioned ones then repeatables as the
///   chain orders them: `installed_rank` 1, 2, ...; `version` as written
///   with `_` read as `.` (leading zeros kept), NULL for a repeatable;
///   `description` the name after `__` with `_` read as a space (cut to
///   197 characters and `...` past 200); `type` `SQL`; `script` the path
///   relative to the location, `/`-separated (past 1000 characters,
///   `...` and its characters from the fourth); `checksum` [`flyway_checksum`];
///   `installed_by` the connection's `current_user`; `execution_time` 0
///   (milliseconds; not timed here); `success` true; `installed_on` the
///   default `now()`.
///
/// A repeatable's checksum is Flyway's over its text after placeholder
/// replacement; a repeatable holding `${...}` placeholders gets the
/// checksum of its raw text here (the harness does not replace them
/// either).
fn flyway_table(chain: &Chain, applied: &[Migration]) -> HistoryTable {
    let create = vec![
        "CREATE TABLE \"flyway_schema_history\" (\n    \"installed_rank\" INT NOT NULL,\n    \"version\" VARCHAR(50),\n    \"description\" VARCHAR(200) NOT NULL,\n    \"type\" VARCHAR(20) NOT NULL,\n    \"script\" VARCHAR(1000) NOT NULL,\n    \"checksum\" INTEGER,\n    \"installed_by\" VARCHAR(100) NOT NULL,\n    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),\n    \"execution_time\" INTEGER NOT NULL,\n    \"success\" BOOLEAN NOT NULL\n)".to_string(),
        "ALTER TABLE \"flyway_schema_history\" ADD CONSTRAINT \"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\")".to_string(),
        "CREATE INDEX \"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" (\"success\")".to_string(),
    ];
    let rows = applied
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let repeatable = matches!(
                super::layouts::parse_flyway_name(&file_name(m)),
                Some(super::layouts::FlywayName::Repeatable { .. })
            );
            let version = if repeatable {
                "NULL".to_string()
            } else {
                literal(&m.version)
            };
            let script = m
                .up
                .path
                .strip_prefix(&chain.dir)
                .unwrap_or(&m.up.path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            format!(
                "INSERT INTO \"flyway_schema_history\" (\"installed_rank\", \"version\", \"description\", \"type\", \"script\", \"checksum\", \"installed_by\", \"execution_time\", \"success\") VALUES ({}, {version}, {}, 'SQL', {}, {}, current_user, 0, true)",
                index + 1,
                literal(&abbreviate_description(&m.name.replace('_', " "))),
                literal(&abbreviate_script(&script)),
                flyway_checksum(&m.up.sql),
            )
        })
        .collect();
    HistoryTable {
        tool: "Flyway",
        schema: None,
        name: "flyway_schema_history",
        columns: FLYWAY_COLUMNS,
        guessed: false,
        create,
        reuse: Vec::new(),
        rows,
    }
}

/// Flyway's `ChecksumCalculator`: the CRC-32 of the script read line by
/// line (`BufferedReader.readLine`: a line ends at `\n`, `\r` or `\r\n`,
/// without its terminator), each line's UTF-8 bytes fed in turn, a byte
/// order mark dropped from the first; as a signed 32-bit integer. Line
/// endings thus do not count: it is the CRC-32 of the text without its
/// `\r`s and `\n`s.
pub fn flyway_checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = !0u32;
    for &byte in text.as_bytes() {
        if byte == b'\n' || byte == b'\r' {
            continue;
        }
        crc = CRC32_TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc as i32
}

/// `java.util.zip.CRC32`'s table (IEEE 802.3, reflected 0xEDB88320).
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// `AbbreviationUtils.abbreviateDescription` (lengths in Java's UTF-16
/// units).
fn abbreviate_description(description: &str) -> String {
    let units: Vec<u16> = description.encode_utf16().collect();
    if units.len() <= 200 {
        return description.to_string();
    }
    format!("{}...", String::from_utf16_lossy(&units[..197]))
}

/// `AbbreviationUtils.abbreviateScript`.
fn abbreviate_script(script: &str) -> String {
    let units: Vec<u16> = script.encode_utf16().collect();
    if units.len() <= 1000 {
        return script.to_string();
    }
    format!("...{}", String::from_utf16_lossy(&units[3..1000]))
}

// ------------------------------------------------------------- Supabase

const SUPABASE_SCHEMA: &str = "supabase_migrations";

const SUPABASE_COLUMNS: &[Column] = &[
    col("version", "text"),
    Column {
        name: "statements",
        type_name: "text[]",
        added: true,
    },
    Column {
        name: "name",
        type_name: "text",
        added: true,
    },
];

/// The Supabase CLI (`pkg/migration/history.go`, `CreateMigrationTable`
/// and `INSERT_MIGRATION_VERSION`; `file.go`, `NewMigrationFromFile` and
/// `ExecBatch`; `apply.go`, `ApplyMigrations`): the schema, table and
/// columns as `CreateMigrationTable` adds them (its session-only `SET
/// lock_timeout` left out); one row per applied migration: `version` the
/// file name's leading digits as written, `name` the rest before `.sql`,
/// `statements` the file split as [`supabase_statements`] splits it (NULL
/// for a file without any).
fn supabase_table(applied: &[Migration]) -> HistoryTable {
    let create = vec![
        "CREATE SCHEMA IF NOT EXISTS supabase_migrations".to_string(),
        "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)".to_string(),
        "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]".to_string(),
        "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text".to_string(),
    ];
    let rows = applied
        .iter()
        .map(|m| {
            let name = file_name(m);
            let (version, rest) = name
                .split_once('_')
                .unwrap_or((m.version.as_str(), m.name.as_str()));
            let rest = rest.strip_suffix(".sql").unwrap_or(rest);
            let statements = supabase_statements(&raw_text(m));
            let array = if statements.is_empty() {
                "NULL".to_string()
            } else {
                let items: Vec<String> = statements.iter().map(|s| literal(s)).collect();
                format!("ARRAY[{}]::text[]", items.join(", "))
            };
            format!(
                "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES({}, {}, {array})",
                literal(version),
                literal(rest)
            )
        })
        .collect();
    HistoryTable {
        tool: "the Supabase CLI",
        schema: Some(SUPABASE_SCHEMA),
        name: "schema_migrations",
        columns: SUPABASE_COLUMNS,
        guessed: false,
        reuse: create.clone(),
        create,
        rows,
    }
}

/// The Supabase CLI's statements of a migration file (`pkg/parser/token.go`
/// `SplitAndTrim`, `state.go`): a state machine over the text that ends a
/// statement at a `;` outside quotes (`'`, `"`), dollar quotes, comments,
/// parentheses and `BEGIN ATOMIC ... END`; each statement keeps its
/// comments, loses its trailing `;`s and surrounding white space, and
/// an empty one is dropped. Ported with the tool's quirks: the tokenizer
/// steps one byte at a time (a multi-byte character's later bytes read as
/// U+FFFD), a `(` is closed by the first `)` after it whatever the nesting,
/// and any word ending in `end` closes `BEGIN ATOMIC`.
pub fn supabase_statements(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut statements = Vec::new();
    let mut emit = |token: &[u8]| {
        let token = String::from_utf8_lossy(token);
        let token = token.trim_end_matches(';').trim();
        if !token.is_empty() {
            statements.push(token.to_string());
        }
    };
    let mut start = 0;
    let mut last = 0;
    let mut state = SbState::Ready;
    while start + last < bytes.len() {
        let data = &bytes[start..];
        let (r, width) = decode_rune(data, last);
        let end = last + width;
        match state.next(r, &data[..end]) {
            Some(next) => {
                state = next;
                // Go's loop advances by one byte whatever the width.
                last += 1;
            }
            None => {
                emit(&data[..end]);
                start += end;
                last = 0;
                state = SbState::Ready;
            }
        }
    }
    if start < bytes.len() {
        emit(&bytes[start..]);
    }
    statements
}

/// Go's `utf8.DecodeRune` at `at`: the character starting there, or
/// U+FFFD and width 1 inside one.
fn decode_rune(data: &[u8], at: usize) -> (char, usize) {
    let rest = &data[at..];
    let len = match rest[0] {
        b if b < 0x80 => 1,
        b if b >> 5 == 0b110 => 2,
        b if b >> 4 == 0b1110 => 3,
        b if b >> 3 == 0b11110 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    match rest
        .get(..len)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.chars().next())
    {
        Some(c) => (c, len),
        None => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// Go's `unicode.IsLetter(r) || unicode.IsDigit(r)` (general categories L
/// and Nd).
fn is_letter_or_digit(r: char) -> bool {
    static LETTER_OR_DIGIT: LazyLock<Option<regex::Regex>> =
        LazyLock::new(|| regex::Regex::new(r"^[\p{L}\p{Nd}]$").ok());
    let mut buf = [0u8; 4];
    LETTER_OR_DIGIT
        .as_ref()
        .is_some_and(|re| re.is_match(r.encode_utf8(&mut buf)))
}

/// The states of the Supabase CLI's tokenizer (`pkg/parser/state.go`).
#[derive(Clone)]
enum SbState {
    Ready,
    /// After one `-`.
    Comment,
    /// After a `/`, then inside `/* */` at `depth`.
    Block {
        depth: i32,
    },
    Quote {
        delimiter: char,
        escape: bool,
    },
    /// Until `delimiter` (a dollar tag, or `\n` ending a `--` comment).
    Dollar {
        delimiter: Vec<u8>,
    },
    /// After a `$` at `offset` of the token.
    Tag {
        offset: usize,
    },
    Escape,
    /// Inside `(` ... `)` or `BEGIN ATOMIC` ... `END`.
    Atomic {
        prev: Box<SbState>,
        delimiter: &'static [u8],
    },
}

impl SbState {
    /// The next state after `r`, `data` the token up to and including it;
    /// `None` ends the statement.
    fn next(self, r: char, data: &[u8]) -> Option<SbState> {
        match self {
            SbState::Ready => ready_next(r, data),
            SbState::Comment => {
                if r == '-' {
                    Some(SbState::Dollar {
                        delimiter: b"\n".to_vec(),
                    })
                } else {
                    ready_next(r, data)
                }
            }
            SbState::Block { mut depth } => {
                let window = &data[data.len().saturating_sub(2)..];
                if window == b"/*" {
                    depth += 1;
                    return Some(SbState::Block { depth });
                }
                if depth == 0 {
                    return ready_next(r, data);
                }
                if window == b"*/" {
                    depth -= 1;
                    if depth == 0 {
                        return Some(SbState::Ready);
                    }
                }
                Some(SbState::Block { depth })
            }
            SbState::Quote { delimiter, escape } => {
                if escape {
                    if r == delimiter {
                        return Some(SbState::Quote {
                            delimiter,
                            escape: false,
                        });
                    }
                    return ready_next(r, data);
                }
                Some(SbState::Quote {
                    delimiter,
                    escape: r == delimiter,
                })
            }
            SbState::Dollar { delimiter } => {
                let window = &data[data.len().saturating_sub(delimiter.len())..];
                if window == delimiter.as_slice() {
                    Some(SbState::Ready)
                } else {
                    Some(SbState::Dollar { delimiter })
                }
            }
            SbState::Tag { offset } => {
                if r == '$' {
                    return Some(SbState::Dollar {
                        delimiter: data[offset..].to_vec(),
                    });
                }
                if is_letter_or_digit(r) || r == '_' {
                    return Some(SbState::Tag { offset });
                }
                ready_next(r, data)
            }
            SbState::Escape => Some(SbState::Ready),
            SbState::Atomic { prev, delimiter } => {
                // A state that ends the statement leaves `prev` as it was.
                let prev = match prev.clone().next(r, data) {
                    Some(current) => Box::new(current),
                    None => prev,
                };
                if matches!(*prev, SbState::Ready) {
                    let window = &data[data.len().saturating_sub(delimiter.len())..];
                    if window.eq_ignore_ascii_case(delimiter) {
                        return Some(SbState::Ready);
                    }
                }
                Some(SbState::Atomic { prev, delimiter })
            }
        }
    }
}

fn ready_next(r: char, data: &[u8]) -> Option<SbState> {
    Some(match r {
        '$' => SbState::Tag {
            offset: data.len() - 1,
        },
        '\'' | '"' => SbState::Quote {
            delimiter: r,
            escape: false,
        },
        '-' => SbState::Comment,
        '/' => SbState::Block { depth: 0 },
        '\\' => SbState::Escape,
        ';' => return None,
        '(' => SbState::Atomic {
            prev: Box::new(SbState::Ready),
            delimiter: b")",
        },
        'c' | 'C' if is_begin_atomic(data) => SbState::Atomic {
            prev: Box::new(SbState::Ready),
            delimiter: b"END",
        },
        _ => SbState::Ready,
    })
}

/// Whether the token ends in `BEGIN ATOMIC` (`state.go`, `isBeginAtomic`:
/// both words whole, any white space between, any case).
fn is_begin_atomic(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let is_identifier = |c: char| is_letter_or_digit(c) || c == '_' || c == '$';
    let Some(offset) = text.len().checked_sub("ATOMIC".len()) else {
        return false;
    };
    if !text.is_char_boundary(offset) || !text[offset..].eq_ignore_ascii_case("ATOMIC") {
        return false;
    }
    if text[..offset]
        .chars()
        .next_back()
        .is_some_and(is_identifier)
    {
        return false;
    }
    let prefix = text[..offset].trim_end();
    let Some(offset) = prefix.len().checked_sub("BEGIN".len()) else {
        return false;
    };
    if !prefix.is_char_boundary(offset) || !prefix[offset..].eq_ignore_ascii_case("BEGIN") {
        return false;
    }
    !prefix[..offset]
        .chars()
        .next_back()
        .is_some_and(is_identifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flyway_checksum_is_crc32_of_the_lines() {
        // zlib.crc32(b"create table account (id bigint primary key, email text);")
        // = 4079765874, as a Java int.
        let expected = (4_079_765_874u32) as i32;
        let line = "create table account (id bigint primary key, email text);";
        assert_eq!(flyway_checksum(&format!("{line}\n")), expected);
        assert_eq!(flyway_checksum(&format!("\u{feff}{line}\r\n")), expected);
        assert_eq!(flyway_checksum(""), 0);
    }

    #[test]
    fn supabase_statements_split_like_the_cli() {
        assert_eq!(
            supabase_statements("-- a\nselect 1;\n\nselect ';' ; ;\n"),
            vec!["-- a\nselect 1", "select ';'"]
        );
        assert_eq!(
            supabase_statements("do $x$ begin perform 1; end $x$;\nselect (1;2)"),
            vec!["do $x$ begin perform 1; end $x$", "select (1;2)"]
        );
        assert_eq!(
            supabase_statements(
                "create function f() returns int language sql\nBEGIN  Atomic\n select 1;\nend;\nselect 2;"
            ),
            vec![
                "create function f() returns int language sql\nBEGIN  Atomic\n select 1;\nend",
                "select 2"
            ]
        );
        // /* */ nests; a quote doubled stays open.
        assert_eq!(
            supabase_statements("/* a /* b; */ c; */ select 'it''s;';x"),
            vec!["/* a /* b; */ c; */ select 'it''s;'", "x"]
        );
        assert!(supabase_statements(";\n ;").is_empty());
    }

    #[test]
    fn a_supabase_file_without_statements_records_null() {
        // pgtype's TextArray.Set: a nil []string (SplitAndTrim found
        // nothing) is NULL, not an empty array.
        let migration = Migration {
            version: "20240101000000".into(),
            name: "noop".into(),
            up: super::super::Script {
                path: "/nonexistent/20240101000000_noop.sql".into(),
                sql: ";\n".into(),
                line_offset: 0,
                transaction: true,
            },
            down: None,
        };
        let chain = Chain {
            dir: "/nonexistent".into(),
            layout: Layout::Supabase,
            migrations: vec![migration],
            ignored: Vec::new(),
            callbacks: super::super::Callbacks::default(),
        };
        let sql = bookkeeping_sql(&chain, 1).unwrap_or_default();
        assert!(
            sql.contains("VALUES('20240101000000', 'noop', NULL)"),
            "{sql}"
        );
    }

    #[test]
    fn create_table_detection() {
        assert!(creates_table(
            "CREATE TABLE IF NOT EXISTS public.\"schema_migrations\"(id int)",
            "schema_migrations"
        ));
        assert!(creates_table(
            "create table schema_migrations (v text)",
            "schema_migrations"
        ));
        assert!(!creates_table(
            "create table schema_migrations_old (v text)",
            "schema_migrations"
        ));
        assert!(!creates_table(
            "create table other.schema_migrations (v text)",
            "schema_migrations"
        ));
    }
}
