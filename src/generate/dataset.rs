//! A generated data set and its three outputs: a load with COPY, a
//! psql-loadable SQL script, and INSERT statements for people to read.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use crate::schema::QualifiedName;
use crate::server::quote_ident;

use super::stream::{Feed, Generator, Piece, Streams};
use super::value::{sql_string, write_copy_field, Value};
use super::GenerateError;

/// How a data set with streamed tables ended.
pub(crate) enum Streamed {
    /// Every row is written.
    Complete,
    /// A streamed table needs the server's verdict (or lost a row the
    /// script's header counted): build the data set in memory instead.
    NeedsServer,
    /// Generating failed.
    Failed(GenerateError),
}

/// The rows of one table.
#[derive(Debug, Clone)]
pub struct TableData {
    pub(crate) name: QualifiedName,
    /// The columns COPY writes, in table order.
    pub(crate) columns: Vec<String>,
    /// Their types (`format_type`), for casts.
    pub(crate) types: Vec<String>,
    /// The types their values are stored as (a domain's base type), for
    /// reading candidate rows without running the domains' checks.
    pub(crate) storage_types: Vec<String>,
    /// Checks only the server can decide, as (name, boolean SQL over the
    /// columns): rows it rejects are left out before the load
    /// ([`Dataset::accepted_by`]).
    pub(crate) server_checks: Vec<(String, String)>,
    pub(crate) rows: Vec<Vec<Value>>,
    /// Columns the server computes from an SQL expression (profile `sql`).
    pub(crate) sql_columns: Vec<(String, String)>,
    /// Writes a `GENERATED ALWAYS` identity column.
    pub(crate) overriding: bool,
    /// Sequences to advance after loading, with the largest value written.
    pub(crate) sequences: Vec<(QualifiedName, i64)>,
}

impl TableData {
    /// The table.
    pub fn name(&self) -> &QualifiedName {
        &self.name
    }

    /// The columns written, in table order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows, one value per written column.
    pub fn rows(&self) -> &[Vec<Value>] {
        &self.rows
    }

    /// `schema.table`, unquoted: the key of row counts.
    pub(crate) fn key(&self) -> String {
        format!("{}.{}", self.name.schema, self.name.name)
    }

    fn qualified_columns(&self) -> String {
        self.columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn qualified_name(&self) -> String {
        qualified(&self.name)
    }

    /// `INSERT INTO t (columns)` for the written columns followed by the
    /// ones the server computes (with `OVERRIDING SYSTEM VALUE` where a
    /// `GENERATED ALWAYS` identity is written), and the SELECT list that
    /// fills them: the written columns, then each `sql` expression.
    fn insert_into(&self) -> (String, String) {
        let mut cols = self.qualified_columns();
        let mut exprs = self.qualified_columns();
        for (c, e) in &self.sql_columns {
            if !cols.is_empty() {
                cols.push_str(", ");
                exprs.push_str(", ");
            }
            cols.push_str(&quote_ident(c));
            exprs.push_str(&format!("({e})"));
        }
        let head = format!(
            "INSERT INTO {} ({cols}){}",
            self.qualified_name(),
            if self.overriding {
                " OVERRIDING SYSTEM VALUE"
            } else {
                ""
            }
        );
        (head, exprs)
    }
}

/// Rows as COPY text (`\t` between fields, a line each), appended to `out`.
pub(super) fn copy_rows(rows: &[Vec<Value>], out: &mut String, scratch: &mut String) {
    for row in rows {
        copy_row(row.iter(), out, scratch);
    }
}

/// One row's `values` as a COPY line, appended to `out`.
pub(super) fn copy_row<'a>(
    values: impl Iterator<Item = &'a Value>,
    out: &mut String,
    scratch: &mut String,
) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push('\t');
        }
        write_copy_field(v, scratch, out);
    }
    out.push('\n');
}

fn qualified(name: &QualifiedName) -> String {
    format!("{}.{}", quote_ident(&name.schema), quote_ident(&name.name))
}

/// Rows whose foreign key closes a cycle: written NULL, then set.
#[derive(Debug, Clone)]
pub(crate) struct Fixup {
    pub table: QualifiedName,
    pub key_columns: Vec<String>,
    pub key_types: Vec<String>,
    pub set_columns: Vec<String>,
    pub set_types: Vec<String>,
    /// (key values, values to set).
    pub rows: Vec<(Vec<Value>, Vec<Value>)>,
}

impl Fixup {
    fn to_sql(&self) -> String {
        let cols: Vec<String> = (0..self.key_columns.len() + self.set_columns.len())
            .map(|k| format!("c{k}"))
            .collect();
        let types: Vec<&String> = self.key_types.iter().chain(&self.set_types).collect();
        let mut sql = format!("UPDATE {} AS t SET ", qualified(&self.table));
        let sets: Vec<String> = self
            .set_columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} = v.c{}", quote_ident(c), self.key_columns.len() + i))
            .collect();
        sql.push_str(&sets.join(", "));
        sql.push_str("\nFROM (VALUES\n");
        for (ri, (key, set)) in self.rows.iter().enumerate() {
            let vals: Vec<String> = key
                .iter()
                .chain(set)
                .zip(&types)
                .map(|(v, ty)| format!("({})::{}", v.to_sql_literal(), ty))
                .collect();
            let _ = write!(
                sql,
                "  ({}){}",
                vals.join(", "),
                if ri + 1 < self.rows.len() {
                    ",\n"
                } else {
                    "\n"
                }
            );
        }
        let _ = write!(sql, ") AS v({})\nWHERE ", cols.join(", "));
        let conds: Vec<String> = self
            .key_columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("t.{} = v.c{i}", quote_ident(c)))
            .collect();
        sql.push_str(&conds.join(" AND "));
        sql.push_str(";\n");
        sql
    }
}

/// A generated data set: rows for each table in load order (parents
/// first), the seed that made them, and what loading needs besides COPY
/// (sequences to advance, foreign keys to set once a cycle's tables are
/// all loaded, constraints to defer).
///
/// Two data sets from the same schema, profile and seed are identical, down
/// to the bytes of [`Dataset::to_copy_sql`].
#[derive(Clone)]
pub struct Dataset {
    pub(crate) seed: u64,
    pub(crate) profile: String,
    pub(crate) tables: Vec<TableData>,
    pub(crate) fixups: Vec<Fixup>,
    /// Deferrable foreign keys whose rows are loaded before their parents:
    /// (table, constraint).
    pub(crate) deferred: Vec<(QualifiedName, String)>,
}

impl std::fmt::Debug for Dataset {
    /// The data set as INSERT statements: what a failing property case
    /// shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Dataset (seed {}):", self.seed)?;
        f.write_str(&self.to_inserts())
    }
}

/// What a load did.
#[derive(Debug, Clone)]
pub struct LoadStats {
    /// Rows written per table (`schema.table`), in load order.
    pub rows: Vec<(String, usize)>,
    /// All rows written.
    pub total_rows: usize,
    /// Wall time of the load.
    pub elapsed: Duration,
    /// Tables (`schema.table`) generated while they loaded, never whole in
    /// memory ([`super::generate_and_load`]).
    pub streamed: Vec<String>,
}

impl LoadStats {
    /// Rows written per second.
    pub fn rows_per_second(&self) -> f64 {
        self.total_rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How a load checks foreign keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignKeyChecks {
    /// Row by row, by the constraints' triggers, as every INSERT is.
    PerRow,
    /// The loaded tables' foreign keys are dropped before the COPYs and
    /// added back, with the same names, definitions and comments, after
    /// them, in the same transaction: one set-based check per constraint
    /// instead of one query per row (what `pg_restore` does); a table of
    /// 100,000 rows or more gets its plain indexes built after the load
    /// too. The schema at commit is the one before. Needs ownership of the
    /// tables (falls back to `PerRow` without it); user triggers fire as
    /// always.
    AfterLoad,
    /// `AfterLoad` for loads of 10,000 rows and more on a database without
    /// event triggers (which would see the DDL), else `PerRow`.
    Auto,
}

/// How [`Dataset::load_with_options`] loads.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// A progress bar on stderr.
    pub progress: bool,
    /// How foreign keys are checked.
    pub foreign_keys: ForeignKeyChecks,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            progress: false,
            foreign_keys: ForeignKeyChecks::Auto,
        }
    }
}

/// From this many rows on, [`ForeignKeyChecks::Auto`] checks foreign keys
/// after the load.
const AFTER_LOAD_ROWS: usize = 10_000;

/// From this many rows in a table on, a load that checks foreign keys
/// after it also builds the table's plain indexes after it.
const INDEXES_AFTER_ROWS: usize = 100_000;

/// An index dropped for the load, and the SQL that re-creates it.
struct DroppedIndex {
    table: String,
    name: String,
    restore: String,
}

/// A foreign key dropped for the load, and the SQL that restores it.
struct DroppedForeignKey {
    table: String,
    name: String,
    restore: String,
}

/// Runs `drops` inside savepoint `savepoint`; false, with nothing
/// dropped, when the server refuses one (not the owner, locked out).
async fn drop_in_savepoint(
    conn: &mut PgConnection,
    savepoint: &str,
    drops: &str,
    what: &str,
) -> Result<bool, GenerateError> {
    let batch = format!("savepoint {savepoint};\n{drops}release savepoint {savepoint};\n");
    if sqlx::raw_sql(&batch).execute(&mut *conn).await.is_ok() {
        return Ok(true);
    }
    sqlx::raw_sql(&format!(
        "rollback to savepoint {savepoint}; release savepoint {savepoint};"
    ))
    .execute(&mut *conn)
    .await
    .map_err(|source| GenerateError::Load {
        step: format!("rolling back the dropped {what}"),
        source,
    })?;
    Ok(false)
}

async fn has_event_triggers(conn: &mut PgConnection) -> bool {
    sqlx::query_scalar::<_, bool>(
        "select exists (select from pg_event_trigger where evtenabled <> 'D')",
    )
    .fetch_one(conn)
    .await
    .unwrap_or(true)
}

/// COPY data is sent in chunks of about this size.
const CHUNK: usize = 1 << 20;

/// From this many rows on, a load on a terminal shows a progress bar.
const PROGRESS_ROWS: usize = 10_000;

impl Dataset {
    /// The seed the data set was generated with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The tables in load order.
    pub fn tables(&self) -> &[TableData] {
        &self.tables
    }

    /// The rows of a table (`schema.table` or a table name), if it is in
    /// the data set.
    pub fn table(&self, name: &str) -> Option<&TableData> {
        self.tables
            .iter()
            .find(|t| t.name.to_string() == name || t.name.name == name || t.key() == name)
    }

    /// Rows per table, keyed `schema.table` (unquoted).
    pub fn row_counts(&self) -> BTreeMap<String, usize> {
        self.tables
            .iter()
            .map(|t| (t.key(), t.rows.len()))
            .collect()
    }

    /// Values at the limit of their integer type (`smallint`, `integer`,
    /// `bigint`): `(table, column, type, value, largest?)`, each column
    /// once. Generated data mixes them in; an arithmetic rule overflows on
    /// them.
    pub fn values_at_integer_limits(&self) -> Vec<(String, String, String, i64, bool)> {
        let mut out = Vec::new();
        for t in &self.tables {
            for (c, ty) in t.types.iter().enumerate() {
                let (lo, hi) = match ty.as_str() {
                    "smallint" => (i64::from(i16::MIN), i64::from(i16::MAX)),
                    "integer" => (i64::from(i32::MIN), i64::from(i32::MAX)),
                    "bigint" => (i64::MIN, i64::MAX),
                    _ => continue,
                };
                let hit = t.rows.iter().find_map(|row| match row.get(c) {
                    Some(Value::Int(v)) if *v == lo || *v == hi => Some(*v),
                    _ => None,
                });
                if let Some(v) = hit {
                    out.push((
                        self.display_table(&t.name),
                        t.columns[c].clone(),
                        ty.clone(),
                        v,
                        v == hi,
                    ));
                }
            }
        }
        out
    }

    fn display_table(&self, name: &QualifiedName) -> String {
        if name.schema == "public" {
            name.name.clone()
        } else {
            name.to_string()
        }
    }

    /// All rows.
    pub fn total_rows(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }

    /// Rows per table (plan order): a streamed table's asked-for count,
    /// the others' rows.
    pub(crate) fn counts(&self, streams: Option<&Streams>) -> Vec<usize> {
        self.tables
            .iter()
            .enumerate()
            .map(|(i, t)| match streams {
                Some(s) if s.is_streamed(i) => s.expected_rows_of(i),
                _ => t.rows.len(),
            })
            .collect()
    }

    fn header(&self, counts: &[usize]) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "-- pgharness seed data: seed {}, profile {}",
            self.seed, self.profile
        );
        let _ = writeln!(
            s,
            "-- rows: {}",
            self.tables
                .iter()
                .zip(counts)
                .map(|(t, n)| format!("{} {n}", t.name.name))
                .collect::<Vec<_>>()
                .join(", ")
        );
        s
    }

    fn preamble(&self) -> String {
        let mut s =
            String::from("SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n");
        if !self.deferred.is_empty() {
            let names: Vec<String> = self
                .deferred
                .iter()
                .map(|(t, c)| format!("{}.{}", quote_ident(&t.schema), quote_ident(c)))
                .collect();
            let _ = writeln!(s, "SET CONSTRAINTS {} DEFERRED;", names.join(", "));
        }
        s
    }

    fn setval_sql(sequences: &[(QualifiedName, i64)]) -> String {
        let mut s = String::new();
        for (seq, max) in sequences {
            let _ = writeln!(
                s,
                "SELECT pg_catalog.setval({}, {max}, true);",
                sql_string(&qualified(seq))
            );
        }
        s
    }

    fn stage_name(i: usize) -> String {
        format!("pgharness_seed_stage_{i}")
    }

    /// The statements around one table's COPY: (before, copy statement,
    /// after; the `setval`s follow).
    fn table_statements(i: usize, t: &TableData) -> (String, String, String) {
        if t.sql_columns.is_empty() {
            let copy = format!(
                "COPY {} ({}) FROM stdin;",
                t.qualified_name(),
                t.qualified_columns()
            );
            return (String::new(), copy, String::new());
        }
        // Columns computed by the server: COPY into a staging table, then
        // INSERT ... SELECT with the expressions.
        let stage = Self::stage_name(i);
        let before = format!(
            "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA;\n",
            t.qualified_columns(),
            t.qualified_name()
        );
        let copy = format!("COPY {stage} ({}) FROM stdin;", t.qualified_columns());
        let (insert, exprs) = t.insert_into();
        let after = format!("{insert} SELECT {exprs} FROM {stage};\nDROP TABLE {stage};\n");
        (before, copy, after)
    }

    /// A psql script that loads the data set: `COPY ... FROM stdin` blocks
    /// in load order, `setval` for every sequence written, UPDATEs closing
    /// foreign-key cycles, all in one transaction. Load it with `psql -v
    /// ON_ERROR_STOP=1 -f` into a database with the schema.
    pub fn to_copy_sql(&self) -> String {
        let mut out = Vec::new();
        self.write_copy_sql(&mut out)
            .expect("writing to memory cannot fail");
        String::from_utf8(out).expect("the script is UTF-8")
    }

    /// [`Dataset::to_copy_sql`], written to `w` a block of rows at a time
    /// (a large data set's script is never whole in memory).
    pub fn write_copy_sql(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        self.write_script(w, None).map(|_| ())
    }

    /// [`Dataset::write_copy_sql`], the tables `generator` streams made as
    /// they are written. Without a generator, always complete.
    pub(crate) fn write_script(
        &self,
        w: &mut impl std::io::Write,
        mut generator: Option<&mut Generator>,
    ) -> std::io::Result<Streamed> {
        let counts = self.counts(generator.as_deref().map(Generator::streams));
        let mut out = self.header(&counts);
        out.push_str("BEGIN;\n");
        out.push_str(&self.preamble());
        let mut scratch = String::new();
        for (i, t) in self.tables.iter().enumerate() {
            if counts[i] == 0 {
                // A streamed table that gets no rows still ends its stream.
                if let Some(g) = generator
                    .as_deref_mut()
                    .filter(|g| g.streams().is_streamed(i))
                {
                    match g.next_piece() {
                        Some(Piece::Done { table, rows: 0, .. }) if table == i => {}
                        Some(Piece::Failed(e)) => return Ok(Streamed::Failed(e)),
                        _ => return Ok(Streamed::NeedsServer),
                    }
                }
                continue;
            }
            let (before, copy, after) = Self::table_statements(i, t);
            out.push('\n');
            out.push_str(&before);
            out.push_str(&copy);
            out.push('\n');
            let mut sequences = &t.sequences;
            let streamed_sequences;
            match generator.as_deref_mut() {
                Some(g) if g.streams().is_streamed(i) => loop {
                    match g.next_piece() {
                        Some(Piece::Copy { table, text, .. }) if table == i => {
                            w.write_all(out.as_bytes())?;
                            out.clear();
                            w.write_all(text.as_bytes())?;
                        }
                        Some(Piece::Done {
                            table,
                            rows,
                            sequences: s,
                        }) if table == i => {
                            // The header said how many: a row capped away
                            // makes it wrong, and the data set is built in
                            // memory instead.
                            if rows != counts[i] {
                                return Ok(Streamed::NeedsServer);
                            }
                            streamed_sequences = s;
                            sequences = &streamed_sequences;
                            break;
                        }
                        Some(Piece::Failed(e)) => return Ok(Streamed::Failed(e)),
                        _ => return Ok(Streamed::NeedsServer),
                    }
                },
                _ => {
                    let mut from = 0;
                    while from < t.rows.len() {
                        let to = (from + 4096).min(t.rows.len());
                        copy_rows(&t.rows[from..to], &mut out, &mut scratch);
                        w.write_all(out.as_bytes())?;
                        out.clear();
                        from = to;
                    }
                }
            }
            out.push_str("\\.\n");
            out.push_str(&after);
            out.push_str(&Self::setval_sql(sequences));
        }
        for f in &self.fixups {
            out.push('\n');
            out.push_str(&f.to_sql());
        }
        out.push_str("\nCOMMIT;\n");
        w.write_all(out.as_bytes())?;
        Ok(Streamed::Complete)
    }

    /// The rows of catalog query `sql` (`$1`: schemas, `$2`: table names)
    /// for the tables getting at least `min` rows (`rows`, per table); none
    /// when no table does.
    async fn catalog_of_tables<T>(
        &self,
        conn: &mut PgConnection,
        rows: &[usize],
        min: usize,
        step: &str,
        sql: &str,
    ) -> Result<Vec<T>, GenerateError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        let (schemas, names): (Vec<String>, Vec<String>) = self
            .tables
            .iter()
            .zip(rows)
            .filter(|(_, n)| **n >= min)
            .map(|(t, _)| (t.name.schema.clone(), t.name.name.clone()))
            .unzip();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query_as(sql)
            .bind(&schemas)
            .bind(&names)
            .fetch_all(&mut *conn)
            .await
            .map_err(|source| GenerateError::Load {
                step: step.to_string(),
                source,
            })
    }

    /// Drops the foreign keys from and to the loaded tables (those getting
    /// rows, `rows` per table), inside a savepoint: without the
    /// privileges, nothing is dropped and the load checks row by row.
    /// Returns what restores them.
    async fn drop_foreign_keys(
        &self,
        conn: &mut PgConnection,
        rows: &[usize],
    ) -> Result<Vec<DroppedForeignKey>, GenerateError> {
        // Constraints inherited by partitions are the parent's: dropped and
        // re-added with it.
        let rows: Vec<(String, String, String, String, Option<String>)> = self
            .catalog_of_tables(
                conn,
                rows,
                1,
                "reading the foreign keys",
                "select quote_ident(n.nspname) || '.' || quote_ident(c.relname), con.conname::text,
                    pg_get_constraintdef(con.oid), quote_ident(con.conname),
                    obj_description(con.oid, 'pg_constraint')
               from pg_constraint con
               join pg_class c on c.oid = con.conrelid
               join pg_namespace n on n.oid = c.relnamespace
               join pg_class f on f.oid = con.confrelid
               join pg_namespace fn on fn.oid = f.relnamespace
              where con.contype = 'f' and con.conparentid = 0
                and ((n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))
                  or (fn.nspname, f.relname) in (select * from unnest($1::text[], $2::text[])))
              order by 1, 2",
            )
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut drop = String::new();
        let mut out = Vec::new();
        for (table, name, definition, quoted, comment) in rows {
            let _ = writeln!(drop, "alter table {table} drop constraint {quoted};");
            let mut restore =
                format!("alter table {table} add constraint {quoted} {definition};\n");
            if let Some(c) = comment {
                let _ = writeln!(
                    restore,
                    "comment on constraint {quoted} on {table} is {};",
                    sql_string(&c)
                );
            }
            out.push(DroppedForeignKey {
                table,
                name,
                restore,
            });
        }
        // Not the owner (or locked out): checked row by row instead.
        let dropped =
            drop_in_savepoint(conn, "pgharness_foreign_keys", &drop, "foreign keys").await?;
        Ok(if dropped { out } else { Vec::new() })
    }

    /// Drops the plain indexes of tables getting [`INDEXES_AFTER_ROWS`] rows
    /// or more (`rows`, per table), inside a savepoint as
    /// [`Dataset::drop_foreign_keys`] does: built once after the COPY
    /// (what `pg_restore` does), an index costs a sort instead of a btree
    /// insert per row. Left alone: indexes behind a constraint, unique ones
    /// (a trigger's `ON CONFLICT` may need them while rows load), and any
    /// with something a re-created index would not have (a tablespace, a
    /// statistics target, `CLUSTER`, replica identity, a partition, an
    /// extension, a dependent object). Returns what re-creates them, with
    /// their comments.
    async fn drop_indexes(
        &self,
        conn: &mut PgConnection,
        rows: &[usize],
    ) -> Result<Vec<DroppedIndex>, GenerateError> {
        let found: Vec<(String, String, String, Option<String>)> = self
            .catalog_of_tables(
                conn,
                rows,
                INDEXES_AFTER_ROWS,
                "reading the indexes",
            "select quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                    quote_ident(n.nspname) || '.' || quote_ident(i.relname),
                    pg_get_indexdef(i.oid), obj_description(i.oid, 'pg_class')
               from pg_index x
               join pg_class i on i.oid = x.indexrelid
               join pg_class c on c.oid = x.indrelid
               join pg_namespace n on n.oid = c.relnamespace
              where (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))
                and c.relkind = 'r' and not c.relispartition
                and i.relkind = 'i' and not i.relispartition and i.reltablespace = 0
                and x.indisvalid and x.indisready and x.indislive
                and not x.indisunique and not x.indisclustered and not x.indisreplident
                and not exists (select from pg_constraint k where k.conindid = i.oid)
                and not exists (select from pg_inherits h where h.inhrelid = i.oid or h.inhparent = i.oid)
                and not exists (select from pg_depend d
                                 where d.refclassid = 'pg_class'::regclass and d.refobjid = i.oid)
                and not exists (select from pg_depend d
                                 where d.classid = 'pg_class'::regclass and d.objid = i.oid and d.deptype = 'e')
                and not exists (select from pg_attribute a
                                 where a.attrelid = i.oid and a.attstattarget is not null and a.attstattarget >= 0)
              order by 1, 2",
            )
            .await?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let mut drop = String::new();
        let mut out = Vec::new();
        for (table, name, definition, comment) in found {
            let _ = writeln!(drop, "drop index {name};");
            let mut restore = format!("{definition};\n");
            if let Some(c) = comment {
                let _ = writeln!(restore, "comment on index {name} is {};", sql_string(&c));
            }
            out.push(DroppedIndex {
                table,
                name,
                restore,
            });
        }
        // Not the owner (or locked out): the indexes stay.
        let dropped = drop_in_savepoint(conn, "pgharness_indexes", &drop, "indexes").await?;
        Ok(if dropped { out } else { Vec::new() })
    }

    /// The data set as INSERT statements (one per table, a row per line):
    /// for showing a minimal failing data set to a person.
    pub fn to_inserts(&self) -> String {
        let mut out = String::new();
        if !self.deferred.is_empty() {
            out.push_str(&self.preamble());
        }
        for t in &self.tables {
            if t.rows.is_empty() {
                continue;
            }
            let (insert, exprs) = t.insert_into();
            if t.sql_columns.is_empty() {
                let _ = writeln!(out, "{insert} VALUES");
                for (ri, row) in t.rows.iter().enumerate() {
                    let vals: Vec<String> = row.iter().map(Value::to_sql_literal).collect();
                    let _ = writeln!(
                        out,
                        "  ({}){}",
                        vals.join(", "),
                        if ri + 1 < t.rows.len() { "," } else { ";" }
                    );
                }
            } else {
                let _ = writeln!(out, "{insert} SELECT {exprs} FROM (VALUES");
                for (ri, row) in t.rows.iter().enumerate() {
                    let vals: Vec<String> = row
                        .iter()
                        .zip(&t.types)
                        .map(|(v, ty)| format!("({})::{ty}", v.to_sql_literal()))
                        .collect();
                    let _ = writeln!(
                        out,
                        "  ({}){}",
                        vals.join(", "),
                        if ri + 1 < t.rows.len() { "," } else { "" }
                    );
                }
                let _ = writeln!(out, ") AS v({});", t.qualified_columns());
            }
            out.push_str(&Self::setval_sql(&t.sequences));
        }
        for f in &self.fixups {
            out.push_str(&f.to_sql());
        }
        out
    }

    /// Loads the data set into the database `conn` is connected to, with
    /// COPY, in one transaction (a savepoint when `conn` is already in
    /// one). Triggers fire as they would in production. On a terminal, a
    /// large load shows a progress bar on stderr. Foreign keys are checked
    /// as [`ForeignKeyChecks::Auto`] says.
    pub async fn load(&self, conn: &mut PgConnection) -> Result<LoadStats, GenerateError> {
        let progress = std::io::stderr().is_terminal() && self.total_rows() >= PROGRESS_ROWS;
        self.load_with(conn, progress).await
    }

    /// [`Dataset::load`], with the progress bar on or off.
    pub async fn load_with(
        &self,
        conn: &mut PgConnection,
        progress: bool,
    ) -> Result<LoadStats, GenerateError> {
        self.load_with_options(
            conn,
            &LoadOptions {
                progress,
                foreign_keys: ForeignKeyChecks::Auto,
            },
        )
        .await
    }

    /// [`Dataset::load`], as `options` say.
    pub async fn load_with_options(
        &self,
        conn: &mut PgConnection,
        options: &LoadOptions,
    ) -> Result<LoadStats, GenerateError> {
        match self.load_streamed(conn, options, None).await? {
            Some(stats) => Ok(stats),
            // Only a stream asks for the server.
            None => Err(GenerateError::Load {
                step: "loading (no table is streamed, yet one asked for the server)".into(),
                source: sqlx::Error::WorkerCrashed,
            }),
        }
    }

    /// [`Dataset::load_with_options`], the tables `feed` streams made while
    /// they load. `None`: a streamed table needs the server's verdict, and
    /// nothing was written (the transaction is rolled back); build the
    /// data set in memory instead.
    pub(crate) async fn load_streamed(
        &self,
        conn: &mut PgConnection,
        options: &LoadOptions,
        mut feed: Option<&mut Feed>,
    ) -> Result<Option<LoadStats>, GenerateError> {
        let counts = self.counts(feed.as_deref().map(Feed::streams));
        let total_rows: usize = counts.iter().sum();
        let progress = options.progress;
        let started = Instant::now();
        let bar = if progress {
            let bar = indicatif::ProgressBar::new(total_rows as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} seeding {msg:20} [{bar:30}] {pos}/{len} rows ({per_sec})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            Some(bar)
        } else {
            None
        };
        let load_err =
            |step: String| move |source: sqlx::Error| GenerateError::Load { step, source };
        let mut tx = conn.begin().await.map_err(load_err("BEGIN".into()))?;
        let preamble = self.preamble();
        sqlx::raw_sql(&preamble)
            .execute(&mut *tx)
            .await
            .map_err(load_err("the session settings".into()))?;
        let after_load = match options.foreign_keys {
            ForeignKeyChecks::PerRow => false,
            ForeignKeyChecks::AfterLoad => true,
            ForeignKeyChecks::Auto => {
                total_rows >= AFTER_LOAD_ROWS && !has_event_triggers(&mut tx).await
            }
        };
        let (revalidate, rebuild) = if after_load {
            (
                self.drop_foreign_keys(&mut tx, &counts).await?,
                self.drop_indexes(&mut tx, &counts).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let mut stats = Vec::new();
        let mut streamed_tables = Vec::new();
        let mut buf = String::with_capacity(CHUNK + 4096);
        let mut scratch = String::new();
        for (i, t) in self.tables.iter().enumerate() {
            let name = t.key();
            let stream = match feed.as_deref_mut() {
                Some(f) if f.streams().is_streamed(i) => Some(f),
                _ => None,
            };
            if t.rows.is_empty() && stream.is_none() {
                stats.push((name, 0));
                continue;
            }
            if let Some(bar) = &bar {
                bar.set_message(t.name.name.clone());
            }
            let (before, copy, after) = Self::table_statements(i, t);
            if !before.is_empty() {
                sqlx::raw_sql(&before)
                    .execute(&mut *tx)
                    .await
                    .map_err(load_err(format!("staging {}", t.name)))?;
            }
            let step = format!("COPY {}", t.name);
            let mut copy_in = (*tx)
                .copy_in_raw(&copy)
                .await
                .map_err(load_err(step.clone()))?;
            let mut rows = t.rows.len();
            let mut sequences = t.sequences.clone();
            if let Some(feed) = stream {
                streamed_tables.push(name.clone());
                loop {
                    match feed.next().await {
                        Piece::Copy {
                            table,
                            text,
                            rows: n,
                        } if table == i => {
                            if let Err(e) = copy_in.send(text.as_bytes()).await {
                                let _ = copy_in.abort("pgharness: sending failed").await;
                                return Err(load_err(step)(e));
                            }
                            if let Some(bar) = &bar {
                                bar.inc(n as u64);
                            }
                        }
                        Piece::Done {
                            table,
                            rows: n,
                            sequences: s,
                        } if table == i => {
                            rows = n;
                            sequences = s;
                            break;
                        }
                        Piece::Failed(e) => {
                            let _ = copy_in.abort("pgharness: generating failed").await;
                            return Err(e);
                        }
                        other => {
                            if let Piece::NeedsServer { table } = other {
                                let name = self.tables.get(table).map(|t| t.name.to_string());
                                tracing::debug!(
                                    table = name.as_deref().unwrap_or("?"),
                                    "a check of a streamed table needs the server's verdict"
                                );
                            }
                            // Dropping the transaction rolls it back.
                            let _ = copy_in.abort("pgharness: the server must decide").await;
                            if let Some(bar) = bar {
                                bar.finish_and_clear();
                            }
                            return Ok(None);
                        }
                    }
                }
            } else {
                let mut from = 0;
                while from < t.rows.len() {
                    buf.clear();
                    let mut to = from;
                    while to < t.rows.len() && buf.len() < CHUNK {
                        let next = (to + 256).min(t.rows.len());
                        copy_rows(&t.rows[to..next], &mut buf, &mut scratch);
                        to = next;
                    }
                    if let Err(e) = copy_in.send(buf.as_bytes()).await {
                        let _ = copy_in.abort("pgharness: sending failed").await;
                        return Err(load_err(step)(e));
                    }
                    if let Some(bar) = &bar {
                        bar.inc((to - from) as u64);
                    }
                    from = to;
                }
            }
            copy_in.finish().await.map_err(load_err(step))?;
            stats.push((name, rows));
            let after = format!("{after}{}", Self::setval_sql(&sequences));
            if !after.is_empty() {
                sqlx::raw_sql(&after)
                    .execute(&mut *tx)
                    .await
                    .map_err(load_err(format!(
                        "after COPY {} (sequences, staged columns)",
                        t.name
                    )))?;
            }
        }
        for f in &self.fixups {
            sqlx::raw_sql(&f.to_sql())
                .execute(&mut *tx)
                .await
                .map_err(load_err(format!(
                    "UPDATE {} (foreign keys closing a cycle)",
                    f.table
                )))?;
        }
        for index in &rebuild {
            sqlx::raw_sql(&index.restore)
                .execute(&mut *tx)
                .await
                .map_err(load_err(format!(
                    "re-creating index {} on {} (built once, after the rows)",
                    index.name, index.table
                )))?;
        }
        for fk in &revalidate {
            sqlx::raw_sql(&fk.restore)
                .execute(&mut *tx)
                .await
                .map_err(load_err(format!(
                    "re-adding foreign key {} on {} (checks every loaded row)",
                    fk.name, fk.table
                )))?;
        }
        tx.commit().await.map_err(load_err(
            "COMMIT (deferred constraints are checked here)".into(),
        ))?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let total_rows = stats.iter().map(|(_, n)| n).sum();
        Ok(Some(LoadStats {
            rows: stats,
            total_rows,
            elapsed: started.elapsed(),
            streamed: streamed_tables,
        }))
    }
}
