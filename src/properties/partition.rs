//! `check --partition k/n`: a deterministic share of a check's work, so
//! that n CI jobs together cover the whole check and `report merge` joins
//! their reports into the one an unsharded run gives.
//!
//! The work is cut into units: `apply` (the chain's apply results), one
//! unit per migration (its idempotency and round-trip checks), the whole
//! chain's round trip, `fidelity`, and one unit per property file. Units
//! are weighed by an earlier run's durations when a report is given
//! (`--timings`; a unit it does not know weighs the average), else equally,
//! and dealt out largest first to the least loaded shard (ties to the
//! lowest shard): every shard computes the same deal. Every shard builds
//! the chain's templates, which the per-migration checks stand on.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Error;

/// Which share of the work this run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}`: expected k/n with 1 <= k <= n, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }
}

/// A unit of work.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Apply,
    /// A migration's per-migration checks, by its index in the chain.
    Migration(usize),
    /// Idempotency summed up over the chain (not required per migration).
    IdempotencyChain,
    RoundtripChain,
    Fidelity,
    /// A property file, by stem.
    File(String),
}

/// A unit of work and the (property, target) pairs of its results (what
/// its duration is read from).
pub type Weighed = (Unit, Vec<(String, String)>);

/// Durations of an earlier run, per (property, target), in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Timings(BTreeMap<(String, String), f64>);

impl Timings {
    /// Reads the `duration_ms` of each result of a `check --format json`
    /// report.
    pub fn load(path: &Path) -> Result<Timings, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Input(format!("{}: cannot read: {e}", path.display())))?;
        let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::Input(format!(
                "{}:{}: not a pgharness JSON report: {e}",
                path.display(),
                e.line()
            ))
        })?;
        let results = report["results"].as_array().ok_or_else(|| {
            Error::Input(format!(
                "{}: not a pgharness JSON report (no `results`)",
                path.display()
            ))
        })?;
        let mut map = BTreeMap::new();
        for r in results {
            if let (Some(p), Some(t), Some(ms)) = (
                r["property"].as_str(),
                r["target"].as_str(),
                r["duration_ms"].as_f64(),
            ) {
                map.insert((p.to_string(), t.to_string()), ms);
            }
        }
        Ok(Timings(map))
    }

    fn get(&self, property: &str, target: &str) -> Option<f64> {
        self.0
            .get(&(property.to_string(), target.to_string()))
            .copied()
    }
}

/// The units of `partition`, from all `units` (each with the (property,
/// target) pairs its time is read from).
pub fn share(units: Vec<Weighed>, timings: &Timings, partition: Partition) -> Vec<Unit> {
    let known: Vec<Option<f64>> = units
        .iter()
        .map(|(_, keys)| {
            let times: Vec<f64> = keys.iter().filter_map(|(p, t)| timings.get(p, t)).collect();
            (!times.is_empty()).then(|| times.iter().sum())
        })
        .collect();
    let found: Vec<f64> = known.iter().flatten().copied().collect();
    let average = if found.is_empty() {
        1.0
    } else {
        found.iter().sum::<f64>() / found.len() as f64
    };
    let mut weighed: Vec<(f64, Unit)> = units
        .into_iter()
        .zip(known)
        .map(|((unit, _), w)| (w.unwrap_or(average).max(0.0), unit))
        .collect();
    // Largest first; equal weights in unit order (deterministic).
    weighed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut load = vec![0.0f64; partition.count];
    let mut mine = Vec::new();
    for (w, unit) in weighed {
        let shard = (0..partition.count)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        load[shard] += w;
        if shard + 1 == partition.index {
            mine.push(unit);
        }
    }
    mine.sort();
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(n: usize) -> Vec<(Unit, Vec<(String, String)>)> {
        (0..n)
            .map(|i| {
                (
                    Unit::Migration(i),
                    vec![("roundtrip".into(), format!("m{i}"))],
                )
            })
            .collect()
    }

    #[test]
    fn shares_cover_every_unit_once() {
        for count in 1..6 {
            let mut all = Vec::new();
            for index in 1..=count {
                all.extend(share(
                    units(23),
                    &Timings::default(),
                    Partition { index, count },
                ));
            }
            all.sort();
            assert_eq!(all, (0..23).map(Unit::Migration).collect::<Vec<_>>());
        }
    }

    #[test]
    fn timings_balance_the_shares() {
        // One slow migration: it gets a shard to itself.
        let mut t = Timings::default();
        t.0.insert(("roundtrip".into(), "m0".into()), 1000.0);
        for i in 1..9 {
            t.0.insert(("roundtrip".into(), format!("m{i}")), 10.0);
        }
        let first = share(units(9), &t, Partition { index: 1, count: 2 });
        assert_eq!(first, vec![Unit::Migration(0)]);
    }

    #[test]
    fn partitions_parse_or_say_why_not() {
        assert_eq!("2/4".parse(), Ok(Partition { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }
}
