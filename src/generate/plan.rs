//! From a schema snapshot and a profile to a generation plan: which tables,
//! in which order, each column's source of values and restrictions, the
//! foreign keys (and how cycles among them are broken), unique keys and
//! checks. Everything the profile names is resolved here, so that profile
//! mistakes are reported before any row is made.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use sqlx::types::chrono::{DateTime, TimeZone, Utc};

use crate::schema::{
    Column, ConstraintKind, ForeignKeyMatch, IdentityKind, QualifiedName, SchemaSnapshot, Table,
    TriggerEvent,
};

use super::error::RulesSection;
use super::expr::{parse_check, parse_expr, restrict, Expr, Restriction};
use super::json_paths::{text_paths, JsonLeaf};
use super::profile::{ColumnRule, Distribution, Profile, Scalar, TableProfile};
use super::realistic::{conform, fake_by_name, semantic_for, Semantic};
use super::types::{parse_qualified, Base, ColumnType};
use super::value::Value;
use super::GenerateError;

/// Where a column's values come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// An identity or serial column: `start + i * step`.
    Serial { start: i64, step: i64 },
    /// The generator's guess (or a profile's `fake`).
    Auto(Semantic),
    /// A profile's `values` (with weights).
    Values {
        values: Vec<Value>,
        weights: Vec<f64>,
    },
    /// A profile's `range`.
    Range { lo: Value, hi: Value },
    /// Set by a foreign key.
    ForeignKey,
    /// Not generated: the server computes it (a generated column, a
    /// default, a profile's `sql`).
    Server,
}

/// How a column reaches the table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Write {
    /// Written by COPY.
    Copy,
    /// Computed by the server from this SQL expression (a profile's `sql`).
    Sql(String),
    /// Not written (generated column, column default).
    Omit,
}

#[derive(Debug, Clone)]
pub(crate) struct ColPlan {
    pub name: String,
    pub ty: ColumnType,
    pub not_null: bool,
    pub write: Write,
    pub source: Source,
    pub null_ratio: f64,
    pub restriction: Restriction,
    /// A column of the same row this one should not precede.
    pub not_before: Option<usize>,
    /// A generated column's expression.
    pub generated: Option<Expr>,
    /// Whether the profile gave the column a rule.
    pub profiled: bool,
    /// The sequence to advance after loading, for serial/identity columns.
    pub sequence: Option<QualifiedName>,
    /// `GENERATED ALWAYS AS IDENTITY`.
    pub identity_always: bool,
    /// For a partitioned table's key column: one restriction per
    /// partition; each row picks one.
    pub partitions: Vec<Restriction>,
    /// For a JSON column: values generated columns read from it.
    pub json_paths: Vec<(Vec<String>, JsonLeaf)>,
}

impl ColPlan {
    pub(crate) fn is_enum(&self) -> bool {
        matches!(self.ty.base, Base::Enum { .. })
    }

    /// The column's values when there are few of them (for unique keys:
    /// pick one that is still free), in a fixed order.
    pub(crate) fn small_domain(&self) -> Option<Vec<Value>> {
        const LIMIT: i64 = 1000;
        let r = &self.restriction;
        let admitted = |values: Vec<Value>| -> Vec<Value> {
            values.into_iter().filter(|v| r.admits(v)).collect()
        };
        match &self.source {
            Source::Values { values, .. } => {
                let mut out: Vec<Value> = Vec::new();
                for v in values {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
                return Some(out);
            }
            Source::Range {
                lo: Value::Int(a),
                hi: Value::Int(b),
            } if (*b as i128) - (*a as i128) < LIMIT as i128 => {
                return Some(admitted((*a..=*b).map(Value::Int).collect()));
            }
            Source::Auto(_) => {}
            _ => return None,
        }
        if self.ty.dims > 0 {
            return None;
        }
        if let Some(allowed) = &r.allowed {
            return Some(admitted(
                allowed
                    .iter()
                    .map(|v| conform(v.clone(), &self.ty))
                    .collect(),
            ));
        }
        match &self.ty.base {
            Base::Enum { labels } => Some(admitted(
                labels.iter().map(|l| Value::Text(l.clone())).collect(),
            )),
            Base::Bool => Some(admitted(vec![Value::Bool(false), Value::Bool(true)])),
            Base::Int(bits) => {
                let (lo, hi) = int_range(r, *bits);
                if hi >= lo && (hi as i128) - (lo as i128) < LIMIT as i128 {
                    Some(admitted((lo..=hi).map(Value::Int).collect()))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// How many distinct values the column can take, when that is small
    /// enough to limit a unique key (`None`: plenty).
    pub(crate) fn domain_size(&self) -> Option<u128> {
        if !self.not_null {
            // NULLs never collide.
            return None;
        }
        self.small_domain().map(|d| d.len() as u128)
    }
}

fn int_range(r: &Restriction, bits: u8) -> (i64, i64) {
    let (tmin, tmax) = match bits {
        16 => (i16::MIN as i64, i16::MAX as i64),
        32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    let mut lo = tmin;
    let mut hi = tmax;
    if let Some((v, inc)) = &r.min {
        if let Some(f) = v.as_f64() {
            lo = lo.max(
                (if *inc { f.ceil() } else { f.floor() + 1.0 }).clamp(tmin as f64, tmax as f64)
                    as i64,
            );
        }
    }
    if let Some((v, inc)) = &r.max {
        if let Some(f) = v.as_f64() {
            hi = hi.min(
                (if *inc { f.floor() } else { f.ceil() - 1.0 }).clamp(tmin as f64, tmax as f64)
                    as i64,
            );
        }
    }
    (lo, hi)
}

/// How a foreign key is satisfied when the tables form a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deferral {
    /// The parent table is loaded first.
    None,
    /// `DEFERRABLE`: values are written directly, checked at commit.
    Deferrable,
    /// Written NULL, set by an UPDATE once the parent is loaded.
    NullThenUpdate,
}

#[derive(Debug, Clone)]
pub(crate) struct FkPlan {
    pub name: String,
    pub columns: Vec<usize>,
    pub parent_name: QualifiedName,
    /// Index of the parent in [`Plan::tables`].
    pub parent: usize,
    pub parent_columns: Vec<usize>,
    /// The row may have no parent (a nullable column, MATCH SIMPLE/FULL).
    pub nullable: bool,
    pub self_ref: bool,
    pub deferrable: bool,
    pub deferral: Deferral,
    pub null_ratio: f64,
}

/// One part of a unique key.
#[derive(Debug, Clone)]
pub(crate) enum KeyPart {
    Column(usize),
    /// An expression of the row (`lower(email)`).
    Expr(Expr, Vec<usize>),
}

#[derive(Debug, Clone)]
pub(crate) struct UniquePlan {
    pub name: String,
    pub parts: Vec<KeyPart>,
    pub nulls_not_distinct: bool,
    pub predicate: Option<Expr>,
    /// Columns the key reads.
    pub columns: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct CheckPlan {
    pub name: String,
    pub definition: String,
    pub expr: Result<Expr, String>,
    pub columns: Vec<usize>,
    /// Trusted without evaluation (profile `assume_checks`, or it reads a
    /// column the server computes).
    pub trusted: bool,
    /// A domain check: applies to this column's value (`value`).
    pub domain_of: Option<usize>,
    pub per_element: bool,
    /// The check as a boolean SQL expression over the row's columns, for
    /// the server to decide what the evaluator cannot (`None` when it
    /// reads a column the load does not write).
    pub server_sql: Option<String>,
    /// Decided by the server whatever the evaluator says: a definition that
    /// did not parse, or a regular expression (PostgreSQL's engine is the
    /// reference).
    pub server_decides: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct TablePlan {
    pub name: QualifiedName,
    pub columns: Vec<ColPlan>,
    pub fks: Vec<FkPlan>,
    pub uniques: Vec<UniquePlan>,
    pub checks: Vec<CheckPlan>,
    /// Rows asked for (`None` with `per_parent`).
    pub rows: Option<usize>,
    /// `per_parent`: (foreign key, min, max).
    pub per_parent: Option<(usize, usize, usize)>,
    /// The foreign key rows are grouped by (the parent chosen first).
    pub grouping: Option<usize>,
    pub distribution: Distribution,
    pub root_ratio: f64,
    /// Column generation order.
    pub order: Vec<usize>,
    /// A key to find rows by in fix-up UPDATEs (columns written by COPY).
    pub update_key: Option<Vec<usize>>,
    /// For a child's `created_at`: the grouping parent's column it follows.
    pub parent_created: Option<(usize, usize)>,
}

impl TablePlan {
    pub(crate) fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// The plan for a whole data set.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// In load order.
    pub tables: Vec<TablePlan>,
    pub anchor: DateTime<Utc>,
    pub profile_path: PathBuf,
    /// Where the profile's per-table rules are written, for hints.
    pub profile_section: RulesSection,
}

/// The default "now" of generated data: fixed, so that output depends on
/// the seed only.
pub(crate) fn default_anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Resolves a table name from a profile: `schema.table`, or a table name
/// (in `public` first, else the only schema that has it).
pub(crate) fn resolve_table(schema: &SchemaSnapshot, name: &str) -> Option<QualifiedName> {
    let names: Vec<&QualifiedName> = schema
        .tables
        .iter()
        .filter(|(_, t)| t.partition_of.is_none())
        .map(|(n, _)| n)
        .collect();
    if name.contains('.') {
        let q = parse_qualified(name)?;
        return names.into_iter().find(|n| **n == q).cloned();
    }
    let bare = name.trim_matches('"');
    if let Some(n) = names
        .iter()
        .find(|n| n.schema == "public" && n.name == bare)
    {
        return Some((*n).clone());
    }
    let matches: Vec<&&QualifiedName> = names.iter().filter(|n| n.name == bare).collect();
    if matches.len() == 1 {
        return Some((*matches[0]).clone());
    }
    None
}

fn display_name(q: &QualifiedName) -> String {
    q.to_string()
}

/// Suggests the closest of `known` to `name`.
fn did_you_mean<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.collect();
    let best = known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d <= (k.len().max(name.len()) / 3).max(2))
        .min();
    match best {
        Some((_, k)) => format!("; did you mean `{k}`?"),
        None if known.len() <= 20 => format!(" (it has: {})", known.join(", ")),
        None => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Tables written by triggers of other tables (`insert into x` in a
/// trigger function that fires on INSERT): loaded early, and their ids left
/// to their sequences unless a foreign key needs them.
fn trigger_targets(schema: &SchemaSnapshot) -> BTreeMap<QualifiedName, BTreeSet<QualifiedName>> {
    let mut out: BTreeMap<QualifiedName, BTreeSet<QualifiedName>> = BTreeMap::new();
    for (tname, table) in &schema.tables {
        for trigger in &table.triggers {
            if !trigger.events.contains(&TriggerEvent::Insert) {
                continue;
            }
            for (key, routine) in &schema.routines {
                if key.name != trigger.function {
                    continue;
                }
                let body = routine.body.to_lowercase();
                for part in body.split("insert into").skip(1) {
                    let target: String = part
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '$'))
                        .collect();
                    if let Some(q) = resolve_table(schema, &target) {
                        if &q != tname {
                            out.entry(q).or_default().insert(tname.clone());
                        }
                    }
                }
            }
        }
    }
    out
}

/// Builds the plan. Errors name the profile's file and line for anything
/// the profile names that the schema does not have.
pub(crate) fn plan(schema: &SchemaSnapshot, profile: &Profile) -> Result<Plan, GenerateError> {
    plan_tables(schema, profile).map_err(|e| e.under(profile.section))
}

fn plan_tables(schema: &SchemaSnapshot, profile: &Profile) -> Result<Plan, GenerateError> {
    let file = profile.path.clone();
    // Profile entries by table.
    let mut by_table: BTreeMap<QualifiedName, &TableProfile> = BTreeMap::new();
    for tp in &profile.tables {
        let Some(q) = resolve_table(schema, &tp.name) else {
            let known: Vec<String> = schema
                .tables
                .iter()
                .filter(|(_, t)| t.partition_of.is_none())
                .map(|(n, _)| {
                    if n.schema == "public" {
                        n.name.clone()
                    } else {
                        n.to_string()
                    }
                })
                .collect();
            return Err(GenerateError::UnknownTable {
                file: tp.file.clone().unwrap_or(file),
                line: tp.line,
                table: tp.name.clone(),
                hint: did_you_mean(&tp.name, known.iter().map(String::as_str)),
            });
        };
        if let Some(earlier) = by_table.insert(q.clone(), tp) {
            return Err(GenerateError::Profile {
                file: tp.file.clone().unwrap_or(file),
                line: tp.line,
                message: format!(
                    "table `{}` is the same table as `{}` (line {}): give its settings once",
                    tp.name, earlier.name, earlier.line
                ),
            });
        }
    }
    let filled = match profile.unlisted {
        super::profile::Unlisted::Filled => None,
        super::profile::Unlisted::Referenced => Some(referenced_by_listed(schema, &by_table)),
    };
    let targets = trigger_targets(schema);
    // FK references to a table's columns, to know which identity columns
    // can be left to their sequence.
    let mut referenced: BTreeSet<(QualifiedName, String)> = BTreeSet::new();
    for table in schema.tables.values() {
        for c in &table.constraints {
            if let Some(r) = &c.references {
                for col in &r.columns {
                    referenced.insert((r.table.clone(), col.clone()));
                }
            }
        }
    }
    let anchor = profile.now.unwrap_or_else(default_anchor);
    let mut tables: Vec<TablePlan> = Vec::new();
    for (name, table) in &schema.tables {
        if table.partition_of.is_some() {
            continue;
        }
        let tp = by_table.get(name).copied();
        let trigger_target = targets.contains_key(name);
        let unlisted_rows = match &filled {
            Some(filled) if !filled.contains(name) => 0,
            _ => profile.default_rows,
        };
        tables.push(table_plan(
            schema,
            profile,
            name,
            table,
            tp,
            unlisted_rows,
            trigger_target,
            &referenced,
        )?);
    }
    // Resolve FK parents by name (indexes are fixed after ordering).
    let order = load_order(&mut tables, &targets, &file)?;
    let mut ordered: Vec<TablePlan> = Vec::with_capacity(tables.len());
    let mut slots: Vec<Option<TablePlan>> = tables.into_iter().map(Some).collect();
    for i in order {
        if let Some(t) = slots[i].take() {
            ordered.push(t);
        }
    }
    let positions: HashMap<QualifiedName, usize> = ordered
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    for t in &mut ordered {
        for fk in &mut t.fks {
            fk.parent = positions
                .get(&fk.parent_name)
                .copied()
                .unwrap_or(usize::MAX);
        }
    }
    // Parent column positions need the parents' plans.
    let parent_cols: Vec<Vec<Vec<usize>>> = ordered
        .iter()
        .map(|t| {
            t.fks
                .iter()
                .map(|fk| match ordered.get(fk.parent) {
                    Some(p) => fk
                        .parent_columns
                        .clone()
                        .into_iter()
                        .filter(|c| *c < p.columns.len())
                        .collect(),
                    None => Vec::new(),
                })
                .collect()
        })
        .collect();
    for (t, cols) in ordered.iter_mut().zip(parent_cols) {
        for (fk, c) in t.fks.iter_mut().zip(cols) {
            fk.parent_columns = c;
        }
    }
    // A child's created_at follows its grouping parent's.
    for i in 0..ordered.len() {
        let Some(g) = ordered[i].grouping else {
            continue;
        };
        let parent = ordered[i].fks[g].parent;
        let has_created = ordered[i]
            .columns
            .iter()
            .any(|c| matches!(c.source, Source::Auto(Semantic::Created)));
        if !has_created {
            continue;
        }
        if let Some(p) = ordered.get(parent) {
            if let Some(pc) = p
                .columns
                .iter()
                .position(|c| matches!(c.source, Source::Auto(Semantic::Created)))
            {
                ordered[i].parent_created = Some((g, pc));
            }
        }
    }
    Ok(Plan {
        tables: ordered,
        anchor,
        profile_path: profile.path.clone(),
        profile_section: profile.section,
    })
}

/// Which sequence a column's default draws from: `nextval('s'::regclass)`.
pub(crate) fn serial_sequence(column: &Column) -> Option<QualifiedName> {
    let d = column.default.as_deref()?;
    let rest = d.strip_prefix("nextval('")?;
    let end = rest.find("'::regclass")?;
    let name = rest[..end].replace("''", "'");
    parse_qualified(&name)
}

/// The tables a profile gives rows (a count other than 0, or children per
/// parent), and every table those reference through a foreign key,
/// directly or through another.
fn referenced_by_listed(
    schema: &SchemaSnapshot,
    by_table: &BTreeMap<QualifiedName, &TableProfile>,
) -> BTreeSet<QualifiedName> {
    let mut pending: Vec<&QualifiedName> = by_table
        .iter()
        .filter(|(_, tp)| tp.rows != Some(0) || !tp.per_parent.is_empty())
        .map(|(name, _)| name)
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(table) = schema.tables.get(name) else {
            continue;
        };
        pending.extend(
            table
                .constraints
                .iter()
                .filter_map(|c| c.references.as_ref().map(|r| &r.table)),
        );
    }
    seen
}

/// One table's plan; `unlisted_rows` is its row count when the profile
/// does not list it.
#[allow(clippy::too_many_arguments)]
fn table_plan(
    schema: &SchemaSnapshot,
    profile: &Profile,
    name: &QualifiedName,
    table: &Table,
    tp: Option<&TableProfile>,
    unlisted_rows: usize,
    trigger_target: bool,
    referenced: &BTreeSet<(QualifiedName, String)>,
) -> Result<TablePlan, GenerateError> {
    let file = tp
        .and_then(|t| t.file.clone())
        .unwrap_or_else(|| profile.path.clone());
    let tname = display_name(name);
    let mut columns: Vec<ColPlan> = Vec::new();
    for c in &table.columns {
        let ty = ColumnType::resolve(&c.data_type, schema);
        let semantic = semantic_for(&name.name, &c.name, &ty);
        let mut col = ColPlan {
            name: c.name.clone(),
            not_null: c.not_null || ty.domain_not_null,
            ty,
            write: Write::Copy,
            source: Source::Auto(semantic),
            null_ratio: profile.null_ratio,
            restriction: Restriction::default(),
            not_before: None,
            generated: None,
            profiled: false,
            sequence: None,
            identity_always: false,
            partitions: Vec::new(),
            json_paths: Vec::new(),
        };
        if let Some(g) = &c.generated {
            col.write = Write::Omit;
            col.source = Source::Server;
            col.generated = parse_expr(g).ok();
        } else if let Some(id) = &c.identity {
            col.source = Source::Serial {
                start: id.options.start,
                step: if id.options.increment == 0 {
                    1
                } else {
                    id.options.increment
                },
            };
            col.sequence = Some(id.sequence.clone());
            col.identity_always = id.kind == IdentityKind::Always;
        } else if let Some(seq) = serial_sequence(c) {
            let (start, step) = schema
                .sequences
                .get(&seq)
                .map(|s| {
                    (
                        s.options.start,
                        if s.options.increment == 0 {
                            1
                        } else {
                            s.options.increment
                        },
                    )
                })
                .unwrap_or((1, 1));
            col.source = Source::Serial { start, step };
            col.sequence = Some(seq);
        }
        // A trigger's target keeps ids from its sequence when no foreign
        // key needs them: rows the trigger adds cannot collide with ours.
        if trigger_target
            && matches!(col.source, Source::Serial { .. })
            && !referenced.contains(&(name.clone(), c.name.clone()))
        {
            col.write = Write::Omit;
            col.source = Source::Server;
        }
        columns.push(col);
    }
    // JSON that generated columns read (`value ->> 'namespace'`): each
    // generated document holds a value of the generated column's kind
    // there, or a NOT NULL generated column refuses the row.
    for c in &table.columns {
        let Some(g) = &c.generated else { continue };
        let Some(leaf) = JsonLeaf::for_column(&ColumnType::resolve(&c.data_type, schema), g) else {
            continue;
        };
        for (json_column, path) in text_paths(g) {
            if let Some(j) = columns
                .iter_mut()
                .find(|x| x.name == json_column && matches!(x.ty.base, Base::Json { .. }))
            {
                if !j.json_paths.iter().any(|(p, _)| *p == path) {
                    j.json_paths.push((path, leaf.clone()));
                }
            }
        }
    }
    // Profile column rules.
    let mut assumed: BTreeSet<String> = BTreeSet::new();
    if let Some(tp) = tp {
        for cp in &tp.columns {
            let Some(i) = columns.iter().position(|c| c.name == cp.name) else {
                return Err(GenerateError::UnknownColumn {
                    file,
                    line: cp.line,
                    table: tname,
                    what: "column",
                    name: cp.name.clone(),
                    hint: did_you_mean(&cp.name, columns.iter().map(|c| c.name.as_str())),
                });
            };
            let bad = |message: String| GenerateError::BadValue {
                file: file.clone(),
                line: cp.line,
                table: tname.clone(),
                column: cp.name.clone(),
                message,
            };
            let col = &mut columns[i];
            if col.generated.is_some() {
                return Err(bad(
                    "is a generated column (GENERATED ALWAYS AS ... STORED): it is never written"
                        .into(),
                ));
            }
            if let Some(r) = cp.null_ratio {
                if r > 0.0 && col.not_null {
                    return Err(bad(format!("null_ratio = {r} on a NOT NULL column")));
                }
                col.null_ratio = r;
            }
            match &cp.rule {
                ColumnRule::Auto => {}
                ColumnRule::Values { values, weights } => {
                    let mut out = Vec::new();
                    for v in values {
                        out.push(scalar_value(v, &col.ty).map_err(bad)?);
                    }
                    if let Base::Enum { labels } = &col.ty.base {
                        for v in &out {
                            if let Value::Text(t) = v {
                                if !labels.contains(t) {
                                    return Err(bad(format!(
                                        "`{t}` is not a label of {} ({})",
                                        col.ty.display,
                                        labels.join(", ")
                                    )));
                                }
                            }
                        }
                    }
                    col.source = Source::Values {
                        values: out,
                        weights: weights.clone(),
                    };
                    col.write = Write::Copy;
                    col.profiled = true;
                }
                ColumnRule::Range { lo, hi } => {
                    let lo = scalar_value(lo, &col.ty).map_err(bad)?;
                    let hi = scalar_value(hi, &col.ty).map_err(bad)?;
                    match super::expr::order(&lo, &hi) {
                        Some(std::cmp::Ordering::Greater) => {
                            return Err(bad("range: the low end is above the high end".into()))
                        }
                        None => {
                            return Err(bad(format!(
                                "range applies to numbers, dates and timestamps, not {}",
                                col.ty.display
                            )))
                        }
                        _ => {}
                    }
                    col.source = Source::Range { lo, hi };
                    col.write = Write::Copy;
                    col.profiled = true;
                }
                ColumnRule::Fake(f) => {
                    let s = fake_by_name(f).unwrap_or(Semantic::Generic);
                    col.source = Source::Auto(s);
                    col.write = Write::Copy;
                    col.profiled = true;
                }
                ColumnRule::Sql(sql) => {
                    col.source = Source::Server;
                    col.write = Write::Sql(sql.clone());
                    col.profiled = true;
                }
                ColumnRule::Default => {
                    if table.columns[i].default.is_none()
                        && col.not_null
                        && table.columns[i].identity.is_none()
                    {
                        return Err(bad(
                            "default = true, but the column is NOT NULL and has no default".into(),
                        ));
                    }
                    col.source = Source::Server;
                    col.write = Write::Omit;
                    col.profiled = true;
                }
            }
        }
        for (check, line) in &tp.assume_checks {
            if !table
                .constraints
                .iter()
                .any(|c| c.kind == ConstraintKind::Check && &c.name == check)
            {
                return Err(GenerateError::UnknownColumn {
                    file,
                    line: *line,
                    table: tname,
                    what: "check constraint",
                    name: check.clone(),
                    hint: did_you_mean(
                        check,
                        table
                            .constraints
                            .iter()
                            .filter(|c| c.kind == ConstraintKind::Check)
                            .map(|c| c.name.as_str()),
                    ),
                });
            }
            assumed.insert(check.clone());
        }
    }
    // Checks.
    let mut checks = Vec::new();
    if let Some(check) = partition_bounds(schema, name, table, &mut columns) {
        checks.push(check);
    }
    for c in table
        .constraints
        .iter()
        .filter(|c| c.kind == ConstraintKind::Check)
    {
        let expr = parse_check(&c.definition);
        let mut cols: BTreeSet<usize> = c
            .columns
            .iter()
            .filter_map(|n| columns.iter().position(|x| &x.name == n))
            .collect();
        if let Ok(e) = &expr {
            cols.extend(
                e.columns()
                    .iter()
                    .filter_map(|n| columns.iter().position(|x| &x.name == n)),
            );
        }
        if expr.is_err() {
            cols.extend(mentioned_columns(&c.definition, &columns));
        }
        let server_computed = cols.iter().any(|i| {
            matches!(columns[*i].source, Source::Server) && columns[*i].generated.is_none()
        });
        let written = cols.iter().all(|i| columns[*i].write == Write::Copy);
        let server_decides = expr.as_ref().map_or(true, Expr::uses_regex);
        checks.push(CheckPlan {
            name: c.name.clone(),
            definition: c.definition.clone(),
            expr,
            columns: cols.into_iter().collect(),
            trusted: assumed.contains(&c.name) || server_computed,
            domain_of: None,
            per_element: false,
            server_sql: written.then(|| check_body(&c.definition).to_string()),
            server_decides,
        });
    }
    for (i, col) in columns.iter().enumerate() {
        for d in &col.ty.domain_checks {
            let expr = d
                .expr
                .clone()
                .ok_or_else(|| "the definition did not parse".to_string());
            let server_decides = expr.as_ref().map_or(true, Expr::uses_regex);
            let server_sql = (!d.per_element && col.write == Write::Copy)
                .then(|| domain_check_on(check_body(&d.definition), &col.name));
            checks.push(CheckPlan {
                name: d.name.clone(),
                definition: d.definition.clone(),
                expr,
                columns: vec![i],
                trusted: matches!(col.source, Source::Server),
                domain_of: Some(i),
                per_element: d.per_element,
                server_sql,
                server_decides,
            });
        }
    }
    // Restrictions from single-column checks.
    for check in &checks {
        let Ok(e) = &check.expr else { continue };
        match check.domain_of {
            Some(i) => {
                if !check.per_element {
                    let mut r = std::mem::take(&mut columns[i].restriction);
                    restrict(e, "value", &mut r);
                    columns[i].restriction = r;
                }
            }
            None => {
                for &i in &check.columns {
                    let mut r = std::mem::take(&mut columns[i].restriction);
                    restrict(e, &columns[i].name.clone(), &mut r);
                    columns[i].restriction = r;
                }
            }
        }
    }
    for col in &mut columns {
        if col.restriction.not_null {
            col.not_null = true;
        }
        if col.not_null {
            col.null_ratio = 0.0;
        }
    }
    // Foreign keys.
    let mut fks = Vec::new();
    for c in table
        .constraints
        .iter()
        .filter(|c| c.kind == ConstraintKind::ForeignKey)
    {
        let Some(r) = &c.references else { continue };
        let cols: Vec<usize> = c
            .columns
            .iter()
            .filter_map(|n| columns.iter().position(|x| &x.name == n))
            .collect();
        if cols.len() != c.columns.len() {
            continue;
        }
        let parent_table = schema.tables.get(&r.table);
        let parent_cols: Vec<usize> = match parent_table {
            Some(p) => r
                .columns
                .iter()
                .filter_map(|n| p.columns.iter().position(|x| &x.name == n))
                .collect(),
            None => Vec::new(),
        };
        let nullable = match r.match_type {
            ForeignKeyMatch::Full => cols.iter().all(|i| !columns[*i].not_null),
            _ => cols.iter().any(|i| !columns[*i].not_null),
        };
        let null_ratio = cols
            .iter()
            .map(|i| columns[*i].null_ratio)
            .fold(0.0, f64::max);
        for &i in &cols {
            if !columns[i].profiled {
                columns[i].source = Source::ForeignKey;
            }
        }
        fks.push(FkPlan {
            name: c.name.clone(),
            columns: cols,
            parent_name: r.table.clone(),
            parent: usize::MAX,
            parent_columns: parent_cols,
            nullable,
            self_ref: &r.table == name,
            deferrable: c.deferrable,
            deferral: Deferral::None,
            null_ratio: if nullable { null_ratio } else { 0.0 },
        });
    }
    // A profiled FK column: the profile's values win, the key is not
    // generated (the user vouches for the values).
    fks.retain(|fk| !fk.columns.iter().any(|i| columns[*i].profiled));
    // Unique keys: constraints, then unique indexes.
    let mut uniques = Vec::new();
    for c in table
        .constraints
        .iter()
        .filter(|c| matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique))
    {
        let cols: Vec<usize> = c
            .columns
            .iter()
            .filter_map(|n| columns.iter().position(|x| &x.name == n))
            .collect();
        if cols.len() != c.columns.len() || cols.is_empty() {
            continue;
        }
        uniques.push(UniquePlan {
            name: c.name.clone(),
            parts: cols.iter().map(|i| KeyPart::Column(*i)).collect(),
            nulls_not_distinct: c.definition.contains("nulls not distinct"),
            predicate: None,
            columns: cols,
        });
    }
    for idx in table.indexes.iter().filter(|i| i.unique && i.valid) {
        let mut parts = Vec::new();
        let mut cols = BTreeSet::new();
        for k in &idx.key_columns {
            match parse_expr(k) {
                Ok(Expr::Column(c)) => match columns.iter().position(|x| x.name == c) {
                    Some(i) => {
                        parts.push(KeyPart::Column(i));
                        cols.insert(i);
                    }
                    None => parts.clear(),
                },
                Ok(e) => {
                    let used: Vec<usize> = e
                        .columns()
                        .iter()
                        .filter_map(|n| columns.iter().position(|x| &x.name == n))
                        .collect();
                    cols.extend(used.iter().copied());
                    parts.push(KeyPart::Expr(e, used));
                }
                Err(_) => {
                    // An expression the reader cannot evaluate: keep the
                    // columns it reads unique together (stronger).
                    let used: Vec<usize> = columns
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| k.contains(c.name.as_str()))
                        .map(|(i, _)| i)
                        .collect();
                    cols.extend(used.iter().copied());
                    parts.extend(used.into_iter().map(KeyPart::Column));
                }
            }
        }
        if parts.is_empty() {
            continue;
        }
        uniques.push(UniquePlan {
            name: idx.name.clone(),
            parts,
            nulls_not_distinct: idx.definition.contains("nulls not distinct"),
            predicate: idx.predicate.as_deref().and_then(|p| parse_expr(p).ok()),
            columns: cols.into_iter().collect(),
        });
    }
    // Rows.
    let mut per_parent = None;
    if let Some(tp) = tp {
        if let Some(pp) = tp.per_parent.first() {
            let fk = fks.iter().position(|fk| fk.name == pp.key).or_else(|| {
                fks.iter()
                    .position(|fk| fk.columns.iter().any(|i| columns[*i].name == pp.key))
            });
            let Some(fk) = fk else {
                return Err(GenerateError::UnknownColumn {
                    file,
                    line: pp.line,
                    table: tname,
                    what: "foreign key",
                    name: pp.key.clone(),
                    hint: format!(
                        " (per_parent names a foreign key by one of its columns or its constraint name; it has: {})",
                        if fks.is_empty() {
                            "none".to_string()
                        } else {
                            fks.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
                        }
                    ),
                });
            };
            if fks[fk].self_ref {
                return Err(GenerateError::Profile {
                    file,
                    line: pp.line,
                    message: format!(
                        "table {tname}: per_parent cannot follow the self-reference `{}`",
                        fks[fk].name
                    ),
                });
            }
            per_parent = Some((fk, pp.min, pp.max));
        }
    }
    let rows = match (tp, per_parent) {
        (_, Some(_)) => None,
        (Some(tp), None) => Some(tp.rows.unwrap_or(profile.default_rows)),
        (None, None) => Some(unlisted_rows),
    };
    // Columns that follow others.
    let find = |s: Semantic| {
        columns
            .iter()
            .position(|c| matches!(c.source, Source::Auto(x) if x == s))
    };
    let created = find(Semantic::Created);
    let start = find(Semantic::Start);
    for i in 0..columns.len() {
        columns[i].not_before = match columns[i].source {
            Source::Auto(Semantic::Updated)
            | Source::Auto(Semantic::Later)
            | Source::Auto(Semantic::Start) => created,
            Source::Auto(Semantic::End) => start.or(created),
            _ => None,
        }
        .filter(|j| *j != i && columns[*j].ty.base != Base::Unsupported);
    }
    let mut order: Vec<usize> = (0..columns.len())
        .filter(|i| columns[*i].not_before.is_none())
        .collect();
    order.extend((0..columns.len()).filter(|i| columns[*i].not_before.is_some()));
    // Unsupported types.
    let wants_rows = rows != Some(0);
    for (i, col) in columns.iter_mut().enumerate() {
        let fk_col = matches!(col.source, Source::ForeignKey);
        if col.ty.base == Base::Unsupported && matches!(col.source, Source::Auto(_)) && !fk_col {
            if !col.not_null {
                col.null_ratio = 1.0;
            } else if table.columns[i].default.is_some() {
                col.source = Source::Server;
                col.write = Write::Omit;
            } else if wants_rows {
                return Err(GenerateError::UnsupportedType {
                    table: tname,
                    section: RulesSection::Profile,
                    column: col.name.clone(),
                    data_type: col.ty.display.clone(),
                });
            }
        }
    }
    // Checks that cannot be read at all and that the server cannot decide
    // before the load, on a table that gets rows.
    if wants_rows {
        for check in &checks {
            if let (Err(reason), false, None) = (&check.expr, check.trusted, &check.server_sql) {
                return Err(unsupported_check(&tname, check, &columns, reason));
            }
        }
    }
    let update_key = uniques
        .iter()
        .find(|u| {
            u.predicate.is_none()
                && u.parts.iter().all(|p| matches!(p, KeyPart::Column(_)))
                && u.columns
                    .iter()
                    .all(|i| columns[*i].not_null && columns[*i].write == Write::Copy)
        })
        .map(|u| u.columns.clone());
    let grouping = per_parent
        .map(|(fk, _, _)| fk)
        .or_else(|| fks.iter().position(|fk| !fk.self_ref && !fk.nullable));
    Ok(TablePlan {
        name: name.clone(),
        columns,
        fks,
        uniques,
        checks,
        rows,
        per_parent,
        grouping,
        distribution: tp.map(|t| t.distribution).unwrap_or(Distribution::Uniform),
        root_ratio: tp.and_then(|t| t.root_ratio).unwrap_or(0.2),
        order,
        update_key,
        parent_created: None,
    })
}

/// `check (...) [not valid]` without its keywords: the boolean expression.
fn check_body(definition: &str) -> &str {
    let body = definition.trim();
    let body = body.strip_prefix("check").unwrap_or(body).trim();
    let body = body.strip_suffix("not valid").unwrap_or(body).trim();
    body.strip_suffix("no inherit").unwrap_or(body).trim()
}

/// A domain check's expression with `value` (the deparser's keyword,
/// lowercased outside quotes) read from `column` instead.
fn domain_check_on(body: &str, column: &str) -> String {
    let column = crate::server::quote_ident(column);
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    let mut quote: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if rest.starts_with("value")
            && !out
                .chars()
                .last()
                .is_some_and(|p: char| p.is_alphanumeric() || p == '_')
            && !rest[5..]
                .chars()
                .next()
                .is_some_and(|n| n.is_alphanumeric() || n == '_' || n == '$')
        {
            out.push_str(&column);
            rest = &rest[5..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The columns whose names appear as words in `definition` outside quotes
/// (for a check the expression reader could not parse).
fn mentioned_columns(definition: &str, columns: &[ColPlan]) -> Vec<usize> {
    let words = words(definition);
    (0..columns.len())
        .filter(|i| words.contains(&columns[*i].name))
        .collect()
}

/// The identifiers of deparsed SQL text: words outside quotes, and
/// double-quoted names.
pub(crate) fn words(definition: &str) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in definition.chars().chain(std::iter::once(' ')) {
        if let Some(q) = quote {
            if c == q {
                quote = None;
                if q == '"' {
                    words.insert(std::mem::take(&mut word));
                }
            } else if q == '"' {
                word.push(c);
            }
            continue;
        }
        if c.is_alphanumeric() || c == '_' || c == '$' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            words.insert(std::mem::take(&mut word));
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
    }
    words
}

pub(crate) fn unsupported_check(
    table: &str,
    check: &CheckPlan,
    columns: &[ColPlan],
    reason: &str,
) -> GenerateError {
    GenerateError::UnsupportedCheck {
        table: table.to_string(),
        section: RulesSection::Profile,
        constraint: check.name.clone(),
        definition: check.definition.clone(),
        reason: reason.to_string(),
        columns: column_list(check, columns),
    }
}

pub(crate) fn column_list(check: &CheckPlan, columns: &[ColPlan]) -> String {
    let names: Vec<String> = check
        .columns
        .iter()
        .map(|i| format!("`{}`", columns[*i].name))
        .collect();
    if names.is_empty() {
        "its columns".to_string()
    } else {
        names.join(", ")
    }
}

/// For a table partitioned by ranges or lists of one column, without a
/// default partition: the key column's per-partition restrictions, and a
/// check that every row falls in a partition. (Hash partitions take any
/// row; expression keys and sub-partitions are not read.)
fn partition_bounds(
    schema: &SchemaSnapshot,
    name: &QualifiedName,
    table: &Table,
    columns: &mut [ColPlan],
) -> Option<CheckPlan> {
    let key = table.partition_key.as_deref()?.trim();
    let (kind, rest) = key.split_once(' ')?;
    let col_name = rest.trim().strip_prefix('(')?.strip_suffix(')')?.trim();
    let col = columns.iter().position(|c| c.name == col_name)?;
    if kind != "range" && kind != "list" {
        return None;
    }
    let bounds: Vec<&str> = schema
        .tables
        .values()
        .filter_map(|t| t.partition_of.as_ref())
        .filter(|p| &p.parent == name)
        .map(|p| p.bound.as_str())
        .collect();
    if bounds.is_empty() || bounds.iter().any(|b| b.trim() == "default") {
        return None;
    }
    let ty = columns[col].ty.clone();
    let value = |text: &str| -> Option<Option<Value>> {
        let text = text.trim();
        if text == "minvalue" || text == "maxvalue" {
            return Some(None);
        }
        let scalar = match parse_expr(text).ok()? {
            Expr::Const(Value::Text(t)) => Scalar::Text(t),
            Expr::Const(Value::Int(i)) => Scalar::Int(i),
            Expr::Const(Value::Float(f)) => Scalar::Float(f),
            Expr::Neg(inner) => match *inner {
                Expr::Const(Value::Int(i)) => Scalar::Int(-i),
                Expr::Const(Value::Float(f)) => Scalar::Float(-f),
                _ => return None,
            },
            _ => return None,
        };
        scalar_value(&scalar, &ty).ok().map(Some)
    };
    let column = || Box::new(Expr::Column(col_name.to_string()));
    let mut restrictions = Vec::new();
    let mut alternatives = Vec::new();
    for b in &bounds {
        let b = b.trim();
        if kind == "range" {
            let inner = b.strip_prefix("for values from (")?;
            let (from, to) = inner.split_once(") to (")?;
            let to = to.strip_suffix(')')?;
            let (lo, hi) = (value(from)?, value(to)?);
            let mut r = Restriction::default();
            let mut parts = Vec::new();
            if let Some(lo) = lo {
                r.min = Some((lo.clone(), true));
                parts.push(Expr::Binary(
                    ">=".into(),
                    column(),
                    Box::new(Expr::Const(lo)),
                ));
            }
            if let Some(hi) = hi {
                r.max = Some((hi.clone(), false));
                parts.push(Expr::Binary(
                    "<".into(),
                    column(),
                    Box::new(Expr::Const(hi)),
                ));
            }
            restrictions.push(r);
            alternatives.push(Expr::And(parts));
        } else {
            let inner = b.strip_prefix("for values in (")?.strip_suffix(')')?;
            let mut values = Vec::new();
            for item in split_top_level(inner) {
                if let Some(v) = value(&item)? {
                    values.push(v);
                }
            }
            restrictions.push(Restriction {
                allowed: Some(values.clone()),
                ..Restriction::default()
            });
            alternatives.push(Expr::InList(
                column(),
                values.into_iter().map(Expr::Const).collect(),
                false,
            ));
        }
    }
    columns[col].partitions = restrictions;
    columns[col].not_null = true;
    columns[col].null_ratio = 0.0;
    Some(CheckPlan {
        name: format!("partition bounds of {name}"),
        definition: bounds.join("; "),
        expr: Ok(Expr::Or(alternatives)),
        columns: vec![col],
        trusted: false,
        domain_of: None,
        per_element: false,
        // The server checks partition bounds on its own, with a clear error.
        server_sql: None,
        server_decides: false,
    })
}

/// Splits `a, 'b, c', d` at the commas outside quotes.
fn split_top_level(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// A profile scalar as a value of the column's type.
pub(crate) fn scalar_value(s: &Scalar, ty: &ColumnType) -> Result<Value, String> {
    use super::expr::{cast, Eval};
    let text_cast = |t: &str, to: &str| -> Result<Value, String> {
        match cast(Value::Text(t.to_string()), to) {
            Eval::V(v) => Ok(v),
            Eval::Unknown(why) => Err(format!("`{t}` is not a valid {} ({why})", ty.display)),
        }
    };
    if ty.dims > 0 {
        return match s {
            Scalar::Text(t) if t.trim_start().starts_with('[') => {
                // A TOML array: its JSON text; as a PostgreSQL array.
                let items: Vec<serde_json::Value> =
                    serde_json::from_str(t).map_err(|e| e.to_string())?;
                let elem = ColumnType {
                    dims: 0,
                    ..ty.clone()
                };
                let mut out = Vec::new();
                for item in items {
                    let sc = match item {
                        serde_json::Value::Bool(b) => Scalar::Bool(b),
                        serde_json::Value::Number(n) if n.is_i64() => {
                            Scalar::Int(n.as_i64().unwrap_or(0))
                        }
                        serde_json::Value::Number(n) => Scalar::Float(n.as_f64().unwrap_or(0.0)),
                        serde_json::Value::String(s) => Scalar::Text(s),
                        other => Scalar::Text(other.to_string()),
                    };
                    out.push(scalar_value(&sc, &elem)?);
                }
                Ok(Value::Array(out))
            }
            Scalar::Text(t) => Ok(Value::Literal(t.clone())),
            other => Err(format!("{other:?} is not an array")),
        };
    }
    Ok(match (&ty.base, s) {
        (Base::Bool, Scalar::Bool(b)) => Value::Bool(*b),
        (Base::Bool, Scalar::Text(t)) => text_cast(t, "boolean")?,
        (Base::Int(_), Scalar::Int(i)) => Value::Int(*i),
        (Base::Int(_), Scalar::Text(t)) => text_cast(t, "bigint")?,
        (Base::Float(_), Scalar::Int(i)) => Value::Float(*i as f64),
        (Base::Float(_), Scalar::Float(f)) => Value::Float(*f),
        (Base::Numeric { .. } | Base::Money, Scalar::Int(_) | Scalar::Float(_)) => {
            let f = match s {
                Scalar::Int(i) => *i as f64,
                Scalar::Float(f) => *f,
                _ => 0.0,
            };
            conform(Value::Float(f), ty)
        }
        (Base::Numeric { .. } | Base::Float(_) | Base::Money, Scalar::Text(t)) => {
            let v = text_cast(t, "numeric")?;
            conform(v, ty)
        }
        (Base::Date, Scalar::Text(t)) => text_cast(t.split('T').next().unwrap_or(t), "date")?,
        (Base::Timestamp, Scalar::Text(t)) => text_cast(&t.replace('T', " "), "timestamp")?,
        (Base::TimestampTz, Scalar::Text(t)) => {
            text_cast(&t.replace('T', " "), "timestamp with time zone")?
        }
        (Base::Json { .. }, Scalar::Text(t)) => match serde_json::from_str(t) {
            Ok(j) => Value::Json(Box::new(j)),
            // A plain string is a JSON string.
            Err(_) => Value::Json(Box::new(serde_json::Value::String(t.clone()))),
        },
        (Base::Json { .. }, Scalar::Int(i)) => Value::Json(Box::new(serde_json::json!(i))),
        (Base::Json { .. }, Scalar::Float(f)) => Value::Json(Box::new(serde_json::json!(f))),
        (Base::Json { .. }, Scalar::Bool(b)) => Value::Json(Box::new(serde_json::json!(b))),
        (Base::Text { .. } | Base::Enum { .. }, Scalar::Text(t)) => Value::Text(t.clone()),
        (Base::Text { .. }, Scalar::Int(i)) => Value::Text(i.to_string()),
        (Base::Text { .. }, Scalar::Float(f)) => Value::Text(f.to_string()),
        (Base::Text { .. }, Scalar::Bool(b)) => Value::Text(b.to_string()),
        (_, Scalar::Text(t)) => Value::Literal(t.clone()),
        (_, other) => return Err(format!("{other:?} does not fit type {}", ty.display)),
    })
}

/// Orders the tables so that parents come before children; breaks cycles
/// (nullable links become NULL-then-UPDATE, deferrable ones are deferred)
/// or reports the cycle. Sets each FK's `deferral`. Returns indexes into
/// `tables` in load order.
fn load_order(
    tables: &mut [TablePlan],
    targets: &BTreeMap<QualifiedName, BTreeSet<QualifiedName>>,
    _file: &std::path::Path,
) -> Result<Vec<usize>, GenerateError> {
    let index: HashMap<QualifiedName, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    let n = tables.len();
    // Edges parent -> child, labelled (child, fk).
    let mut edges: Vec<(usize, usize, usize)> = Vec::new();
    for (ci, t) in tables.iter().enumerate() {
        for (fi, fk) in t.fks.iter().enumerate() {
            if fk.self_ref {
                continue;
            }
            if let Some(&pi) = index.get(&fk.parent_name) {
                edges.push((pi, ci, fi));
            }
        }
    }
    // Strongly connected components (Tarjan, iterative enough for schemas).
    let sccs = tarjan(n, &edges);
    let mut removed: BTreeSet<(usize, usize)> = BTreeSet::new();
    for scc in sccs.iter().filter(|s| s.len() > 1) {
        let members: BTreeSet<usize> = scc.iter().copied().collect();
        let inner: Vec<(usize, usize, usize)> = edges
            .iter()
            .copied()
            .filter(|(p, c, _)| members.contains(p) && members.contains(c))
            .collect();
        // Candidates: deferrable first, then nullable with an update key.
        let mut candidates: Vec<(u8, String, usize, usize)> = Vec::new();
        for &(_, c, f) in &inner {
            let fk = &tables[c].fks[f];
            if fk.deferrable {
                candidates.push((0, format!("{}.{}", tables[c].name, fk.name), c, f));
            } else if fk.nullable && tables[c].update_key.is_some() {
                candidates.push((1, format!("{}.{}", tables[c].name, fk.name), c, f));
            }
        }
        candidates.sort();
        for (kind, _, c, f) in candidates {
            if is_acyclic(&members, &inner, &removed) {
                break;
            }
            removed.insert((c, f));
            tables[c].fks[f].deferral = if kind == 0 {
                Deferral::Deferrable
            } else {
                Deferral::NullThenUpdate
            };
        }
        // Drop breaks that turned out unnecessary (kept minimal).
        let tried: Vec<(usize, usize)> = removed
            .iter()
            .copied()
            .filter(|(c, _)| members.contains(c))
            .collect();
        for e in tried {
            removed.remove(&e);
            if is_acyclic(&members, &inner, &removed) {
                tables[e.0].fks[e.1].deferral = Deferral::None;
            } else {
                removed.insert(e);
            }
        }
        if !is_acyclic(&members, &inner, &removed) {
            let cycle = find_cycle(&members, &inner, &removed)
                .map(|path| {
                    let mut s = String::new();
                    for (i, (p, c, f)) in path.iter().enumerate() {
                        if i == 0 {
                            s.push_str(&tables[*c].name.to_string());
                        }
                        s.push_str(&format!(
                            " -({})-> {}",
                            tables[*c].fks[*f].name, tables[*p].name
                        ));
                    }
                    s
                })
                .unwrap_or_else(|| {
                    scc.iter()
                        .map(|i| tables[*i].name.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                });
            return Err(GenerateError::Cycle { cycle });
        }
    }
    // Kahn's algorithm; among ready tables, trigger targets first, then by
    // name.
    let mut indegree = vec![0usize; n];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(p, c, f) in &edges {
        if removed.contains(&(c, f)) {
            continue;
        }
        indegree[c] += 1;
        children[p].push(c);
    }
    let priority = |i: usize| -> (u8, QualifiedName) {
        (
            u8::from(!targets.contains_key(&tables[i].name)),
            tables[i].name.clone(),
        )
    };
    let mut ready: BTreeSet<((u8, QualifiedName), usize)> = (0..n)
        .filter(|i| indegree[*i] == 0)
        .map(|i| (priority(i), i))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(first) = ready.iter().next().cloned() {
        ready.remove(&first);
        let i = first.1;
        order.push(i);
        for &c in &children[i] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.insert((priority(c), c));
            }
        }
    }
    // (All cycles were broken above, so every table is ordered.)
    for i in 0..n {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    Ok(order)
}

fn is_acyclic(
    members: &BTreeSet<usize>,
    edges: &[(usize, usize, usize)],
    removed: &BTreeSet<(usize, usize)>,
) -> bool {
    find_cycle(members, edges, removed).is_none()
}

/// A cycle among `members` using the edges not removed, as (parent, child,
/// fk) links.
fn find_cycle(
    members: &BTreeSet<usize>,
    edges: &[(usize, usize, usize)],
    removed: &BTreeSet<(usize, usize)>,
) -> Option<Vec<(usize, usize, usize)>> {
    // Walk child -> parent.
    let live: Vec<(usize, usize, usize)> = edges
        .iter()
        .copied()
        .filter(|(_, c, f)| !removed.contains(&(*c, *f)))
        .collect();
    let mut state: BTreeMap<usize, u8> = BTreeMap::new();
    fn dfs(
        v: usize,
        live: &[(usize, usize, usize)],
        state: &mut BTreeMap<usize, u8>,
        stack: &mut Vec<(usize, usize, usize)>,
    ) -> Option<Vec<(usize, usize, usize)>> {
        state.insert(v, 1);
        for &(p, c, f) in live.iter().filter(|(_, c, _)| *c == v) {
            stack.push((p, c, f));
            match state.get(&p).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|(_, c2, _)| *c2 == p).unwrap_or(0);
                    return Some(stack[start..].to_vec());
                }
                0 => {
                    if let Some(cy) = dfs(p, live, state, stack) {
                        return Some(cy);
                    }
                }
                _ => {}
            }
            stack.pop();
        }
        state.insert(v, 2);
        None
    }
    for &m in members {
        if state.get(&m).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = dfs(m, &live, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

fn tarjan(n: usize, edges: &[(usize, usize, usize)]) -> Vec<Vec<usize>> {
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(p, c, _) in edges {
        adj[p].push(c);
    }
    struct St {
        index: usize,
        idx: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        out: Vec<Vec<usize>>,
    }
    fn strong(v: usize, adj: &[Vec<usize>], s: &mut St) {
        s.idx[v] = Some(s.index);
        s.low[v] = s.index;
        s.index += 1;
        s.stack.push(v);
        s.on[v] = true;
        for &w in &adj[v] {
            match s.idx[w] {
                None => {
                    strong(w, adj, s);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.idx[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            comp.sort_unstable();
            s.out.push(comp);
        }
    }
    let mut s = St {
        index: 0,
        idx: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in 0..n {
        if s.idx[v].is_none() {
            strong(v, &adj, &mut s);
        }
    }
    s.out
}
