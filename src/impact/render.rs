//! `impact`'s report for people (a terminal), for machines (JSON) and for
//! a pull-request comment (Markdown).

use std::fmt::Write as _;

use super::rules::{bytes, format_ms, mode_name, thousands, Severity};
use super::trace::{strength, StatementTrace};
use super::{ImpactReport, MigrationImpact};

/// The report as GitHub-flavoured Markdown (`--format markdown`).
pub struct Markdown<'a>(pub &'a ImpactReport);

impl ImpactReport {
    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The report for a terminal.
    pub fn to_human(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| crate::report::paint(color, code, text);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "impact of {} on {}, PostgreSQL {} ({})",
            self.chain.display(),
            self.scale,
            self.server.version,
            self.server.backend
        );
        for s in &self.seeding {
            let _ = writeln!(
                out,
                "  data: {} rows loaded at {} in {:.1} s",
                thousands(s.rows as i64),
                s.at,
                s.seconds
            );
        }
        let mut safer_shown: Vec<(&str, &str)> = Vec::new();
        if !self.unmatched_tables.is_empty() {
            let _ = writeln!(
                out,
                "  {} the profile's tables {} match no table at the versions seeded (a typo, another chain's names, or tables created after the last seeding): they got no rows",
                paint("33;1", "note:"),
                self.unmatched_tables.join(", ")
            );
        }
        for m in &self.migrations {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{}  {}  {}",
                paint("1", &m.migration),
                match m.data {
                    "seeded" => "on seeded data",
                    _ => "locks nothing that existed before: traced on the empty database",
                },
                format_ms(m.duration_ms)
            );
            for s in m.statements.iter().filter(|s| worth_showing(s)) {
                let _ = writeln!(
                    out,
                    "  line {:<4} {}  {}, locks held {}",
                    s.line,
                    short_sql(&s.sql, 60),
                    format_ms(s.duration_ms),
                    format_ms(s.held_ms)
                );
                for l in s.locks.iter().filter(|l| shown_lock(s, l)) {
                    let rows = match l.kind {
                        "sequence" | "view" => String::new(),
                        _ => format!(" ({} rows)", thousands(l.rows)),
                    };
                    let _ = writeln!(
                        out,
                        "             {} on {} {}{rows}: blocks {}",
                        mode_name(&l.mode),
                        l.kind,
                        l.relation,
                        l.blocks
                    );
                }
                for r in &s.rewrites {
                    let _ = writeln!(
                        out,
                        "             rewrites {} {} ({} rows, {}){}",
                        r.kind,
                        r.relation,
                        thousands(r.rows),
                        bytes(r.bytes),
                        indexes_too(&r.indexes)
                    );
                }
                if s.sampled {
                    let _ = writeln!(
                        out,
                        "             (outside a transaction: locks sampled while it ran)"
                    );
                }
            }
            if let Some(error) = &m.error {
                let _ = writeln!(out, "  {} {error}", paint("31", "stopped:"));
            }
            for f in &m.findings {
                let label = match f.severity {
                    Severity::Error => paint("31;1", "ERROR  "),
                    Severity::Warning => paint("33;1", "WARNING"),
                };
                let _ = writeln!(
                    out,
                    "  {label} {} {}:{}: {}",
                    f.rule,
                    m.file.display(),
                    f.line,
                    f.message
                );
                if !safer_shown.contains(&(f.rule, f.safer.as_str())) {
                    safer_shown.push((f.rule, f.safer.as_str()));
                    let _ = writeln!(out, "          safer: {}", f.safer);
                }
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", self.summary_line());
        out
    }

    /// `2 of 4 migrations have findings: 4 errors, 2 warnings (...)`.
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let verdict = if s.failed {
            format!("fail_on = {}: exit 1", self.fail_on)
        } else {
            format!("fail_on = {}: passes", self.fail_on)
        };
        format!(
            "{} of {} migrations have findings: {}, {} ({verdict}; {:.1} s)",
            s.with_findings,
            s.migrations,
            plural(s.errors, "error"),
            plural(s.warnings, "warning"),
            self.seconds
        )
    }
}

impl std::fmt::Display for Markdown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self.0;
        let s = &r.summary;
        writeln!(
            f,
            "### pgharness impact: {} of {} migrations {}",
            s.with_findings,
            s.migrations,
            if s.with_findings == 1 {
                "needs attention"
            } else {
                "need attention"
            }
        )?;
        writeln!(f)?;
        let rows: usize = r.seeding.iter().map(|x| x.rows).sum();
        writeln!(
            f,
            "Traced on PostgreSQL {} with data from `{}` ({} rows generated). {}, {}; fails on: {}.",
            r.server.version,
            r.scale,
            thousands(rows as i64),
            plural(s.errors, "error"),
            plural(s.warnings, "warning"),
            r.fail_on
        )?;
        if !r.unmatched_tables.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "**Note:** the profile's tables {} match no table at the versions seeded (a typo, another chain's names, or tables created after the last seeding): they got no rows.",
                r.unmatched_tables
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "| migration | line | statement | strongest lock on an existing table | blocks | held | rewrites | findings |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|")?;
        for m in &r.migrations {
            let shown: Vec<&StatementTrace> =
                m.statements.iter().filter(|s| worth_showing(s)).collect();
            if shown.is_empty() {
                writeln!(
                    f,
                    "| {} | | {} | | | | | {} |",
                    m.migration,
                    if m.error.is_some() {
                        "stopped"
                    } else {
                        "locks nothing that existed"
                    },
                    findings_cell(m, None)
                )?;
                continue;
            }
            for s in shown {
                let lock = s
                    .locks
                    .iter()
                    .filter(|l| shown_lock(s, l))
                    .max_by_key(|l| strength(&l.mode));
                writeln!(
                    f,
                    "| {} | {} | `{}` | {} | {} | {} | {} | {} |",
                    m.migration,
                    s.line,
                    short_sql(&s.sql, 50).replace('|', "\\|").replace('`', "'"),
                    lock.map_or(String::new(), |l| format!(
                        "{} on {} ({} rows)",
                        mode_name(&l.mode),
                        l.relation,
                        thousands(l.rows)
                    )),
                    lock.map_or("", |l| l.blocks),
                    format_ms(s.held_ms),
                    s.rewrites
                        .iter()
                        .map(|w| format!("{} ({})", w.relation, bytes(w.bytes)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    findings_cell(m, Some(s.line))
                )?;
            }
        }
        let all: Vec<(&MigrationImpact, &super::Finding)> = r
            .migrations
            .iter()
            .flat_map(|m| m.findings.iter().map(move |x| (m, x)))
            .collect();
        if !all.is_empty() {
            writeln!(f)?;
            writeln!(f, "<details><summary>Findings and safer patterns</summary>")?;
            // By rule, errors first: the safer pattern once per rule.
            let mut rules: Vec<(&str, Severity)> = Vec::new();
            for (_, x) in &all {
                if !rules.iter().any(|(r, _)| *r == x.rule) {
                    rules.push((x.rule, x.severity));
                }
            }
            rules.sort_by_key(|(_, s)| std::cmp::Reverse(*s));
            for (rule, severity) in rules {
                let of_rule: Vec<&(&MigrationImpact, &super::Finding)> =
                    all.iter().filter(|(_, x)| x.rule == rule).collect();
                writeln!(f)?;
                writeln!(f, "#### `{rule}` ({}, {})", severity.name(), of_rule.len())?;
                writeln!(f)?;
                let safer: Vec<&str> = {
                    let mut v: Vec<&str> = of_rule.iter().map(|(_, x)| x.safer.as_str()).collect();
                    v.dedup();
                    v
                };
                for text in safer {
                    writeln!(f, "*Safer:* {text}.")?;
                }
                writeln!(f)?;
                for (m, x) in of_rule {
                    writeln!(f, "- `{}:{}`: {}", m.file.display(), x.line, x.message)?;
                }
            }
            writeln!(f)?;
            writeln!(f, "</details>")?;
        }
        Ok(())
    }
}

/// A lock worth a line: on a relation that existed, the strongest mode the
/// statement took on it, and for an index only when no table is listed
/// (`REINDEX`).
fn shown_lock(s: &StatementTrace, l: &super::trace::LockTaken) -> bool {
    let strongest = !s
        .locks
        .iter()
        .any(|o| o.relation == l.relation && strength(&o.mode) > strength(&l.mode));
    l.existing
        && strongest
        && (l.kind != "index" || !s.locks.iter().any(|t| t.kind != "index" && t.existing))
}

/// ` and its indexes a, b`.
pub(crate) fn indexes_too(indexes: &[String]) -> String {
    match indexes.len() {
        0 => String::new(),
        1 => format!(" and its index {}", indexes[0]),
        _ => format!(" and its indexes {}", indexes.join(", ")),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn findings_cell(m: &MigrationImpact, line: Option<usize>) -> String {
    m.findings
        .iter()
        .filter(|x| line.is_none_or(|l| x.line == l))
        .map(|x| format!("**{}** {}", x.severity.name(), x.rule))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A statement that touches something that existed, or takes a while.
fn worth_showing(s: &StatementTrace) -> bool {
    s.locks.iter().any(|l| l.existing) || !s.rewrites.is_empty() || s.duration_ms >= 100.0
}

/// The statement on one line, cut at `max` characters.
fn short_sql(sql: &str, max: usize) -> String {
    let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        return one;
    }
    let cut: String = one.chars().take(max - 1).collect();
    format!("{cut}…")
}
