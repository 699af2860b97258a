//! Discovering a migration chain from a directory, in the layouts of the
//! common tools (sqlx / golang-migrate, diesel, dbmate, Flyway, Supabase).
//!
//! Discovery is pure file-system work: it reads files, orders them with each
//! tool's own rules and turns every mistake a person can make in such a
//! directory into a [`ChainError`] that names the files involved.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

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
            Layout::Sqlx | Layout::Supabase => "a first line `-- no-transaction`",
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
    #[error("{dir}: no migrations found (expected files like 0001_init.up.sql, V1__init.sql or 0001_init/up.sql)")]
    Empty { dir: PathBuf },
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
    #[error("{path}: the migration is empty{}", if *.bytes == 0 { " (0 bytes)" } else { ": it holds only comments, no statement" })]
    EmptyUp { path: PathBuf, bytes: usize },
    #[error("{path}: dbmate migration without a `-- migrate:up` line")]
    DbmateWithoutUp { path: PathBuf },
    #[error("{path}:{line}: {message}")]
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
    let entries = list_entries(&scan_dir)?;
    let layout = match layout {
        LayoutChoice::Fixed(l) => l,
        LayoutChoice::Auto => detect(&scan_dir, &entries, supabase_located)?,
    };
    let migrations = match layout {
        Layout::Sqlx => sqlx_like(&scan_dir, &entries, Layout::Sqlx)?,
        Layout::Supabase => sqlx_like(&scan_dir, &entries, Layout::Supabase)?,
        Layout::Diesel => diesel(&scan_dir, &entries)?,
        Layout::Dbmate => dbmate(&scan_dir, &entries)?,
        Layout::Flyway => flyway(&scan_dir, &entries)?,
    };
    if migrations.is_empty() {
        return Err(ChainError::Empty { dir: scan_dir });
    }
    Ok(Chain {
        dir: scan_dir,
        layout,
        migrations,
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

struct Entry {
    name: String,
    path: PathBuf,
    is_dir: bool,
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
        let is_dir = path.is_dir();
        entries.push(Entry { name, path, is_dir });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// The layouts a single directory entry could belong to.
fn entry_layouts(entry: &Entry) -> Vec<Layout> {
    if entry.is_dir {
        return if entry.path.join("up.sql").is_file() && split_version_name(&entry.name).is_some() {
            vec![Layout::Diesel]
        } else {
            vec![]
        };
    }
    let name = entry.name.as_str();
    if !name.ends_with(".sql") {
        return vec![];
    }
    if parse_flyway_name(name).is_some() {
        return vec![Layout::Flyway];
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
    vec![]
}

fn file_has_dbmate_marker(path: &Path) -> bool {
    std::fs::read(path)
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .lines()
                .any(|l| dbmate_marker(l).is_some())
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
    let bytes = std::fs::read(path).map_err(|source| ChainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
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

fn sqlx_no_transaction(sql: &str) -> bool {
    sql.lines()
        .next()
        .is_some_and(|l| l.trim() == "-- no-transaction")
}

/// Collects migrations keyed by version, rejecting duplicates.
struct Collector {
    by_version: BTreeMap<VersionKey, Migration>,
}

#[derive(PartialEq, Eq)]
struct VersionKey(String);

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_versions(&self.0, &other.0)
    }
}

impl Collector {
    fn new() -> Self {
        Collector {
            by_version: BTreeMap::new(),
        }
    }

    fn add(&mut self, migration: Migration) -> Result<(), ChainError> {
        // An up with nothing to run is a mistake (a file saved empty, a
        // migration never written), not a no-op to pass over silently.
        if crate::statement::is_blank(&migration.up.sql) {
            return Err(ChainError::EmptyUp {
                path: migration.up.path.clone(),
                bytes: migration.up.sql.len(),
            });
        }
        let key = VersionKey(migration.version.clone());
        if let Some(existing) = self.by_version.get(&key) {
            return Err(ChainError::DuplicateVersion {
                version: migration.version,
                first: existing.up.path.clone(),
                second: migration.up.path,
            });
        }
        self.by_version.insert(key, migration);
        Ok(())
    }

    fn finish(self) -> Vec<Migration> {
        self.by_version.into_values().collect()
    }
}

fn sqlx_like(dir: &Path, entries: &[Entry], layout: Layout) -> Result<Vec<Migration>, ChainError> {
    let expected = if layout == Layout::Sqlx {
        "<version>_<name>.up.sql, <version>_<name>.down.sql or <version>_<name>.sql"
    } else {
        "<timestamp>_<name>.sql"
    };
    let mut collector = Collector::new();
    let mut downs: Vec<(String, String, &Entry)> = Vec::new();
    for entry in entries
        .iter()
        .filter(|e| !e.is_dir && e.name.ends_with(".sql"))
    {
        let stem = entry.name.trim_end_matches(".sql");
        let (stem, kind) = if layout == Layout::Sqlx {
            if let Some(s) = stem.strip_suffix(".up") {
                (s, "up")
            } else if let Some(s) = stem.strip_suffix(".down") {
                (s, "down")
            } else {
                (stem, "plain")
            }
        } else {
            (stem, "plain")
        };
        let Some((version, name)) = split_version_name(stem).filter(|(v, _)| !v.contains('-'))
        else {
            return Err(ChainError::BadName {
                path: entry.path.clone(),
                layout,
                expected,
            });
        };
        if kind == "down" {
            downs.push((version.to_string(), name.to_string(), entry));
            continue;
        }
        let mut up = whole_file(&entry.path, true)?;
        up.transaction = !sqlx_no_transaction(&up.sql);
        collector.add(Migration {
            version: version.to_string(),
            name: name.to_string(),
            up,
            down: None,
        })?;
    }
    for (version, name, entry) in downs {
        let key = VersionKey(version.clone());
        let paired = collector
            .by_version
            .get_mut(&key)
            .filter(|m| m.name == name && m.up.path.to_string_lossy().ends_with(".up.sql"));
        let Some(migration) = paired else {
            return Err(ChainError::DownWithoutUp {
                path: entry.path.clone(),
                expected: dir
                    .join(format!("{version}_{name}.up.sql"))
                    .display()
                    .to_string(),
            });
        };
        let mut down = whole_file(&entry.path, true)?;
        down.transaction = !sqlx_no_transaction(&down.sql);
        migration.down = Some(down);
    }
    Ok(collector.finish())
}

fn diesel(dir: &Path, entries: &[Entry]) -> Result<Vec<Migration>, ChainError> {
    let mut collector = Collector::new();
    for entry in entries {
        if !entry.is_dir {
            // Diesel projects keep no loose SQL beside the migration folders.
            if entry.name.ends_with(".sql") {
                return Err(ChainError::BadName {
                    path: entry.path.clone(),
                    layout: Layout::Diesel,
                    expected: "<version>_<name>/up.sql",
                });
            }
            continue;
        }
        let Some((version, name)) = split_version_name(&entry.name) else {
            return Err(ChainError::BadName {
                path: entry.path.clone(),
                layout: Layout::Diesel,
                expected: "<version>_<name>/up.sql",
            });
        };
        let up_path = entry.path.join("up.sql");
        let down_path = entry.path.join("down.sql");
        if !up_path.is_file() {
            if down_path.is_file() {
                return Err(ChainError::DownWithoutUp {
                    path: down_path,
                    expected: up_path.display().to_string(),
                });
            }
            return Err(ChainError::BadName {
                path: entry.path.clone(),
                layout: Layout::Diesel,
                expected: "a folder holding up.sql",
            });
        }
        let transaction = diesel_runs_in_transaction(&entry.path.join("metadata.toml"))?;
        let up = whole_file(&up_path, transaction)?;
        let down = if down_path.is_file() {
            Some(whole_file(&down_path, transaction)?)
        } else {
            None
        };
        collector.add(Migration {
            version: version.replace('-', ""),
            name: name.to_string(),
            up,
            down,
        })?;
    }
    let _ = dir;
    Ok(collector.finish())
}

fn diesel_runs_in_transaction(metadata: &Path) -> Result<bool, ChainError> {
    if !metadata.is_file() {
        return Ok(true);
    }
    let text = read_text(metadata)?;
    let value: toml::Value = toml::from_str(&text).map_err(|e| ChainError::Invalid {
        path: metadata.to_path_buf(),
        line: e
            .span()
            .map_or(0, |s| text[..s.start].matches('\n').count() + 1),
        message: e.message().to_string(),
    })?;
    match value.get("run_in_transaction") {
        None => Ok(true),
        Some(toml::Value::Boolean(b)) => Ok(*b),
        Some(_) => Err(ChainError::Invalid {
            path: metadata.to_path_buf(),
            line: 1,
            message: "`run_in_transaction` must be true or false".into(),
        }),
    }
}

/// Recognises `-- migrate:up` / `-- migrate:down` lines; returns the
/// section and whether `transaction:false` was given.
fn dbmate_marker(line: &str) -> Option<(&'static str, bool)> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix("migrate:")?;
    let (section, opts) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let section = match section {
        "up" => "up",
        "down" => "down",
        _ => return None,
    };
    let no_tx = opts.split_whitespace().any(|o| o == "transaction:false");
    Some((section, !no_tx))
}

fn dbmate(dir: &Path, entries: &[Entry]) -> Result<Vec<Migration>, ChainError> {
    let mut collector = Collector::new();
    for entry in entries
        .iter()
        .filter(|e| !e.is_dir && e.name.ends_with(".sql"))
    {
        let stem = entry.name.trim_end_matches(".sql");
        let Some((version, name)) = split_version_name(stem) else {
            return Err(ChainError::BadName {
                path: entry.path.clone(),
                layout: Layout::Dbmate,
                expected: "<version>_<name>.sql",
            });
        };
        let text = read_text(&entry.path)?;
        let mut up: Option<Script> = None;
        let mut down: Option<Script> = None;
        // Byte offsets of each marker line and what follows it.
        let mut sections: Vec<(&'static str, bool, usize, usize, usize)> = Vec::new();
        let mut offset = 0;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            if let Some((section, tx)) = dbmate_marker(line) {
                sections.push((section, tx, offset, offset + line.len(), index + 1));
            }
            offset += line.len();
        }
        for (i, &(section, tx, _, body_start, marker_line)) in sections.iter().enumerate() {
            let body_end = sections.get(i + 1).map_or(text.len(), |s| s.2);
            let script = Script {
                path: entry.path.clone(),
                sql: text[body_start..body_end].to_string(),
                line_offset: marker_line,
                transaction: tx,
            };
            let slot = if section == "up" { &mut up } else { &mut down };
            if slot.is_some() {
                return Err(ChainError::Invalid {
                    path: entry.path.clone(),
                    line: marker_line,
                    message: format!("second `-- migrate:{section}` section"),
                });
            }
            *slot = Some(script);
        }
        let Some(up) = up else {
            return Err(ChainError::DbmateWithoutUp {
                path: entry.path.clone(),
            });
        };
        collector.add(Migration {
            version: version.to_string(),
            name: name.to_string(),
            up,
            down,
        })?;
    }
    let _ = dir;
    Ok(collector.finish())
}

/// `V1.2__add_users.sql` -> (`V`, `1.2`, `add_users`).
fn parse_flyway_name(file: &str) -> Option<(char, String, &str)> {
    let stem = file.strip_suffix(".sql")?;
    let prefix = stem.chars().next()?;
    if prefix != 'V' && prefix != 'U' {
        return None;
    }
    let (version, name) = stem[1..].split_once("__")?;
    let ok = !version.is_empty()
        && version.as_bytes()[0].is_ascii_digit()
        && version
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'_')
        && !name.is_empty();
    // Flyway treats `_` in versions as `.`.
    ok.then(|| (prefix, version.replace('_', "."), name))
}

fn flyway_runs_in_transaction(script: &Path) -> Result<bool, ChainError> {
    let conf = PathBuf::from(format!("{}.conf", script.display()));
    if !conf.is_file() {
        return Ok(true);
    }
    let text = read_text(&conf)?;
    for line in text.lines() {
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "executeInTransaction" {
                return Ok(value.trim() != "false");
            }
        }
    }
    Ok(true)
}

fn flyway(dir: &Path, entries: &[Entry]) -> Result<Vec<Migration>, ChainError> {
    let mut collector = Collector::new();
    let mut undos = Vec::new();
    for entry in entries
        .iter()
        .filter(|e| !e.is_dir && e.name.ends_with(".sql"))
    {
        let Some((prefix, version, name)) = parse_flyway_name(&entry.name) else {
            return Err(ChainError::BadName {
                path: entry.path.clone(),
                layout: Layout::Flyway,
                expected: "V<version>__<name>.sql or U<version>__<name>.sql",
            });
        };
        if prefix == 'U' {
            undos.push((version, entry));
            continue;
        }
        let up = whole_file(&entry.path, flyway_runs_in_transaction(&entry.path)?)?;
        collector.add(Migration {
            version,
            name: name.to_string(),
            up,
            down: None,
        })?;
    }
    for (version, entry) in undos {
        let Some(migration) = collector.by_version.get_mut(&VersionKey(version.clone())) else {
            return Err(ChainError::DownWithoutUp {
                path: entry.path.clone(),
                expected: format!("{}/V{version}__<name>.sql", dir.display()),
            });
        };
        migration.down = Some(whole_file(
            &entry.path,
            flyway_runs_in_transaction(&entry.path)?,
        )?);
    }
    Ok(collector.finish())
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

    #[test]
    fn dbmate_markers() {
        assert_eq!(dbmate_marker("-- migrate:up"), Some(("up", true)));
        assert_eq!(
            dbmate_marker("--migrate:down transaction:false"),
            Some(("down", false))
        );
        assert_eq!(dbmate_marker("-- migrate:upx"), None);
        assert_eq!(dbmate_marker("select 1"), None);
    }

    #[test]
    fn flyway_names() {
        assert_eq!(
            parse_flyway_name("V1_2__add.sql"),
            Some(('V', "1.2".to_string(), "add"))
        );
        assert_eq!(parse_flyway_name("V__x.sql"), None);
        assert_eq!(parse_flyway_name("R__view.sql"), None);
    }

    #[test]
    fn diesel_style_names() {
        assert_eq!(
            split_version_name("2024-01-02-030405_create users"),
            Some(("2024-01-02-030405", "create users"))
        );
        assert_eq!(split_version_name("init"), None);
    }
}
