//! PostgreSQL as the oracle: what the generator's evaluator cannot decide
//! (a regular expression in PostgreSQL's dialect, a function, `CASE`, a
//! user function in a `CHECK` or a domain) the server decides, on candidate
//! rows sent in batches, before the load. Rows it rejects are left out
//! with the rows that reference them, and the counts are reported.

use std::collections::BTreeSet;

use sqlx::{Connection, PgConnection, Row};

use crate::schema::{ConstraintKind, SchemaSnapshot};
use crate::server::quote_ident;

use super::plan::words;
use super::{Dataset, Existing, GenerateError, TableData};

/// Rows per query: one round trip per batch, not per row.
const BATCH: usize = 1000;

/// What [`Dataset::accepted_by`] left out.
#[derive(Debug, Clone, Default)]
pub struct Rejected {
    /// (table, constraint, rows the server rejected for it).
    pub by_constraint: Vec<(String, String, usize)>,
    /// Queries sent.
    pub round_trips: usize,
}

impl Rejected {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: Rejected) {
        self.round_trips += other.round_trips;
        for (t, c, n) in other.by_constraint {
            match self
                .by_constraint
                .iter_mut()
                .find(|(t2, c2, _)| *t2 == t && *c2 == c)
            {
                Some(entry) => entry.2 += n,
                None => self.by_constraint.push((t, c, n)),
            }
        }
    }

    /// Rows rejected in all (their dependents not counted).
    pub fn rows(&self) -> usize {
        self.by_constraint.iter().map(|(_, _, n)| n).sum()
    }
}

impl Dataset {
    /// The data set with at most `wanted[t]` rows in table `t` (the last
    /// ones go, with the rows referencing them).
    pub(crate) fn cut_to(self, wanted: &[Option<usize>], schema: &SchemaSnapshot) -> Dataset {
        let removed: Vec<BTreeSet<usize>> = self
            .tables
            .iter()
            .zip(wanted)
            .map(|(t, w)| match w {
                Some(w) => (*w..t.rows.len()).collect(),
                None => BTreeSet::new(),
            })
            .collect();
        if removed.iter().all(BTreeSet::is_empty) {
            return self;
        }
        self.without_rows(removed, schema).unwrap_or(self)
    }

    /// Whether the server must see the rows before the load: a table has
    /// checks only it can decide, an exclusion constraint, or rows already
    /// (whose keys the new rows must not take).
    pub fn needs_the_server(&self, schema: &SchemaSnapshot, existing: &Existing) -> bool {
        self.tables
            .iter()
            .filter(|t| !t.rows.is_empty())
            .any(|t| !t.server_checks.is_empty() || !keys(schema, t, existing).is_empty())
    }

    /// The data set with only the rows the server accepts, without the rows
    /// that reference a rejected row: rows failing a check the generator
    /// could not decide, rows colliding with rows already in the table on a
    /// unique key or an exclusion constraint, and rows colliding with an
    /// earlier row under an exclusion constraint. Nothing is written: the
    /// server evaluates the candidate values in `SELECT`s, a batch of rows
    /// per query.
    pub async fn accepted_by(
        &self,
        conn: &mut PgConnection,
        schema: &SchemaSnapshot,
        existing: &Existing,
    ) -> Result<(Dataset, Rejected), GenerateError> {
        let mut rejected = Rejected::default();
        let mut removed: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); self.tables.len()];
        for (ti, t) in self.tables.iter().enumerate() {
            if t.rows.is_empty() {
                continue;
            }
            for key in keys(schema, t, existing) {
                let taken = taken_rows(conn, t, &key, existing, &mut rejected.round_trips).await?;
                let n = taken.len();
                removed[ti].extend(taken);
                if n > 0 {
                    rejected
                        .by_constraint
                        .push((t.name.to_string(), key.name, n));
                }
            }
            if t.server_checks.is_empty() {
                continue;
            }
            let mut counts = vec![0usize; t.server_checks.len()];
            for start in (0..t.rows.len()).step_by(BATCH) {
                let end = (start + BATCH).min(t.rows.len());
                let failed = failing_rows(conn, t, start..end, &mut rejected.round_trips).await?;
                for (row, check) in failed {
                    removed[ti].insert(row);
                    counts[check] += 1;
                }
            }
            for ((name, _), n) in t.server_checks.iter().zip(counts) {
                if n > 0 {
                    rejected
                        .by_constraint
                        .push((t.name.to_string(), name.clone(), n));
                }
            }
        }
        if removed.iter().all(BTreeSet::is_empty) {
            return Ok((self.clone(), rejected));
        }
        // A data set whose links are set after the load (a cycle of foreign
        // keys) keeps its rows: the load then reports the failing one.
        let data = self
            .without_rows(removed, schema)
            .unwrap_or_else(|| self.clone());
        Ok((data, rejected))
    }
}

/// The rows of `range` that fail a server check, with the first check each
/// fails. One query for the batch; when it errors (a check that raises on
/// some value, a value the type refuses), one query per row, and a row
/// whose query errors fails as its INSERT would.
async fn failing_rows(
    conn: &mut PgConnection,
    t: &TableData,
    range: std::ops::Range<usize>,
    round_trips: &mut usize,
) -> Result<Vec<(usize, usize)>, GenerateError> {
    *round_trips += 1;
    match ask(conn, &verdict_query(t, range.clone())).await? {
        Ok(rows) => rows
            .iter()
            .map(|r| {
                let row: i32 = r.try_get(0).map_err(|e| load_error(t, e))?;
                let check: i32 = r.try_get(1).map_err(|e| load_error(t, e))?;
                Ok((row as usize, check as usize))
            })
            .collect(),
        Err(_) => {
            let mut out = Vec::new();
            for row in range {
                *round_trips += 1;
                match ask(conn, &verdict_query(t, row..row + 1)).await? {
                    Ok(rows) if rows.is_empty() => {}
                    Ok(rows) => {
                        let r = &rows[0];
                        let check: i32 = r.try_get(1).map_err(|e| load_error(t, e))?;
                        out.push((row, check as usize));
                    }
                    Err(sqlx::Error::Database(_)) => out.push((row, 0)),
                    Err(e) => return Err(load_error(t, e)),
                }
            }
            Ok(out)
        }
    }
}

/// Runs `query` in a transaction of its own (a savepoint inside the
/// caller's), rolled back: an error leaves the caller's transaction as it
/// was. The outer error is the connection's; the inner one the query's.
pub(crate) async fn ask(
    conn: &mut PgConnection,
    query: &str,
) -> Result<Result<Vec<sqlx::postgres::PgRow>, sqlx::Error>, GenerateError> {
    let step = |source| GenerateError::Load {
        step: "checking candidate rows".to_string(),
        source,
    };
    let mut tx = conn.begin().await.map_err(step)?;
    let rows = sqlx::raw_sql(query).fetch_all(&mut *tx).await;
    tx.rollback().await.map_err(step)?;
    Ok(rows)
}

fn load_error(t: &TableData, source: sqlx::Error) -> GenerateError {
    GenerateError::Load {
        step: format!("checking candidate rows of {}", t.name),
        source,
    }
}

/// A key new rows must not collide on: a unique key (with rows already in
/// the table) or an exclusion constraint, as (expression, operator) pairs.
struct Key {
    name: String,
    elements: Vec<(String, String)>,
    predicate: Option<String>,
    /// Candidates may collide with each other too (the generator keeps
    /// unique keys distinct itself, not exclusions).
    among_candidates: bool,
}

/// The keys of `t` that the server must check before the load: its
/// exclusion constraints, and its unique keys when it holds rows already.
/// Keys reading a column the load does not write are left to the load.
fn keys(schema: &SchemaSnapshot, t: &TableData, existing: &Existing) -> Vec<Key> {
    let Some(def) = schema.tables.get(&t.name) else {
        return Vec::new();
    };
    let has_rows = existing.has_rows(&t.name);
    let mut out = Vec::new();
    for c in &def.constraints {
        match c.kind {
            ConstraintKind::PrimaryKey | ConstraintKind::Unique if has_rows => out.push(Key {
                name: c.name.clone(),
                elements: c
                    .columns
                    .iter()
                    .map(|col| (quote_ident(col), "=".to_string()))
                    .collect(),
                predicate: None,
                among_candidates: false,
            }),
            ConstraintKind::Exclusion => out.extend(exclusion(&c.name, &c.definition)),
            _ => {}
        }
    }
    if has_rows {
        for index in def.indexes.iter().filter(|i| i.unique) {
            out.push(Key {
                name: index.name.clone(),
                elements: index
                    .key_columns
                    .iter()
                    .map(|k| (k.clone(), "=".to_string()))
                    .collect(),
                predicate: index.predicate.clone(),
                among_candidates: false,
            });
        }
    }
    let columns: BTreeSet<&str> = def.columns.iter().map(|c| c.name.as_str()).collect();
    out.retain(|k| {
        let mut text: Vec<&str> = k.elements.iter().map(|(e, _)| e.as_str()).collect();
        text.extend(k.predicate.as_deref());
        !k.elements.is_empty()
            && words(&text.join(" "))
                .iter()
                .filter(|w| columns.contains(w.as_str()))
                .all(|w| t.columns.contains(w))
    });
    out
}

/// The key of exclusion constraint `name`, from its definition
/// `exclude using gist (room with =, during with &&) where (...)`.
fn exclusion(name: &str, definition: &str) -> Option<Key> {
    let open = definition.find('(')?;
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut items = Vec::new();
    let mut start = open + 1;
    let mut close = None;
    for (i, c) in definition.char_indices().skip_while(|(i, _)| *i < open) {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    items.push(&definition[start..i]);
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => {
                items.push(&definition[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    let close = close?;
    let elements = items
        .iter()
        .map(|item| {
            let (expr, op) = item.rsplit_once(" with ")?;
            Some((expr.trim().to_string(), op.trim().to_string()))
        })
        .collect::<Option<Vec<_>>>()?;
    let rest = definition[close + 1..].trim();
    let predicate = rest
        .strip_prefix("where")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    Some(Key {
        name: name.to_string(),
        elements,
        predicate,
        among_candidates: true,
    })
}

/// The candidate rows that collide on `key`: with a row already in the
/// table, or (for an exclusion) with an earlier candidate. Exclusions are
/// checked over all candidates at once, unique keys in batches.
async fn taken_rows(
    conn: &mut PgConnection,
    t: &TableData,
    key: &Key,
    existing: &Existing,
    round_trips: &mut usize,
) -> Result<Vec<usize>, GenerateError> {
    let has_rows = existing.has_rows(&t.name);
    let batch = if key.among_candidates {
        t.rows.len()
    } else {
        BATCH
    };
    let mut out = Vec::new();
    for start in (0..t.rows.len()).step_by(batch.max(1)) {
        let range = start..(start + batch).min(t.rows.len());
        let keys: Vec<String> = key
            .elements
            .iter()
            .enumerate()
            .map(|(i, (e, _))| format!("({e}) as k{i}"))
            .collect();
        let filter = key
            .predicate
            .as_ref()
            .map(|p| format!(" where ({p})"))
            .unwrap_or_default();
        let matching = |a: &str, b: &str| -> String {
            key.elements
                .iter()
                .enumerate()
                .map(|(i, (_, op))| format!("{a}.k{i} {op} {b}.k{i}"))
                .collect::<Vec<_>>()
                .join(" and ")
        };
        let mut sql = format!(
            "with v as ({}), e as (select \"pgharness row\" as r, {} from v{filter})",
            candidates(t, range),
            keys.join(", ")
        );
        let mut parts = Vec::new();
        if has_rows {
            let table = format!(
                "{}.{}",
                quote_ident(&t.name.schema),
                quote_ident(&t.name.name)
            );
            sql.push_str(&format!(
                ", x as (select {} from {table}{filter})",
                keys.join(", ")
            ));
            parts.push(format!(
                "select e.r from e where exists (select from x where {})",
                matching("x", "e")
            ));
        }
        if key.among_candidates {
            parts.push(format!(
                "select b.r from e a join e b on a.r < b.r and {}",
                matching("a", "b")
            ));
        }
        if parts.is_empty() {
            return Ok(out);
        }
        sql.push(' ');
        sql.push_str(&parts.join(" union "));
        *round_trips += 1;
        // A key the server cannot evaluate on the candidates is left to the
        // load.
        if let Ok(rows) = ask(conn, &sql).await? {
            for r in rows {
                let row: i32 = r.try_get(0).map_err(|e| load_error(t, e))?;
                out.push(row as usize);
            }
        }
    }
    Ok(out)
}

/// `SELECT row, first failing check FROM (VALUES ...)` for the rows of
/// `range`: a check fails when it is false (NULL passes, as in a CHECK).
fn verdict_query(t: &TableData, range: std::ops::Range<usize>) -> String {
    let mut sql = String::from("select v.\"pgharness row\", case");
    for (i, (_, expr)) in t.server_checks.iter().enumerate() {
        sql.push_str(&format!(" when ({expr}) is false then {i}"));
    }
    sql.push_str(&format!(" end from ({}) as v where ", candidates(t, range)));
    let failing: Vec<String> = t
        .server_checks
        .iter()
        .map(|(_, expr)| format!("({expr}) is false"))
        .collect();
    sql.push_str(&failing.join(" or "));
    sql
}

/// The rows of `range` as a query: `"pgharness row"` (the row's index)
/// and the written columns by name, each value read as its stored type.
fn candidates(t: &TableData, range: std::ops::Range<usize>) -> String {
    let mut sql = String::from("select * from (values ");
    for (n, r) in range.enumerate() {
        if n > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("({r}"));
        for (v, ty) in t.rows[r].iter().zip(&t.storage_types) {
            sql.push_str(&format!(", ({})::{ty}", v.to_sql_literal()));
        }
        sql.push(')');
    }
    sql.push_str(") as v(\"pgharness row\"");
    for c in &t.columns {
        sql.push_str(", ");
        sql.push_str(&quote_ident(c));
    }
    sql.push(')');
    sql
}
