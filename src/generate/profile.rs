//! Seed profiles (`seeds/*.toml`): how many rows, and what the generator
//! should do differently from its guesses. The format is documented on
//! [`Profile`] and in `seeds/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sqlx::types::chrono::{DateTime, Utc};
use toml::Spanned;

use super::realistic::fake_by_name;
use super::GenerateError;

/// A seed profile: rows per table and per-column rules.
///
/// ```toml
/// seed = 42                        # default seed (a --seed flag wins)
/// now = "2025-01-01T00:00:00Z"     # generated timestamps fall before this
/// default_rows = 10                # tables the profile does not list
/// null_ratio = 0.1                 # NULLs in nullable columns without a rule
/// on_limit = "error"               # or "cap": what a combinatorial limit does
///
/// [tables.app_users]               # `schema.table`, or a table name in any schema
/// rows = 40
///
/// [tables.cycle]
/// per_parent = { owner_id = [1, 8] }   # 1 to 8 cycles per user (FK column or constraint)
/// distribution = "skewed"              # parents chosen "uniform" (default) or "skewed"
///
/// [tables.category]
/// rows = 30
/// root_ratio = 0.3                     # self-references: share of rows without a parent
/// assume_checks = ["category_name_format"]  # checks the generator cannot read: trusted
///
/// [tables.task.columns.status]
/// values = ["todo", "in_progress", "done"]
/// weights = [2, 1, 5]
///
/// [tables.weekly_plan.columns.quota]
/// range = [0, 20]                      # numbers, or dates/timestamps as strings
///
/// [tables.goal.columns.title]
/// fake = "catch_phrase"                # a named generator (see FAKE_NAMES)
/// null_ratio = 0.0
///
/// [tables.app_users.columns.email]
/// sql = "lower(display_name) || '@example.com'"   # evaluated by the server, per row
///
/// [tables.audit_log.columns.changed_at]
/// default = true                       # not written: the column default applies
/// ```
///
/// Every key is optional. Unknown keys, and tables or columns the schema
/// does not have, are errors naming the file and line.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Where the profile came from (`<built-in>` for one made in code).
    pub path: PathBuf,
    /// The profile's default seed.
    pub seed: Option<u64>,
    /// "Now" for generated timestamps; default 2025-01-01T00:00:00Z, fixed
    /// so that the output depends only on the seed.
    pub now: Option<DateTime<Utc>>,
    /// Rows for tables the profile does not list (those `unlisted` fills).
    pub default_rows: usize,
    /// Which tables the profile does not list get rows.
    pub unlisted: Unlisted,
    /// Share of NULLs in nullable columns without a rule of their own.
    pub null_ratio: f64,
    /// What a request beyond a combinatorial limit does.
    pub on_limit: OnLimit,
    /// Per-table settings, in file order.
    pub tables: Vec<TableProfile>,
    /// Where they are written, for hints: `tables` (a seed profile's
    /// `[tables.<name>]`) or `data.tables` (a property file's).
    pub section: super::error::RulesSection,
}

/// Which tables a profile does not list get `default_rows` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlisted {
    /// Every one (a seed profile: a whole development database).
    Filled,
    /// Only those the listed tables reference, directly or through others;
    /// the rest get none (a property file that names its tables: a case
    /// loads what its rule reads, and the parents those rows need).
    Referenced,
}

/// What a request for more rows than the constraints allow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnLimit {
    /// An error naming the constraint and the largest possible count.
    Error,
    /// As many rows as fit.
    Cap,
}

/// How a child row picks its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    /// Every parent equally likely.
    Uniform,
    /// A few parents get most children (roughly a power law).
    Skewed,
}

/// One table's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TableProfile {
    /// The table as written in the profile (`goal` or `public.goal`).
    pub name: String,
    /// Line of its `[tables.<name>]` key.
    pub line: usize,
    /// The file it is written in, when not the profile's own (a property
    /// file's `[data.tables.<name>]` over a seed profile).
    pub file: Option<PathBuf>,
    /// Number of rows.
    pub rows: Option<usize>,
    /// Children per parent, by foreign key (a column of it, or its
    /// constraint name): `(key, line, min, max)`.
    pub per_parent: Vec<PerParent>,
    /// How parents are picked.
    pub distribution: Distribution,
    /// For a self-referencing foreign key: share of rows without a parent.
    pub root_ratio: Option<f64>,
    /// `CHECK` constraints to trust without evaluating: `(name, line)`.
    pub assume_checks: Vec<(String, usize)>,
    /// Column rules.
    pub columns: Vec<ColumnProfile>,
}

impl TableProfile {
    /// Settings for `table` that change nothing (made in code, line 0).
    pub fn named(table: &str) -> TableProfile {
        TableProfile {
            name: table.to_string(),
            line: 0,
            file: None,
            rows: None,
            per_parent: Vec::new(),
            distribution: Distribution::Uniform,
            root_ratio: None,
            assume_checks: Vec::new(),
            columns: Vec::new(),
        }
    }
}

/// Children per parent along one foreign key.
#[derive(Debug, Clone, PartialEq)]
pub struct PerParent {
    /// A column of the foreign key, or the constraint's name.
    pub key: String,
    /// Line in the profile.
    pub line: usize,
    /// Fewest children of each parent.
    pub min: usize,
    /// Most children of each parent.
    pub max: usize,
}

/// One column's rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnProfile {
    /// The column's name.
    pub name: String,
    /// Line of its key.
    pub line: usize,
    /// What to generate.
    pub rule: ColumnRule,
    /// Share of NULLs (nullable columns only).
    pub null_ratio: Option<f64>,
}

/// A scalar from a profile: converted to the column's type when used.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string: the value's text form (a date, a JSON document, a label).
    Text(String),
}

/// What a column rule generates.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnRule {
    /// The generator's own guess (only `null_ratio` is set).
    Auto,
    /// One of these values, with optional weights.
    Values {
        /// The values.
        values: Vec<Scalar>,
        /// Their weights (same length), or all equal.
        weights: Vec<f64>,
    },
    /// A number, date or timestamp in `[lo, hi]`.
    Range {
        /// Lower end (inclusive).
        lo: Scalar,
        /// Upper end (inclusive).
        hi: Scalar,
    },
    /// A named `fake` generator.
    Fake(String),
    /// An SQL expression the server evaluates per row; it may name the
    /// row's other generated columns.
    Sql(String),
    /// Not written: the column's default applies.
    Default,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            path: PathBuf::from("<built-in>"),
            seed: None,
            now: None,
            default_rows: 10,
            unlisted: Unlisted::Filled,
            null_ratio: 0.1,
            on_limit: OnLimit::Error,
            tables: Vec::new(),
            section: super::error::RulesSection::Profile,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    seed: Option<u64>,
    now: Option<Spanned<String>>,
    default_rows: Option<Spanned<usize>>,
    null_ratio: Option<Spanned<f64>>,
    on_limit: Option<Spanned<String>>,
    #[serde(default)]
    tables: BTreeMap<Spanned<String>, RawTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTable {
    rows: Option<Spanned<usize>>,
    #[serde(default)]
    per_parent: BTreeMap<Spanned<String>, [usize; 2]>,
    distribution: Option<Spanned<String>>,
    root_ratio: Option<Spanned<f64>>,
    #[serde(default)]
    assume_checks: Vec<Spanned<String>>,
    #[serde(default)]
    columns: BTreeMap<Spanned<String>, RawColumn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    values: Option<Vec<toml::Value>>,
    weights: Option<Vec<f64>>,
    range: Option<[toml::Value; 2]>,
    fake: Option<Spanned<String>>,
    sql: Option<String>,
    default: Option<bool>,
    null_ratio: Option<Spanned<f64>>,
}

/// The most rows a profile may ask of one table: the generator holds a
/// data set in memory (streaming into the load is future work), and a
/// typo such as `rows = 10000000000` must be an error naming the line, not
/// an allocation failure.
pub const MAX_ROWS_PER_TABLE: usize = 10_000_000;

/// The most children `per_parent` may ask for per parent row.
const MAX_PER_PARENT: usize = 100_000;

/// `rows` within [`MAX_ROWS_PER_TABLE`], or the line and message of why
/// not.
fn bounded_rows(rows: &Spanned<usize>, text: &str, what: &str) -> Result<usize, (usize, String)> {
    let n = *rows.get_ref();
    if n > MAX_ROWS_PER_TABLE {
        return Err((
            line_of(text, rows.span().start),
            format!("{what} = {n}: at most {MAX_ROWS_PER_TABLE} rows per table"),
        ));
    }
    Ok(n)
}

/// A share between 0 and 1, or the line and message of why not.
fn ratio(r: &Spanned<f64>, what: &str, text: &str, path: &Path) -> Result<f64, GenerateError> {
    let v = *r.get_ref();
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(GenerateError::Profile {
            file: path.to_path_buf(),
            line: line_of(text, r.span().start),
            message: format!("{what} must be between 0 and 1, not {v}"),
        })
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Profile {
    /// The profile for an earlier version of the schema it was written for
    /// (`impact` seeds each migration's previous version): tables, columns,
    /// foreign keys and checks the schema does not have yet are left out.
    pub fn restricted_to(&self, schema: &crate::schema::SchemaSnapshot) -> Profile {
        use crate::schema::ConstraintKind;
        let mut out = self.clone();
        out.tables.retain_mut(|tp| {
            let Some(name) = super::plan::resolve_table(schema, &tp.name) else {
                return false;
            };
            let Some(table) = schema.tables.get(&name) else {
                return false;
            };
            tp.columns
                .retain(|c| table.columns.iter().any(|col| col.name == c.name));
            tp.per_parent.retain(|pp| {
                table.constraints.iter().any(|c| {
                    c.kind == ConstraintKind::ForeignKey
                        && (c.name == pp.key || c.columns.contains(&pp.key))
                })
            });
            tp.assume_checks.retain(|(check, _)| {
                table
                    .constraints
                    .iter()
                    .any(|c| c.kind == ConstraintKind::Check && &c.name == check)
            });
            true
        });
        out
    }

    /// Reads and parses the profile at `path`.
    pub fn load(path: &Path) -> Result<Profile, GenerateError> {
        let text =
            crate::config::read_text_file(path).map_err(|source| GenerateError::ProfileIo {
                file: path.to_path_buf(),
                source,
            })?;
        Profile::parse(&text, path)
    }

    /// Parses profile text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Profile, GenerateError> {
        let err = |line: usize, message: String| GenerateError::Profile {
            file: path.to_path_buf(),
            line,
            message,
        };
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            err(line, e.message().trim().to_string())
        })?;
        let mut profile = Profile {
            path: path.to_path_buf(),
            seed: raw.seed,
            ..Profile::default()
        };
        if let Some(now) = &raw.now {
            let parsed = DateTime::parse_from_rfc3339(now.get_ref()).map_err(|e| {
                err(
                    line_of(text, now.span().start),
                    format!(
                        "`now` must be an RFC 3339 timestamp such as 2025-01-01T00:00:00Z: {e}"
                    ),
                )
            })?;
            profile.now = Some(parsed.with_timezone(&Utc));
        }
        if let Some(rows) = &raw.default_rows {
            profile.default_rows =
                bounded_rows(rows, text, "default_rows").map_err(|(l, m)| err(l, m))?;
        }
        if let Some(r) = &raw.null_ratio {
            profile.null_ratio = ratio(r, "null_ratio", text, path)?;
        }
        if let Some(on_limit) = &raw.on_limit {
            profile.on_limit = match on_limit.get_ref().as_str() {
                "error" => OnLimit::Error,
                "cap" => OnLimit::Cap,
                other => {
                    return Err(err(
                        line_of(text, on_limit.span().start),
                        format!("on_limit must be \"error\" or \"cap\", not \"{other}\""),
                    ))
                }
            };
        }
        profile.tables = parse_tables(raw.tables, text, path)?;
        Ok(profile)
    }

    /// A profile made in code: `rows` per table, everything else default
    /// (what a property file's `[data] rows = {...}` becomes).
    ///
    /// ```
    /// let profile = pgharness::generate::Profile::with_rows([("cycle", 4), ("goal", 8)]);
    /// assert_eq!(profile.table("goal").and_then(|t| t.rows), Some(8));
    /// ```
    pub fn with_rows<'a>(rows: impl IntoIterator<Item = (&'a str, usize)>) -> Profile {
        let mut profile = Profile::default();
        for (name, n) in rows {
            profile.set_rows(name, n);
        }
        profile
    }

    /// Sets the row count of a table (adding it to the profile if needed).
    pub fn set_rows(&mut self, table: &str, rows: usize) {
        match self.tables.iter_mut().find(|t| t.name == table) {
            Some(t) => {
                t.rows = Some(rows);
                t.per_parent.clear();
            }
            None => self.tables.push(TableProfile {
                rows: Some(rows),
                ..TableProfile::named(table)
            }),
        }
    }

    /// The settings of `table` as the profile names it.
    pub fn table(&self, table: &str) -> Option<&TableProfile> {
        self.tables.iter().find(|t| t.name == table)
    }
}

fn scalar(v: &toml::Value) -> Result<Scalar, String> {
    Ok(match v {
        toml::Value::Boolean(b) => Scalar::Bool(*b),
        toml::Value::Integer(i) => Scalar::Int(*i),
        toml::Value::Float(f) => Scalar::Float(*f),
        toml::Value::String(s) => Scalar::Text(s.clone()),
        toml::Value::Datetime(d) => Scalar::Text(d.to_string()),
        toml::Value::Array(_) | toml::Value::Table(_) => {
            // A JSON value written as TOML: its JSON text.
            Scalar::Text(serde_json::to_string(v).map_err(|e| format!("value {v}: {e}"))?)
        }
    })
}

/// The `[tables.<name>]` of a profile, or a property file's `[data.tables.<name>]`
/// (one format, one reader); `text` and `path` locate errors.
pub(crate) fn parse_tables(
    raw: BTreeMap<Spanned<String>, RawTable>,
    text: &str,
    path: &Path,
) -> Result<Vec<TableProfile>, GenerateError> {
    let err = |line: usize, message: String| GenerateError::Profile {
        file: path.to_path_buf(),
        line,
        message,
    };
    let ratio = |r: &Spanned<f64>, what: &str| ratio(r, what, text, path);
    let mut out = Vec::new();
    // File order, so that messages and generation follow the text.
    let mut tables: Vec<(Spanned<String>, RawTable)> = raw.into_iter().collect();
    tables.sort_by_key(|(k, _)| k.span().start);
    for (key, t) in tables {
        let line = line_of(text, key.span().start);
        let name = key.get_ref().clone();
        let rows = match &t.rows {
            Some(r) => Some(
                bounded_rows(r, text, &format!("table `{name}`: rows"))
                    .map_err(|(l, m)| err(l, m))?,
            ),
            None => None,
        };
        if t.rows.is_some() && !t.per_parent.is_empty() {
            return Err(err(
                line,
                format!("table `{name}`: give `rows` or `per_parent`, not both"),
            ));
        }
        let mut per_parent = Vec::new();
        let mut pp: Vec<(Spanned<String>, [usize; 2])> = t.per_parent.into_iter().collect();
        pp.sort_by_key(|(k, _)| k.span().start);
        for (k, [min, max]) in pp {
            let kline = line_of(text, k.span().start);
            if max > MAX_PER_PARENT {
                return Err(err(
                    kline,
                    format!(
                        "table `{name}`: per_parent `{}` = [{min}, {max}]: at most {MAX_PER_PARENT} rows per parent",
                        k.get_ref()
                    ),
                ));
            }
            if min > max {
                return Err(err(
                    kline,
                    format!(
                        "table `{name}`: per_parent `{}` = [{min}, {max}]: min is above max",
                        k.get_ref()
                    ),
                ));
            }
            per_parent.push(PerParent {
                key: k.get_ref().clone(),
                line: kline,
                min,
                max,
            });
        }
        let distribution = match t.distribution.as_ref().map(|d| d.get_ref().as_str()) {
            None | Some("uniform") => Distribution::Uniform,
            Some("skewed") => Distribution::Skewed,
            Some(other) => {
                let l = t
                    .distribution
                    .as_ref()
                    .map(|d| line_of(text, d.span().start))
                    .unwrap_or(line);
                return Err(err(
                    l,
                    format!("distribution must be \"uniform\" or \"skewed\", not \"{other}\""),
                ));
            }
        };
        let root_ratio = match &t.root_ratio {
            Some(r) => Some(ratio(r, "root_ratio")?),
            None => None,
        };
        let mut columns = Vec::new();
        let mut cols: Vec<(Spanned<String>, RawColumn)> = t.columns.into_iter().collect();
        cols.sort_by_key(|(k, _)| k.span().start);
        for (ckey, c) in cols {
            let cline = line_of(text, ckey.span().start);
            let cname = ckey.get_ref().clone();
            let cerr = |m: String| err(cline, format!("column `{name}.{cname}`: {m}"));
            let kinds = [
                c.values.is_some(),
                c.range.is_some(),
                c.fake.is_some(),
                c.sql.is_some(),
                c.default == Some(true),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if kinds > 1 {
                return Err(cerr(
                    "give at most one of `values`, `range`, `fake`, `sql`, `default`".into(),
                ));
            }
            if c.weights.is_some() && c.values.is_none() {
                return Err(cerr("`weights` needs `values`".into()));
            }
            let rule = if let Some(values) = c.values {
                if values.is_empty() {
                    return Err(cerr("`values` is empty".into()));
                }
                let values = values
                    .iter()
                    .map(scalar)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(cerr)?;
                let weights = c.weights.unwrap_or_else(|| vec![1.0; values.len()]);
                if weights.len() != values.len() {
                    return Err(cerr(format!(
                        "{} weights for {} values",
                        weights.len(),
                        values.len()
                    )));
                }
                if weights.iter().any(|w| *w < 0.0 || !w.is_finite())
                    || weights.iter().all(|w| *w == 0.0)
                {
                    return Err(cerr("weights must be non-negative and not all zero".into()));
                }
                ColumnRule::Values { values, weights }
            } else if let Some([lo, hi]) = c.range {
                ColumnRule::Range {
                    lo: scalar(&lo).map_err(cerr)?,
                    hi: scalar(&hi).map_err(cerr)?,
                }
            } else if let Some(f) = c.fake {
                if fake_by_name(f.get_ref()).is_none() {
                    let names: Vec<&str> = super::realistic::FAKE_NAMES
                        .iter()
                        .map(|(n, _)| *n)
                        .collect();
                    return Err(err(
                        line_of(text, f.span().start),
                        format!(
                            "column `{name}.{cname}`: unknown fake generator `{}`; known: {}",
                            f.get_ref(),
                            names.join(", ")
                        ),
                    ));
                }
                ColumnRule::Fake(f.get_ref().clone())
            } else if let Some(sql) = c.sql {
                ColumnRule::Sql(sql)
            } else if c.default == Some(true) {
                ColumnRule::Default
            } else {
                ColumnRule::Auto
            };
            let null_ratio = match &c.null_ratio {
                Some(r) => Some(ratio(r, "null_ratio")?),
                None => None,
            };
            columns.push(ColumnProfile {
                name: cname,
                line: cline,
                rule,
                null_ratio,
            });
        }
        out.push(TableProfile {
            name,
            line,
            file: None,
            rows,
            per_parent,
            distribution,
            root_ratio,
            assume_checks: t
                .assume_checks
                .iter()
                .map(|c| (c.get_ref().clone(), line_of(text, c.span().start)))
                .collect(),
            columns,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_locates_errors() {
        let text = "seed = 7\n\n[tables.goal]\nrows = 5\n\n[tables.goal.columns.kind]\nvalues = [\"career\", \"health\"]\nweights = [1, 3]\n";
        let p = Profile::parse(text, Path::new("x.toml")).unwrap();
        assert_eq!(p.seed, Some(7));
        assert_eq!(p.tables[0].line, 3);
        assert_eq!(p.tables[0].columns[0].line, 6);
        let e = Profile::parse("[tables.goal]\nrowz = 5\n", Path::new("y.toml")).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("y.toml:2"), "{m}");
        assert!(m.contains("rowz"), "{m}");
        let e = Profile::parse(
            "[tables.goal.columns.kind]\nfake = \"nope\"\n",
            Path::new("z.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("z.toml:2"), "{e}");
    }
}
