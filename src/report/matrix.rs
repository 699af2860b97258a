//! One report for a check on several PostgreSQL versions (`--pg 15,17,18`):
//! every version's results, each naming its server; a finding that holds
//! on every version is shown once, one that differs names the versions.

use std::collections::BTreeMap;

use super::{Report, ServerInfo};
use crate::properties::{PropertyResult, Status};

impl Report {
    /// Joins the reports of one check run on several servers (one per
    /// major) into one: results tagged with their server, grouped by
    /// property and target in the first report's order, versions
    /// ascending; counts added, the wall time of the slowest. A migration
    /// that fails to apply on the lower versions and applies on the higher
    /// ones says from which major the chain applies.
    pub fn matrix(mut runs: Vec<Report>) -> Option<Report> {
        runs.sort_by_key(|r| r.server.major());
        let mut runs = runs.into_iter();
        let mut merged = runs.next()?;
        let servers: Vec<ServerInfo> = std::iter::once(merged.server.clone())
            .chain(runs.as_slice().iter().map(|r| r.server.clone()))
            .collect();
        for r in &mut merged.results {
            r.server = Some(merged.server.clone());
        }
        for run in runs {
            let s = &mut merged.summary;
            s.passed += run.summary.passed;
            s.failed += run.summary.failed;
            s.skipped += run.summary.skipped;
            s.partial += run.summary.partial;
            s.seconds = s.seconds.max(run.summary.seconds);
            s.cases = match (s.cases, run.summary.cases) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
            };
            s.schedules = match (s.schedules, run.summary.schedules) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
            };
            let server = run.server.clone();
            merged.results.extend(run.results.into_iter().map(|mut r| {
                r.server = Some(server.clone());
                r
            }));
        }
        // Grouped: each property and target's results together, in the
        // order the first version reported them.
        let mut order: BTreeMap<(String, String), usize> = BTreeMap::new();
        for r in &merged.results {
            let next = order.len();
            order
                .entry((r.property.clone(), r.target.clone()))
                .or_insert(next);
        }
        merged.results.sort_by_key(|r| {
            (
                order[&(r.property.clone(), r.target.clone())],
                r.server.as_ref().map_or(0, ServerInfo::major),
            )
        });
        note_first_applying_major(&mut merged.results);
        merged.servers = servers;
        Some(merged)
    }

    /// The results as groups of one property and target, each group's
    /// results one per version.
    pub(super) fn groups(&self) -> Vec<&[PropertyResult]> {
        let mut groups = Vec::new();
        let mut start = 0;
        for i in 1..=self.results.len() {
            let ends = i == self.results.len()
                || self.results[i].property != self.results[start].property
                || self.results[i].target != self.results[start].target;
            if ends {
                groups.push(&self.results[start..i]);
                start = i;
            }
        }
        groups
    }
}

/// Whether a group's results agree on every version: all pass, or the
/// same verdict with the same message and evidence. Shown once.
pub(super) fn agree(group: &[PropertyResult], versions: usize) -> bool {
    group.len() == versions
        && group.windows(2).all(|w| {
            w[0].status == w[1].status
                && (w[0].status == Status::Pass
                    || (w[0].message == w[1].message && w[0].diff == w[1].diff))
        })
}

/// "fails on 15, passes on 17 and 18".
pub(super) fn how_it_differs(group: &[PropertyResult]) -> String {
    let mut by_status: Vec<(Status, Vec<u32>)> = Vec::new();
    for r in group {
        let major = r.server.as_ref().map_or(0, ServerInfo::major);
        match by_status.iter_mut().find(|(s, _)| *s == r.status) {
            Some((_, majors)) => majors.push(major),
            None => by_status.push((r.status, vec![major])),
        }
    }
    by_status
        .iter()
        .map(|(status, majors)| {
            let verb = match status {
                Status::Pass => "passes",
                Status::Fail => "fails",
                Status::Skip => "is skipped",
                Status::Partial => "is partly checked",
            };
            format!("{verb} on {}", and_list(majors))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn and_list(majors: &[u32]) -> String {
    let names: Vec<String> = majors.iter().map(u32::to_string).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// A migration whose `apply` fails on the lower majors only: its failures
/// say from which major it applies.
fn note_first_applying_major(results: &mut [PropertyResult]) {
    let mut applies_from: BTreeMap<String, u32> = BTreeMap::new();
    let targets: Vec<String> = results
        .iter()
        .filter(|r| r.property == "apply")
        .map(|r| r.target.clone())
        .collect();
    for target in targets {
        let majors = |status: Status| -> Vec<u32> {
            results
                .iter()
                .filter(|r| r.property == "apply" && r.target == target && r.status == status)
                .filter_map(|r| r.server.as_ref().map(ServerInfo::major))
                .collect()
        };
        let (failing, passing) = (majors(Status::Fail), majors(Status::Pass));
        if let (Some(worst), Some(first)) = (failing.iter().max(), passing.iter().min()) {
            if worst < first {
                applies_from.insert(target, *first);
            }
        }
    }
    for r in results
        .iter_mut()
        .filter(|r| r.property == "apply" && r.status == Status::Fail)
    {
        if let Some(first) = applies_from.get(&r.target) {
            r.message = format!(
                "{} (it applies on PostgreSQL {first} and later: the chain needs {first} or newer from this migration)",
                r.message
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ChainInfo, Summary};

    fn result(property: &str, target: &str, status: Status, message: &str) -> PropertyResult {
        PropertyResult {
            property: property.into(),
            target: target.into(),
            status,
            message: message.into(),
            diff: None,
            location: None,
            rerun: None,
            duration_us: None,
            server: None,
        }
    }

    fn run(version: &str, results: Vec<PropertyResult>) -> Report {
        let count = |s: Status| results.iter().filter(|r| r.status == s).count();
        Report {
            chain: ChainInfo {
                dir: "m".into(),
                layout: "sqlx".into(),
                migrations: 2,
            },
            server: ServerInfo {
                backend: "docker".into(),
                version: version.into(),
            },
            summary: Summary {
                passed: count(Status::Pass),
                failed: count(Status::Fail),
                skipped: count(Status::Skip),
                partial: 0,
                seconds: 1.0,
                cases: None,
                cases_per_second: None,
                schedules: None,
                schedules_per_second: None,
                seed: 7,
            },
            results,
            servers: Vec::new(),
        }
    }

    #[test]
    fn a_finding_on_every_version_shows_once_and_one_that_differs_names_the_versions() {
        let fails_on_15 = "0002_merge failed: syntax error at or near \"RETURNING\"";
        let report = Report::matrix(vec![
            run(
                "18.1",
                vec![
                    result("apply", "0001_t", Status::Pass, "with 3 rows"),
                    result("apply", "0002_merge", Status::Pass, ""),
                    result("idempotency", "0001_t", Status::Fail, "not re-runnable"),
                ],
            ),
            run(
                "15.18",
                vec![
                    result("apply", "0001_t", Status::Pass, "with 5 rows"),
                    result("apply", "0002_merge", Status::Fail, fails_on_15),
                    result("idempotency", "0001_t", Status::Fail, "not re-runnable"),
                ],
            ),
            run(
                "17.6",
                vec![
                    result("apply", "0001_t", Status::Pass, "with 3 rows"),
                    result("apply", "0002_merge", Status::Pass, ""),
                    result("idempotency", "0001_t", Status::Fail, "not re-runnable"),
                ],
            ),
        ])
        .unwrap();
        let majors: Vec<u32> = report.servers.iter().map(ServerInfo::major).collect();
        assert_eq!(majors, [15, 17, 18]);
        assert_eq!((report.summary.passed, report.summary.failed), (5, 4));
        let groups = report.groups();
        assert_eq!(groups.len(), 3);
        assert!(agree(groups[0], 3), "passes agree whatever their notes");
        assert!(
            !groups[0][0].message.contains("applies on"),
            "a pass is not annotated"
        );
        assert!(!agree(groups[1], 3));
        assert_eq!(
            how_it_differs(groups[1]),
            "fails on 15, passes on 17 and 18"
        );
        assert!(
            groups[1][0].message.ends_with(
                "(it applies on PostgreSQL 17 and later: the chain needs 17 or newer from this migration)"
            ),
            "{}",
            groups[1][0].message
        );
        assert!(agree(groups[2], 3));
        let text = report.to_human(false);
        assert!(
            text.contains(
                "DIFF  apply        0002_merge: differs across versions: fails on 15, passes on 17 and 18"
            ),
            "{text}"
        );
        assert!(
            text.contains("FAIL  apply        0002_merge [PostgreSQL 15]"),
            "{text}"
        );
        assert_eq!(text.matches("idempotency  0001_t").count(), 1, "{text}");
        assert_eq!(text.matches("apply        0001_t").count(), 1, "{text}");
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let versions: Vec<&str> = json["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["server"]["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["15.18", "17.6", "18.1"].repeat(3));
    }
}
