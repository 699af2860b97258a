//! Findings: what in a migration's trace would hurt a production database,
//! why, and the safer way to write it. Thresholds come from `[impact]`;
//! a statement turns a rule off with `-- pgharness: ignore <rule>`.

use serde::Serialize;

use crate::config::{FailOn, ImpactConfig};

use super::trace::{blocks, strength, StatementTrace};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Risky under load, not by itself an outage.
    Warning,
    /// Blocks the application for as long as it runs, or fails on data.
    Error,
}

impl Severity {
    /// Whether a finding of this severity fails a run under `fail_on`.
    pub fn fails(self, fail_on: FailOn) -> bool {
        match fail_on {
            FailOn::Never => false,
            FailOn::Warning => true,
            FailOn::Error => self == Severity::Error,
        }
    }

    /// `error` / `warning`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The rules, by the names `[impact] ignore` and ignore comments use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A table or index with rows rewritten.
    Rewrite,
    /// An index built on a table with rows while writes wait.
    BlockingIndex,
    /// A constraint validated by a scan under a lock that blocks writes.
    ValidatedUnderLock,
    /// A blocking lock held past `impact.max_lock_ms`.
    LongLock,
    /// A blocking lock taken with `lock_timeout` 0.
    NoLockTimeout,
    /// The up fails on the seeded data.
    FailsOnData,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 6] = [
        Rule::Rewrite,
        Rule::BlockingIndex,
        Rule::ValidatedUnderLock,
        Rule::LongLock,
        Rule::NoLockTimeout,
        Rule::FailsOnData,
    ];

    /// Its name (`crate::config::IMPACT_RULES`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::Rewrite => "rewrite",
            Rule::BlockingIndex => "blocking_index",
            Rule::ValidatedUnderLock => "validated_under_lock",
            Rule::LongLock => "long_lock",
            Rule::NoLockTimeout => "no_lock_timeout",
            Rule::FailsOnData => "fails_on_data",
        }
    }
}

/// One finding of one statement.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    /// The rule (`rewrite`, `blocking_index`, ...: `config::IMPACT_RULES`).
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// Line of the statement in the migration file.
    pub line: usize,
    /// The relation it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// What happens, with the numbers.
    pub message: String,
    /// The safer way to write it.
    pub safer: String,
}

/// The findings of a migration's statements.
pub fn findings(statements: &[StatementTrace], config: &ImpactConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in statements {
        let off = |rule: Rule| {
            config.ignore.iter().any(|r| r == rule.name())
                || s.ignored.iter().any(|r| r == rule.name() || r == "*")
        };
        let held = format_ms(s.held_ms);
        let mut explained: Vec<&str> = Vec::new();
        for r in s.rewrites.iter().filter(|r| r.rows > 0) {
            explained.push(&r.relation);
            explained.extend(r.indexes.iter().map(String::as_str));
            if off(Rule::Rewrite) {
                continue;
            }
            let (cause, safer) = rewrite_cause(&s.sql);
            out.push(Finding {
                rule: Rule::Rewrite.name(),
                severity: Severity::Error,
                line: s.line,
                relation: Some(r.relation.clone()),
                message: format!(
                    "{cause}rewrites {} {} ({} rows, {}){} under ACCESS EXCLUSIVE: reads and writes wait {held}, to the end of the transaction",
                    r.kind,
                    r.relation,
                    thousands(r.rows),
                    bytes(r.bytes),
                    super::render::indexes_too(&r.indexes)
                ),
                safer: safer.to_string(),
            });
        }
        // CONCURRENTLY builds under SHARE UPDATE EXCLUSIVE: writes go on.
        for b in s
            .index_builds
            .iter()
            .filter(|b| b.rows > 0 && strength(&b.table_lock) >= 5)
        {
            explained.push(&b.table);
            if off(Rule::BlockingIndex) {
                continue;
            }
            // ADD PRIMARY KEY / UNIQUE builds its index under ACCESS
            // EXCLUSIVE; a CREATE INDEX after another ALTER in the same
            // transaction runs under the lock that one took.
            let lower = s.sql.to_ascii_lowercase();
            let constraint = lower.trim_start().starts_with("alter table")
                && (lower.contains("primary key") || lower.contains("unique"));
            out.push(Finding {
                rule: Rule::BlockingIndex.name(),
                severity: Severity::Error,
                line: s.line,
                relation: Some(b.table.clone()),
                message: format!(
                    "{} index {} on {} ({} rows) under {}: {} of the table wait {held}",
                    if b.rebuilt { "rebuilds" } else { "builds" },
                    b.index,
                    b.table,
                    thousands(b.rows),
                    mode_name(&b.table_lock),
                    blocks(&b.table_lock)
                ),
                safer: if b.rebuilt {
                    "a type change that keeps the index's ordering reuses it; otherwise add a column of the new type with its index built CONCURRENTLY, backfill, and swap".to_string()
                } else if constraint {
                    "CREATE UNIQUE INDEX CONCURRENTLY (in a migration without a transaction), then ALTER TABLE ... ADD CONSTRAINT ... USING INDEX".to_string()
                } else {
                    "CREATE INDEX CONCURRENTLY, in a migration of its own without a transaction: writes go on while it builds".to_string()
                },
            });
        }
        for v in &s.validations {
            // A rewrite checks the table's constraints as it copies it.
            if s.rewrites.iter().any(|r| r.relation == v.relation) {
                continue;
            }
            explained.push(&v.relation);
            if off(Rule::ValidatedUnderLock) {
                continue;
            }
            let not_null = v.what.starts_with("NOT NULL");
            let lock = s
                .locks
                .iter()
                .find(|l| l.relation == v.relation)
                .map_or("a strong lock", |l| mode_name(&l.mode));
            out.push(Finding {
                rule: Rule::ValidatedUnderLock.name(),
                severity: Severity::Error,
                line: s.line,
                relation: Some(v.relation.clone()),
                message: format!(
                    "validates {} by scanning {} ({} rows) under {lock}, held {held}",
                    v.what,
                    v.relation,
                    thousands(v.rows)
                ),
                safer: if not_null {
                    "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later transaction, then SET NOT NULL (PostgreSQL 12+ uses the check and skips the scan)".to_string()
                } else {
                    "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later transaction: it takes SHARE UPDATE EXCLUSIVE, so reads and writes go on".to_string()
                },
            });
        }
        // The strongest lock on a table with rows that blocks the app, held
        // past the threshold, not already explained above.
        let blocking = s
            .locks
            .iter()
            .filter(|l| l.existing && l.rows > 0 && strength(&l.mode) >= 5)
            .filter(|l| !explained.contains(&l.relation.as_str()))
            .max_by_key(|l| strength(&l.mode));
        if let Some(l) = blocking {
            if s.held_ms > config.max_lock_ms as f64 && !off(Rule::LongLock) {
                out.push(Finding {
                    rule: Rule::LongLock.name(),
                    severity: Severity::Error,
                    line: s.line,
                    relation: Some(l.relation.clone()),
                    message: format!(
                        "holds {} on {} ({} rows) for {held} (impact.max_lock_ms = {}): {} wait that long",
                        mode_name(&l.mode),
                        l.relation,
                        thousands(l.rows),
                        config.max_lock_ms,
                        l.blocks
                    ),
                    safer: "do less under the lock: split the work into smaller transactions, or batch it".to_string(),
                });
            }
        }
        let strong = |l: &&super::trace::LockTaken| l.existing && strength(&l.mode) >= 5;
        let tables: Vec<&str> = s
            .locks
            .iter()
            .filter(strong)
            .filter(|l| l.kind != "index")
            .map(|l| l.relation.as_str())
            .collect();
        // Indexes only when no table is named (REINDEX).
        let mut unguarded: Vec<&str> = if tables.is_empty() {
            s.locks
                .iter()
                .filter(strong)
                .map(|l| l.relation.as_str())
                .collect()
        } else {
            tables
        };
        unguarded.sort_unstable();
        unguarded.dedup();
        if !unguarded.is_empty() && is_zero(&s.lock_timeout) && !off(Rule::NoLockTimeout) {
            let l = &s.locks[0];
            out.push(Finding {
                rule: Rule::NoLockTimeout.name(),
                severity: Severity::Warning,
                line: s.line,
                relation: Some(unguarded[0].to_string()),
                message: format!(
                    "takes {} on {} with no lock_timeout: behind a long transaction it waits, and every query on the table queues behind it",
                    mode_name(&l.mode),
                    unguarded.join(", ")
                ),
                safer: "SET lock_timeout = '2s' (SET LOCAL inside the transaction) before it, and retry the migration when it times out".to_string(),
            });
        }
    }
    out
}

/// The finding of an up that fails on the seeded data although it applies
/// to the empty database.
pub fn fails_on_data(line: usize, message: String) -> Finding {
    Finding {
        rule: Rule::FailsOnData.name(),
        severity: Severity::Error,
        line,
        relation: None,
        message: format!("fails on data at the profile's scale (it applies to an empty database): {message}"),
        safer: "make the migration hold for the rows production can have (backfill or fix them first, give a new NOT NULL column a default); if production's rows cannot look like the generated ones, say how they look in the profile ([tables.<name>.columns.<column>])".to_string(),
    }
}

fn is_zero(setting: &str) -> bool {
    matches!(setting.trim(), "0" | "0ms" | "0s" | "")
}

/// Why a statement rewrites its table, and what to do instead, read from
/// its text.
fn rewrite_cause(sql: &str) -> (&'static str, &'static str) {
    let lower = sql.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let has = |seq: &[&str]| words.windows(seq.len()).any(|w| w == seq);
    if has(&["type"]) && lower.contains("alter column") || has(&["set", "data", "type"]) {
        (
            "changing a column's type ",
            "add a column of the new type, backfill it in batches, switch reads and writes to it, then drop the old one (varchar(n) to a larger n or to text needs no rewrite)",
        )
    } else if has(&["add", "column"]) || has(&["add"]) && lower.contains("default") {
        (
            "adding a column with a volatile default ",
            "add the column without a default (or with a constant one), then backfill it in batches",
        )
    } else if lower.contains("vacuum full") || has(&["cluster"]) {
        (
            "",
            "pg_repack or pg_squeeze rewrite a table without holding ACCESS EXCLUSIVE throughout",
        )
    } else if has(&["set", "logged"]) || has(&["set", "unlogged"]) {
        (
            "changing the table's persistence ",
            "avoid SET LOGGED/UNLOGGED on a large live table",
        )
    } else {
        ("", "rewrite in a way that keeps the table available (a new table filled in batches), or do it in a maintenance window")
    }
}

/// `AccessExclusiveLock` -> `ACCESS EXCLUSIVE`.
pub fn mode_name(mode: &str) -> &str {
    match mode {
        "AccessShareLock" => "ACCESS SHARE",
        "RowShareLock" => "ROW SHARE",
        "RowExclusiveLock" => "ROW EXCLUSIVE",
        "ShareUpdateExclusiveLock" => "SHARE UPDATE EXCLUSIVE",
        "ShareLock" => "SHARE",
        "ShareRowExclusiveLock" => "SHARE ROW EXCLUSIVE",
        "ExclusiveLock" => "EXCLUSIVE",
        "AccessExclusiveLock" => "ACCESS EXCLUSIVE",
        other => other,
    }
}

/// Milliseconds for people: `840 ms`, `2.31 s`.
pub fn format_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// `1000000` -> `1,000,000`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Bytes for people.
pub fn bytes(n: i64) -> String {
    let n = n as f64;
    if n >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GB", n / 1024.0 / 1024.0 / 1024.0)
    } else if n >= 1024.0 * 1024.0 {
        format!("{:.0} MB", n / 1024.0 / 1024.0)
    } else {
        format!("{:.0} kB", n / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(format_ms(2310.0), "2.31 s");
        assert_eq!(format_ms(84.2), "84 ms");
    }

    #[test]
    fn the_rule_names_are_the_configs() {
        // `[impact] ignore` accepts exactly the rules there are.
        let names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names, crate::config::IMPACT_RULES);
    }

    #[test]
    fn a_type_change_is_named_as_the_cause() {
        let (cause, _) =
            rewrite_cause("alter table orders alter column amount type numeric(12,2);");
        assert!(cause.contains("type"), "{cause}");
    }
}
