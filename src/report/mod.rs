//! Rendering what `check` found for people (`human`) and for programs
//! (`json`, the contract in DESIGN.md).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::chain::Chain;
use crate::properties::{CheckOutcome, PropertyResult, Status};
use crate::server::Server;

mod matrix;

/// The report of one `check` run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The chain checked.
    pub chain: ChainInfo,
    /// The server it was checked on.
    pub server: ServerInfo,
    /// One entry per property and target.
    pub results: Vec<PropertyResult>,
    /// Counts by status.
    pub summary: Summary,
    /// A check on several PostgreSQL versions: every server, lowest major
    /// first (`server` is the first); each result then names its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<ServerInfo>,
}

/// The chain part of a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainInfo {
    /// The chain's directory.
    pub dir: String,
    /// Its layout.
    pub layout: String,
    /// Number of migrations.
    pub migrations: usize,
}

/// The server part of a report.
pub use crate::properties::ServerInfo;

/// Counts of results by status, and the wall time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Results that passed.
    pub passed: usize,
    /// Results that failed.
    pub failed: usize,
    /// Results that were skipped.
    pub skipped: usize,
    /// Results that held on what could be checked, with a part unchecked.
    pub partial: usize,
    /// Wall time of the check in seconds.
    pub seconds: f64,
    /// Generated cases run by constraint properties (when any ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<u64>,
    /// Their throughput: cases over the time from the start of the
    /// property files to the end of the last one without races.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases_per_second: Option<f64>,
    /// Schedules driven by race properties (when any ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedules: Option<u64>,
    /// Their throughput: schedules over the time from the start of the
    /// property files to the end of the last one with races.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedules_per_second: Option<f64>,
    /// The seed of generated data (`--seed` reproduces the run).
    pub seed: u64,
}

impl Report {
    /// Builds the report; `rerun_prefix` is the command line (program and
    /// global options) that re-runs a check when followed by its
    /// arguments.
    pub fn new(
        chain: &Chain,
        server: &Server,
        outcome: CheckOutcome,
        rerun_prefix: &str,
    ) -> Report {
        let mut results = outcome.results;
        for r in &mut results {
            if let Some(args) = &r.rerun {
                r.rerun = Some(format!("{rerun_prefix} {args}"));
            }
        }
        let count = |s: Status| results.iter().filter(|r| r.status == s).count();
        let summary = Summary {
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            skipped: count(Status::Skip),
            partial: count(Status::Partial),
            seconds: (outcome.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            cases: (outcome.cases > 0).then_some(outcome.cases),
            cases_per_second: (outcome.cases > 0).then(|| {
                (outcome.cases as f64 / outcome.case_time.as_secs_f64().max(1e-9)).round()
            }),
            schedules: (outcome.schedules > 0).then_some(outcome.schedules),
            schedules_per_second: (outcome.schedules > 0).then(|| {
                (outcome.schedules as f64 / outcome.schedule_time.as_secs_f64().max(1e-9)).round()
            }),
            seed: outcome.seed,
        };
        Report {
            chain: ChainInfo {
                dir: chain.dir.display().to_string(),
                layout: chain.layout.name().to_string(),
                migrations: chain.migrations.len(),
            },
            server: ServerInfo {
                backend: server.backend().name().to_string(),
                version: server.version().to_string(),
            },
            results,
            summary,
            servers: Vec::new(),
        }
    }

    /// Joins the JSON reports of the shards of one partitioned check
    /// (`check --partition k/n`) into the report of the whole check:
    /// results in the order an unsharded run gives (`chain`: the chain's
    /// migrations, to order per-migration results by), counts recounted,
    /// the wall time of the slowest shard. The shards must be of one chain,
    /// on one server version, with one seed.
    pub fn merge(shards: Vec<(String, Report)>, chain: Option<&Chain>) -> Result<Report, String> {
        let mut shards = shards.into_iter();
        let Some((first_name, first)) = shards.next() else {
            return Err("report merge: give the JSON reports of the shards".into());
        };
        let mut merged = first;
        for (name, shard) in shards {
            let same = shard.chain.dir == merged.chain.dir
                && shard.chain.layout == merged.chain.layout
                && shard.chain.migrations == merged.chain.migrations;
            if !same {
                return Err(format!(
                    "{name}: a report of another chain ({} with {} migrations) than {first_name} ({} with {})",
                    shard.chain.dir, shard.chain.migrations, merged.chain.dir, merged.chain.migrations
                ));
            }
            if shard.summary.seed != merged.summary.seed {
                return Err(format!(
                    "{name}: seed {} differs from {first_name}'s {} (give every shard the same --seed)",
                    shard.summary.seed, merged.summary.seed
                ));
            }
            if shard.server.version != merged.server.version {
                return Err(format!(
                    "{name}: PostgreSQL {} differs from {first_name}'s {}",
                    shard.server.version, merged.server.version
                ));
            }
            let s = &mut merged.summary;
            s.seconds = s.seconds.max(shard.summary.seconds);
            let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
            };
            let addf = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
            };
            s.cases = add(s.cases, shard.summary.cases);
            s.cases_per_second = addf(s.cases_per_second, shard.summary.cases_per_second);
            s.schedules = add(s.schedules, shard.summary.schedules);
            s.schedules_per_second =
                addf(s.schedules_per_second, shard.summary.schedules_per_second);
            merged.results.extend(shard.results);
        }
        // The order of an unsharded run: properties in check order, the
        // per-migration ones in chain order, then by target.
        let place: std::collections::HashMap<String, usize> = chain
            .map(|c| {
                c.migrations
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (m.id(), i))
                    .collect()
            })
            .unwrap_or_default();
        let rank = |property: &str| match property {
            "apply" => 0,
            "idempotency" => 1,
            "roundtrip" => 2,
            "fidelity" => 3,
            _ => 4,
        };
        merged.results.sort_by(|a, b| {
            let key = |r: &crate::properties::PropertyResult| {
                (
                    rank(&r.property),
                    if rank(&r.property) == 4 {
                        r.property.clone()
                    } else {
                        String::new()
                    },
                    place.get(&r.target).copied().unwrap_or(usize::MAX),
                )
            };
            key(a).cmp(&key(b))
        });
        let count = |st: Status| merged.results.iter().filter(|r| r.status == st).count();
        merged.summary.passed = count(Status::Pass);
        merged.summary.failed = count(Status::Fail);
        merged.summary.skipped = count(Status::Skip);
        merged.summary.partial = count(Status::Partial);
        Ok(merged)
    }

    /// Whether every checked property holds.
    pub fn passed(&self) -> bool {
        self.summary.failed == 0
    }

    /// The JSON object of DESIGN.md.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report for a terminal: a line per result, the evidence under
    /// each failure, a summary line. `color` adds ANSI colours.
    pub fn to_human(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| paint(color, code, text);
        let mut out = String::new();
        let servers = if self.servers.is_empty() {
            format!("{} PostgreSQL {}", self.server.backend, self.server.version)
        } else {
            let list: Vec<String> = self
                .servers
                .iter()
                .map(|s| format!("{} PostgreSQL {}", s.backend, s.version))
                .collect();
            list.join(", ")
        };
        let _ = writeln!(
            out,
            "pgharness check: {} ({}, {} migrations) on {servers}\n",
            self.chain.dir, self.chain.layout, self.chain.migrations,
        );
        let width = self
            .results
            .iter()
            .map(|r| r.property.len())
            .max()
            .unwrap_or(0);
        let groups: Vec<&[PropertyResult]> = if self.servers.is_empty() {
            self.results.iter().map(std::slice::from_ref).collect()
        } else {
            self.groups()
        };
        for group in groups {
            if self.servers.is_empty() || matrix::agree(group, self.servers.len()) {
                render_result(&mut out, &group[0], width, "", color);
                continue;
            }
            let _ = writeln!(
                out,
                "{}  {:width$}  {}: differs across versions: {}",
                paint("1;33", "DIFF"),
                group[0].property,
                group[0].target,
                matrix::how_it_differs(group)
            );
            for r in group {
                render_result(&mut out, r, width, &on_version(r), color);
            }
        }
        let s = &self.summary;
        let mut cases = match (s.cases, s.cases_per_second) {
            (Some(n), Some(rate)) => format!(", {n} generated cases at {rate:.0}/s"),
            _ => String::new(),
        };
        if let (Some(n), Some(rate)) = (s.schedules, s.schedules_per_second) {
            let _ = write!(cases, ", {n} race schedules at {rate:.0}/s");
        }
        let partial = if s.partial > 0 {
            format!(", {} partly checked", s.partial)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\n{} passed, {} failed, {} skipped{partial} ({:.2} s{cases}; seed {})",
            s.passed, s.failed, s.skipped, s.seconds, s.seed
        );
        out
    }
}

impl Report {
    /// The report as GitHub Actions workflow commands: an `::error` per
    /// failure and a `::warning` per partial result, on the file and line
    /// where it is when known (the annotation shows on that line of the
    /// pull request), then the summary line. Passes and skips print
    /// nothing of their own.
    pub fn to_github(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let level = match r.status {
                Status::Fail => "error",
                Status::Partial => "warning",
                Status::Pass | Status::Skip => continue,
            };
            let mut props = Vec::new();
            if let Some((file, line, col)) = annotation_location(r) {
                props.push(format!("file={}", escape_property(&relative(&file))));
                props.push(format!("line={line}"));
                if let Some(col) = col {
                    props.push(format!("col={col}"));
                }
            }
            props.push(format!(
                "title={}",
                escape_property(&format!("{} {}{}", r.property, r.target, on_version(r)))
            ));
            let mut message = r.message.clone();
            if let Some(diff) = &r.diff {
                let mut lines = diff.lines().peekable();
                // An apply error's first line is its headline, already in
                // the message.
                if lines.peek().is_some_and(|first| r.message.contains(first)) {
                    lines.next();
                }
                for line in lines {
                    message.push('\n');
                    message.push_str(line);
                }
            }
            if let Some(rerun) = &r.rerun {
                message.push_str(&format!("\nrerun: {rerun}"));
            }
            let _ = writeln!(
                out,
                "::{level} {}::{}",
                props.join(","),
                escape_data(&message)
            );
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "{} passed, {} failed, {} skipped, {} partly checked ({:.2} s; seed {})",
            s.passed, s.failed, s.skipped, s.partial, s.seconds, s.seed
        );
        out
    }
}

impl Report {
    /// The report as JUnit XML (the Surefire/Jenkins schema CI systems
    /// read): a `<testsuite>` per property (`apply`, ..., `property:<name>`)
    /// and a `<testcase>` per target; a failure holds its message, evidence
    /// and rerun command; a skip its reason; a partial result passes with
    /// what was not checked in `<system-out>`.
    pub fn to_junit(&self) -> String {
        let mut suites: Vec<(&str, Vec<&crate::properties::PropertyResult>)> = Vec::new();
        for r in &self.results {
            match suites.iter_mut().find(|(p, _)| *p == r.property) {
                Some((_, list)) => list.push(r),
                None => suites.push((&r.property, vec![r])),
            }
        }
        let seconds = |us: u64| format!("{:.3}", us as f64 / 1e6);
        let s = &self.summary;
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"pgharness\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3}\">",
            self.results.len(),
            s.failed,
            s.seconds
        );
        for (property, results) in &suites {
            let count = |status: Status| results.iter().filter(|r| r.status == status).count();
            let time: u64 = results.iter().filter_map(|r| r.duration_us).sum();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">",
                xml(property),
                results.len(),
                count(Status::Fail),
                count(Status::Skip),
                seconds(time)
            );
            let _ = writeln!(
                out,
                "    <properties>\n      <property name=\"chain\" value=\"{}\"/>\n      <property name=\"server\" value=\"{} PostgreSQL {}\"/>\n      <property name=\"seed\" value=\"{}\"/>\n    </properties>",
                xml(&self.chain.dir),
                xml(&self.server.backend),
                xml(&self.server.version),
                s.seed
            );
            for r in results {
                let time = r.duration_us.map(|us| format!(" time=\"{}\"", seconds(us)));
                let _ = write!(
                    out,
                    "    <testcase name=\"{}\" classname=\"{}\"{}",
                    xml(&format!("{}{}", r.target, on_version(r))),
                    xml(property),
                    time.unwrap_or_default()
                );
                match r.status {
                    Status::Pass if r.message.is_empty() => out.push_str("/>\n"),
                    Status::Pass | Status::Partial => {
                        let _ = writeln!(
                            out,
                            ">\n      <system-out>{}{}</system-out>\n    </testcase>",
                            if r.status == Status::Partial {
                                "partly checked: "
                            } else {
                                ""
                            },
                            xml(&r.message)
                        );
                    }
                    Status::Skip => {
                        let _ = writeln!(
                            out,
                            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                            xml(&r.message)
                        );
                    }
                    Status::Fail => {
                        let mut body = String::new();
                        if let Some(l) = &r.location {
                            let _ = writeln!(body, "at {}:{}:{}", l.file, l.line, l.col);
                        }
                        if let Some(diff) = &r.diff {
                            let _ = writeln!(body, "{diff}");
                        }
                        if let Some(rerun) = &r.rerun {
                            let _ = writeln!(body, "rerun: {rerun}");
                        }
                        let _ = writeln!(
                            out,
                            ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                            xml(&r.message),
                            xml(property),
                            xml(&body)
                        );
                    }
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Text for XML 1.0: the five special characters escaped, characters XML
/// cannot hold (control characters other than tab and newlines) replaced.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Where an annotation goes: the result's location, else a `file:line:`
/// (or `file:line:col:`) its message starts with.
fn annotation_location(
    r: &crate::properties::PropertyResult,
) -> Option<(String, usize, Option<usize>)> {
    if let Some(l) = &r.location {
        return Some((l.file.clone(), l.line, Some(l.col)));
    }
    let mut parts = r.message.splitn(4, ':');
    let file = parts.next()?.trim();
    let line: usize = parts.next()?.trim().parse().ok()?;
    let col = parts.next().and_then(|c| c.trim().parse().ok());
    (!file.is_empty() && !file.contains(' ')).then(|| (file.to_string(), line, col))
}

/// `file` relative to the working directory when it is under it: GitHub
/// places annotations by paths from the repository's root.
fn relative(file: &str) -> String {
    let path = std::path::Path::new(file);
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| file.to_string())
}

/// A workflow command's message: `%`, CR and LF escaped.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as data, and `:` and `,` too.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// ANSI colour for one line of a unified diff.
fn color_diff_line(line: &str) -> String {
    let code = if line.starts_with("+++") || line.starts_with("---") {
        "1"
    } else if line.starts_with('+') {
        "32"
    } else if line.starts_with('-') {
        "31"
    } else if line.starts_with("@@") {
        "36"
    } else {
        return line.to_string();
    };
    format!("\x1b[{code}m{line}\x1b[0m")
}

/// ` [PostgreSQL 17]` for a result of a check on several versions.
fn on_version(r: &PropertyResult) -> String {
    r.server
        .as_ref()
        .map(|s| format!(" [PostgreSQL {}]", s.major()))
        .unwrap_or_default()
}

/// One result's lines in the human report (`tag`: after the target, e.g.
/// the version).
fn render_result(out: &mut String, r: &PropertyResult, width: usize, tag: &str, color: bool) {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let status = match r.status {
        Status::Pass => paint("32", "PASS"),
        Status::Fail => paint("1;31", "FAIL"),
        Status::Skip => paint("33", "SKIP"),
        Status::Partial => paint("35", "PART"),
    };
    let _ = write!(out, "{status}  {:width$}  {}{tag}", r.property, r.target);
    match r.status {
        Status::Pass if r.message.is_empty() => out.push('\n'),
        Status::Pass => {
            let _ = writeln!(out, "  ({})", r.message);
        }
        Status::Skip => {
            let _ = writeln!(out, "  ({})", r.message);
        }
        Status::Partial => {
            let _ = writeln!(out, "  ({})", r.message);
            if let Some(rerun) = &r.rerun {
                let _ = writeln!(out, "      rerun: {rerun}");
            }
        }
        Status::Fail => {
            out.push('\n');
            let _ = writeln!(out, "      {}", r.message);
            if let Some(diff) = &r.diff {
                let mut lines = diff.lines().peekable();
                // An apply error's first line is its headline,
                // already in the message.
                if lines.peek().is_some_and(|first| r.message.contains(first)) {
                    lines.next();
                }
                for line in lines {
                    let line = if color {
                        color_diff_line(line)
                    } else {
                        line.to_string()
                    };
                    let _ = writeln!(out, "        {line}");
                }
            }
            if let Some(rerun) = &r.rerun {
                let _ = writeln!(out, "      rerun: {rerun}");
            }
        }
    }
}

/// `text` in the ANSI colour `code` (`31;1`: bold red) when `color`.
pub(crate) fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped_and_kept_legal() {
        assert_eq!(
            xml("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(
            xml("ansi \u{1b}[31m\0 tab\tok"),
            "ansi \u{fffd}[31m\u{fffd} tab\tok"
        );
    }

    #[test]
    fn workflow_commands_escape_as_github_reads_them() {
        assert_eq!(
            escape_data("50% done\r\nnext: a, b"),
            "50%25 done%0D%0Anext: a, b"
        );
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
