//! Property files: the rules a schema is supposed to enforce, stated in
//! `properties/*.toml` (DESIGN.md, "Property files"), read and checked for
//! what can be checked without a server. `cases` runs them.
//!
//! ```toml
//! name = "at most one goal of each kind per cycle"
//!
//! [data]                      # rows to generate per table
//! rows = { cycle = 4, goal = 8 }
//! # profile = "../seeds/dev.toml"   # optional: a seed profile to start from
//!
//! # optional: per-table rules in the seed profiles' format
//! # [data.tables.goal.columns.title]
//! # values = ["a", "b"]
//!
//! [[check]]
//! expect = "reject"           # reject | accept | hold | preserve
//! for_each = "select cycle_id, kind from goal"
//! sql = "insert into goal (cycle_id, kind, title) values ($1, $2, 'again')"
//! sqlstate = "23505"
//! role = "app_user"                         # optional: SET ROLE for `sql`
//! settings = { "app.user_id" = "$1" }       # optional: set_config, $n allowed
//! ```
//!
//! Preservation (`at = "<version>"`, `then = "head"` at the top level, and
//! checks with `expect = "preserve"`, `before` and `after` queries): data
//! generated at that version, `before` run, the chain migrated to head,
//! `after` run, and the two results must be equal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::race::Race;
use crate::generate::Profile;
use crate::Error;

/// What a check expects of its statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// The statement fails (with `sqlstate` when given).
    Reject,
    /// The statement succeeds.
    Accept,
    /// The statement returns one boolean, true.
    Hold,
    /// `before` at the property's version equals `after` at head.
    Preserve,
}

impl Expect {
    fn name(self) -> &'static str {
        match self {
            Expect::Reject => "reject",
            Expect::Accept => "accept",
            Expect::Hold => "hold",
            Expect::Preserve => "preserve",
        }
    }
}

/// One `[[check]]` of a property file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// 1-based position in the file.
    pub number: usize,
    /// The line of the file the check starts on.
    pub line: usize,
    /// What is expected.
    pub expect: Expect,
    /// Rows to run `sql` for, bound as `$1..$n`; without it, `sql` runs
    /// once per case.
    pub for_each: Option<String>,
    /// The statement under test.
    pub sql: String,
    /// The SQLSTATE a `reject` must fail with.
    pub sqlstate: Option<String>,
    /// Role to `SET ROLE` to for `sql`.
    pub role: Option<String>,
    /// Settings to `set_config` (transaction-local) for `sql`.
    pub settings: BTreeMap<String, String>,
    /// `preserve`: the query at the property's version.
    pub before: Option<String>,
    /// `preserve`: the query at head.
    pub after: Option<String>,
}

impl Check {
    /// `check 2 (reject)`.
    pub fn label(&self) -> String {
        format!("check {} ({})", self.number, self.expect.name())
    }
}

/// A parsed property file.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyFile {
    /// The file.
    pub path: PathBuf,
    /// The file stem: the property is reported as `property:<stem>`.
    pub stem: String,
    /// The rule, in words.
    pub name: String,
    /// Rows to generate per table (`[data] rows`).
    pub rows: BTreeMap<String, usize>,
    /// What the generator is given: `[data] profile` (a seed profile), its
    /// tables replaced by `[data.tables.<name>]`, then `rows` on top.
    pub profile: Profile,
    /// The version the data is generated at (default: head).
    pub at: Option<String>,
    /// The version `preserve` checks migrate to (only `head`).
    pub then: Option<String>,
    /// The checks, in file order.
    pub checks: Vec<Check>,
    /// The races, in file order.
    pub races: Vec<Race>,
}

impl PropertyFile {
    /// `property:<stem>`.
    pub fn property(&self) -> String {
        format!("property:{}", self.stem)
    }

    /// Where failing cases are persisted and replayed from (proptest's
    /// regression file format).
    pub fn regressions_path(&self) -> PathBuf {
        self.path.with_extension("proptest-regressions")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    #[serde(default)]
    data: Option<RawData>,
    at: Option<String>,
    then: Option<String>,
    #[serde(default)]
    check: Vec<toml::Spanned<RawCheck>>,
    #[serde(default)]
    race: Vec<toml::Spanned<super::race::RawRace>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    #[serde(default)]
    rows: BTreeMap<String, toml::Spanned<usize>>,
    /// A seed profile to start from, relative to the property file.
    profile: Option<toml::Spanned<String>>,
    /// Rows for every table the file does not list (by default only the
    /// tables the listed ones reference get rows).
    default_rows: Option<toml::Spanned<usize>>,
    /// Per-table rules in the seed profiles' format.
    #[serde(default)]
    tables: BTreeMap<toml::Spanned<String>, crate::generate::profile::RawTable>,
}

/// The most rows a property file may generate per table: every case loads
/// its data set, and a case is meant to be small (shrinking makes it
/// smaller still).
pub const MAX_ROWS_PER_TABLE: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    expect: Expect,
    for_each: Option<String>,
    sql: Option<String>,
    sqlstate: Option<String>,
    role: Option<String>,
    #[serde(default)]
    settings: BTreeMap<String, String>,
    before: Option<String>,
    after: Option<String>,
}

/// Reads every `*.toml` in `dir`, in name order. A missing directory holds
/// no properties.
pub fn load_dir(dir: &Path) -> Result<Vec<PropertyFile>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Input(format!(
                "{}: cannot read the properties directory: {e}",
                dir.display()
            )))
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load(p)).collect()
}

/// Reads one property file.
pub fn load(path: &Path) -> Result<PropertyFile, Error> {
    let text = crate::config::read_text_file(path)
        .map_err(|e| Error::Input(format!("{}: cannot read: {e}", path.display())))?;
    parse(&text, path)
}

/// Parses property file text as if read from `path`. Errors name the file,
/// the line and the key.
pub fn parse(text: &str, path: &Path) -> Result<PropertyFile, Error> {
    let at_line = |offset: usize| crate::statement::line_col(text, offset).0;
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let (line, col) = e
            .span()
            .map_or((1, 1), |s| crate::statement::line_col(text, s.start));
        Error::Input(format!(
            "{}:{line}:{col}: {}",
            path.display(),
            e.message().trim()
        ))
    })?;
    let invalid = |line: usize, message: String| {
        Error::Input(format!("{}:{line}: {message}", path.display()))
    };
    if raw.check.is_empty() && raw.race.is_empty() {
        return Err(invalid(
            1,
            "no [[check]] or [[race]] in the file: a property needs at least one".into(),
        ));
    }
    if let Some(then) = &raw.then {
        if then != "head" {
            return Err(invalid(
                1,
                format!("then = \"{then}\": only \"head\" is supported"),
            ));
        }
    }
    let data = raw.data.unwrap_or(RawData {
        rows: BTreeMap::new(),
        profile: None,
        default_rows: None,
        tables: BTreeMap::new(),
    });
    let mut rows = BTreeMap::new();
    let mut row_lines = BTreeMap::new();
    for (table, n) in data.rows {
        row_lines.insert(table.clone(), at_line(n.span().start));
        if *n.get_ref() > MAX_ROWS_PER_TABLE {
            return Err(invalid(
                at_line(n.span().start),
                format!(
                    "[data] rows for `{table}` = {}: at most {MAX_ROWS_PER_TABLE} rows per table in a property case",
                    n.get_ref()
                ),
            ));
        }
        rows.insert(table, n.into_inner());
    }
    let seed_profile_line = data.profile.as_ref().map(|p| at_line(p.span().start));
    let mut profile = data_profile(
        data.profile,
        data.tables,
        &rows,
        &row_lines,
        text,
        path,
        &invalid,
    )?;
    match data.default_rows {
        Some(n) => {
            let line = at_line(n.span().start);
            let n = n.into_inner();
            if n > MAX_ROWS_PER_TABLE {
                return Err(invalid(
                    line,
                    format!("[data] default_rows = {n}: at most {MAX_ROWS_PER_TABLE} rows per table in a property case"),
                ));
            }
            profile.default_rows = n;
            profile.unlisted = crate::generate::Unlisted::Filled;
        }
        // A seed profile sized for a development database is too big for
        // a property case (unless the file says otherwise, above).
        None if seed_profile_line.is_some() && profile.default_rows > MAX_ROWS_PER_TABLE => {
            return Err(invalid(
                seed_profile_line.unwrap_or(1),
                format!(
                    "[data] profile: {}: default_rows = {}: at most {MAX_ROWS_PER_TABLE} rows per table in a property case",
                    profile.path.display(),
                    profile.default_rows
                ),
            ));
        }
        // A file that names its tables gets those, and the parents their
        // rows need: a case loads what its rule reads.
        None if seed_profile_line.is_none() && !profile.tables.is_empty() => {
            profile.unlisted = crate::generate::Unlisted::Referenced;
        }
        None => {}
    }
    let mut checks = Vec::new();
    for (i, spanned) in raw.check.into_iter().enumerate() {
        let line = at_line(spanned.span().start);
        let c = spanned.into_inner();
        let number = i + 1;
        let need = |field: &str, value: &Option<String>| -> Result<(), Error> {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                return Err(invalid(
                    line,
                    format!(
                        "check {number} (expect = \"{}\") needs `{field}`",
                        c.expect.name()
                    ),
                ));
            }
            Ok(())
        };
        match c.expect {
            Expect::Preserve => {
                need("before", &c.before)?;
                need("after", &c.after)?;
                if raw.at.is_none() {
                    return Err(invalid(line, format!("check {number} (expect = \"preserve\") needs `at = \"<version>\"` at the top of the file")));
                }
            }
            _ => {
                need("sql", &c.sql)?;
                for (field, value) in [("before", &c.before), ("after", &c.after)] {
                    if value.is_some() {
                        return Err(invalid(
                            line,
                            format!(
                                "check {number}: `{field}` only goes with expect = \"preserve\""
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(state) = &c.sqlstate {
            if c.expect != Expect::Reject {
                return Err(invalid(
                    line,
                    format!("check {number}: `sqlstate` only goes with expect = \"reject\""),
                ));
            }
            if state.len() != 5
                || !state
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                return Err(invalid(
                    line,
                    format!("check {number}: sqlstate \"{state}\" is not a 5-character SQLSTATE"),
                ));
            }
        }
        checks.push(Check {
            number,
            line,
            expect: c.expect,
            for_each: c.for_each,
            sql: c.sql.unwrap_or_default(),
            sqlstate: c.sqlstate,
            role: c.role,
            settings: c.settings,
            before: c.before,
            after: c.after,
        });
    }
    let mut races = Vec::new();
    for (i, spanned) in raw.race.into_iter().enumerate() {
        let line = at_line(spanned.span().start);
        races.push(super::race::parse(
            spanned.into_inner(),
            i + 1,
            line,
            &invalid,
        )?);
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(PropertyFile {
        path: path.to_path_buf(),
        stem,
        name: raw.name,
        rows,
        profile,
        at: raw.at,
        then: raw.then,
        checks,
        races,
    })
}

/// The generator's profile of a property file: the seed profile `[data]
/// profile` names (relative to the file), its tables replaced by the
/// file's `[data.tables.<name>]`, then `[data] rows` on top.
fn data_profile(
    base: Option<toml::Spanned<String>>,
    tables: BTreeMap<toml::Spanned<String>, crate::generate::profile::RawTable>,
    rows: &BTreeMap<String, usize>,
    row_lines: &BTreeMap<String, usize>,
    text: &str,
    path: &Path,
    invalid: &dyn Fn(usize, String) -> Error,
) -> Result<Profile, Error> {
    let at_line = |offset: usize| crate::statement::line_col(text, offset).0;
    let mut profile = match &base {
        Some(name) => {
            let file = path.parent().unwrap_or(Path::new(".")).join(name.get_ref());
            Profile::load(&file)
                .map_err(|e| invalid(at_line(name.span().start), format!("[data] profile: {e}")))?
        }
        None => Profile::default(),
    };
    if base.is_none() {
        profile.path = path.to_path_buf();
    }
    profile.section = crate::generate::RulesSection::PropertyFile;
    let mut own = crate::generate::profile::parse_tables(tables, text, path)
        .map_err(|e| Error::Input(e.to_string()))?;
    for table in &mut own {
        table.file = Some(path.to_path_buf());
    }
    // `person`, `"person"` and `public.person` name one table.
    let key = |name: &str| {
        let name = name.trim_matches('"');
        name.strip_prefix("public.").unwrap_or(name).to_string()
    };
    for (i, table) in own.iter().enumerate() {
        if let Some(earlier) = own[..i].iter().find(|t| key(&t.name) == key(&table.name)) {
            return Err(invalid(
                table.line,
                format!(
                    "table `{}` is the same table as `{}` (line {}): give its settings once",
                    table.name, earlier.name, earlier.line
                ),
            ));
        }
    }
    for table in own {
        match profile
            .tables
            .iter_mut()
            .find(|t| key(&t.name) == key(&table.name))
        {
            Some(t) => *t = table,
            None => profile.tables.push(table),
        }
    }
    for (table, n) in rows {
        let name = profile
            .tables
            .iter()
            .find(|t| key(&t.name) == key(table))
            .map_or_else(|| table.clone(), |t| t.name.clone());
        profile.set_rows(&name, *n);
        // A table only `rows` names is located at its entry there.
        if let Some(t) = profile
            .tables
            .iter_mut()
            .find(|t| t.name == name && t.line == 0)
        {
            t.line = row_lines.get(table).copied().unwrap_or(1);
            t.file = Some(path.to_path_buf());
        }
    }
    // A seed profile sized for a development database is too big for a
    // property case: said at the line of what asks for the rows.
    let too_big = |n: usize| n > MAX_ROWS_PER_TABLE;
    let limit = format!("at most {MAX_ROWS_PER_TABLE} rows per table in a property case");
    for t in &profile.tables {
        let Some(n) = t.rows.filter(|n| too_big(*n)) else {
            continue;
        };
        return Err(match (&t.file, &base) {
            (None, Some(name)) => invalid(
                at_line(name.span().start),
                format!(
                    "[data] profile: {}: table `{}`: rows = {n}: {limit} (give it fewer in [data.tables] or `rows`)",
                    profile.path.display(),
                    t.name
                ),
            ),
            _ => invalid(
                t.line.max(1),
                format!("[data] table `{}`: rows = {n}: {limit}", t.name),
            ),
        });
    }
    Ok(profile)
}

/// A `for_each` value as the literal that stands for it: quoted text
/// (its type is the one its place asks for), or `NULL`.
pub fn value_literal(value: Option<&str>) -> String {
    match value {
        None => "NULL".to_string(),
        Some(v) => format!("'{}'", v.replace('\'', "''")),
    }
}

/// Replaces `$1..$n` outside quotes and comments with the row's values as
/// SQL literals (`'text'` or `NULL`), so that Postgres infers their types
/// from the context, as with psql variables.
pub fn bind_literals(sql: &str, row: &[Option<String>]) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for (start, end) in crate::statement::parameters(sql) {
        let n: usize = sql[start + 1..end]
            .parse()
            .map_err(|_| format!("bad parameter {}", &sql[start..end]))?;
        let value = row
            .get(n.wrapping_sub(1))
            .ok_or_else(|| format!("${n} used, but `for_each` gives {} column(s)", row.len()))?;
        out.push_str(&sql[last..start]);
        out.push_str(&value_literal(value.as_deref()));
        last = end;
    }
    out.push_str(&sql[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_design_example() {
        let text = r#"
name = "at most one goal of each kind per cycle"

[data]
rows = { cycle = 4, goal = 8 }

[[check]]
expect = "reject"
for_each = "select cycle_id, kind from goal"
sql = "insert into goal (cycle_id, kind, title) values ($1, $2, 'again')"
sqlstate = "23505"
"#;
        let f = parse(text, Path::new("properties/goal_unique.toml")).unwrap();
        assert_eq!(f.property(), "property:goal_unique");
        assert_eq!(f.rows.get("goal"), Some(&8));
        assert_eq!(f.checks.len(), 1);
        assert_eq!(f.checks[0].line, 7);
        assert_eq!(f.checks[0].sqlstate.as_deref(), Some("23505"));
        assert_eq!(
            f.regressions_path(),
            Path::new("properties/goal_unique.proptest-regressions")
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = "name = \"x\"\n\n[[check]]\nexpect = \"reject\"\nsqll = \"select 1\"\n";
        let err = parse(text, Path::new("p/x.toml")).unwrap_err().to_string();
        assert!(
            err.starts_with("p/x.toml:5:1: unknown field `sqll`"),
            "{err}"
        );
        let text = "name = \"x\"\n\n[[check]]\nexpect = \"rejct\"\nsql = \"select 1\"\n";
        let err = parse(text, Path::new("p/x.toml")).unwrap_err().to_string();
        assert!(
            err.starts_with("p/x.toml:4:10: unknown variant `rejct`"),
            "{err}"
        );
        let text = "name = \"x\"\n[[check]]\nexpect = \"hold\"\n";
        let err = parse(text, Path::new("p/x.toml")).unwrap_err().to_string();
        assert_eq!(err, "p/x.toml:2: check 1 (expect = \"hold\") needs `sql`");
    }

    #[test]
    fn literals_are_bound_outside_quotes() {
        let row = vec![Some("3".to_string()), None, Some("it's".to_string())];
        assert_eq!(
            bind_literals("select $1, '$2', $3 -- $2\n, $2", &row).unwrap(),
            "select '3', '$2', 'it''s' -- $2\n, NULL"
        );
        assert!(bind_literals("select $4", &row)
            .unwrap_err()
            .contains("3 column(s)"));
    }
}
