//! The schema half of a "schema, then data" psql script: the bootstrap SQL
//! and every up script of the chain, as `psql -f` runs them.

use std::fmt::Write as _;

use crate::chain::{Chain, Script};
use crate::statement;

/// A psql script that builds the schema of `chain` in an empty database:
/// `bootstrap` (the `[server] bootstrap` SQL of `pgharness.toml`) first,
/// then each migration's up script, each in its own transaction unless the
/// script opts out or manages its own (as the harness applies them).
/// Append [`super::Dataset::to_copy_sql`] for a complete seed file, and
/// load it with `psql -v ON_ERROR_STOP=1 -f FILE`.
pub fn schema_script(chain: &Chain, bootstrap: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- pgharness: schema of {} ({} migrations)",
        chain.dir.display(),
        chain.migrations.len()
    );
    out.push_str("\\set ON_ERROR_STOP on\nSET client_min_messages = warning;\n");
    if !bootstrap.trim().is_empty() {
        out.push_str("\n-- bootstrap (pgharness.toml [server] bootstrap)\n");
        push_statements(&mut out, bootstrap, true);
    }
    for m in &chain.migrations {
        let _ = writeln!(out, "\n-- {} ({})", m.id(), m.up.path.display());
        push_script(&mut out, &m.up);
    }
    out
}

fn push_script(out: &mut String, script: &Script) {
    push_statements(out, &script.sql, script.transaction);
}

fn push_statements(out: &mut String, sql: &str, transaction: bool) {
    let statements = statement::split(sql);
    let own = statements
        .iter()
        .any(statement::Statement::is_transaction_control);
    let wrap = transaction && !own;
    if wrap {
        out.push_str("BEGIN;\n");
    }
    for s in &statements {
        let text = s.text.trim();
        if text.is_empty() {
            continue;
        }
        out.push_str(text);
        if !text.ends_with(';') {
            // On its own line: the text may end in a `--` comment.
            out.push_str("\n;");
        }
        out.push('\n');
    }
    if wrap {
        out.push_str("COMMIT;\n");
    }
}
