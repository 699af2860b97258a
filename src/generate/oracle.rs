//! PostgreSQL as the oracle: what the generator's evaluator cannot decide
//! (a regular expression in PostgreSQL's dialect, a function, `CASE`, a
//! user function in a `CHECK` or a domain) the server decides, on candidate
//! rows sent in batches, before the load. Rows it rejects are left out
//! with the rows that reference them, and the counts are reported.

use std::collections::BTreeSet;

use sqlx::{Connection, PgConnection, Row};

use crate::schema::SchemaSnapshot;
use crate::server::quote_ident;

use super::{Dataset, GenerateError, TableData};

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
    pub(crate) fn add(&mut self, other: Rejected) {
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

    /// Whether some table has checks only the server can decide.
    pub fn needs_the_server(&self) -> bool {
        self.tables
            .iter()
            .any(|t| !t.server_checks.is_empty() && !t.rows.is_empty())
    }

    /// The data set with only the rows the server accepts under the checks
    /// the generator could not decide, without the rows that reference a
    /// rejected row. Nothing is written: the checks are evaluated on the
    /// candidate values in `SELECT`s, a batch of rows per query.
    pub async fn accepted_by(
        &self,
        conn: &mut PgConnection,
        schema: &SchemaSnapshot,
    ) -> Result<(Dataset, Rejected), GenerateError> {
        let mut rejected = Rejected::default();
        let mut removed: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); self.tables.len()];
        for (ti, t) in self.tables.iter().enumerate() {
            if t.server_checks.is_empty() || t.rows.is_empty() {
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
async fn ask(
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

/// `SELECT row, first failing check FROM (VALUES ...)` for the rows of
/// `range`: a check fails when it is false (NULL passes, as in a CHECK).
fn verdict_query(t: &TableData, range: std::ops::Range<usize>) -> String {
    let mut sql = String::from("select v.\"pgharness row\", case");
    for (i, (_, expr)) in t.server_checks.iter().enumerate() {
        sql.push_str(&format!(" when ({expr}) is false then {i}"));
    }
    sql.push_str(" end from (values ");
    for (n, r) in range.clone().enumerate() {
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
    sql.push_str(") where ");
    let failing: Vec<String> = t
        .server_checks
        .iter()
        .map(|(_, expr)| format!("({expr}) is false"))
        .collect();
    sql.push_str(&failing.join(" or "));
    sql
}
