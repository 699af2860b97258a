//! Removing rows from a data set without breaking its foreign keys: what
//! shrinking a failing property case to its fewest rows stands on. A row
//! goes with every row that references it, directly or through others.

use std::collections::BTreeSet;

use crate::schema::{ConstraintKind, SchemaSnapshot};

use super::value::Value;
use super::Dataset;

impl Dataset {
    /// The data set without row `row` of table `table` (an index into
    /// [`Dataset::tables`]) and the rows that reference it, so that it
    /// still loads. `None` when that cannot be worked out from the data:
    /// rows whose foreign keys close a cycle (set after loading), or a
    /// foreign key whose columns the data set does not write.
    pub fn without_row(
        &self,
        table: usize,
        row: usize,
        schema: &SchemaSnapshot,
    ) -> Option<Dataset> {
        if row >= self.tables.get(table)?.rows.len() {
            return None;
        }
        let mut removed: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); self.tables.len()];
        removed[table].insert(row);
        self.without_rows(removed, schema)
    }

    /// The data set without the rows `removed` names (per table, indexes
    /// into its rows) and the rows that reference them; `None` as for
    /// [`Dataset::without_row`].
    pub(crate) fn without_rows(
        &self,
        mut removed: Vec<BTreeSet<usize>>,
        schema: &SchemaSnapshot,
    ) -> Option<Dataset> {
        if !self.fixups.is_empty() || removed.len() != self.tables.len() {
            return None;
        }
        // Foreign keys between tables of the data set, as column indices:
        // (child, child columns, parent, parent columns).
        let mut links = Vec::new();
        for (c, child) in self.tables.iter().enumerate() {
            let Some(def) = schema.tables.get(&child.name) else {
                continue;
            };
            for fk in def
                .constraints
                .iter()
                .filter(|k| k.kind == ConstraintKind::ForeignKey)
            {
                let Some(refs) = &fk.references else { continue };
                let Some(p) = self.tables.iter().position(|t| t.name == refs.table) else {
                    continue;
                };
                let index = |t: usize, names: &[String]| -> Option<Vec<usize>> {
                    names
                        .iter()
                        .map(|n| self.tables[t].columns.iter().position(|x| x == n))
                        .collect()
                };
                links.push((c, index(c, &fk.columns)?, p, index(p, &refs.columns)?));
            }
        }
        // Rows referencing a removed row go too, until nothing changes.
        loop {
            let mut grew = false;
            for (c, child_cols, p, parent_cols) in &links {
                let gone: Vec<Vec<&Value>> = removed[*p]
                    .iter()
                    .map(|&r| {
                        parent_cols
                            .iter()
                            .map(|&i| &self.tables[*p].rows[r][i])
                            .collect()
                    })
                    .collect();
                if gone.is_empty() {
                    continue;
                }
                for (r, values) in self.tables[*c].rows.iter().enumerate() {
                    if removed[*c].contains(&r) {
                        continue;
                    }
                    let key: Vec<&Value> = child_cols.iter().map(|&i| &values[i]).collect();
                    if key.iter().any(|v| v.is_null()) {
                        continue;
                    }
                    if gone.contains(&key) {
                        removed[*c].insert(r);
                        grew = true;
                    }
                }
            }
            if !grew {
                break;
            }
        }
        let mut out = self.clone();
        for (t, gone) in removed.iter().enumerate() {
            if gone.is_empty() {
                continue;
            }
            let rows = std::mem::take(&mut out.tables[t].rows);
            out.tables[t].rows = rows
                .into_iter()
                .enumerate()
                .filter(|(r, _)| !gone.contains(r))
                .map(|(_, v)| v)
                .collect();
        }
        Some(out)
    }
}
