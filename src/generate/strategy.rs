//! proptest strategies over data sets.
//!
//! A data set is not shrunk row by row (removing a parent would orphan its
//! children): proptest draws and shrinks the generator's inputs instead —
//! the seed, the row count of each table, realistic or simplest values,
//! the share of boundary values — and every candidate goes through the
//! generator, so every shrunk case is still a valid, constraint-respecting
//! data set. Row counts shrink toward zero, values toward the simplest
//! ones (`'a'`, `0`, `{}`, the profile's `now`), boundary values away.

use std::sync::Arc;

use proptest::prelude::*;

use crate::schema::SchemaSnapshot;

use super::build::{build, BuildOptions};
use super::plan::{plan, Plan};
use super::profile::{OnLimit, Profile};
use super::realistic::Style;
use super::{Dataset, GenerateError};

/// How [`dataset_strategy_with`] draws data sets.
#[derive(Debug, Clone)]
pub struct StrategyOptions {
    /// Fewest rows of each table, as a share of the profile's count
    /// (0.0: shrinking may reach empty tables).
    pub min_rows_fraction: f64,
    /// Mix in boundary values (empty strings, maximal lengths, ends of
    /// ranges, NULLs where allowed).
    pub boundary_values: bool,
    /// Tables with `per_parent` in the profile: at most this many rows.
    pub per_parent_rows: usize,
}

impl Default for StrategyOptions {
    fn default() -> Self {
        StrategyOptions {
            min_rows_fraction: 0.0,
            boundary_values: true,
            per_parent_rows: 20,
        }
    }
}

/// The generator's inputs one case draws.
#[derive(Debug, Clone)]
struct Spec {
    seed: u64,
    rows: Vec<usize>,
    realistic: bool,
    boundary_percent: u8,
}

/// A proptest strategy of data sets for `schema`, with row counts up to
/// the profile's (drawn per case, shrinking toward zero), realistic and
/// boundary values mixed. Limits are capped, never errors, so every case
/// is loadable.
///
/// Errors up front when the profile does not fit the schema or the schema
/// has constructs the generator cannot satisfy (the same errors as
/// [`super::generate`]).
///
/// ```no_run
/// # fn f(schema: &pgharness::schema::SchemaSnapshot) -> Result<(), pgharness::generate::GenerateError> {
/// use proptest::prelude::*;
/// use pgharness::generate::{dataset_strategy, Profile};
/// let strategy = dataset_strategy(schema, &Profile::with_rows([("cycle", 4), ("goal", 8)]))?;
/// proptest!(|(data in strategy)| {
///     // load `data` into a fresh database and check a rule
///     prop_assert!(data.row_counts()["public.goal"] <= 8);
/// });
/// # Ok(()) }
/// ```
pub fn dataset_strategy(
    schema: &SchemaSnapshot,
    profile: &Profile,
) -> Result<BoxedStrategy<Dataset>, GenerateError> {
    dataset_strategy_with(schema, profile, &StrategyOptions::default())
}

/// [`dataset_strategy`] with options.
pub fn dataset_strategy_with(
    schema: &SchemaSnapshot,
    profile: &Profile,
    options: &StrategyOptions,
) -> Result<BoxedStrategy<Dataset>, GenerateError> {
    let plan = Arc::new(plan(schema, profile)?);
    let maxima: Vec<usize> = plan
        .tables
        .iter()
        .map(|t| t.rows.unwrap_or(options.per_parent_rows))
        .collect();
    // One trial build: errors that do not depend on the draw surface here
    // rather than as rejected cases.
    build(
        &plan,
        0,
        &options_for(&Spec {
            seed: 0,
            rows: maxima.clone(),
            realistic: true,
            boundary_percent: 0,
        }),
    )?;
    let rows: Vec<BoxedStrategy<usize>> = maxima
        .iter()
        .map(|&max| {
            let min = ((max as f64) * options.min_rows_fraction.clamp(0.0, 1.0)).ceil() as usize;
            (min.min(max)..=max).boxed()
        })
        .collect();
    let boundary = if options.boundary_values {
        (0u8..=30).boxed()
    } else {
        Just(0u8).boxed()
    };
    let spec = (any::<u64>(), rows, proptest::bool::weighted(0.8), boundary).prop_map(
        |(seed, rows, realistic, boundary_percent)| Spec {
            seed,
            rows,
            realistic,
            boundary_percent,
        },
    );
    Ok(spec
        .prop_filter_map(
            "the generator could not satisfy the constraints for this draw",
            move |spec| build_spec(&plan, &spec),
        )
        .boxed())
}

fn options_for(spec: &Spec) -> BuildOptions {
    BuildOptions {
        rows: Some(spec.rows.clone()),
        style: Style {
            realistic: spec.realistic,
            boundary: f64::from(spec.boundary_percent) / 100.0,
        },
        on_limit: OnLimit::Cap,
    }
}

fn build_spec(plan: &Plan, spec: &Spec) -> Option<Dataset> {
    build(plan, spec.seed, &options_for(spec)).ok()
}
