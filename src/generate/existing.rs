//! Rows already in the database when a data set is generated: rows an
//! earlier migration or a trigger inserted (`insert into roles values
//! (1, 'admin')`). Generated rows must not take their keys: serial and
//! identity columns start after the largest value in use, and the server
//! rejects candidates whose unique keys or exclusion constraints collide
//! with them (see `oracle`).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, Row};

use crate::schema::{QualifiedName, SchemaSnapshot};
use crate::server::quote_ident;

use super::plan::serial_sequence;
use super::GenerateError;

/// What the database holds before the load, as far as generation cares.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// Tables (partitioned parents included) that hold rows.
    pub(crate) tables: BTreeSet<QualifiedName>,
    /// The largest value in each serial or identity column that has one.
    pub(crate) largest: BTreeMap<(QualifiedName, String), i64>,
}

impl Existing {
    /// Reads which tables of `schema` hold rows, and their serial columns'
    /// largest values, in one query.
    pub async fn read(
        conn: &mut PgConnection,
        schema: &SchemaSnapshot,
    ) -> Result<Existing, GenerateError> {
        let mut parts = Vec::new();
        let mut names = Vec::new();
        for (name, table) in &schema.tables {
            if table.partition_of.is_some() {
                continue;
            }
            let i = names.len();
            names.push(name.clone());
            let qualified = format!("{}.{}", quote_ident(&name.schema), quote_ident(&name.name));
            parts.push(format!(
                "select {i}, null::text, null::int8 where exists (select from {qualified})"
            ));
            for c in &table.columns {
                if c.identity.is_some() || serial_sequence(c).is_some() {
                    parts.push(format!(
                        "select {i}, {}, (select max({})::int8 from {qualified})",
                        super::value::sql_string(&c.name),
                        quote_ident(&c.name)
                    ));
                }
            }
        }
        let mut existing = Existing::default();
        if parts.is_empty() {
            return Ok(existing);
        }
        let rows = sqlx::raw_sql(&parts.join(" union all "))
            .fetch_all(&mut *conn)
            .await
            .map_err(|source| GenerateError::Load {
                step: "reading the rows already in the database".to_string(),
                source,
            })?;
        for row in rows {
            let i: i32 = row.try_get(0).unwrap_or(-1);
            let Some(name) = usize::try_from(i).ok().and_then(|i| names.get(i)) else {
                continue;
            };
            let column: Option<String> = row.try_get(1).unwrap_or(None);
            let largest: Option<i64> = row.try_get(2).unwrap_or(None);
            match (column, largest) {
                (None, _) => {
                    existing.tables.insert(name.clone());
                }
                (Some(c), Some(v)) => {
                    existing.largest.insert((name.clone(), c), v);
                }
                (Some(_), None) => {}
            }
        }
        Ok(existing)
    }

    /// Whether `table` holds rows.
    pub fn has_rows(&self, table: &QualifiedName) -> bool {
        self.tables.contains(table)
    }

    /// `schema` as the generator should see it: serial and identity columns
    /// start after the largest value already in use.
    pub fn schema_for_generation(&self, schema: &SchemaSnapshot) -> SchemaSnapshot {
        let mut out = schema.clone();
        for ((table, column), largest) in &self.largest {
            let Some(t) = out.tables.get_mut(table) else {
                continue;
            };
            let Some(c) = t.columns.iter_mut().find(|c| &c.name == column) else {
                continue;
            };
            let next = largest.saturating_add(1);
            if let Some(id) = &mut c.identity {
                if id.options.increment > 0 {
                    id.options.start = id.options.start.max(next);
                }
            } else if let Some(seq) = serial_sequence(c) {
                if let Some(s) = out.sequences.get_mut(&seq) {
                    if s.options.increment > 0 {
                        s.options.start = s.options.start.max(next);
                    }
                }
            }
        }
        out
    }
}
