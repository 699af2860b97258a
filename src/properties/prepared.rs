//! A check's `for_each` and statement prepared once on each connection
//! that runs cases (SQL `PREPARE`, outside any case's transaction), then
//! run in every case as `EXECUTE`, a row's values as its arguments: the
//! server parses, analyzes and plans them once per connection instead of
//! once per case and row. Execution is the server's own: permissions,
//! row-level security and `search_path` are those in force when the
//! statement runs (a plan made under another role or path is made again),
//! and a statement's errors are those of its text with the values in.
//! What the server will not prepare (several statements, a utility
//! statement, a parameter whose type it cannot infer) runs as text with the
//! values as literals.

use sqlx::postgres::PgConnection;

use super::rules::{bind_literals, value_literal, Check, Expect, PropertyFile};

/// Per check of a file (by its number), what one connection has prepared.
pub(super) struct Prepared {
    checks: Vec<PreparedCheck>,
}

#[derive(Default)]
struct PreparedCheck {
    /// `EXECUTE <name>` for the check's `for_each`.
    for_each: Option<String>,
    /// The statement's name and how many parameters it takes.
    statement: Option<(String, usize)>,
}

impl Prepared {
    /// Nothing prepared: every check runs as text.
    pub(super) fn none(file: &PropertyFile) -> Prepared {
        Prepared {
            checks: file
                .checks
                .iter()
                .map(|_| PreparedCheck::default())
                .collect(),
        }
    }

    /// Prepares what it can of `file`'s plain checks on `conn` (no
    /// transaction open). One round trip, and one more after each
    /// statement the server refused (the rest of the batch did not run).
    pub(super) async fn on(conn: &mut PgConnection, file: &PropertyFile) -> Prepared {
        let mut prepared = Prepared::none(file);
        // (check index, for_each or statement, name, text)
        let mut wanted: Vec<(usize, bool, String, &str)> = Vec::new();
        for (i, check) in file.checks.iter().enumerate() {
            if check.expect == Expect::Preserve {
                continue;
            }
            if let Some(q) = &check.for_each {
                wanted.push((i, true, format!("pgharness_for_each_{}", i + 1), q));
            }
            wanted.push((i, false, format!("pgharness_check_{}", i + 1), &check.sql));
        }
        wanted.retain(|(_, _, _, text)| crate::statement::split(text).len() == 1);
        while !wanted.is_empty() {
            let mut batch = String::new();
            for (_, _, name, text) in &wanted {
                // On a line of its own: a comment ending the text ends there.
                batch.push_str(&format!("PREPARE {name} AS {}\n;\n", text.trim()));
            }
            let (done, _, outcome) = super::cases::run_batch(conn, &batch, usize::MAX).await;
            let refused = if outcome.is_ok() { wanted.len() } else { done };
            for (i, for_each, name, text) in wanted.drain(..refused) {
                let check = &mut prepared.checks[i];
                if for_each {
                    check.for_each = Some(format!("EXECUTE {name}"));
                } else {
                    check.statement = Some((name, parameter_count(text)));
                }
            }
            if !wanted.is_empty() {
                // The one the server refused runs as text.
                wanted.remove(0);
            }
        }
        prepared
    }

    /// The text that runs `check`'s `for_each` (`query`).
    pub(super) fn for_each<'a>(&'a self, check: &Check, query: &'a str) -> &'a str {
        self.checks[check.number - 1]
            .for_each
            .as_deref()
            .unwrap_or(query)
    }

    /// The text that runs `check`'s statement for one `for_each` row: its
    /// `EXECUTE` with the row's values, or the statement with them as
    /// literals. `Err` names a parameter the row has no value for.
    pub(super) fn statement(
        &self,
        check: &Check,
        row: &[Option<String>],
    ) -> Result<String, String> {
        let Some((name, parameters)) = &self.checks[check.number - 1].statement else {
            return bind_literals(&check.sql, row);
        };
        if *parameters == 0 {
            return Ok(format!("EXECUTE {name}"));
        }
        if row.len() < *parameters {
            // What the statement as text says of it.
            return bind_literals(&check.sql, row);
        }
        let values: Vec<String> = row[..*parameters]
            .iter()
            .map(|v| value_literal(v.as_deref()))
            .collect();
        Ok(format!("EXECUTE {name}({})", values.join(", ")))
    }
}

/// The highest `$n` in `sql`: what `PREPARE` counts as its parameters.
fn parameter_count(sql: &str) -> usize {
    crate::statement::parameters(sql)
        .into_iter()
        .filter_map(|(start, end)| sql[start + 1..end].parse::<usize>().ok())
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::parameter_count;

    #[test]
    fn parameters_are_counted_by_the_highest_outside_quotes_and_comments() {
        assert_eq!(parameter_count("select 1"), 0);
        assert_eq!(parameter_count("select $2, $1, $2"), 2);
        assert_eq!(parameter_count("select '$7', $1 -- $9\n"), 1);
        assert_eq!(parameter_count("select $3"), 3);
    }
}
