//! The properties `pgharness check` verifies, and their results.
//!
//! Each property composes the harness (templates, apply) and the schema
//! snapshot; none re-implements them. A property produces one
//! [`PropertyResult`] per target (a migration, the chain, a property file).

mod apply;
mod cases;
pub mod fidelity;
pub(crate) mod idempotency;
pub mod partition;
mod prepared;
pub mod race;
mod roundtrip;
pub mod rules;
mod runner;
mod walk;

use partition::Unit;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnection;

use crate::schema::SchemaSnapshot;
use crate::{Error, Harness};

/// A property's verdict on one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The property holds.
    Pass,
    /// The property does not hold.
    Fail,
    /// The property was not checked (the message says why).
    Skip,
    /// The property held on what could be checked, but part of it could not
    /// be (the message says what): not a failure, not a full pass.
    Partial,
}

/// Where in a migration file a failure is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// The SQLSTATE Postgres reported, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
}

/// One line of a report: a property's verdict on one target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PropertyResult {
    /// `apply`, `idempotency`, `roundtrip`, `fidelity` or
    /// `property:<file stem>`.
    pub property: String,
    /// A migration (`<version>_<name>`), `chain`, or a property's name.
    pub target: String,
    /// The verdict.
    pub status: Status,
    /// One line: what failed, or why it was skipped; empty on a pass.
    pub message: String,
    /// The longer evidence: a unified diff, the failing statement with a
    /// caret, the minimal data set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Where the failure is, when it is in a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The `check` arguments that re-run just this check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun: Option<String>,
    /// How long the check took, in microseconds; in JSON `duration_ms`, a
    /// number of milliseconds (absent for skips and for results that are a
    /// consequence of another, such as "not reached").
    #[serde(
        rename = "duration_ms",
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "as_millis",
        deserialize_with = "from_millis"
    )]
    pub duration_us: Option<u64>,
    /// The server the result was found on, in a check on several
    /// PostgreSQL versions (`--pg`, `server.versions`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerInfo>,
}

/// The server a check ran on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServerInfo {
    /// `local`, `docker` or `url`.
    pub backend: String,
    /// The server's version (`15.18`).
    pub version: String,
}

impl ServerInfo {
    /// The major (`15`).
    pub fn major(&self) -> u32 {
        crate::server::major_of(&self.version)
    }
}

fn from_millis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let ms: Option<f64> = serde::Deserialize::deserialize(d)?;
    Ok(ms.map(|ms| (ms * 1e3).round() as u64))
}

fn as_millis<S: serde::Serializer>(micros: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match micros {
        Some(us) => s.serialize_f64(*us as f64 / 1e3),
        None => s.serialize_none(),
    }
}

impl PropertyResult {
    /// A pass of `property` on `target`.
    pub fn pass(property: &str, target: &str) -> Self {
        Self::new(property, target, Status::Pass, String::new())
    }

    /// A partial check: what held, and what could not be checked.
    pub fn partial(property: &str, target: &str, message: impl Into<String>) -> Self {
        Self::new(property, target, Status::Partial, message.into())
    }

    /// A skip, with the reason.
    pub fn skip(property: &str, target: &str, reason: impl Into<String>) -> Self {
        Self::new(property, target, Status::Skip, reason.into())
    }

    /// A failure, with the one-line message and the evidence.
    pub fn fail_with_diff(
        property: &str,
        target: &str,
        message: impl Into<String>,
        diff: String,
    ) -> Self {
        let mut r = Self::fail(property, target, message);
        r.diff = Some(diff);
        r
    }

    /// A failure, with the one-line message.
    pub fn fail(property: &str, target: &str, message: impl Into<String>) -> Self {
        Self::new(property, target, Status::Fail, message.into())
    }

    fn new(property: &str, target: &str, status: Status, message: String) -> Self {
        PropertyResult {
            property: property.to_string(),
            target: target.to_string(),
            status,
            message,
            diff: None,
            location: None,
            rerun: None,
            duration_us: None,
            server: None,
        }
    }

    /// The result with the time its check took.
    pub fn took(mut self, elapsed: Duration) -> Self {
        self.duration_us = Some(elapsed.as_micros() as u64);
        self
    }
}

/// Sets the time a check took on each of its results.
pub(crate) fn timed(results: &mut [PropertyResult], elapsed: Duration) {
    for r in results {
        r.duration_us = Some(elapsed.as_micros() as u64);
    }
}

/// The properties `check` knows, in the order it runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PropertyKind {
    /// The chain applies to an empty database.
    Apply,
    /// Re-running an up changes nothing.
    Idempotency,
    /// up -> down -> up restores and reproduces the schema.
    Roundtrip,
    /// The head schema equals the approved snapshot.
    Fidelity,
    /// The rules in `properties/*.toml` hold on generated data.
    Properties,
}

impl PropertyKind {
    /// Every property, in run order.
    pub const ALL: [PropertyKind; 5] = [
        PropertyKind::Apply,
        PropertyKind::Idempotency,
        PropertyKind::Roundtrip,
        PropertyKind::Fidelity,
        PropertyKind::Properties,
    ];

    /// The property's name in `--only`/`--skip` and reports.
    pub fn name(self) -> &'static str {
        match self {
            PropertyKind::Apply => "apply",
            PropertyKind::Idempotency => "idempotency",
            PropertyKind::Roundtrip => "roundtrip",
            PropertyKind::Fidelity => "fidelity",
            PropertyKind::Properties => "properties",
        }
    }
}

impl FromStr for PropertyKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        PropertyKind::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let known = ["properties"];
                if known.contains(&s) {
                    format!("property `{s}` is not available in this version of pgharness")
                } else {
                    format!("unknown property `{s}` (expected apply, idempotency, roundtrip, fidelity or properties)")
                }
            })
    }
}

/// What `check` should do.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The properties to run.
    pub properties: Vec<PropertyKind>,
    /// Restrict per-migration properties to this migration.
    pub migration: Option<String>,
    /// Generated cases per constraint property.
    pub cases: u32,
    /// Seed for generated data.
    pub seed: Option<u64>,
    /// Which property files run (`--only property:<name>`, by file stem),
    /// and which are skipped; empty: all.
    pub files: FileSelection,
    /// Only this share of the work (`--partition k/n`).
    pub partition: Option<partition::Partition>,
    /// An earlier run's durations, to balance the shares by.
    pub timings: partition::Timings,
}

impl Default for CheckOptions {
    /// Every property on every migration, 64 cases, a random seed.
    fn default() -> Self {
        CheckOptions {
            properties: PropertyKind::ALL.to_vec(),
            migration: None,
            cases: 64,
            seed: None,
            files: FileSelection::default(),
            partition: None,
            timings: partition::Timings::default(),
        }
    }
}

/// Property files chosen by name (`property:<stem>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSelection {
    /// Only these (empty: every file).
    pub only: Vec<String>,
    /// Not these.
    pub skip: Vec<String>,
}

impl FileSelection {
    /// Narrows the selection to `stems` (a shard's property files).
    fn keep_only(&mut self, stems: impl Iterator<Item = String>) {
        let stems: Vec<String> = stems.collect();
        self.only = if self.only.is_empty() {
            stems
        } else {
            self.only
                .iter()
                .filter(|s| stems.contains(s))
                .cloned()
                .collect()
        };
    }

    /// Whether the file with this stem runs.
    pub fn runs(&self, stem: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|s| s == stem))
            && !self.skip.iter().any(|s| s == stem)
    }

    /// Errors naming a selected file that does not exist.
    pub fn check_names(&self, files: &[rules::PropertyFile]) -> Result<(), Error> {
        for name in self.only.iter().chain(&self.skip) {
            if !files.iter().any(|f| &f.stem == name) {
                let have: Vec<String> = files.iter().map(|f| f.stem.clone()).collect();
                return Err(Error::Input(format!(
                    "unknown property file `property:{name}` (have: {})",
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    }
                )));
            }
        }
        Ok(())
    }
}

/// Everything `check` found.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// One result per property and target.
    pub results: Vec<PropertyResult>,
    /// Wall time of the check.
    pub elapsed: Duration,
    /// Generated cases run by constraint properties.
    pub cases: u64,
    /// Race schedules driven by race properties.
    pub schedules: u64,
    /// Wall time of the constraint properties (files without races) ...
    pub case_time: Duration,
    /// ... and of the race properties (they run at the same time).
    pub schedule_time: Duration,
    /// The seed of generated data.
    pub seed: u64,
}

/// Runs the chosen properties against the harness's chain.
pub async fn check(harness: &Harness, options: &CheckOptions) -> Result<CheckOutcome, Error> {
    let started = std::time::Instant::now();
    let selected: Vec<usize> = match &options.migration {
        Some(selector) => match harness.chain().position(selector) {
            Some(index) => vec![index],
            None => return Err(Error::UnknownVersion(selector.clone())),
        },
        None => (0..harness.chain().migrations.len()).collect(),
    };
    let whole_chain = options.migration.is_none();
    let seed = options.seed.unwrap_or_else(random_seed);
    // This run's share of the work, when partitioned.
    // Idempotency held on every migration goes with each migration's unit;
    // summed up over the chain (or declared off: one result), it runs
    // whole, in one shard.
    let per_migration = idempotency::is_required(harness) == Some(true);
    let mut any_files = false;
    let shard: Option<Vec<Unit>> = match options.partition {
        Some(p) => {
            let all = units(harness, &selected, whole_chain, per_migration, options)?;
            any_files = all.iter().any(|(u, _)| matches!(u, Unit::File(_)));
            Some(partition::share(all, &options.timings, p))
        }
        None => None,
    };
    let mine = |unit: &Unit| shard.as_ref().is_none_or(|s| s.contains(unit));
    let idempotency_on: Vec<usize> = if per_migration {
        selected
            .iter()
            .copied()
            .filter(|i| mine(&Unit::Migration(*i)))
            .collect()
    } else if mine(&Unit::IdempotencyChain) {
        selected.clone()
    } else {
        Vec::new()
    };
    let idempotency_runs = if per_migration {
        shard.is_none() || !idempotency_on.is_empty()
    } else {
        mine(&Unit::IdempotencyChain)
    };
    let selected: Vec<usize> = selected
        .into_iter()
        .filter(|i| mine(&Unit::Migration(*i)))
        .collect();
    let mut files = options.files.clone();
    // A shard without a property file of its own runs none.
    let mut no_files = false;
    if let Some(shard) = &shard {
        let stems: Vec<String> = shard
            .iter()
            .filter_map(|u| match u {
                Unit::File(stem) => Some(stem.clone()),
                _ => None,
            })
            .collect();
        // (Without any file, the first shard says there are none.)
        no_files =
            stems.is_empty() && (any_files || options.partition.is_some_and(|p| p.index > 1));
        if !stems.is_empty() {
            files.keep_only(stems.into_iter());
        }
    }
    let mut results = Vec::new();
    let mut cases = 0;
    let mut schedules = 0;
    let mut case_time = Duration::ZERO;
    let mut schedule_time = Duration::ZERO;
    // Every property stands on the chain's templates. How far the chain
    // applies is found while the per-migration properties already run on
    // the levels built so far (templates are built once, in order, by
    // whoever asks first); a failing migration is then one finding, and
    // every other property has run on the prefix that applied.
    let wants = |kind: PropertyKind| options.properties.contains(&kind);
    // Fidelity and the property files at head read the head's schema:
    // read warm, as its template is built.
    if wants(PropertyKind::Fidelity) || (wants(PropertyKind::Properties) && !no_files) {
        harness.read_schema_when_built(harness.chain().migrations.len());
    }
    let (reach, idempotency_found, roundtrip_found) = tokio::join!(
        harness.reach(),
        async {
            match wants(PropertyKind::Idempotency) && idempotency_runs {
                true => idempotency::check(harness, &idempotency_on, seed)
                    .await
                    .map(Some),
                false => Ok(None),
            }
        },
        async {
            match wants(PropertyKind::Roundtrip) {
                true => roundtrip::check(harness, &selected).await.map(Some),
                false => Ok(None),
            }
        },
    );
    let mut reach = reach?;
    let mut idempotency_found = idempotency_found?;
    let mut roundtrip_found = roundtrip_found?;
    let chain = harness.chain();
    let unreachable: Vec<(String, String)> = selected
        .iter()
        .filter(|&&i| !reach.applies(i))
        .filter_map(|&i| {
            Some((
                chain.migrations[i].id(),
                reach.unreachable_reason(chain, i)?,
            ))
        })
        .collect();
    let not_reached = |property: &str| -> Vec<PropertyResult> {
        unreachable
            .iter()
            .map(|(id, why)| PropertyResult::skip(property, id, why.clone()))
            .collect()
    };
    let reached = |found: Vec<PropertyResult>, property: &str| -> Vec<PropertyResult> {
        let mut kept: Vec<PropertyResult> = found
            .into_iter()
            .filter(|r| !unreachable.iter().any(|(id, _)| *id == r.target))
            .collect();
        kept.extend(not_reached(property));
        sort_by_chain(chain, &mut kept);
        kept
    };
    let head_skip = reach.head_unreachable_reason(chain);
    for kind in &options.properties {
        match kind {
            PropertyKind::Apply if !mine(&Unit::Apply) => {}
            PropertyKind::Apply => results.extend(apply::check(harness, &mut reach)?),
            PropertyKind::Idempotency => {
                let found = idempotency_found.take().unwrap_or_default();
                results.extend(reached(found, "idempotency"));
            }
            PropertyKind::Roundtrip => {
                let found = roundtrip_found.take().unwrap_or_default();
                results.extend(reached(found, "roundtrip"));
                if whole_chain && mine(&Unit::RoundtripChain) {
                    let started = std::time::Instant::now();
                    results.push(match &head_skip {
                        Some(why) => PropertyResult::skip("roundtrip", "chain", why.clone()),
                        None => roundtrip::check_chain(harness)
                            .await?
                            .took(started.elapsed()),
                    });
                }
            }
            PropertyKind::Fidelity if !mine(&Unit::Fidelity) => {}
            PropertyKind::Fidelity => {
                let started = std::time::Instant::now();
                results.push(match &head_skip {
                    Some(why) => PropertyResult::skip("fidelity", "chain", why.clone()),
                    None => fidelity::check(harness).await?.took(started.elapsed()),
                })
            }
            PropertyKind::Properties if no_files => {}
            PropertyKind::Properties => match &head_skip {
                Some(why) => {
                    for file in rules::load_dir(&harness.config().properties.dir)?
                        .into_iter()
                        .filter(|f| files.runs(&f.stem))
                    {
                        let target = file.name.clone();
                        results.push(PropertyResult::skip(&file.property(), &target, why.clone()));
                    }
                }
                None => {
                    let (found, count) = cases::check(harness, options.cases, seed, &files).await?;
                    // (Said once: by the first shard of a partitioned run.)
                    if found.is_empty() && options.partition.is_none_or(|p| p.index == 1) {
                        // Nothing was checked: say so, not a silent pass.
                        results.push(PropertyResult::skip(
                            "properties",
                            "none",
                            format!(
                                "no property files in {} (properties.dir)",
                                harness.config().properties.dir.display()
                            ),
                        ));
                    }
                    results.extend(found);
                    cases += count.cases;
                    schedules += count.schedules;
                    case_time += count.case_wall;
                    schedule_time += count.schedule_wall;
                }
            },
        }
    }
    Ok(CheckOutcome {
        results,
        elapsed: started.elapsed(),
        cases,
        schedules,
        case_time,
        schedule_time,
        seed,
    })
}

/// The units of work of `check` with these options (see [`partition`]),
/// each with the (property, target) pairs of its results.
fn units(
    harness: &Harness,
    selected: &[usize],
    whole_chain: bool,
    idempotency_per_migration: bool,
    options: &CheckOptions,
) -> Result<Vec<partition::Weighed>, Error> {
    let wants = |kind: PropertyKind| options.properties.contains(&kind);
    let chain = harness.chain();
    let mut units = Vec::new();
    if wants(PropertyKind::Apply) {
        let keys = chain
            .migrations
            .iter()
            .map(|m| ("apply".to_string(), m.id()))
            .collect();
        units.push((Unit::Apply, keys));
    }
    // Idempotency per migration when every migration is held to it;
    // otherwise one summary over all of them, one unit.
    let per_migration_idempotency = wants(PropertyKind::Idempotency) && idempotency_per_migration;
    if wants(PropertyKind::Idempotency) && !per_migration_idempotency {
        let mut keys = vec![("idempotency".to_string(), "chain".to_string())];
        keys.extend(
            selected
                .iter()
                .map(|&i| ("idempotency".to_string(), chain.migrations[i].id())),
        );
        units.push((Unit::IdempotencyChain, keys));
    }
    if per_migration_idempotency || wants(PropertyKind::Roundtrip) {
        for &i in selected {
            let id = chain.migrations[i].id();
            let keys = ["idempotency", "roundtrip"]
                .iter()
                .map(|p| (p.to_string(), id.clone()))
                .collect();
            units.push((Unit::Migration(i), keys));
        }
    }
    if wants(PropertyKind::Roundtrip) && whole_chain {
        units.push((
            Unit::RoundtripChain,
            vec![("roundtrip".to_string(), "chain".to_string())],
        ));
    }
    if wants(PropertyKind::Fidelity) {
        units.push((
            Unit::Fidelity,
            vec![("fidelity".to_string(), "chain".to_string())],
        ));
    }
    if wants(PropertyKind::Properties) && harness.config().properties.dir.is_dir() {
        for file in rules::load_dir(&harness.config().properties.dir)? {
            if options.files.runs(&file.stem) {
                let keys = vec![(file.property(), file.name.clone())];
                units.push((Unit::File(file.stem), keys));
            }
        }
    }
    Ok(units)
}

/// Orders per-migration results by the migration's place in the chain (the
/// sort is stable, so several results of one migration keep their order).
fn sort_by_chain(chain: &crate::chain::Chain, results: &mut [PropertyResult]) {
    let place: std::collections::HashMap<String, usize> = chain
        .migrations
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id(), i))
        .collect();
    results.sort_by_key(|r| place.get(&r.target).copied().unwrap_or(usize::MAX));
}

/// Reads the schema snapshot of the database `conn` is connected to.
async fn capture(conn: &mut PgConnection) -> Result<SchemaSnapshot, Error> {
    Ok(SchemaSnapshot::capture(conn).await?)
}

/// Which step of a multi-step property a failure happened in.
#[derive(Debug, Clone, Copy)]
enum Step {
    Up,
    Down,
    UpAgain,
    Rerun,
}

impl Step {
    fn describe(self) -> &'static str {
        match self {
            Step::Up => "up failed",
            Step::Down => "down failed",
            Step::UpAgain => "up after down failed",
            Step::Rerun => "running the up again failed",
        }
    }
}

/// A migration that failed to apply during `step` is a failure of the
/// property, reported at the file position; any other error ends the check.
fn apply_failure(
    property: &str,
    target: &str,
    step: Step,
    error: Error,
) -> Result<PropertyResult, Error> {
    let Error::Migration { error, .. } = error else {
        return Err(error);
    };
    let mut result = PropertyResult::fail(
        property,
        target,
        format!("{}: {}", step.describe(), error.headline()),
    );
    result.diff = Some(error.to_string());
    result.location = Some(Location {
        file: error.path.display().to_string(),
        line: error.line,
        col: error.col,
        sqlstate: error.sqlstate.clone(),
    });
    Ok(result)
}

/// A seed for a run that was not given one (the report prints it).
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // splitmix64 finaliser: spreads nearby clock values apart.
    let mut z = nanos ^ u64::from(std::process::id()).rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) % 1_000_000_000
}

/// Fills the database with a small generated data set for its current
/// schema. Returns the number of rows, or why there is no data (a schema the
/// generator cannot fill without a profile): the property then runs on the
/// empty tables and says so.
async fn fill_with_generated_data(
    conn: &mut PgConnection,
    schema: &SchemaSnapshot,
    seed: u64,
) -> Result<Result<usize, String>, Error> {
    let profile = crate::generate::Profile {
        default_rows: 5,
        on_limit: crate::generate::OnLimit::Cap,
        ..crate::generate::Profile::default()
    };
    let data = match crate::generate::generate_on(conn, schema, &profile, seed).await {
        Ok((data, _)) => data,
        Err(e @ crate::generate::GenerateError::Load { .. }) => {
            return Ok(Err(format!("the generated data could not be checked: {e}")))
        }
        Err(e) => return Ok(Err(e.to_string())),
    };
    match data.load(conn).await {
        Ok(stats) => Ok(Ok(stats.total_rows)),
        Err(e) => Ok(Err(format!("the generated data did not load: {e}"))),
    }
}

/// Runs the `fidelity` property alone (for [`crate::testing::assert_head_snapshot`]).
pub async fn fidelity_check(harness: &Harness) -> Result<PropertyResult, Error> {
    fidelity::check(harness).await
}

/// Waits until migration `index` is applied in its template (built by
/// whoever asks first); `false` when the chain stops before it, so the
/// check has nothing to run on.
async fn wait_applied(harness: &Harness, index: usize) -> Result<bool, Error> {
    if harness.stops_before(index) {
        return Ok(false);
    }
    match harness.ensure_applied(index + 1).await {
        // The covering template may stop at a later migration than this one.
        Ok(()) | Err(Error::Migration { .. }) => Ok(!harness.stops_before(index)),
        Err(other) => Err(other),
    }
}

/// How many migrations a per-migration property checks at once: each check
/// holds one database and one connection; the server does the work.
pub(super) const MIGRATION_CONCURRENCY: usize = 4;
