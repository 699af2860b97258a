//! What each statement of one migration does to a database: the locks it
//! takes (from `pg_locks` of the migrating backend), the relations it
//! rewrites (their `relfilenode` changes), the constraints it validates on
//! tables that already held rows, the indexes it builds on them, and how
//! long it runs.
//!
//! Inside a transaction block the locks are read on the migrating
//! connection itself after each statement: a lock is held to the end of
//! the transaction, so the list is exact, and relations the transaction
//! created are visible to it. A statement outside one (a migration without
//! a transaction: `CREATE INDEX CONCURRENTLY`) releases its locks as it
//! ends; those are sampled from a second connection while it runs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::future::{FutureExt, LocalBoxFuture};
use serde::Serialize;
use sqlx::{PgConnection, Row};

use crate::apply::{StatementObserver, StatementOutcome};
use crate::chain::Script;
use crate::statement::{self, Statement};

/// A relation as it was before the migration.
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    pub name: String,
    pub kind: char,
    pub filenode: i64,
    pub rows: i64,
    pub bytes: i64,
    /// An index's table.
    pub table: Option<i64>,
}

/// The database's user relations, validated constraints and NOT NULL
/// columns before the migration.
#[derive(Debug, Clone, Default)]
pub(crate) struct Before {
    pub relations: BTreeMap<i64, Relation>,
    /// Validated CHECK and FOREIGN KEY constraints (by oid: one dropped
    /// and added again under its name is a new one).
    pub validated: BTreeSet<i64>,
    /// `(table, column)` of every column, and whether it is NOT NULL.
    pub columns: BTreeMap<(i64, String), bool>,
}

impl Before {
    /// Reads it on `conn` (outside the migration's transaction).
    pub async fn read(conn: &mut PgConnection) -> Result<Before, sqlx::Error> {
        let mut before = Before::default();
        let rows = sqlx::query(
            "select c.oid::int8, n.nspname || '.' || c.relname, c.relfilenode::int8,
                    greatest(c.reltuples, 0)::int8, pg_relation_size(c.oid)::int8, i.indrelid::int8,
                    c.relkind::text
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
               left join pg_index i on i.indexrelid = c.oid
              where c.oid >= 16384 and c.relkind in ('r', 'p', 'i', 'I', 'm', 'S', 'v')
                and n.nspname not like 'pg\\_toast%'",
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            before.relations.insert(
                row.try_get(0)?,
                Relation {
                    name: row.try_get(1)?,
                    filenode: row.try_get(2)?,
                    rows: row.try_get(3)?,
                    bytes: row.try_get(4)?,
                    table: row.try_get(5)?,
                    kind: row.try_get::<String, _>(6)?.chars().next().unwrap_or('r'),
                },
            );
        }
        let rows = sqlx::query(
            "select oid::int8 from pg_constraint
              where convalidated and contype in ('c', 'f') and conrelid >= 16384",
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            before.validated.insert(row.try_get(0)?);
        }
        let rows = sqlx::query(
            "select a.attrelid::int8, a.attname::text, a.attnotnull from pg_attribute a
               join pg_class c on c.oid = a.attrelid
              where a.attrelid >= 16384 and a.attnum > 0 and not a.attisdropped
                and c.relkind in ('r', 'p')",
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            before
                .columns
                .insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
        }
        Ok(before)
    }
}

/// A lock a statement took: each (relation, mode) pair `pg_locks` shows
/// that the transaction did not hold before, as PostgreSQL lists them (a
/// statement can take several modes on one relation).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LockTaken {
    /// The relation (`schema.name`).
    pub relation: String,
    /// `table`, `index`, `view`, ...
    pub kind: &'static str,
    /// The lock mode as `pg_locks` names it (`AccessExclusiveLock`).
    pub mode: String,
    /// What the lock keeps other sessions from doing while it is held:
    /// `reads and writes`, `writes`, or `schema changes` (DDL, VACUUM).
    pub blocks: &'static str,
    /// Whether the relation existed before the migration (a lock on a
    /// relation the migration created blocks nobody).
    pub existing: bool,
    /// Rows in the relation (its table's, for an index) before the
    /// migration.
    pub rows: i64,
}

/// A relation whose storage a statement rewrote.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rewrite {
    /// The relation.
    pub relation: String,
    /// `table`, `index`, `materialized view`.
    pub kind: &'static str,
    /// Its rows before the migration (its table's, for an index).
    pub rows: i64,
    /// Its size in bytes before the migration.
    pub bytes: i64,
    /// A table's indexes rebuilt with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<String>,
}

/// A constraint a statement validated on a table that held rows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Validation {
    /// The table.
    pub relation: String,
    /// `CHECK constraint x`, `FOREIGN KEY constraint x`, `NOT NULL on y`.
    pub what: String,
    /// Rows in the table.
    pub rows: i64,
}

/// An index a statement built on a table that existed before.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IndexBuild {
    /// The index.
    pub index: String,
    /// Its table.
    pub table: String,
    /// Rows in the table.
    pub rows: i64,
    /// The lock held on the table while it was built.
    pub table_lock: String,
    /// Whether it replaces an index of the same name (an ALTER TYPE
    /// rebuilds the indexes on the column).
    pub rebuilt: bool,
}

/// What one statement did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatementTrace {
    /// Line of the statement's first token in the migration file.
    pub line: usize,
    /// The statement.
    pub sql: String,
    /// How long it ran, in milliseconds.
    pub duration_ms: f64,
    /// Rows it inserted, updated, deleted or copied.
    pub rows_affected: u64,
    /// `lock_timeout` when it ran (`0`: wait for ever).
    pub lock_timeout: String,
    /// Locks it took that the transaction did not hold before.
    pub locks: Vec<LockTaken>,
    /// Relations it rewrote.
    pub rewrites: Vec<Rewrite>,
    /// Constraints it validated on tables with rows.
    pub validations: Vec<Validation>,
    /// Indexes it built on tables that existed before.
    pub index_builds: Vec<IndexBuild>,
    /// How long its locks were held: from its start to the end of its
    /// transaction, in milliseconds.
    pub held_ms: f64,
    /// Whether the locks were sampled while it ran (outside a transaction
    /// block) rather than read after it.
    pub sampled: bool,
    /// Rules an ignore comment turns off for it (`*`: every rule).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// Whether it ended a transaction block (its locks, and those taken
    /// before it in the block, were released).
    #[serde(skip)]
    pub(crate) ends_block: bool,
    /// Whether a transaction block was open when it ended.
    #[serde(skip)]
    pub(crate) in_block: bool,
}

/// Watches one migration's up script (see the module's comment).
pub(crate) struct Tracer<'a> {
    script: &'a Script,
    before: &'a Before,
    /// A second connection to the same database, for statements outside a
    /// transaction block, and the migrating backend's process id.
    monitor: Option<(PgConnection, i32)>,
    /// Locks seen while the current statement ran (sampled).
    sampled: BTreeMap<i64, String>,
    /// Locks the open transaction holds: `(relation, mode)`.
    held: BTreeSet<(i64, String)>,
    filenodes: BTreeMap<i64, i64>,
    validated: BTreeSet<i64>,
    not_null: BTreeSet<(i64, String)>,
    prev_end: usize,
    /// Indexes this migration built, already reported.
    indexes_seen: BTreeSet<i64>,
    pub statements: Vec<StatementTrace>,
    pub commit: Duration,
}

impl<'a> Tracer<'a> {
    pub fn new(
        script: &'a Script,
        before: &'a Before,
        monitor: Option<(PgConnection, i32)>,
    ) -> Tracer<'a> {
        Tracer {
            script,
            before,
            monitor,
            sampled: BTreeMap::new(),
            held: BTreeSet::new(),
            filenodes: before
                .relations
                .iter()
                .map(|(oid, r)| (*oid, r.filenode))
                .collect(),
            validated: before.validated.clone(),
            not_null: before
                .columns
                .iter()
                .filter(|(_, nn)| **nn)
                .map(|(k, _)| k.clone())
                .collect(),
            prev_end: 0,
            indexes_seen: BTreeSet::new(),
            statements: Vec::new(),
            commit: Duration::ZERO,
        }
    }

    /// Closes the monitor connection.
    pub async fn close(self) -> (Vec<StatementTrace>, Duration) {
        if let Some((conn, _)) = self.monitor {
            let _ = sqlx::Connection::close(conn).await;
        }
        let mut statements = self.statements;
        held_times(&mut statements, self.commit);
        (statements, self.commit)
    }

    async fn observe(
        &mut self,
        conn: &mut PgConnection,
        stmt: &Statement<'_>,
        outcome: StatementOutcome,
    ) -> Result<(), sqlx::Error> {
        let sampled = !outcome.in_transaction && !self.sampled.is_empty();
        // (oid, mode, kind, filenode, name, index's table)
        let rows = if outcome.in_transaction {
            sqlx::query(AFTER_IN_TRANSACTION)
                .fetch_all(&mut *conn)
                .await?
        } else {
            let (oids, modes): (Vec<i64>, Vec<String>) =
                std::mem::take(&mut self.sampled).into_iter().unzip();
            sqlx::query(AFTER_SAMPLED)
                .bind(oids)
                .bind(modes)
                .fetch_all(&mut *conn)
                .await?
        };
        let lock_timeout: String = match rows.first() {
            Some(row) => row.try_get(6)?,
            None => String::new(),
        };
        let mut locks = Vec::new();
        let mut rewrites: Vec<Rewrite> = Vec::new();
        let mut index_builds = Vec::new();
        let mut locked_tables = Vec::new();
        let mut rewritten_tables = BTreeSet::new();
        let mut new_indexes = Vec::new();
        let mut pending_indexes: Vec<(String, String)> = Vec::new();
        let mut table_modes: BTreeMap<i64, String> = BTreeMap::new();
        for row in &rows {
            // The row of the setting alone, when no lock is held.
            let Some(oid) = row.try_get::<Option<i64>, _>(0)? else {
                continue;
            };
            let mode: String = row.try_get(1)?;
            let kind: Option<String> = row.try_get(2)?;
            let filenode: Option<i64> = row.try_get(3)?;
            let name: Option<String> = row.try_get(4)?;
            let table: Option<i64> = row.try_get(5)?;
            let existing = self.before.relations.get(&oid);
            // A relation the statement dropped is known from before.
            let kind = kind
                .and_then(|k| k.chars().next())
                .or(existing.map(|r| r.kind))
                .unwrap_or('r');
            let name = name
                .or_else(|| existing.map(|r| r.name.clone()))
                .unwrap_or_else(|| format!("relation {oid}"));
            if matches!(kind, 'r' | 'p' | 'm') {
                locked_tables.push(oid);
                let stronger = table_modes
                    .get(&oid)
                    .is_none_or(|m| strength(m) < strength(&mode));
                if stronger {
                    table_modes.insert(oid, mode.clone());
                }
            }
            if let (Some(before), Some(now)) = (existing, filenode) {
                let known = self.filenodes.get(&oid).copied().unwrap_or(before.filenode);
                if now != known && now != 0 && known != 0 {
                    self.filenodes.insert(oid, now);
                    rewrites.push(Rewrite {
                        relation: name.clone(),
                        kind: kind_name(kind),
                        rows: rows_of(self.before, oid),
                        bytes: before.bytes,
                        indexes: Vec::new(),
                    });
                    if matches!(kind, 'r' | 'm') {
                        rewritten_tables.insert(oid);
                    }
                }
            }
            // An index built in this statement: new, on a table that
            // existed, not seen before (its locks stay listed to the end of
            // the transaction), and not one whose storage an ALTER TYPE
            // kept (same relfilenode as the index it replaces).
            if existing.is_none()
                && matches!(kind, 'i' | 'I')
                && !self.indexes_seen.contains(&oid)
                && !filenode
                    .is_some_and(|f| self.before.relations.values().any(|r| r.filenode == f))
            {
                if let Some(t) = table.filter(|t| self.before.relations.contains_key(t)) {
                    self.indexes_seen.insert(oid);
                    new_indexes.push((name.clone(), t));
                }
            }
            if !self.held.insert((oid, mode.clone())) && outcome.in_transaction {
                continue;
            }
            locks.push(LockTaken {
                relation: name,
                kind: kind_name(kind),
                blocks: blocks(&mode),
                mode,
                existing: existing.is_some(),
                rows: match kind {
                    'r' | 'p' | 'm' | 'i' | 'I' => {
                        existing.map_or(0, |_| rows_of(self.before, oid))
                    }
                    _ => 0,
                },
            });
        }
        // A table's rewrite rebuilds its indexes: one entry, naming them.
        let mut folded: Vec<Rewrite> = Vec::new();
        for r in rewrites {
            let table = self
                .before
                .relations
                .iter()
                .find(|(_, rel)| rel.name == r.relation)
                .and_then(|(_, rel)| rel.table);
            match table.filter(|t| rewritten_tables.contains(t)) {
                Some(t) => {
                    let name = &self.before.relations[&t].name;
                    if let Some(owner) = folded.iter_mut().find(|f| &f.relation == name) {
                        owner.indexes.push(r.relation);
                    } else {
                        pending_indexes.push((name.clone(), r.relation));
                    }
                }
                None => folded.push(r),
            }
        }
        for (table, index) in pending_indexes {
            if let Some(owner) = folded.iter_mut().find(|f| f.relation == table) {
                owner.indexes.push(index);
            }
        }
        let rewrites = folded;
        for (index, table) in new_indexes {
            if rewritten_tables.contains(&table) {
                continue; // rebuilt with its table
            }
            let rebuilt = self.before.relations.values().any(|r| r.name == index);
            index_builds.push(IndexBuild {
                rebuilt,
                index,
                table: self.before.relations[&table].name.clone(),
                rows: self.before.relations[&table].rows,
                table_lock: table_modes.get(&table).cloned().unwrap_or_default(),
            });
        }
        let validations = self.validations(conn, &locked_tables).await?;
        if !outcome.in_transaction {
            // The locks went with the statement.
            self.held.clear();
        }
        locks.sort_by(|a, b| {
            (b.existing, strength(&b.mode), &a.relation).cmp(&(
                a.existing,
                strength(&a.mode),
                &b.relation,
            ))
        });
        let (line, _) = statement::line_col(&self.script.sql, stmt.start);
        let gap = &self.script.sql[self.prev_end.min(stmt.start)..stmt.start];
        self.prev_end = stmt.start + stmt.text.len();
        let mut ignored = ignore_comment(gap);
        ignored.extend(ignore_comment(stmt.text));
        self.statements.push(StatementTrace {
            line: line + self.script.line_offset,
            sql: stmt.text.to_string(),
            duration_ms: outcome.elapsed.as_secs_f64() * 1000.0,
            rows_affected: outcome.rows,
            lock_timeout,
            locks,
            rewrites,
            validations,
            index_builds,
            held_ms: 0.0,
            sampled,
            ignored,
            ends_block: stmt.is_transaction_control() && !outcome.in_transaction,
            in_block: outcome.in_transaction,
        });
        Ok(())
    }

    /// Constraints and NOT NULLs newly validated on `tables` that held rows.
    async fn validations(
        &mut self,
        conn: &mut PgConnection,
        tables: &[i64],
    ) -> Result<Vec<Validation>, sqlx::Error> {
        let existing: Vec<i64> = tables
            .iter()
            .copied()
            .filter(|t| self.before.relations.contains_key(t))
            .collect();
        if existing.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "select conrelid::int8, conname::text, case contype when 'c' then 'CHECK' else 'FOREIGN KEY' end,
                    oid::int8
               from pg_constraint where convalidated and contype in ('c', 'f') and conrelid = any($1::int8[]::oid[])
             union all
             select attrelid::int8, attname::text, null, null from pg_attribute
              where attrelid = any($1::int8[]::oid[]) and attnum > 0 and not attisdropped and attnotnull",
        )
        .bind(&existing)
        .fetch_all(&mut *conn)
        .await?;
        let mut found = Vec::new();
        for row in rows {
            let table: i64 = row.try_get(0)?;
            let name: String = row.try_get(1)?;
            let kind: Option<String> = row.try_get(2)?;
            let constraint: Option<i64> = row.try_get(3)?;
            let rows_in = rows_of(self.before, table);
            let relation = self.before.relations[&table].name.clone();
            match kind {
                Some(kind) => {
                    let new = constraint.is_some_and(|oid| self.validated.insert(oid));
                    if new && rows_in > 0 {
                        found.push(Validation {
                            relation,
                            what: format!("{kind} constraint {name}"),
                            rows: rows_in,
                        });
                    }
                }
                None => {
                    // A column that existed before and was nullable: SET
                    // NOT NULL scans the table. (A column added NOT NULL
                    // with a default does not.)
                    let was = self.before.columns.get(&(table, name.clone()));
                    if self.not_null.insert((table, name.clone()))
                        && was == Some(&false)
                        && rows_in > 0
                    {
                        found.push(Validation {
                            relation,
                            what: format!("NOT NULL on column {name}"),
                            rows: rows_in,
                        });
                    }
                }
            }
        }
        Ok(found)
    }
}

/// The relation locks the migrating backend holds, with what the
/// transaction sees of each relation, and the session's `lock_timeout` (on
/// every row; one row of NULLs but it when no lock is held): one round trip.
const AFTER_IN_TRANSACTION: &str = "
    select x.*, current_setting('lock_timeout') from (select) one left join (
    select l.relation::int8, l.mode, c.relkind::text, c.relfilenode::int8,
           n.nspname || '.' || c.relname, i.indrelid::int8
      from pg_locks l
      left join pg_class c on c.oid = l.relation
      left join pg_namespace n on n.oid = c.relnamespace
      left join pg_index i on i.indexrelid = l.relation
     where l.pid = pg_backend_pid() and l.locktype = 'relation' and l.granted
       and l.relation >= 16384 and coalesce(n.nspname not like 'pg\\_toast%', true)
    ) x on true";

/// The same for locks sampled while a statement ran outside a transaction.
const AFTER_SAMPLED: &str = "
    select x.*, current_setting('lock_timeout') from (select) one left join (
    select s.oid, s.mode, c.relkind::text, c.relfilenode::int8,
           n.nspname || '.' || c.relname, i.indrelid::int8
      from unnest($1::int8[], $2::text[]) as s(oid, mode)
      left join pg_class c on c.oid = s.oid::oid
      left join pg_namespace n on n.oid = c.relnamespace
      left join pg_index i on i.indexrelid = s.oid::oid
     where coalesce(n.nspname not like 'pg\\_toast%', true)
    ) x on true";

impl StatementObserver for Tracer<'_> {
    fn during<'b>(&'b mut self, _index: usize) -> Option<LocalBoxFuture<'b, ()>> {
        let (conn, pid) = self.monitor.as_mut()?;
        let pid = *pid;
        let sampled = &mut self.sampled;
        Some(
            async move {
                loop {
                    let rows = sqlx::query(
                        "select relation::int8, mode from pg_locks
                          where pid = $1 and locktype = 'relation' and granted and relation >= 16384",
                    )
                    .bind(pid)
                    .fetch_all(&mut *conn)
                    .await;
                    let Ok(rows) = rows else {
                        return;
                    };
                    for row in rows {
                        if let (Ok(oid), Ok(mode)) =
                            (row.try_get::<i64, _>(0), row.try_get::<String, _>(1))
                        {
                            let keep = sampled
                                .get(&oid)
                                .is_none_or(|m| strength(m) < strength(&mode));
                            if keep {
                                sampled.insert(oid, mode);
                            }
                        }
                    }
                    // Sampling, not synchronisation: how often the locks
                    // of a statement running elsewhere are looked at.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            .boxed_local(),
        )
    }

    fn after<'b>(
        &'b mut self,
        conn: &'b mut PgConnection,
        _index: usize,
        stmt: &'b Statement<'b>,
        outcome: StatementOutcome,
    ) -> LocalBoxFuture<'b, Result<(), sqlx::Error>> {
        self.observe(conn, stmt, outcome).boxed_local()
    }

    fn committed(&mut self, elapsed: Duration) {
        self.commit = elapsed;
    }
}

/// Sets each statement's `held_ms`: its locks are held from its start to
/// the end of its transaction block (the commit the harness sends, or the
/// script's own COMMIT), or to its own end outside one.
fn held_times(statements: &mut [StatementTrace], commit: Duration) {
    let commit_ms = commit.as_secs_f64() * 1000.0;
    let mut until_end = commit_ms;
    for s in statements.iter_mut().rev() {
        if s.ends_block {
            until_end = 0.0;
        }
        if s.in_block || s.ends_block {
            until_end += s.duration_ms;
            s.held_ms = until_end;
        } else {
            s.held_ms = s.duration_ms;
            until_end = commit_ms;
        }
    }
}

/// Rows of a table before the migration (an index's: its table's).
fn rows_of(before: &Before, oid: i64) -> i64 {
    match before.relations.get(&oid) {
        Some(r) => match r.table {
            Some(t) => before.relations.get(&t).map_or(r.rows, |t| t.rows),
            None => r.rows,
        },
        None => 0,
    }
}

fn kind_name(kind: char) -> &'static str {
    match kind {
        'r' => "table",
        'p' => "partitioned table",
        'i' | 'I' => "index",
        'm' => "materialized view",
        'S' => "sequence",
        'v' => "view",
        'f' => "foreign table",
        _ => "relation",
    }
}

/// The rank of a lock mode (the documentation's table order).
pub(crate) fn strength(mode: &str) -> u8 {
    match mode {
        "AccessShareLock" => 1,
        "RowShareLock" => 2,
        "RowExclusiveLock" => 3,
        "ShareUpdateExclusiveLock" => 4,
        "ShareLock" => 5,
        "ShareRowExclusiveLock" => 6,
        "ExclusiveLock" => 7,
        "AccessExclusiveLock" => 8,
        _ => 0,
    }
}

/// What an application's sessions cannot do on a relation while `mode` is
/// held on it (PostgreSQL's conflict table: SELECT takes ACCESS SHARE,
/// INSERT/UPDATE/DELETE take ROW EXCLUSIVE).
pub(crate) fn blocks(mode: &str) -> &'static str {
    match strength(mode) {
        8 => "reads and writes",
        5..=7 => "writes",
        _ => "schema changes",
    }
}

/// The rules a `-- pgharness: ignore rule[, rule]` comment in `text` names
/// (`*` for a bare `-- pgharness: ignore`).
pub(crate) fn ignore_comment(text: &str) -> Vec<String> {
    let mut rules = Vec::new();
    for line in text.lines() {
        let Some(at) = line.find("--") else { continue };
        let comment = line[at + 2..].trim();
        let Some(rest) = comment
            .strip_prefix("pgharness:")
            .or_else(|| comment.strip_prefix("pgharness :"))
        else {
            continue;
        };
        let Some(list) = rest.trim().strip_prefix("ignore") else {
            continue;
        };
        let names: Vec<String> = list
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            rules.push("*".to_string());
        } else {
            rules.extend(names);
        }
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_comments_name_rules_or_all() {
        assert_eq!(
            ignore_comment("-- pgharness: ignore rewrite, long_lock\n"),
            vec!["rewrite", "long_lock"]
        );
        assert_eq!(ignore_comment("select 1; -- pgharness: ignore"), vec!["*"]);
        assert!(ignore_comment("-- pgharness is great").is_empty());
    }

    #[test]
    fn lock_modes_block_what_the_conflict_table_says() {
        assert_eq!(blocks("AccessExclusiveLock"), "reads and writes");
        assert_eq!(blocks("ShareLock"), "writes");
        assert_eq!(blocks("ShareRowExclusiveLock"), "writes");
        assert_eq!(blocks("ShareUpdateExclusiveLock"), "schema changes");
        assert_eq!(blocks("RowExclusiveLock"), "schema changes");
    }
}
