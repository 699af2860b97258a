//! From a plan and a seed to rows: parents before children, keys kept
//! unique, checks evaluated on every row, cycles closed in a last pass.

use std::collections::{BTreeSet, HashMap, HashSet};

use sqlx::types::chrono::{DateTime, Utc};

use crate::schema::QualifiedName;

use super::dataset::{Dataset, Fixup, TableData};
use super::error::RulesSection;
use super::expr::{check, eval, predicate, Env, Eval, Verdict};
use super::plan::{
    column_list, unsupported_check, CheckPlan, ColPlan, Deferral, KeyPart, Plan, Source, TablePlan,
    UniquePlan, Write,
};
use super::profile::{Distribution, OnLimit};
use super::realistic::{conform, generate_value, not_after, GenCtx, Semantic, Style, ValueSpec};
use super::rng::SeedRng;
use super::value::{date_from_days, days_of, micros_of, ts_from_micros, Value};
use super::GenerateError;

/// Knobs of one build.
#[derive(Debug, Clone)]
pub(crate) struct BuildOptions {
    /// Row counts per table (plan order), replacing the profile's.
    pub rows: Option<Vec<usize>>,
    pub style: Style,
    pub on_limit: OnLimit,
}

/// How many times a row is re-drawn before giving up on it.
const ATTEMPTS: usize = 40;

/// The evaluation environment of one row.
struct RowEnv<'a> {
    table: &'a TablePlan,
    row: &'a [Value],
    anchor: DateTime<Utc>,
    /// For domain checks: what `value` means.
    value: Option<&'a Value>,
    depth: usize,
}

impl Env for RowEnv<'_> {
    fn lookup(&self, name: &str) -> Option<(Value, bool)> {
        if name == "value" {
            if let Some(v) = self.value {
                return Some((v.clone(), false));
            }
        }
        let i = self.table.col(name)?;
        let col = &self.table.columns[i];
        if let Some(g) = &col.generated {
            if self.depth > 4 {
                return None;
            }
            let inner = RowEnv {
                table: self.table,
                row: self.row,
                anchor: self.anchor,
                value: None,
                depth: self.depth + 1,
            };
            return match eval(g, &inner) {
                Eval::V(v) => Some((v, col.is_enum())),
                Eval::Unknown(_) => None,
            };
        }
        if col.write != Write::Copy {
            // Computed by the server: unknown here.
            return None;
        }
        Some((
            self.row.get(i).cloned().unwrap_or(Value::Null),
            col.is_enum(),
        ))
    }

    fn now(&self) -> DateTime<Utc> {
        self.anchor
    }
}

/// The values a unique key has taken, as 64-bit hashes of the key's text:
/// a tenth of the memory of the keys themselves at millions of rows. Two
/// different keys with one hash only cost a redraw.
#[derive(Clone, Default)]
struct KeySet(HashSet<u64>);

impl KeySet {
    fn hash(key: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(key)
    }

    fn insert(&mut self, key: String) {
        self.0.insert(Self::hash(&key));
    }

    fn contains(&self, key: &str) -> bool {
        self.0.contains(&Self::hash(key))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The generated rows of one table, with what the builder needs later.
#[derive(Default)]
pub(super) struct Built {
    rows: Vec<Vec<Value>>,
    /// Per row: (table, row) of itself and its ancestors along foreign keys.
    ancestry: Vec<Vec<(u32, u32)>>,
    /// Checks (indexes into the table's) the evaluator could not decide for
    /// some row: the server decides them before the load.
    undecided: BTreeSet<usize>,
}

impl Built {
    /// A copy with the rows only (for the load, while the builder keeps
    /// the original for the tables below).
    pub(super) fn rows_copy(&self) -> Built {
        Built {
            rows: self.rows.clone(),
            ancestry: Vec::new(),
            undecided: self.undecided.clone(),
        }
    }

    /// The rows (for the load), leaving nothing.
    pub(super) fn take_all(&mut self) -> Built {
        self.ancestry = Vec::new();
        Built {
            rows: std::mem::take(&mut self.rows),
            ancestry: Vec::new(),
            undecided: std::mem::take(&mut self.undecided),
        }
    }
}

/// A unique key's value for a row: `None` when the key does not apply
/// (a NULL part, a partial index whose predicate is false).
fn key_of(u: &UniquePlan, t: &TablePlan, row: &[Value], anchor: DateTime<Utc>) -> Option<String> {
    let env = RowEnv {
        table: t,
        row,
        anchor,
        value: None,
        depth: 0,
    };
    if let Some(p) = &u.predicate {
        if predicate(p, &env) == Some(false) {
            return None;
        }
    }
    let mut key = String::new();
    for part in &u.parts {
        let text = match part {
            KeyPart::Column(i) => {
                let v = row.get(*i).cloned().unwrap_or(Value::Null);
                let ci = matches!(
                    t.columns[*i].ty.base,
                    super::types::Base::Text {
                        case_insensitive: true,
                        ..
                    }
                );
                match v.to_pg_text() {
                    Some(s) if ci => Some(s.to_lowercase()),
                    other => other,
                }
            }
            KeyPart::Expr(e, cols) => match eval(e, &env) {
                Eval::V(v) => v.to_pg_text(),
                // Not evaluable: the columns it reads, together (stronger).
                Eval::Unknown(_) => {
                    let parts: Vec<String> = cols
                        .iter()
                        .filter_map(|i| row.get(*i).and_then(Value::to_pg_text))
                        .collect();
                    if parts.len() < cols.len() {
                        None
                    } else {
                        Some(parts.join("\u{1}"))
                    }
                }
            },
        };
        match text {
            Some(s) => key.push_str(&s),
            None if u.nulls_not_distinct => key.push('\u{0}'),
            None => return None,
        }
        key.push('\u{1}');
    }
    Some(key)
}

/// Builds the data set.
pub(crate) fn build(plan: &Plan, seed: u64, opts: &BuildOptions) -> Result<Dataset, GenerateError> {
    build_parts(plan, seed, opts, &[])
        .map(|parts| assemble(plan, seed, parts.built))
        .map_err(|e| e.under(plan.profile_section))
}

/// Parents' rows found again by their ancestors: (table, ancestor table)
/// -> ancestor row -> rows.
pub(super) type ParentCache = HashMap<(usize, usize), HashMap<u32, Vec<u32>>>;

/// What [`build_parts`] made.
pub(super) struct Parts {
    /// Per table, in plan order (empty for a table left to stream).
    pub built: Vec<Built>,
    /// The rows each table was asked for (`Some(0)`: none can exist).
    pub requested: Vec<Option<usize>>,
    pub cache: ParentCache,
}

/// Builds every table but those marked in `streamed` (left empty: nothing
/// points at them, they are made later while they load), and closes the
/// cycles of foreign keys.
pub(super) fn build_parts(
    plan: &Plan,
    seed: u64,
    opts: &BuildOptions,
    streamed: &[bool],
) -> Result<Parts, GenerateError> {
    let mut built: Vec<Built> = Vec::with_capacity(plan.tables.len());
    let mut cache: ParentCache = HashMap::new();
    let requested: Vec<Option<usize>> = plan
        .tables
        .iter()
        .enumerate()
        .map(|(ti, t)| match &opts.rows {
            Some(rows) => Some(rows.get(ti).copied().unwrap_or(0)),
            None => t.rows,
        })
        .collect();
    let empty = empty_tables(plan, &requested, opts.on_limit == OnLimit::Cap);
    // A NOT NULL link closing a cycle to a table that gets no rows: the
    // rows cannot exist (found up front: they are only linked at the end).
    for (ti, t) in plan.tables.iter().enumerate() {
        if empty[ti] || requested[ti] == Some(0) {
            continue;
        }
        if let Some(fk) = t.fks.iter().find(|f| {
            f.deferral != Deferral::None && !f.nullable && empty.get(f.parent) == Some(&true)
        }) {
            if opts.on_limit == OnLimit::Error {
                let parent = &plan.tables[fk.parent].name;
                return Err(GenerateError::Limit {
                    table: t.name.to_string(),
                    constraint: fk.name.clone(),
                    message: format!(
                        "rows requested, but every row needs a row of {parent} (NOT NULL foreign key {}) and \
                         {parent} gets no rows. Give {parent} rows in the profile",
                        fk.name
                    ),
                });
            }
        }
    }
    let requested: Vec<Option<usize>> = requested
        .iter()
        .zip(&empty)
        .map(|(r, e)| if *e { Some(0) } else { *r })
        .collect();
    for (ti, t) in plan.tables.iter().enumerate() {
        if streamed.get(ti) == Some(&true) {
            built.push(Built::default());
            continue;
        }
        let rng = SeedRng::derive(seed, &t.name.to_string());
        let b = build_table(plan, ti, requested[ti], &built, &mut cache, rng, opts)?;
        built.push(b);
    }
    // Foreign keys that close a cycle: now that every parent exists.
    let mut removed: Vec<Vec<bool>> = built.iter().map(|b| vec![false; b.rows.len()]).collect();
    for (ti, t) in plan.tables.iter().enumerate() {
        for fk in &t.fks {
            if fk.deferral == Deferral::None || fk.self_ref {
                continue;
            }
            let mut rng = SeedRng::derive(seed, &format!("{}/{}", t.name, fk.name));
            let parent_rows: Vec<Vec<Value>> = built[fk.parent].rows.clone();
            let candidates: Vec<usize> = (0..parent_rows.len())
                .filter(|p| {
                    !removed[fk.parent][*p]
                        && fk
                            .parent_columns
                            .iter()
                            .all(|c| !parent_rows[*p][*c].is_null())
                })
                .collect();
            let involved: Vec<usize> = t
                .uniques
                .iter()
                .enumerate()
                .filter(|(_, u)| u.columns.iter().any(|c| fk.columns.contains(c)))
                .map(|(i, _)| i)
                .collect();
            let mut seen: Vec<KeySet> = vec![KeySet::default(); t.uniques.len()];
            for r in 0..built[ti].rows.len() {
                if removed[ti][r] {
                    continue;
                }
                let set_null = |row: &mut [Value]| {
                    for c in &fk.columns {
                        row[*c] = Value::Null;
                    }
                };
                let wants_parent = !(fk.nullable && rng.chance(fk.null_ratio));
                let mut done = false;
                if !wants_parent {
                    set_null(&mut built[ti].rows[r]);
                    done = link_checks_pass(plan, t, fk, &built[ti].rows[r]);
                }
                if !done {
                    done = close_link(
                        plan,
                        t,
                        fk,
                        &involved,
                        &seen,
                        &candidates,
                        &parent_rows,
                        &mut built[ti].rows[r],
                        &mut rng,
                    );
                }
                if !done && fk.nullable {
                    set_null(&mut built[ti].rows[r]);
                    done = link_checks_pass(plan, t, fk, &built[ti].rows[r]);
                }
                if !done {
                    for c in &fk.columns {
                        built[ti].rows[r][*c] = Value::Null;
                    }
                    if !fk.nullable || !link_checks_pass(plan, t, fk, &built[ti].rows[r]) {
                        if opts.on_limit == OnLimit::Error {
                            return Err(GenerateError::Limit {
                                table: t.name.to_string(),
                                constraint: fk.name.clone(),
                                message: format!(
                                    "no row of {} is left for foreign key {} (NOT NULL, closing a cycle of foreign \
                                     keys) of row {}: its unique keys are taken or its checks fail. Give {} more rows, \
                                     or set on_limit = \"cap\"",
                                    fk.parent_name,
                                    fk.name,
                                    r + 1,
                                    fk.parent_name
                                ),
                            });
                        }
                        remove_row(plan, &mut built, &mut removed, ti, r);
                        continue;
                    }
                }
                for ui in &involved {
                    if let Some(k) = key_of(&t.uniques[*ui], t, &built[ti].rows[r], plan.anchor) {
                        seen[*ui].insert(k);
                    }
                }
            }
        }
    }
    for (b, gone) in built.iter_mut().zip(&removed) {
        if gone.iter().any(|g| *g) {
            let rows = std::mem::take(&mut b.rows);
            b.rows = rows
                .into_iter()
                .zip(gone)
                .filter(|(_, g)| !**g)
                .map(|(r, _)| r)
                .collect();
        }
    }
    Ok(Parts {
        built,
        requested,
        cache,
    })
}

/// Points `row` at a parent along a foreign key that closes a cycle,
/// keeping the unique keys that include it free (other few-valued columns
/// of those keys may change too). False when no parent fits.
#[allow(clippy::too_many_arguments)]
fn close_link(
    plan: &Plan,
    t: &TablePlan,
    fk: &super::plan::FkPlan,
    involved: &[usize],
    seen: &[KeySet],
    candidates: &[usize],
    parent_rows: &[Vec<Value>],
    row: &mut [Value],
    rng: &mut SeedRng,
) -> bool {
    if candidates.is_empty() {
        return false;
    }
    let free = |row: &[Value]| {
        involved.iter().all(|ui| {
            key_of(&t.uniques[*ui], t, row, plan.anchor).is_none_or(|k| !seen[*ui].contains(&k))
        }) && link_checks_pass(plan, t, fk, row)
    };
    let set = |row: &mut [Value], p: usize| {
        for (c, pc) in fk.columns.iter().zip(&fk.parent_columns) {
            row[*c] = parent_rows[p][*pc].clone();
        }
    };
    // A few random parents (the profile's distribution), then all of them.
    for _ in 0..8 {
        let p = candidates[pick(rng, candidates.len(), t.distribution)];
        set(row, p);
        if free(row) {
            return true;
        }
    }
    let mut order: Vec<usize> = candidates.to_vec();
    rng.shuffle(&mut order);
    // The key's other few-valued columns the generator owns.
    let others: Vec<(usize, Vec<Value>)> = involved
        .iter()
        .flat_map(|ui| t.uniques[*ui].columns.iter().copied())
        .filter(|c| !fk.columns.contains(c))
        .filter(|c| {
            matches!(
                t.columns[*c].source,
                Source::Auto(_) | Source::Values { .. } | Source::Range { .. }
            )
        })
        .filter_map(|c| t.columns[c].small_domain().map(|d| (c, d)))
        .collect();
    for p in order {
        set(row, p);
        if free(row) {
            return true;
        }
        for (c, domain) in &others {
            let old = row[*c].clone();
            for v in domain {
                row[*c] = v.clone();
                if free(row) {
                    return true;
                }
            }
            row[*c] = old;
        }
    }
    false
}

/// Whether the checks that read a late-linked foreign key's columns pass.
fn link_checks_pass(plan: &Plan, t: &TablePlan, fk: &super::plan::FkPlan, row: &[Value]) -> bool {
    let env = RowEnv {
        table: t,
        row,
        anchor: plan.anchor,
        value: None,
        depth: 0,
    };
    t.checks
        .iter()
        .filter(|c| !c.trusted && c.domain_of.is_none())
        .all(|c| {
            if !c.columns.iter().any(|x| fk.columns.contains(x)) {
                return true;
            }
            match &c.expr {
                Ok(e) => check(e, &env) == Verdict::Pass,
                Err(_) => true,
            }
        })
}

// Indexes, not iterators: rows of one table are read while rows of
// another are changed.
#[allow(clippy::needless_range_loop)]
/// Removes a row that cannot be kept (capped), and what needs it: rows
/// pointing at it lose the link when nullable, or go too.
fn remove_row(plan: &Plan, built: &mut [Built], removed: &mut [Vec<bool>], ti: usize, r: usize) {
    if removed[ti][r] {
        return;
    }
    removed[ti][r] = true;
    let mut cascade: Vec<(usize, usize)> = Vec::new();
    for (ci, c) in plan.tables.iter().enumerate() {
        for fk in c.fks.iter().filter(|f| f.parent == ti) {
            let target: Vec<Value> = fk
                .parent_columns
                .iter()
                .map(|pc| built[ti].rows[r][*pc].clone())
                .collect();
            for rc in 0..built[ci].rows.len() {
                if removed[ci][rc] {
                    continue;
                }
                let points = fk.columns.iter().zip(&target).all(|(col, v)| {
                    let w = &built[ci].rows[rc][*col];
                    !w.is_null() && super::expr::equals(w, v) == Some(true)
                });
                if !points {
                    continue;
                }
                let mut unlinked = false;
                for col in &fk.columns {
                    if !c.columns[*col].not_null {
                        built[ci].rows[rc][*col] = Value::Null;
                        unlinked = true;
                    }
                }
                if !unlinked {
                    cascade.push((ci, rc));
                }
            }
        }
    }
    for (ci, rc) in cascade {
        remove_row(plan, built, removed, ci, rc);
    }
}

/// Tables that get no rows: asked for none, or every row would need a
/// parent (NOT NULL, any foreign key but a self reference) in a table that
/// gets none.
fn empty_tables(plan: &Plan, requested: &[Option<usize>], cap: bool) -> Vec<bool> {
    let mut empty: Vec<bool> = requested.iter().map(|r| *r == Some(0)).collect();
    loop {
        let mut changed = false;
        for (ti, t) in plan.tables.iter().enumerate() {
            if empty[ti] {
                continue;
            }
            let orphan = t.fks.iter().any(|f| {
                !f.self_ref
                    && !f.nullable
                    && (cap || t.per_parent.is_some() || f.deferral != Deferral::None)
                    && empty.get(f.parent) == Some(&true)
            });
            if orphan {
                empty[ti] = true;
                changed = true;
            }
        }
        if !changed {
            return empty;
        }
    }
}

fn pick(rng: &mut SeedRng, n: usize, distribution: Distribution) -> usize {
    match distribution {
        Distribution::Uniform => rng.index(n),
        Distribution::Skewed => {
            let u = rng.unit();
            ((u * u * u) * n as f64) as usize % n.max(1)
        }
    }
}

/// How many children one parent can have along the grouping key before a
/// unique key runs out, and the key that says so.
fn per_parent_capacity(
    plan: &Plan,
    t: &TablePlan,
    fk: usize,
    built: &[Built],
) -> Option<(u128, String, String)> {
    let g = &t.fks[fk];
    let mut best: Option<(u128, String, String)> = None;
    for u in &t.uniques {
        if u.predicate.is_some() || !g.columns.iter().all(|c| u.columns.contains(c)) {
            continue;
        }
        if !u.parts.iter().all(|p| matches!(p, KeyPart::Column(_))) {
            continue;
        }
        let mut cap: u128 = 1;
        let mut why = Vec::new();
        let mut bounded = true;
        for &c in u.columns.iter().filter(|c| !g.columns.contains(c)) {
            match size_of(plan, t, c, built) {
                Some((n, what)) => {
                    cap = cap.saturating_mul(n);
                    why.push(format!("{}: {what}", t.columns[c].name));
                }
                None => {
                    bounded = false;
                    break;
                }
            }
        }
        if !bounded {
            continue;
        }
        let label = unique_label(u, t);
        let detail = if why.is_empty() {
            String::new()
        } else {
            format!(" ({})", why.join("; "))
        };
        if best.as_ref().is_none_or(|(b, _, _)| cap < *b) {
            best = Some((cap, label, detail));
        }
    }
    best
}

/// `UNIQUE name (col, ...)`, for messages.
fn unique_label(u: &UniquePlan, t: &TablePlan) -> String {
    let cols: Vec<&str> = u
        .columns
        .iter()
        .map(|c| t.columns[*c].name.as_str())
        .collect();
    format!("UNIQUE {} ({})", u.name, cols.join(", "))
}

/// The number of values column `c` can take, when small, and why.
fn size_of(plan: &Plan, t: &TablePlan, c: usize, built: &[Built]) -> Option<(u128, String)> {
    let col = &t.columns[c];
    if let Some(fk) = t
        .fks
        .iter()
        .find(|f| f.columns.contains(&c) && !f.self_ref && f.deferral == Deferral::None)
    {
        if fk.columns.len() == 1 && !fk.nullable {
            let n = built.get(fk.parent).map(|b| b.rows.len()).unwrap_or(0);
            return Some((
                n as u128,
                format!("{n} rows of {}", plan.tables[fk.parent].name),
            ));
        }
        return None;
    }
    let n = col.domain_size()?;
    let what = match &col.ty.base {
        super::types::Base::Enum { .. }
            if col.restriction.allowed.is_none()
                && !matches!(col.source, Source::Values { .. }) =>
        {
            format!("{n} labels of {}", col.ty.display)
        }
        _ => format!("{n} possible values"),
    };
    Some((n, what))
}

#[allow(clippy::too_many_arguments)]
fn build_table(
    plan: &Plan,
    ti: usize,
    requested: Option<usize>,
    built: &[Built],
    cache: &mut ParentCache,
    rng: SeedRng,
    opts: &BuildOptions,
) -> Result<Built, GenerateError> {
    let Some(mut builder) = TableBuilder::start(plan, ti, requested, built, rng, opts)? else {
        return Ok(Built::default());
    };
    let is_parent = plan
        .tables
        .iter()
        .any(|c| c.fks.iter().any(|f| f.parent == ti));
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(builder.expected_rows());
    // Only a parent's rows are asked for their ancestors: a table no
    // foreign key points at (often the largest) keeps none.
    let mut ancestry: Vec<Vec<(u32, u32)>> = Vec::with_capacity(if is_parent {
        builder.expected_rows()
    } else {
        0
    });
    builder.fill(
        plan,
        built,
        cache,
        opts,
        &mut rows,
        is_parent.then_some(&mut ancestry),
        usize::MAX,
    )?;
    let undecided = builder.finish(opts)?;
    Ok(Built {
        rows,
        ancestry,
        undecided,
    })
}

/// Which grouping parent each row of a table belongs to, in row order:
/// a number of rows with none, or runs of rows per parent (a table's
/// millions of rows are not a vector of parents).
enum Assignment {
    Free(usize),
    Runs(Vec<(u32, u32)>),
}

impl Assignment {
    fn len(&self) -> usize {
        match self {
            Assignment::Free(n) => *n,
            Assignment::Runs(runs) => runs.iter().map(|(_, k)| *k as usize).sum(),
        }
    }

    /// One more row of parent `p` (after the rows so far).
    fn push(&mut self, p: usize) {
        if let Assignment::Runs(runs) = self {
            match runs.last_mut() {
                Some((last, k)) if *last as usize == p => *k += 1,
                _ => runs.push((p as u32, 1)),
            }
        }
    }

    /// The next row's parent (`Some(None)`: a row without one), moving
    /// `at` on; `None` after the last row.
    fn next(&self, at: &mut (usize, u32)) -> Option<Option<usize>> {
        match self {
            Assignment::Free(n) => (at.0 < *n).then(|| {
                at.0 += 1;
                None
            }),
            Assignment::Runs(runs) => loop {
                let (p, k) = *runs.get(at.0)?;
                if at.1 < k {
                    at.1 += 1;
                    return Some(Some(p as usize));
                }
                *at = (at.0 + 1, 0);
            },
        }
    }
}

/// The rows of one table, made a batch at a time: all at once by
/// [`build_table`], or a chunk per COPY message when the table is
/// generated while it loads ([`super::stream`]). The same seed gives the
/// same rows either way.
pub(super) struct TableBuilder {
    ti: usize,
    assignment: Assignment,
    at: (usize, u32),
    rng: SeedRng,
    /// Per unique key: the values taken (empty for a key that is unique by
    /// construction: it holds a serial column).
    seen: Vec<KeySet>,
    /// Per unique key: whether `seen` records it.
    tracked: Vec<bool>,
    made: usize,
    dropped: usize,
    last_failure: Option<GenerateError>,
    suffix_counter: u64,
    undecided: BTreeSet<usize>,
}

impl TableBuilder {
    /// Decides how many rows table `ti` gets and which parent each belongs
    /// to; `None` when it gets none (capped away).
    pub(super) fn start(
        plan: &Plan,
        ti: usize,
        requested: Option<usize>,
        built: &[Built],
        mut rng: SeedRng,
        opts: &BuildOptions,
    ) -> Result<Option<TableBuilder>, GenerateError> {
        let Some(assignment) = assign(plan, ti, requested, built, &mut rng, opts)? else {
            return Ok(None);
        };
        let t = &plan.tables[ti];
        let tracked: Vec<bool> = t
            .uniques
            .iter()
            .map(|u| !unique_by_construction(u, t))
            .collect();
        Ok(Some(TableBuilder {
            ti,
            assignment,
            at: (0, 0),
            rng,
            seen: vec![KeySet::default(); t.uniques.len()],
            tracked,
            made: 0,
            dropped: 0,
            last_failure: None,
            suffix_counter: 0,
            undecided: BTreeSet::new(),
        }))
    }

    /// The rows the assignment asks for (fewer are made where a row is
    /// capped away).
    pub(super) fn expected_rows(&self) -> usize {
        self.assignment.len()
    }

    /// Makes up to `most` more rows onto `rows` (and their ancestry, for a
    /// parent table). Returns how many it made; 0 once the table is done.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn fill(
        &mut self,
        plan: &Plan,
        built: &[Built],
        cache: &mut ParentCache,
        opts: &BuildOptions,
        rows: &mut Vec<Vec<Value>>,
        mut ancestry: Option<&mut Vec<Ancestry>>,
        most: usize,
    ) -> Result<usize, GenerateError> {
        let t = &plan.tables[self.ti];
        let mut made = 0;
        while made < most {
            let Some(parent) = self.assignment.next(&mut self.at) else {
                break;
            };
            match make_row(
                plan,
                self.ti,
                parent,
                self.made,
                rows,
                built,
                cache,
                &mut self.rng,
                opts,
                &self.seen,
                &mut self.suffix_counter,
                &mut self.undecided,
            ) {
                Ok((row, anc)) => {
                    for (ui, u) in t.uniques.iter().enumerate() {
                        if !self.tracked[ui] {
                            continue;
                        }
                        if let Some(k) = key_of(u, t, &row, plan.anchor) {
                            self.seen[ui].insert(k);
                        }
                    }
                    rows.push(row);
                    if let Some(a) = ancestry.as_deref_mut() {
                        a.push(anc);
                    }
                    self.made += 1;
                    made += 1;
                }
                Err(RowFailure::Fatal(e)) => return Err(*e),
                Err(RowFailure::Skip(e)) => {
                    self.dropped += 1;
                    self.last_failure = Some(*e);
                }
            }
        }
        Ok(made)
    }

    /// Checks (indexes into the table's) the evaluator could not decide
    /// for some row so far.
    pub(super) fn undecided(&self) -> &BTreeSet<usize> {
        &self.undecided
    }

    /// After the last row: the error of a row that could not be made
    /// (unless capping), else the undecided checks.
    pub(super) fn finish(self, opts: &BuildOptions) -> Result<BTreeSet<usize>, GenerateError> {
        if self.dropped > 0 && opts.on_limit != OnLimit::Cap {
            if let Some(e) = self.last_failure {
                return Err(e);
            }
        }
        Ok(self.undecided)
    }
}

/// Whether a unique key cannot repeat whatever the other columns hold: one
/// of its columns is a serial the builder numbers row by row.
fn unique_by_construction(u: &UniquePlan, t: &TablePlan) -> bool {
    u.parts.iter().any(|p| {
        matches!(p, KeyPart::Column(i)
            if matches!(t.columns[*i].source, Source::Serial { step, .. } if step != 0))
    })
}

/// How many rows table `ti` gets and their grouping parents; `None` when
/// it gets none because a limit caps it away.
fn assign(
    plan: &Plan,
    ti: usize,
    requested: Option<usize>,
    built: &[Built],
    rng: &mut SeedRng,
    opts: &BuildOptions,
) -> Result<Option<Assignment>, GenerateError> {
    let t = &plan.tables[ti];
    let tname = t.name.to_string();
    let cap_mode = opts.on_limit == OnLimit::Cap;
    // Which parent each row belongs to, along the grouping key.
    let mut assignment = Assignment::Runs(Vec::new());
    let grouping = t.grouping.filter(|g| t.fks[*g].deferral == Deferral::None);
    let limit = |constraint: String, message: String| GenerateError::Limit {
        table: tname.clone(),
        constraint,
        message,
    };
    // A NOT NULL link to a parent that ended up with no usable rows (its
    // own rows were capped away): no row of this table can exist.
    if requested != Some(0) {
        let orphaned = t.fks.iter().find(|fk| {
            !fk.self_ref
                && !fk.nullable
                && fk.deferral == Deferral::None
                && built.get(fk.parent).is_some_and(|p| {
                    !p.rows
                        .iter()
                        .any(|r| fk.parent_columns.iter().all(|c| !r[*c].is_null()))
                })
        });
        if let Some(fk) = orphaned {
            if cap_mode {
                return Ok(None);
            }
            let parent_name = plan.tables[fk.parent].name.to_string();
            return Err(limit(
                fk.name.clone(),
                format!(
                    "rows requested, but every row needs a row of {parent_name} (NOT NULL foreign key {}) and \
                     {parent_name} has no rows left to point at",
                    fk.name
                ),
            ));
        }
    }
    match (grouping, requested, t.per_parent) {
        (Some(g), rows, per_parent) => {
            let fk = &t.fks[g];
            let parent = &built[fk.parent];
            let parents: Vec<usize> = (0..parent.rows.len())
                .filter(|p| {
                    fk.parent_columns
                        .iter()
                        .all(|c| !parent.rows[*p][*c].is_null())
                })
                .collect();
            let capacity = per_parent_capacity(plan, t, g, built);
            let cap_pp = capacity.as_ref().map(|c| c.0).unwrap_or(u128::MAX);
            let parent_name = plan.tables[fk.parent].name.to_string();
            match (rows, per_parent) {
                (_, Some((_, min, max))) if opts.rows.is_none() => {
                    if (min as u128) > cap_pp && !cap_mode && !parents.is_empty() {
                        let (n, label, detail) = capacity.clone().unwrap_or_default();
                        return Err(limit(
                            label.clone(),
                            format!(
                                "per_parent = [{min}, {max}] along {}, but {label} allows at most {n} rows per row of \
                                 {parent_name}{detail}. Lower per_parent, or set on_limit = \"cap\"",
                                fk.name
                            ),
                        ));
                    }
                    for &p in &parents {
                        let k = rng.range_i64(min as i64, max as i64) as u128;
                        for _ in 0..k.min(cap_pp) {
                            assignment.push(p);
                        }
                    }
                }
                (rows, _) => {
                    let n = rows.unwrap_or(0);
                    if n > 0 && parents.is_empty() {
                        if cap_mode {
                            return Ok(None);
                        }
                        return Err(limit(
                            fk.name.clone(),
                            format!(
                                "{n} rows requested, but every row needs a row of {parent_name} (NOT NULL foreign \
                                 key {}) and {parent_name} gets no rows. Give {parent_name} rows in the profile",
                                fk.name
                            ),
                        ));
                    }
                    let total = cap_pp.saturating_mul(parents.len() as u128);
                    let mut n = n;
                    if (n as u128) > total {
                        if !cap_mode {
                            let (per, label, detail) = capacity.clone().unwrap_or_default();
                            return Err(limit(
                                label.clone(),
                                format!(
                                    "{n} rows requested, but {label} allows at most {total}: {per} per row of \
                                     {parent_name}{detail} x {} rows of {parent_name}. Lower `rows`, give \
                                     {parent_name} more rows, or set on_limit = \"cap\"",
                                    parents.len()
                                ),
                            ));
                        }
                        n = total as usize;
                    }
                    let mut counts = vec![0u128; parents.len()];
                    for _ in 0..n {
                        let mut k = pick(rng, parents.len(), t.distribution);
                        let mut probes = 0;
                        while counts[k] >= cap_pp && probes < parents.len() {
                            k = (k + 1) % parents.len();
                            probes += 1;
                        }
                        counts[k] += 1;
                        assignment.push(parents[k]);
                    }
                }
            }
        }
        (None, rows, _) => {
            let mut n = rows.unwrap_or(0);
            // A unique key made only of few-valued columns caps the table.
            for u in &t.uniques {
                if u.predicate.is_some() || !u.parts.iter().all(|p| matches!(p, KeyPart::Column(_)))
                {
                    continue;
                }
                let mut cap: u128 = 1;
                let mut bounded = true;
                for &c in &u.columns {
                    match size_of(plan, t, c, built) {
                        Some((k, _)) => cap = cap.saturating_mul(k),
                        None => {
                            bounded = false;
                            break;
                        }
                    }
                }
                if bounded && (n as u128) > cap {
                    if !cap_mode {
                        return Err(limit(
                            u.name.clone(),
                            format!(
                                "{n} rows requested, but {} allows at most {cap}. Lower `rows`, or set \
                                 on_limit = \"cap\"",
                                unique_label(u, t)
                            ),
                        ));
                    }
                    n = cap as usize;
                }
            }
            assignment = Assignment::Free(n);
        }
    }

    Ok(Some(assignment))
}

/// A row's ancestors: (table, row) pairs.
pub(super) type Ancestry = Vec<(u32, u32)>;

enum RowFailure {
    /// Stop everything.
    Fatal(Box<GenerateError>),
    /// This row cannot be placed (a limit); skipped in cap mode.
    Skip(Box<GenerateError>),
}

/// The rows of `parent_table` consistent with `fixed` ancestors.
fn consistent_parents(
    parent_table: usize,
    fixed: &[(u32, u32)],
    built: &[Built],
    cache: &mut ParentCache,
) -> Option<Vec<u32>> {
    let prows = &built[parent_table];
    let sample = prows.ancestry.first()?;
    // The first ancestor the parent's rows carry that is fixed.
    let (a_table, a_row) = fixed
        .iter()
        .find(|(t, _)| sample.iter().any(|(s, _)| s == t) && *t as usize != parent_table)?;
    let index = cache
        .entry((parent_table, *a_table as usize))
        .or_insert_with(|| {
            let mut m: HashMap<u32, Vec<u32>> = HashMap::new();
            for (r, anc) in prows.ancestry.iter().enumerate() {
                if let Some((_, ar)) = anc.iter().find(|(t, _)| t == a_table) {
                    m.entry(*ar).or_default().push(r as u32);
                }
            }
            m
        });
    let candidates = index.get(a_row).cloned().unwrap_or_default();
    // And agreeing on every other shared ancestor.
    Some(
        candidates
            .into_iter()
            .filter(|r| {
                let anc = &prows.ancestry[*r as usize];
                fixed.iter().all(|(ft, fr)| {
                    anc.iter()
                        .find(|(t, _)| t == ft)
                        .is_none_or(|(_, ar)| ar == fr)
                })
            })
            .collect(),
    )
}

fn merge_ancestry(into: &mut Vec<(u32, u32)>, from: &[(u32, u32)]) {
    for &(t, r) in from {
        if !into.iter().any(|(x, _)| *x == t) {
            into.push((t, r));
        }
    }
}

impl RowFailure {
    fn fatal(e: GenerateError) -> RowFailure {
        RowFailure::Fatal(Box::new(e))
    }

    fn skip(e: GenerateError) -> RowFailure {
        RowFailure::Skip(Box::new(e))
    }

    /// Check `c` of `table` still fails after `attempts` draws: fatal when
    /// it could not be evaluated (`unknown` says why), else a skip.
    fn check(
        table: String,
        c: &CheckPlan,
        t: &TablePlan,
        unknown: Option<String>,
        attempts: usize,
    ) -> RowFailure {
        let columns = &t.columns;
        // A link that closes a cycle is NULL when the row is inserted.
        let nulled = t.fks.iter().find(|fk| {
            fk.deferral == Deferral::NullThenUpdate
                && fk.columns.iter().any(|x| c.columns.contains(x))
        });
        match (unknown, nulled) {
            (Some(why), _) => RowFailure::fatal(unsupported_check(&table, c, columns, &why)),
            (None, Some(fk)) => RowFailure::skip(GenerateError::Limit {
                table,
                constraint: c.name.clone(),
                message: format!(
                    "CHECK constraint {} `{}` fails while foreign key {} is NULL, and {} closes a cycle of \
                     foreign keys: its rows are inserted with it NULL and linked by an UPDATE once {} is loaded. \
                     Make a foreign key of the cycle DEFERRABLE, or give the table 0 rows in the profile",
                    c.name, c.definition, fk.name, fk.name, fk.parent_name
                ),
            }),
            (None, None) => RowFailure::skip(GenerateError::CheckUnsatisfied {
                table,
                section: RulesSection::Profile,
                constraint: c.name.clone(),
                definition: c.definition.clone(),
                columns: column_list(c, columns),
                attempts,
            }),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn make_row(
    plan: &Plan,
    ti: usize,
    group_parent: Option<usize>,
    ordinal: usize,
    earlier: &[Vec<Value>],
    built: &[Built],
    cache: &mut ParentCache,
    rng: &mut SeedRng,
    opts: &BuildOptions,
    seen: &[KeySet],
    suffix_counter: &mut u64,
    undecided: &mut BTreeSet<usize>,
) -> Result<(Vec<Value>, Ancestry), RowFailure> {
    let t = &plan.tables[ti];
    let tname = t.name.to_string();
    let mut row = vec![Value::Null; t.columns.len()];
    let mut ctx = GenCtx {
        rng,
        anchor: plan.anchor,
        style: opts.style,
        person: None,
    };
    // Serial columns.
    for (i, c) in t.columns.iter().enumerate() {
        if let Source::Serial { start, step } = c.source {
            row[i] = Value::Int(start.saturating_add((ordinal as i64).saturating_mul(step)));
        }
    }
    // Foreign keys: the grouping one first, then NOT NULL, then nullable.
    let mut fixed: Vec<(u32, u32)> = Vec::new();
    let mut fk_order: Vec<usize> = (0..t.fks.len())
        .filter(|f| !t.fks[*f].self_ref && t.fks[*f].deferral == Deferral::None)
        .collect();
    fk_order.sort_by_key(|f| {
        (
            Some(*f) != t.grouping.filter(|_| group_parent.is_some()),
            t.fks[*f].nullable,
            *f,
        )
    });
    let mut chosen: Vec<Option<usize>> = vec![None; t.fks.len()];
    for &f in &fk_order {
        let p = if Some(f) == t.grouping && group_parent.is_some() {
            group_parent
        } else {
            choose_parent(t, f, &fixed, built, cache, ctx.rng)
        };
        set_fk(t, f, p, &mut row, built);
        chosen[f] = p;
        if let Some(p) = p {
            merge_ancestry(&mut fixed, &built[t.fks[f].parent].ancestry[p]);
        }
    }
    // Other columns.
    let parent_created = t.parent_created.and_then(|(f, pc)| {
        let p = chosen[f]?;
        Some(built[t.fks[f].parent].rows[p][pc].clone())
    });
    for &i in &t.order {
        if let Some(v) = column_value(t, i, &row, parent_created.as_ref(), &mut ctx)
            .map_err(RowFailure::fatal)?
        {
            row[i] = v;
        }
    }
    // Self references: an earlier row, or none (or itself, for the first
    // row of a NOT NULL self reference).
    for (f, fk) in t.fks.iter().enumerate() {
        if fk.self_ref && fk.deferral == Deferral::None {
            set_self_ref(t, f, &mut row, earlier, ctx.rng);
        }
    }
    // Checks and unique keys: re-draw what fails.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let env_row = row.clone();
        let env = RowEnv {
            table: t,
            row: &env_row,
            anchor: plan.anchor,
            value: None,
            depth: 0,
        };
        let mut failing: Option<(usize, Option<String>)> = None;
        for (ci, c) in t.checks.iter().enumerate() {
            if c.trusted {
                continue;
            }
            let Ok(expr) = &c.expr else { continue };
            let verdict = match c.domain_of {
                Some(col) => domain_verdict(expr, t, col, &env_row, plan.anchor, c.per_element),
                None => check(expr, &env),
            };
            match verdict {
                Verdict::Pass => {}
                Verdict::Fail => {
                    failing = Some((ci, None));
                    break;
                }
                // The server decides it before the load.
                Verdict::Unknown(_) if c.server_sql.is_some() => {
                    undecided.insert(ci);
                }
                Verdict::Unknown(why) => {
                    failing = Some((ci, Some(why)));
                    break;
                }
            }
        }
        if let Some((ci, unknown)) = failing {
            let c = &t.checks[ci];
            if attempt >= ATTEMPTS {
                return Err(RowFailure::check(tname, c, t, unknown, ATTEMPTS));
            }
            // Re-draw the check's free columns (more NULLs on later tries:
            // `a is null or ...`, exclusive arcs).
            let mut redrawn = false;
            for &col in &c.columns {
                if redraw(t, col, &mut row, &mut ctx, parent_created.as_ref(), attempt)
                    .map_err(RowFailure::fatal)?
                {
                    redrawn = true;
                }
            }
            for (f, fk) in t.fks.iter().enumerate() {
                if fk.columns.iter().any(|x| c.columns.contains(x))
                    && Some(f) != t.grouping
                    && !fk.self_ref
                    && fk.deferral == Deferral::None
                {
                    let p = if fk.nullable && ctx.rng.chance(0.5) {
                        None
                    } else {
                        choose_parent(t, f, &[], built, cache, ctx.rng)
                    };
                    set_fk(t, f, p, &mut row, built);
                    redrawn = true;
                }
            }
            if !redrawn {
                return Err(RowFailure::check(tname, c, t, unknown, attempt));
            }
            continue;
        }
        // Unique keys.
        let collision = t.uniques.iter().enumerate().find(|(ui, u)| {
            !seen[*ui].is_empty()
                && key_of(u, t, &row, plan.anchor).is_some_and(|k| seen[*ui].contains(&k))
        });
        let Some((ui, u)) = collision else {
            break;
        };
        if attempt >= ATTEMPTS {
            return Err(RowFailure::skip(GenerateError::Limit {
                table: tname,
                constraint: u.name.clone(),
                message: format!(
                    "no new value for {} after {ATTEMPTS} attempts: its columns have too few values \
                     for the rows requested. Lower `rows`/`per_parent`, widen the columns' values in the \
                     profile, or set on_limit = \"cap\"",
                    unique_label(u, t)
                ),
            }));
        }
        if !fix_unique(
            plan,
            t,
            ui,
            &mut row,
            &seen[ui],
            &mut ctx,
            built,
            cache,
            parent_created.as_ref(),
            attempt,
            suffix_counter,
            earlier,
        )
        .map_err(RowFailure::fatal)?
        {
            return Err(RowFailure::skip(GenerateError::Limit {
                table: tname,
                constraint: u.name.clone(),
                message: format!(
                    "{} has no value left for this row: all combinations are taken. Lower \
                     `rows`/`per_parent`, or set on_limit = \"cap\"",
                    unique_label(u, t)
                ),
            }));
        }
    }
    let mut anc = vec![(ti as u32, ordinal as u32)];
    merge_ancestry(&mut anc, &fixed);
    Ok((row, anc))
}

fn domain_verdict(
    expr: &super::expr::Expr,
    t: &TablePlan,
    col: usize,
    row: &[Value],
    anchor: DateTime<Utc>,
    per_element: bool,
) -> Verdict {
    let v = row.get(col).cloned().unwrap_or(Value::Null);
    let values: Vec<Value> = match (&v, per_element) {
        (Value::Array(items), true) => items.clone(),
        (_, true) => Vec::new(),
        _ => vec![v.clone()],
    };
    for item in &values {
        let env = RowEnv {
            table: t,
            row,
            anchor,
            value: Some(item),
            depth: 0,
        };
        match check(expr, &env) {
            Verdict::Pass => {}
            other => return other,
        }
    }
    Verdict::Pass
}

#[allow(clippy::too_many_arguments)]
fn choose_parent(
    t: &TablePlan,
    f: usize,
    fixed: &[(u32, u32)],
    built: &[Built],
    cache: &mut ParentCache,
    rng: &mut SeedRng,
) -> Option<usize> {
    let fk = &t.fks[f];
    if fk.nullable && rng.chance(fk.null_ratio) {
        return None;
    }
    let parent = built.get(fk.parent)?;
    if parent.rows.is_empty() {
        return None;
    }
    let usable = |p: usize| {
        fk.parent_columns
            .iter()
            .all(|c| !parent.rows[p][*c].is_null())
    };
    // Parents that share the row's ancestors (a task's goal in the task's
    // cycle), when the row has any.
    if !fixed.is_empty() {
        if let Some(cands) = consistent_parents(fk.parent, fixed, built, cache) {
            let cands: Vec<u32> = cands.into_iter().filter(|p| usable(*p as usize)).collect();
            if !cands.is_empty() {
                return Some(cands[pick(rng, cands.len(), t.distribution)] as usize);
            }
            if fk.nullable {
                return None;
            }
        }
    }
    for _ in 0..8 {
        let p = pick(rng, parent.rows.len(), t.distribution);
        if usable(p) {
            return Some(p);
        }
    }
    (0..parent.rows.len()).find(|p| usable(*p))
}

fn set_fk(t: &TablePlan, f: usize, parent: Option<usize>, row: &mut [Value], built: &[Built]) {
    let fk = &t.fks[f];
    match parent {
        Some(p) => {
            let prow = &built[fk.parent].rows[p];
            for (c, pc) in fk.columns.iter().zip(&fk.parent_columns) {
                row[*c] = prow[*pc].clone();
            }
        }
        None => {
            for c in &fk.columns {
                if !t.columns[*c].not_null {
                    row[*c] = Value::Null;
                }
            }
        }
    }
}

fn set_self_ref(
    t: &TablePlan,
    f: usize,
    row: &mut [Value],
    earlier: &[Vec<Value>],
    rng: &mut SeedRng,
) {
    let fk = &t.fks[f];
    let usable: Vec<usize> = (0..earlier.len())
        .filter(|p| fk.parent_columns.iter().all(|c| !earlier[*p][*c].is_null()))
        .collect();
    let root = usable.is_empty() || rng.chance(t.root_ratio);
    if root && fk.nullable {
        for c in &fk.columns {
            if !t.columns[*c].not_null {
                row[*c] = Value::Null;
            }
        }
        return;
    }
    if usable.is_empty() {
        // The first row of a NOT NULL self reference points at itself.
        let own: Vec<Value> = fk
            .parent_columns
            .iter()
            .map(|pc| row[*pc].clone())
            .collect();
        for (c, v) in fk.columns.iter().zip(own) {
            row[*c] = v;
        }
        return;
    }
    let p = usable[rng.index(usable.len())];
    for (c, pc) in fk.columns.iter().zip(&fk.parent_columns) {
        row[*c] = earlier[p][*pc].clone();
    }
}

/// A fresh value for column `i`, or `None` when the column is not the
/// generator's (serial, foreign key, server-computed).
fn column_value(
    t: &TablePlan,
    i: usize,
    row: &[Value],
    parent_created: Option<&Value>,
    ctx: &mut GenCtx<'_>,
) -> Result<Option<Value>, GenerateError> {
    let c = &t.columns[i];
    let null_p = if c.not_null {
        0.0
    } else if c.profiled {
        c.null_ratio
    } else {
        c.null_ratio.max(if ctx.style.boundary > 0.0 {
            ctx.style.boundary / 2.0
        } else {
            0.0
        })
    };
    let not_before = match c.not_before {
        Some(j) => Some(row[j].clone()).filter(|v| !v.is_null()),
        None if matches!(c.source, Source::Auto(Semantic::Created)) => parent_created.cloned(),
        None => None,
    };
    Ok(Some(match &c.source {
        Source::Serial { .. } | Source::ForeignKey | Source::Server => return Ok(None),
        Source::Values { values, weights } => {
            if ctx.rng.chance(null_p) && c.null_ratio > 0.0 {
                Value::Null
            } else {
                values[ctx.rng.weighted(weights)].clone()
            }
        }
        Source::Range { lo, hi } => {
            if ctx.rng.chance(null_p) && c.null_ratio > 0.0 {
                Value::Null
            } else {
                range_value(lo, hi, c, ctx)
            }
        }
        Source::Auto(semantic) => {
            if ctx.rng.chance(null_p) {
                Value::Null
            } else {
                // A partitioned table's key: inside one partition.
                let partition = if c.partitions.is_empty() {
                    None
                } else {
                    Some(
                        c.restriction
                            .and(&c.partitions[ctx.rng.index(c.partitions.len())]),
                    )
                };
                let spec = ValueSpec {
                    ty: &c.ty,
                    semantic: *semantic,
                    restriction: partition.as_ref().unwrap_or(&c.restriction),
                };
                // A profile's `fake` is what the column's values look
                // like: no simplest or boundary values in its place (the
                // profile may say so because a check needs them).
                let style = ctx.style;
                if c.profiled {
                    ctx.style = Style {
                        realistic: true,
                        boundary: 0.0,
                    };
                }
                let generated = generate_value(&spec, ctx, not_before.as_ref());
                ctx.style = style;
                match generated {
                    Some(Value::Json(doc)) if !c.json_paths.is_empty() => Value::Json(Box::new(
                        super::json_paths::fill(*doc, &c.json_paths, ctx.rng),
                    )),
                    Some(v) => v,
                    None if !c.not_null => Value::Null,
                    None => {
                        return Err(GenerateError::CheckUnsatisfied {
                            table: t.name.to_string(),
                            section: RulesSection::Profile,
                            constraint: "(the column's checks and type)".into(),
                            definition: format!("{} {}", c.name, c.ty.display),
                            columns: format!("`{}`", c.name),
                            attempts: 1,
                        })
                    }
                }
            }
        }
    }))
}

fn range_value(lo: &Value, hi: &Value, c: &ColPlan, ctx: &mut GenCtx<'_>) -> Value {
    match (lo, hi) {
        (Value::Int(a), Value::Int(b)) => Value::Int(if ctx.style.realistic {
            ctx.rng.range_i64(*a, *b)
        } else {
            *a
        }),
        (Value::Date(a), Value::Date(b)) => {
            let d = ctx.rng.range_i64(days_of(*a), days_of(*b));
            date_from_days(d)
                .map(Value::Date)
                .unwrap_or_else(|| lo.clone())
        }
        (Value::TimestampTz(a), Value::TimestampTz(b)) => {
            let m = ctx
                .rng
                .range_i64(micros_of(*a) / 1_000_000, micros_of(*b) / 1_000_000)
                * 1_000_000;
            ts_from_micros(m)
                .map(Value::TimestampTz)
                .unwrap_or_else(|| lo.clone())
        }
        (Value::Timestamp(a), Value::Timestamp(b)) => {
            let m = ctx.rng.range_i64(
                micros_of(a.and_utc()) / 1_000_000,
                micros_of(b.and_utc()) / 1_000_000,
            ) * 1_000_000;
            ts_from_micros(m)
                .map(|t| Value::Timestamp(t.naive_utc()))
                .unwrap_or_else(|| lo.clone())
        }
        _ => match (lo.as_f64(), hi.as_f64()) {
            (Some(a), Some(b)) => conform(Value::Float(a + ctx.rng.unit() * (b - a)), &c.ty),
            _ => lo.clone(),
        },
    }
}

/// Draws column `i` again (for a failing check); false when the column is
/// not the generator's to change.
fn redraw(
    t: &TablePlan,
    i: usize,
    row: &mut [Value],
    ctx: &mut GenCtx<'_>,
    parent_created: Option<&Value>,
    attempt: usize,
) -> Result<bool, GenerateError> {
    let c = &t.columns[i];
    if !matches!(
        c.source,
        Source::Auto(_) | Source::Values { .. } | Source::Range { .. }
    ) {
        return Ok(false);
    }
    if !c.not_null && attempt > 2 && ctx.rng.chance(0.5) {
        row[i] = Value::Null;
        return Ok(true);
    }
    if let Some(v) = column_value(t, i, row, parent_created, ctx)? {
        row[i] = v;
    }
    // Keep dependent columns in order after a change.
    for j in 0..t.columns.len() {
        if t.columns[j].not_before == Some(i)
            && !row[j].is_null()
            && !row[i].is_null()
            && !not_after(&row[i], &row[j])
        {
            if let Some(v) = column_value(t, j, row, parent_created, ctx)? {
                row[j] = v;
            }
        }
    }
    Ok(true)
}

/// Changes the row so that unique key `ui` is free again; false when
/// nothing the generator controls can.
#[allow(clippy::too_many_arguments)]
fn fix_unique(
    plan: &Plan,
    t: &TablePlan,
    ui: usize,
    row: &mut [Value],
    seen: &KeySet,
    ctx: &mut GenCtx<'_>,
    built: &[Built],
    cache: &mut ParentCache,
    parent_created: Option<&Value>,
    attempt: usize,
    suffix_counter: &mut u64,
    earlier: &[Vec<Value>],
) -> Result<bool, GenerateError> {
    let u = &t.uniques[ui];
    let free_key =
        |row: &[Value]| key_of(u, t, row, plan.anchor).is_none_or(|k| !seen.contains(&k));
    // 1. A few-valued column: take a value still free.
    for &c in &u.columns {
        let col = &t.columns[c];
        if !matches!(
            col.source,
            Source::Auto(_) | Source::Values { .. } | Source::Range { .. }
        ) {
            continue;
        }
        let Some(mut domain) = col.small_domain() else {
            continue;
        };
        let start = ctx.rng.index(domain.len().max(1));
        let len = domain.len();
        domain.rotate_left(start.min(len));
        let old = row[c].clone();
        for v in domain {
            row[c] = v;
            if free_key(row) {
                return Ok(true);
            }
        }
        // NULLs never collide.
        if !col.not_null && !u.nulls_not_distinct {
            row[c] = Value::Null;
            return Ok(true);
        }
        row[c] = old;
    }
    // 2. A column with many values: draw again; text gets a numbered
    //    suffix once drawing keeps colliding.
    let many: Vec<usize> = u
        .columns
        .iter()
        .copied()
        .filter(|c| {
            matches!(t.columns[*c].source, Source::Auto(_) | Source::Range { .. })
                && t.columns[*c].small_domain().is_none()
        })
        .collect();
    if !many.is_empty() {
        let c = many[ctx.rng.index(many.len())];
        if let Some(v) = column_value(t, c, row, parent_created, ctx)? {
            row[c] = v;
        }
        if attempt > 1 {
            if let Value::Int(_) = &row[c] {
                // The realistic range is used up: the type's own.
                if matches!(t.columns[c].source, Source::Auto(_)) {
                    if let Some(v) = super::realistic::wide_int(&t.columns[c], ctx.rng) {
                        row[c] = v;
                    }
                }
            }
        }
        if attempt > 6 {
            if let Value::Text(s) = &row[c] {
                *suffix_counter += 1;
                let max = t.columns[c]
                    .ty
                    .max_chars()
                    .or(t.columns[c].restriction.max_len);
                row[c] = Value::Text(with_suffix(s, *suffix_counter, max));
            }
        }
        return Ok(true);
    }
    // 3. Another parent along a foreign key of the key (not the grouping).
    for (f, fk) in t.fks.iter().enumerate() {
        if fk.self_ref || fk.deferral != Deferral::None || Some(f) == t.grouping {
            continue;
        }
        if !fk.columns.iter().all(|c| u.columns.contains(c)) {
            continue;
        }
        let parent = &built[fk.parent];
        // Candidates consistent with the grouping parent first.
        let mut fixed = Vec::new();
        if let Some(g) = t.grouping {
            let gfk = &t.fks[g];
            let gvals: Vec<Value> = gfk.columns.iter().map(|c| row[*c].clone()).collect();
            if let Some(p) = built[gfk.parent]
                .rows
                .iter()
                .position(|r| gfk.parent_columns.iter().map(|pc| &r[*pc]).eq(gvals.iter()))
            {
                merge_ancestry(&mut fixed, &built[gfk.parent].ancestry[p]);
            }
        }
        let mut cands: Vec<usize> = if fixed.is_empty() {
            Vec::new()
        } else {
            consistent_parents(fk.parent, &fixed, built, cache)
                .unwrap_or_default()
                .into_iter()
                .map(|p| p as usize)
                .collect()
        };
        ctx.rng.shuffle(&mut cands);
        let mut rest: Vec<usize> = (0..parent.rows.len()).collect();
        ctx.rng.shuffle(&mut rest);
        cands.extend(rest);
        let mut tried = 0;
        for p in cands {
            tried += 1;
            if tried > 4096 {
                break;
            }
            set_fk(t, f, Some(p), row, built);
            if free_key(row) {
                return Ok(true);
            }
        }
        if fk.nullable {
            set_fk(t, f, None, row, built);
            return Ok(true);
        }
    }
    // 4. A self reference in the key: another earlier row.
    for (f, fk) in t.fks.iter().enumerate() {
        if fk.self_ref && fk.columns.iter().all(|c| u.columns.contains(c)) {
            set_self_ref(t, f, row, earlier, ctx.rng);
            return Ok(true);
        }
    }
    Ok(false)
}

fn with_suffix(s: &str, n: u64, max: Option<usize>) -> String {
    let suffix = format!("-{n}");
    // Emails keep their domain: the suffix goes before the `@`.
    if let Some(at) = s.find('@') {
        let (user, domain) = s.split_at(at);
        let candidate = format!("{user}{suffix}{domain}");
        if max.is_none_or(|m| candidate.chars().count() <= m) {
            return candidate;
        }
    }
    match max {
        Some(m) if s.chars().count() + suffix.len() > m => {
            let keep = m.saturating_sub(suffix.len());
            let head: String = s.chars().take(keep).collect();
            let out = format!("{head}{suffix}");
            out.chars()
                .skip(out.chars().count().saturating_sub(m))
                .collect()
        }
        _ => format!("{s}{suffix}"),
    }
}

/// Turns the built rows into the data set: the columns COPY writes, the
/// sequences to advance, the UPDATEs that close cycles.
/// The columns COPY writes, in table order.
pub(super) fn written_columns(t: &TablePlan) -> Vec<usize> {
    (0..t.columns.len())
        .filter(|i| t.columns[*i].write == Write::Copy)
        .collect()
}

/// A built row as COPY writes it: the `written` columns, `nulled` ones
/// (set later by a fix-up UPDATE) NULL.
pub(super) fn written_row(mut row: Vec<Value>, written: &[usize], nulled: &[usize]) -> Vec<Value> {
    written
        .iter()
        .map(|i| {
            if nulled.contains(i) {
                Value::Null
            } else {
                std::mem::replace(&mut row[*i], Value::Null)
            }
        })
        .collect()
}

/// The largest value written to each column a sequence numbers: what the
/// load advances the sequences to.
pub(super) struct SequenceMax {
    columns: Vec<(usize, QualifiedName)>,
    max: Vec<Option<i64>>,
}

impl SequenceMax {
    pub(super) fn new(t: &TablePlan, written: &[usize]) -> SequenceMax {
        let columns: Vec<(usize, QualifiedName)> = written
            .iter()
            .filter_map(|&i| Some((i, t.columns[i].sequence.clone()?)))
            .collect();
        SequenceMax {
            max: vec![None; columns.len()],
            columns,
        }
    }

    /// Takes in a built row (all the table's columns).
    pub(super) fn observe(&mut self, row: &[Value]) {
        for ((i, _), max) in self.columns.iter().zip(&mut self.max) {
            if let Value::Int(v) = row[*i] {
                *max = Some(max.map_or(v, |m| m.max(v)));
            }
        }
    }

    /// (sequence, largest value) for each column that got a value.
    pub(super) fn finish(self) -> Vec<(QualifiedName, i64)> {
        self.columns
            .into_iter()
            .zip(self.max)
            .filter_map(|((_, seq), max)| Some((seq, max?)))
            .collect()
    }
}

pub(super) fn assemble(plan: &Plan, seed: u64, built: Vec<Built>) -> Dataset {
    let mut tables = Vec::new();
    let mut fixups = Vec::new();
    let mut deferred = Vec::new();
    for (t, b) in plan.tables.iter().zip(built) {
        let written = written_columns(t);
        let sql_columns: Vec<(String, String)> = t
            .columns
            .iter()
            .filter_map(|c| match &c.write {
                Write::Sql(e) => Some((c.name.clone(), e.clone())),
                _ => None,
            })
            .collect();
        let nulled: Vec<usize> = t
            .fks
            .iter()
            .filter(|f| f.deferral == Deferral::NullThenUpdate)
            .flat_map(|f| f.columns.iter().copied())
            .collect();
        for f in t.fks.iter().filter(|f| f.deferral == Deferral::Deferrable) {
            deferred.push((t.name.clone(), f.name.clone()));
        }
        if !nulled.is_empty() && !b.rows.is_empty() {
            let key = t.update_key.clone().unwrap_or_default();
            let mut set_cols: Vec<usize> = nulled.clone();
            set_cols.sort_unstable();
            set_cols.dedup();
            let rows: Vec<(Vec<Value>, Vec<Value>)> = b
                .rows
                .iter()
                .filter(|r| set_cols.iter().any(|c| !r[*c].is_null()))
                .map(|r| {
                    (
                        key.iter().map(|c| r[*c].clone()).collect(),
                        set_cols.iter().map(|c| r[*c].clone()).collect(),
                    )
                })
                .collect();
            if !rows.is_empty() {
                fixups.push(Fixup {
                    table: t.name.clone(),
                    key_columns: key.iter().map(|c| t.columns[*c].name.clone()).collect(),
                    key_types: key
                        .iter()
                        .map(|c| t.columns[*c].ty.display.clone())
                        .collect(),
                    set_columns: set_cols
                        .iter()
                        .map(|c| t.columns[*c].name.clone())
                        .collect(),
                    set_types: set_cols
                        .iter()
                        .map(|c| t.columns[*c].ty.display.clone())
                        .collect(),
                    rows,
                });
            }
        }
        let mut sequences = SequenceMax::new(t, &written);
        for r in &b.rows {
            sequences.observe(r);
        }
        let sequences = sequences.finish();
        let rows: Vec<Vec<Value>> = b
            .rows
            .into_iter()
            .map(|r| written_row(r, &written, &nulled))
            .collect();
        let server_checks = t
            .checks
            .iter()
            .enumerate()
            .filter(|(ci, c)| !c.trusted && (c.server_decides || b.undecided.contains(ci)))
            .filter_map(|(_, c)| Some((c.name.clone(), c.server_sql.clone()?)))
            .collect();
        tables.push(TableData {
            name: t.name.clone(),
            columns: written.iter().map(|i| t.columns[*i].name.clone()).collect(),
            types: written
                .iter()
                .map(|i| t.columns[*i].ty.display.clone())
                .collect(),
            storage_types: written
                .iter()
                .map(|i| t.columns[*i].ty.storage.clone())
                .collect(),
            server_checks,
            rows,
            sql_columns,
            overriding: written.iter().any(|i| t.columns[*i].identity_always),
            sequences,
        });
    }
    Dataset {
        seed,
        profile: plan.profile_path.display().to_string(),
        tables,
        fixups,
        deferred,
    }
}
