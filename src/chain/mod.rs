//! Discovering a migration chain from a directory, in the layouts of the
//! common tools (sqlx / golang-migrate, diesel, dbmate, Flyway, Supabase).
//!
//! Discovery is pure file-system work: it reads files, orders them with each
//! tool's own rules and turns every mistake a person can make in such a
//! directory into a [`ChainError`] that names the files involved.

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub mod bookkeeping;
pub mod intent;
mod layouts;

/// A directory layout of migration files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `<version>_<name>.up.sql` + `.down.sql`, or `<version>_<name>.sql`.
    Sqlx,
    /// `<version>_<name>/up.sql` + `down.sql`.
    Diesel,
    /// `<version>_<name>.sql` with `-- migrate:up` / `-- migrate:down`.
    Dbmate,
    /// `V<version>__<name>.sql` and `U<version>__<name>.sql`.
    Flyway,
    /// `supabase/migrations/<timestamp>_<name>.sql`, up only.
    Supabase,
}

impl Layout {
    /// All layouts, in the order `auto` detection reports them.
    pub const ALL: [Layout; 5] = [
        Layout::Sqlx,
        Layout::Diesel,
        Layout::Dbmate,
        Layout::Flyway,
        Layout::Supabase,
    ];

    /// The layout's name as used on the command line and in the config.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Sqlx => "sqlx",
            Layout::Diesel => "diesel",
            Layout::Dbmate => "dbmate",
            Layout::Flyway => "flyway",
            Layout::Supabase => "supabase",
        }
    }

    /// How a migration of this layout says "do not wrap me in a transaction".
    pub fn no_transaction_marker(self) -> &'static str {
        match self {
            Layout::Sqlx => "a first line `-- no-transaction`",
            Layout::Supabase => "nothing: the Supabase CLI runs each file in one transaction, so move the statement to a migration applied another way",
            Layout::Diesel => "`run_in_transaction = false` in the folder's metadata.toml",
            Layout::Dbmate => "`-- migrate:up transaction:false`",
            Layout::Flyway => "`executeInTransaction=false` in `<script>.sql.conf`",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A layout choice: one layout, or detection from the directory's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayoutChoice {
    /// Detect the layout; a mixed or ambiguous directory is an error.
    #[default]
    Auto,
    /// Use this layout.
    Fixed(Layout),
}

impl FromStr for LayoutChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(LayoutChoice::Auto);
        }
        Layout::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .map(LayoutChoice::Fixed)
            .ok_or_else(|| {
                format!("unknown layout `{s}` (expected auto, sqlx, diesel, dbmate, flyway or supabase)")
            })
    }
}

/// One SQL script of a migration (its up or its down).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The file the script comes from.
    pub path: PathBuf,
    /// The script's SQL.
    pub sql: String,
    /// Lines of the file before `sql` starts (dbmate sections), so that a
    /// position in `sql` maps back to a line of the file.
    pub line_offset: usize,
    /// Whether the script runs inside a transaction the harness opens.
    pub transaction: bool,
}

/// One migration of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The version as written (`0003`, `20240101120000`, `1.2`).
    pub version: String,
    /// The name part (`create_goals`).
    pub name: String,
    /// The up script.
    pub up: Script,
    /// The down script, if the layout and the author provide one.
    pub down: Option<Script>,
}

impl Migration {
    /// `<version>_<name>`: how reports name the migration.
    pub fn id(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }

    /// Whether `selector` names this migration: its version (numerically,
    /// so `3` matches `0003`), its id, or its name.
    pub fn matches(&self, selector: &str) -> bool {
        selector == self.id()
            || selector == self.name
            || compare_versions(selector, &self.version) == Ordering::Equal
    }
}

/// An ordered migration chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The directory it was discovered in.
    pub dir: PathBuf,
    /// The layout it is in.
    pub layout: Layout,
    /// The migrations, oldest first.
    pub migrations: Vec<Migration>,
    /// Entries of the directory that look like migrations but that the
    /// layout's tool skips (or `migrations.ignore` names), with the reason.
    pub ignored: Vec<Ignored>,
    /// Scripts the tool runs around migrations (Flyway callbacks).
    pub callbacks: Callbacks,
}

/// A directory entry the chain's tool would not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The file or folder.
    pub path: PathBuf,
    /// Why it is not a migration.
    pub reason: String,
}

/// Scripts a tool runs around migrations, each with its description (Flyway's
/// `beforeMigrate.sql`, `afterMigrate__grants.sql`, `beforeEachMigrate.sql`,
/// `afterEachMigrate.sql`), in the order the tool runs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Callbacks {
    /// Before the first migration of a run.
    pub before_migrate: Vec<(String, Script)>,
    /// After the last migration of a run.
    pub after_migrate: Vec<(String, Script)>,
    /// Before each migration.
    pub before_each: Vec<(String, Script)>,
    /// After each migration.
    pub after_each: Vec<(String, Script)>,
}

impl Callbacks {
    /// Whether no callback runs around each up or after a migrate run:
    /// ups can then run inside a transaction the caller holds.
    pub fn none_around_ups(&self) -> bool {
        self.before_each.is_empty() && self.after_each.is_empty() && self.after_migrate.is_empty()
    }

    /// Flyway runs the scripts of one event by description, the one
    /// without a description first.
    fn sort(&mut self) {
        for list in [
            &mut self.before_migrate,
            &mut self.after_migrate,
            &mut self.before_each,
            &mut self.after_each,
        ] {
            list.sort_by(|a, b| a.0.cmp(&b.0));
        }
    }
}

impl Chain {
    /// Index (0-based) of the migration `selector` names; see
    /// [`Migration::matches`].
    pub fn position(&self, selector: &str) -> Option<usize> {
        self.migrations.iter().position(|m| m.matches(selector))
    }
}

/// Why a directory is not a usable chain. Every message names the files.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("{dir}: migrations directory not found")]
    MissingDir { dir: PathBuf },
    #[error("{dir}: not a directory")]
    NotADir { dir: PathBuf },
    #[error("{dir}: no migrations found (expected files like 0001_init.up.sql, V1__init.sql or 0001_init/up.sql){skipped}")]
    Empty {
        dir: PathBuf,
        /// `; not a migration: <name> (<why>)` for what looks like one.
        skipped: String,
    },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: file is not valid UTF-8")]
    NotUtf8 { path: PathBuf, line: usize },
    #[error("duplicate migration version {version}: {first} and {second}")]
    DuplicateVersion {
        version: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{path}: down migration without an up migration (expected {expected})")]
    DownWithoutUp { path: PathBuf, expected: String },
    #[error("{dir}: mixed migration layouts: {first} ({first_layout}) and {second} ({second_layout}); choose one or set --layout")]
    Mixed {
        dir: PathBuf,
        first: PathBuf,
        first_layout: Layout,
        second: PathBuf,
        second_layout: Layout,
    },
    #[error("{path}: the migration is empty{}", if *.bytes == 0 { " (0 bytes)" } else { " (only whitespace)" })]
    EmptyUp { path: PathBuf, bytes: usize },
    #[error("{path}: dbmate migration without a `-- migrate:up` line")]
    DbmateWithoutUp { path: PathBuf },
    /// `line` 0: about the file as a whole.
    #[error("{path}{}: {message}", if *.line == 0 { String::new() } else { format!(":{}", .line) })]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: not a {layout} migration file name (expected {expected})")]
    BadName {
        path: PathBuf,
        layout: Layout,
        expected: &'static str,
    },
}

/// Discovers the chain in `dir`.
///
/// ```no_run
/// use pgharness::chain::{discover, LayoutChoice};
/// let chain = discover("migrations".as_ref(), LayoutChoice::Auto)?;
/// println!("{} migrations in {} layout", chain.migrations.len(), chain.layout);
/// # Ok::<(), pgharness::chain::ChainError>(())
/// ```
pub fn discover(dir: &Path, layout: LayoutChoice) -> Result<Chain, ChainError> {
    discover_ignoring(dir, layout, &[])
}

/// Discovers the chain in `dir`, leaving out the entries whose path relative
/// to the directory matches one of `ignore`'s globs (`migrations.ignore`:
/// what the tool is configured to skip).
pub fn discover_ignoring(
    dir: &Path,
    layout: LayoutChoice,
    ignore: &[String],
) -> Result<Chain, ChainError> {
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in ignore {
        let glob = globset::Glob::new(pattern).map_err(|e| ChainError::Invalid {
            path: dir.to_path_buf(),
            line: 0,
            message: format!("migrations.ignore: bad glob `{pattern}`: {e}"),
        })?;
        builder.add(glob);
    }
    let globs = builder.build().map_err(|e| ChainError::Invalid {
        path: dir.to_path_buf(),
        line: 0,
        message: format!("migrations.ignore: {e}"),
    })?;
    let dir_meta = std::fs::metadata(dir).map_err(|_| ChainError::MissingDir {
        dir: dir.to_path_buf(),
    })?;
    if !dir_meta.is_dir() {
        return Err(ChainError::NotADir {
            dir: dir.to_path_buf(),
        });
    }
    // A Supabase project root: the migrations live in supabase/migrations.
    let supabase_root = dir.join("supabase").join("migrations");
    let (scan_dir, supabase_located) = if supabase_root.is_dir() {
        (supabase_root, true)
    } else {
        let located = dir.ends_with("supabase/migrations");
        (dir.to_path_buf(), located)
    };
    let mut entries = list_entries(&scan_dir)?;
    let mut ignored = Vec::new();
    entries.retain(|e| {
        let relative = e.path.strip_prefix(&scan_dir).unwrap_or(&e.path);
        let skip = globs.is_match(relative);
        if skip {
            ignored.push(Ignored {
                path: e.path.clone(),
                reason: "matches migrations.ignore".to_string(),
            });
        }
        !skip
    });
    let layout = match layout {
        LayoutChoice::Fixed(l) => l,
        LayoutChoice::Auto => detect(&scan_dir, &entries, supabase_located)?,
    };
    let found = match layout {
        Layout::Sqlx => layouts::sqlx(&scan_dir, &entries)?,
        Layout::Supabase => layouts::supabase(&scan_dir, &entries)?,
        Layout::Diesel => layouts::diesel(&scan_dir, &entries)?,
        Layout::Dbmate => layouts::dbmate(&scan_dir, &entries)?,
        Layout::Flyway => layouts::flyway(&scan_dir, &entries)?,
    };
    if found.migrations.is_empty() {
        let skipped = found
            .ignored
            .first()
            .map(|i| {
                let name = i.path.file_name().unwrap_or_default().to_string_lossy();
                format!("; not a migration: {name} ({})", i.reason)
            })
            .unwrap_or_default();
        return Err(ChainError::Empty {
            dir: scan_dir,
            skipped,
        });
    }
    ignored.extend(found.ignored);
    Ok(Chain {
        dir: scan_dir,
        layout,
        migrations: found.migrations,
        ignored,
        callbacks: found.callbacks,
    })
}

/// Orders two versions the way the tools do: digit runs compare as numbers
/// (`2` < `10`, `0003` = `3`), other characters as text, so Flyway's
/// `1.2` < `1.10` holds too.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (pa, pb) = (version_parts(a), version_parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let ord = match (x, y) {
            (VersionPart::Num(x), VersionPart::Num(y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            (VersionPart::Num(_), VersionPart::Text(_)) => Ordering::Less,
            (VersionPart::Text(_), VersionPart::Num(_)) => Ordering::Greater,
            (VersionPart::Text(x), VersionPart::Text(y)) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    pa.len().cmp(&pb.len())
}

enum VersionPart<'a> {
    Num(&'a str),
    Text(&'a str),
}

fn version_parts(v: &str) -> Vec<VersionPart<'_>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = v.as_bytes();
    while start < bytes.len() {
        let digit = bytes[start].is_ascii_digit();
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() == digit {
            end += 1;
        }
        let s = &v[start..end];
        parts.push(if digit {
            VersionPart::Num(s)
        } else {
            VersionPart::Text(s)
        });
        start = end;
    }
    parts
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    path: PathBuf,
    is_dir: bool,
    /// A regular file (not a FIFO, socket or device, which would hang a
    /// read).
    is_file: bool,
}

fn list_entries(dir: &Path) -> Result<Vec<Entry>, ChainError> {
    let io = |source| ChainError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(ChainError::Invalid {
                path,
                line: 0,
                message: "file name is not valid UTF-8".into(),
            });
        };
        if name.starts_with('.') {
            continue;
        }
        let meta = std::fs::metadata(&path).ok();
        let is_dir = meta.as_ref().is_some_and(std::fs::Metadata::is_dir);
        let is_file = meta.as_ref().is_some_and(std::fs::Metadata::is_file);
        // A FIFO, socket or device named like a script would block or
        // mislead every read: refuse it by name instead of opening it.
        if meta.is_some() && !is_dir && !is_file && name.to_ascii_lowercase().ends_with(".sql") {
            return Err(ChainError::Invalid {
                path,
                line: 0,
                message: "not a regular file (a FIFO, socket or device): it cannot be a migration"
                    .into(),
            });
        }
        entries.push(Entry {
            name,
            path,
            is_dir,
            is_file,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// The layouts a single directory entry could belong to.
fn entry_layouts(entry: &Entry) -> Vec<Layout> {
    if entry.is_dir {
        return if entry.path.join("up.sql").is_file() {
            vec![Layout::Diesel]
        } else {
            vec![]
        };
    }
    if !entry.is_file {
        return vec![];
    }
    let name = entry.name.as_str();
    if matches!(
        layouts::parse_flyway_name(name),
        Some(layouts::FlywayName::Versioned { .. } | layouts::FlywayName::Repeatable { .. })
    ) {
        return vec![Layout::Flyway];
    }
    if !name.ends_with(".sql") {
        return vec![];
    }
    if name.ends_with(".up.sql") || name.ends_with(".down.sql") {
        return vec![Layout::Sqlx];
    }
    if split_version_name(name.trim_end_matches(".sql")).is_some() {
        if file_has_dbmate_marker(&entry.path) {
            return vec![Layout::Dbmate];
        }
        return vec![Layout::Sqlx, Layout::Supabase];
    }
    if name.as_bytes()[0].is_ascii_digit() && file_has_dbmate_marker(&entry.path) {
        return vec![Layout::Dbmate];
    }
    vec![]
}

fn file_has_dbmate_marker(path: &Path) -> bool {
    if crate::config::ensure_regular_file(path).is_err() {
        return false;
    }
    std::fs::read(path)
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .lines()
                .any(|l| layouts::dbmate_marker(l).is_some())
        })
        .unwrap_or(false)
}

fn detect(dir: &Path, entries: &[Entry], supabase_located: bool) -> Result<Layout, ChainError> {
    // Plain `<version>_<name>.sql` files fit sqlx, Supabase and (as a broken
    // file) dbmate, so they decide nothing unless nothing else does.
    let mut decided: Option<(Layout, &Entry)> = None;
    let mut plain: Option<&Entry> = None;
    for entry in entries {
        let layouts = entry_layouts(entry);
        let layout = match layouts.as_slice() {
            [] => continue,
            [Layout::Sqlx, Layout::Supabase] => {
                plain.get_or_insert(entry);
                continue;
            }
            [one, ..] => *one,
        };
        match decided {
            None => decided = Some((layout, entry)),
            Some((l, _)) if l == layout => {}
            Some((l, first)) => return Err(mixed(dir, first, l, entry, layout)),
        }
    }
    let fallback = if supabase_located {
        Layout::Supabase
    } else {
        Layout::Sqlx
    };
    match (decided, plain) {
        (Some((l @ (Layout::Diesel | Layout::Flyway), first)), Some(p)) => {
            Err(mixed(dir, first, l, p, fallback))
        }
        (Some((l, _)), _) => Ok(l),
        (None, Some(_)) => Ok(fallback),
        (None, None) => Err(ChainError::Empty {
            dir: dir.to_path_buf(),
            skipped: entries
                .iter()
                .find(|e| {
                    e.name.as_bytes().first().is_some_and(u8::is_ascii_digit)
                        || e.name.to_ascii_lowercase().ends_with(".sql")
                        || e.name.starts_with(['V', 'R', 'U'])
                })
                .map(|e| format!("; {} is not named as any tool names a migration", e.name))
                .unwrap_or_default(),
        }),
    }
}

fn mixed(
    dir: &Path,
    first: &Entry,
    first_layout: Layout,
    second: &Entry,
    second_layout: Layout,
) -> ChainError {
    ChainError::Mixed {
        dir: dir.to_path_buf(),
        first: first.path.clone(),
        first_layout,
        second: second.path.clone(),
        second_layout,
    }
}

/// `0001_create_users` -> (`0001`, `create_users`); the version is a run of
/// digits (dashes allowed inside, as diesel's timestamps have).
fn split_version_name(stem: &str) -> Option<(&str, &str)> {
    let (version, name) = stem.split_once('_')?;
    let ok = !version.is_empty()
        && version.as_bytes()[0].is_ascii_digit()
        && version.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && !name.is_empty();
    ok.then_some((version, name))
}

fn read_text(path: &Path) -> Result<String, ChainError> {
    if let Err(e) = crate::config::ensure_regular_file(path) {
        if e.kind() == std::io::ErrorKind::InvalidInput {
            return Err(ChainError::Invalid {
                path: path.to_path_buf(),
                line: 0,
                message: format!("{e}: it cannot be a migration"),
            });
        }
    }
    let bytes = std::fs::read(path).map_err(|source| ChainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // A UTF-8 byte order mark (editors on Windows write one) is not SQL.
    let bytes = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        ChainError::NotUtf8 {
            path: path.to_path_buf(),
            line,
        }
    })
}

fn whole_file(path: &Path, transaction: bool) -> Result<Script, ChainError> {
    Ok(Script {
        path: path.to_path_buf(),
        sql: read_text(path)?,
        line_offset: 0,
        transaction,
    })
}

/// psql meta-commands the harness cannot run (`\\connect`, `\\i`, `\\copy`,
/// `\\gset`...) are an error naming the line; output-only ones (`\\echo`,
/// `\\set ON_ERROR_STOP`, pg_dump's `\\restrict`) are passed over as psql's
/// effect on the database is none.
fn check_meta_commands(script: &Script) -> Result<(), ChainError> {
    for stmt in crate::statement::split(&script.sql) {
        if stmt.meta && !stmt.is_harmless_meta() {
            let (line, _) = crate::statement::line_col(&script.sql, stmt.start);
            return Err(ChainError::Invalid {
                path: script.path.clone(),
                line: line + script.line_offset,
                message: format!(
                    "psql meta-command `{}` is not supported (only SQL, COPY ... FROM stdin data and output-only meta-commands such as \\echo run)",
                    stmt.text
                ),
            });
        }
    }
    Ok(())
}

fn sqlx_no_transaction(sql: &str) -> bool {
    sql.lines()
        .next()
        .is_some_and(|l| l.trim() == "-- no-transaction")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically() {
        let mut v = vec!["10", "2", "0001", "1.10", "1.2", "1.2.1"];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(v, vec!["0001", "1.2", "1.2.1", "1.10", "2", "10"]);
        assert_eq!(compare_versions("003", "3"), Ordering::Equal);
    }
}
