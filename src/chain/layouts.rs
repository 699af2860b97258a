//! Each layout's own rules for which files are migrations, how their
//! versions are read, and in which order they run. Every rule here is the
//! tool's, read from its source (named in each function's comment): a chain
//! must run here in the order production ran it.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{
    check_meta_commands, read_text, sqlx_no_transaction, whole_file, Callbacks, ChainError, Entry,
    Ignored, Layout, Migration, Script,
};

/// What a layout found in a directory.
pub(super) struct Found {
    pub migrations: Vec<Migration>,
    pub ignored: Vec<Ignored>,
    pub callbacks: Callbacks,
}

impl Found {
    /// What a layout without callbacks found.
    fn without_callbacks(migrations: Vec<Migration>, ignored: Vec<Ignored>) -> Found {
        Found {
            migrations,
            ignored,
            callbacks: Callbacks::default(),
        }
    }
}

/// Collects migrations, rejecting two with the same version (as the tool's
/// history table would), and orders them with the layout's rule.
struct Collector {
    items: Vec<(String, Migration)>,
    seen: HashMap<String, PathBuf>,
}

/// Refuses an up that holds nothing and a script with psql meta-commands.
fn check_up(migration: &Migration) -> Result<(), ChainError> {
    // A zero-byte up is a file saved empty, a migration never written.
    // An up of only comments is a real chain's way to retire a
    // migration (the tools run it as a no-op), so it is one here too.
    if migration.up.sql.trim().is_empty() {
        return Err(ChainError::EmptyUp {
            path: migration.up.path.clone(),
            bytes: migration.up.sql.len(),
        });
    }
    for script in std::iter::once(&migration.up).chain(migration.down.as_ref()) {
        check_meta_commands(script)?;
    }
    Ok(())
}

impl Collector {
    fn new() -> Self {
        Collector {
            items: Vec::new(),
            seen: HashMap::new(),
        }
    }

    /// Adds `migration`; `key` is the version as the tool compares it
    /// (`0001` and `1` are one sqlx version, two dbmate versions).
    fn add(&mut self, key: String, migration: Migration) -> Result<(), ChainError> {
        check_up(&migration)?;
        if let Some(first) = self.seen.get(&key) {
            return Err(ChainError::DuplicateVersion {
                version: migration.version,
                first: first.clone(),
                second: migration.up.path,
            });
        }
        self.seen.insert(key.clone(), migration.up.path.clone());
        self.items.push((key, migration));
        Ok(())
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Migration> {
        self.items
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m)
    }

    /// The migrations ordered by `order` (on the tool's keys); stable.
    fn finish(
        mut self,
        order: impl Fn(&(String, Migration), &(String, Migration)) -> Ordering,
    ) -> Vec<Migration> {
        self.items.sort_by(order);
        self.items.into_iter().map(|(_, m)| m).collect()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether an entry a tool skips looks like a migration someone meant to
/// run, so that skipping it is worth a line in `list`.
fn looks_like_migration(entry: &Entry) -> bool {
    entry
        .name
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_digit)
        || entry.name.to_ascii_lowercase().ends_with(".sql")
}

fn ignore(ignored: &mut Vec<Ignored>, entry: &Entry, reason: impl Into<String>) {
    if looks_like_migration(entry) {
        ignored.push(Ignored {
            path: entry.path.clone(),
            reason: reason.into(),
        });
    }
}

/// sqlx (`sqlx-core` `migrate/source.rs`): one level of files; a name is
/// `<version>_<description>.sql` with the version an `i64` (a name with no
/// `_` or not ending in `.sql` is skipped, a version that is not an `i64` is
/// an error); `.up.sql`/`.down.sql` pair by version alone; a down with no up
/// of its version is never run. Numeric order.
pub(super) fn sqlx(_dir: &Path, entries: &[Entry]) -> Result<Found, ChainError> {
    let mut collector = Collector::new();
    let mut ignored = Vec::new();
    let mut downs: Vec<(i64, &Entry)> = Vec::new();
    for entry in entries {
        if !entry.is_file {
            ignore(
                &mut ignored,
                entry,
                "not a regular file (sqlx reads the files of one directory)",
            );
            continue;
        }
        let Some((version, rest)) = entry.name.split_once('_') else {
            ignore(&mut ignored, entry, "no `_` after a version: sqlx skips it");
            continue;
        };
        if !rest.ends_with(".sql") {
            ignore(&mut ignored, entry, "does not end in `.sql`: sqlx skips it");
            continue;
        }
        let Ok(number) = version.parse::<i64>() else {
            return Err(ChainError::BadName {
                path: entry.path.clone(),
                layout: Layout::Sqlx,
                expected: "<version>_<name>.up.sql, .down.sql or .sql, the version a 64-bit integer (sqlx refuses the directory otherwise)",
            });
        };
        let (name, kind) = if let Some(n) = rest.strip_suffix(".up.sql") {
            (n, "up")
        } else if let Some(n) = rest.strip_suffix(".down.sql") {
            (n, "down")
        } else {
            (rest.trim_end_matches(".sql"), "simple")
        };
        if kind == "down" {
            downs.push((number, entry));
            continue;
        }
        let mut up = whole_file(&entry.path, true)?;
        up.transaction = !sqlx_no_transaction(&up.sql);
        collector.add(
            number.to_string(),
            Migration {
                version: version.to_string(),
                name: name.to_string(),
                up,
                down: None,
            },
        )?;
    }
    for (number, entry) in downs {
        let Some(migration) = collector
            .get_mut(&number.to_string())
            .filter(|m| m.up.path.to_string_lossy().ends_with(".up.sql"))
        else {
            ignored.push(Ignored {
                path: entry.path.clone(),
                reason: format!("a down with no `.up.sql` of version {number}: sqlx never runs it"),
            });
            continue;
        };
        let mut down = whole_file(&entry.path, true)?;
        down.transaction = !sqlx_no_transaction(&down.sql);
        migration.down = Some(down);
    }
    let migrations = collector.finish(|a, b| {
        let (x, y) = (
            a.0.parse::<i64>().unwrap_or(0),
            b.0.parse::<i64>().unwrap_or(0),
        );
        x.cmp(&y)
    });
    Ok(Found::without_callbacks(migrations, ignored))
}

/// Supabase CLI (`pkg/migration/list.go`, `file.go`): files of
/// `supabase/migrations` matching `^([0-9]+)_(.*)\.sql$`, in file-name
/// order; others are skipped with a message, and so is a first
/// `<14 digits>_init.sql` older than 20211209000000. Each file runs in one
/// transaction (no opt-out).
pub(super) fn supabase(_dir: &Path, entries: &[Entry]) -> Result<Found, ChainError> {
    let mut collector = Collector::new();
    let mut ignored = Vec::new();
    let mut first = true;
    for entry in entries {
        if !entry.is_file {
            ignore(
                &mut ignored,
                entry,
                "not a regular file: the Supabase CLI skips it",
            );
            continue;
        }
        let parsed = entry
            .name
            .strip_suffix(".sql")
            .and_then(|stem| stem.split_once('_'))
            .filter(|(v, _)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
        let Some((version, name)) = parsed else {
            ignore(
                &mut ignored,
                entry,
                "the Supabase CLI skips it: file name must match <timestamp>_name.sql",
            );
            continue;
        };
        let was_first = std::mem::replace(&mut first, false);
        if was_first && version.len() == 14 && name == "init" && version < "20211209000000" {
            ignored.push(Ignored {
                path: entry.path.clone(),
                reason:
                    "the Supabase CLI skips an old `<timestamp>_init.sql` as the first migration"
                        .into(),
            });
            continue;
        }
        let up = whole_file(&entry.path, true)?;
        collector.add(
            version.to_string(),
            Migration {
                version: version.to_string(),
                name: name.to_string(),
                up,
                down: None,
            },
        )?;
    }
    let migrations = collector.finish(|a, b| file_name(&a.1.up.path).cmp(&file_name(&b.1.up.path)));
    Ok(Found::without_callbacks(migrations, ignored))
}

/// diesel (`migrations_internals`): the folders of the directory (plain
/// files and empty folders are skipped; a non-empty folder without `up.sql`
/// is an error); the version is the folder name before its first `_` with
/// dashes removed, compared as a string; `down.sql` optional.
pub(super) fn diesel(_dir: &Path, entries: &[Entry]) -> Result<Found, ChainError> {
    let mut collector = Collector::new();
    let mut ignored = Vec::new();
    for entry in entries {
        if !entry.is_dir {
            ignore(
                &mut ignored,
                entry,
                "a file beside the migration folders: diesel skips it",
            );
            continue;
        }
        let up_path = entry.path.join("up.sql");
        let down_path = entry.path.join("down.sql");
        if !up_path.is_file() {
            let empty = std::fs::read_dir(&entry.path)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            if empty {
                ignore(&mut ignored, entry, "an empty folder: diesel skips it");
                continue;
            }
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
        let (version, name) = entry.name.split_once('_').unwrap_or((&entry.name, ""));
        let version = version.replace('-', "");
        if version.is_empty() {
            return Err(ChainError::BadName {
                path: entry.path.clone(),
                layout: Layout::Diesel,
                expected: "<version>_<name>/up.sql",
            });
        }
        let transaction = diesel_runs_in_transaction(&entry.path.join("metadata.toml"))?;
        let up = whole_file(&up_path, transaction)?;
        let down = if down_path.is_file() {
            Some(whole_file(&down_path, transaction)?)
        } else {
            None
        };
        collector.add(
            version.clone(),
            Migration {
                version,
                name: name.to_string(),
                up,
                down,
            },
        )?;
    }
    // Diesel sorts its versions as strings: `9` after `10`, and a 14-digit
    // version before an 18-character one only when it is a prefix of it.
    let migrations = collector.finish(|a, b| a.0.cmp(&b.0));
    Ok(Found::without_callbacks(migrations, ignored))
}

/// diesel's `metadata.toml`: no file means a transaction; a file read by
/// serde with `#[serde(default)] run_in_transaction: bool` means no
/// transaction unless the key says `true` (diesel's own, surprising, rule).
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
        None => Ok(false),
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
pub(super) fn dbmate_marker(line: &str) -> Option<(&'static str, bool)> {
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

/// dbmate (`pkg/dbmate/db.go`, `migration.go`): files matching
/// `^(\d+).*\.sql$` (others skipped), the version the leading digits (as
/// written: `01` and `1` differ), run in file-name order.
pub(super) fn dbmate(_dir: &Path, entries: &[Entry]) -> Result<Found, ChainError> {
    let mut collector = Collector::new();
    let mut ignored = Vec::new();
    for entry in entries {
        let digits = entry.name.bytes().take_while(u8::is_ascii_digit).count();
        if !entry.is_file || digits == 0 || !entry.name.ends_with(".sql") {
            ignore(&mut ignored, entry, "dbmate skips it (not <version>...sql)");
            continue;
        }
        let version = &entry.name[..digits];
        let name = entry.name[digits..]
            .trim_start_matches('_')
            .trim_end_matches(".sql")
            .to_string();
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
        collector.add(
            version.to_string(),
            Migration {
                version: version.to_string(),
                name,
                up,
                down,
            },
        )?;
    }
    let migrations = collector.finish(|a, b| file_name(&a.1.up.path).cmp(&file_name(&b.1.up.path)));
    Ok(Found::without_callbacks(migrations, ignored))
}

/// A Flyway file name: versioned `V<version>__<desc>.sql`, undo `U...`,
/// repeatable `R__<desc>.sql`, or a callback `<event>[__<desc>].sql`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum FlywayName {
    Versioned {
        undo: bool,
        version: String,
        name: String,
    },
    Repeatable {
        name: String,
    },
    Callback {
        event: String,
        name: String,
    },
}

/// Flyway's callback events whose scripts touch a migrate run.
const FLYWAY_EVENTS: [&str; 10] = [
    "beforeMigrate",
    "beforeEachMigrate",
    "afterEachMigrate",
    "afterEachMigrateError",
    "beforeEachMigrateStatement",
    "beforeRepeatables",
    "afterVersioned",
    "afterMigrateApplied",
    "afterMigrate",
    "afterMigrateError",
];

/// Flyway's `ResourceNameParser`: the suffix `.sql` in any case; the name
/// split at the first `__`; the version's `_` read as `.`.
pub(super) fn parse_flyway_name(file: &str) -> Option<FlywayName> {
    let lower = file.to_ascii_lowercase();
    if !lower.ends_with(".sql") || file.len() <= 4 {
        return None;
    }
    let stem = &file[..file.len() - 4];
    let (head, desc) = stem.split_once("__").unwrap_or((stem, ""));
    if let Some(event) = FLYWAY_EVENTS
        .iter()
        .chain(
            [
                "beforeClean",
                "afterClean",
                "beforeValidate",
                "afterValidate",
                "beforeInfo",
                "afterInfo",
                "beforeBaseline",
                "afterBaseline",
                "beforeRepair",
                "afterRepair",
                "beforeConnect",
                "afterConnect",
                "afterEachUndo",
                "beforeEachUndo",
                "beforeUndo",
                "afterUndo",
                "afterUndoError",
                "afterEachUndoError",
                "beforeEachUndoStatement",
                "afterEachUndoStatement",
                "afterEachMigrateStatement",
                "afterEachMigrateStatementError",
                "afterVersionedMigrateApplied",
            ]
            .iter(),
        )
        .find(|e| **e == head)
    {
        return Some(FlywayName::Callback {
            event: (*event).to_string(),
            name: desc.to_string(),
        });
    }
    if head == "R" && !desc.is_empty() {
        return Some(FlywayName::Repeatable {
            name: desc.to_string(),
        });
    }
    let (prefix, version) =
        head.split_at(head.char_indices().nth(1).map_or(head.len(), |(i, _)| i));
    if (prefix != "V" && prefix != "U") || desc.is_empty() {
        return None;
    }
    let ok = version.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && version
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'_');
    ok.then(|| FlywayName::Versioned {
        undo: prefix == "U",
        version: version.replace('_', "."),
        name: desc.to_string(),
    })
}

/// Flyway's `MigrationVersion`: numeric parts, leading zeros and trailing
/// zero parts ignored (`1.0` = `1`, `V001` = `V1`).
fn flyway_version_key(version: &str) -> Vec<String> {
    let mut parts: Vec<String> = version
        .split('.')
        .map(|p| {
            let t = p.trim_start_matches('0');
            if t.is_empty() {
                "0".to_string()
            } else {
                t.to_string()
            }
        })
        .collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p == "0") {
        parts.pop();
    }
    parts
}

fn compare_flyway(a: &str, b: &str) -> Ordering {
    let (a, b) = (flyway_version_key(a), flyway_version_key(b));
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).map_or("0", String::as_str);
        let y = b.get(i).map_or("0", String::as_str);
        let ord = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// `executeInTransaction` from `<script>.sql.conf`; unset, Flyway infers
/// it from the statements (`ParserSqlScript.executeInTransaction`): a
/// script holding one that PostgreSQL refuses in a transaction block runs
/// without one.
fn flyway_runs_in_transaction(script: &Path) -> Result<bool, ChainError> {
    let conf = PathBuf::from(format!("{}.conf", script.display()));
    if conf.is_file() {
        let text = read_text(&conf)?;
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=') {
                if key.trim() == "executeInTransaction" {
                    return Ok(value.trim() != "false");
                }
            }
        }
    }
    let sql = read_text(script)?;
    Ok(!crate::statement::split(&sql)
        .iter()
        .any(|s| !s.meta && needs_no_transaction(s.text)))
}

/// Statements PostgreSQL refuses inside a transaction block.
fn needs_no_transaction(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .take(6)
        .map(|w| w.trim_end_matches(';').to_ascii_lowercase())
        .collect();
    let w = |i: usize| words.get(i).map_or("", String::as_str);
    match w(0) {
        "vacuum" => true,
        "create" | "drop" => {
            matches!(w(1), "database" | "tablespace" | "subscription")
                || (words.iter().any(|x| x == "index") && words.iter().any(|x| x == "concurrently"))
        }
        "reindex" => {
            words.iter().any(|x| x == "concurrently") || matches!(w(1), "database" | "system")
        }
        "alter" => w(1) == "system",
        _ => false,
    }
}

/// Flyway (`FileSystemScanner`, `ResourceNameParser`, `MigrationVersion`,
/// `SqlScriptCallbackFactory`): the directory and its sub-directories
/// (hidden ones skipped); versioned migrations in numeric version order,
/// then repeatables (`R__`) ordered by description; callbacks
/// (`beforeMigrate.sql`, `afterEachMigrate.sql`, ...) are not migrations
/// but run around them; other names are skipped.
pub(super) fn flyway(dir: &Path, entries: &[Entry]) -> Result<Found, ChainError> {
    let mut files = Vec::new();
    collect_files(entries, &mut files)?;
    let mut collector = Collector::new();
    let mut ignored = Vec::new();
    let mut undos = Vec::new();
    let mut repeatables = Vec::new();
    let mut callbacks = Callbacks::default();
    for entry in &files {
        let Some(parsed) = parse_flyway_name(&entry.name) else {
            ignore(
                &mut ignored,
                entry,
                "Flyway skips it (not V<version>__<name>.sql, R__<name>.sql or a callback)",
            );
            continue;
        };
        let transaction = flyway_runs_in_transaction(&entry.path)?;
        match parsed {
            FlywayName::Versioned {
                undo: true,
                version,
                ..
            } => undos.push((version, entry)),
            FlywayName::Versioned { version, name, .. } => {
                let up = whole_file(&entry.path, transaction)?;
                collector.add(
                    flyway_version_key(&version).join("."),
                    Migration {
                        version,
                        name,
                        up,
                        down: None,
                    },
                )?;
            }
            FlywayName::Repeatable { name } => {
                repeatables.push(Migration {
                    version: "R".to_string(),
                    name,
                    up: whole_file(&entry.path, transaction)?,
                    down: None,
                });
            }
            FlywayName::Callback { event, name } => {
                let script = whole_file(&entry.path, transaction)?;
                let slot = match event.as_str() {
                    "beforeMigrate" => &mut callbacks.before_migrate,
                    "afterMigrate" | "afterMigrateApplied" | "afterVersioned" => {
                        &mut callbacks.after_migrate
                    }
                    "beforeEachMigrate" => &mut callbacks.before_each,
                    "afterEachMigrate" => &mut callbacks.after_each,
                    _ => {
                        ignored.push(Ignored {
                            path: entry.path.clone(),
                            reason: format!("a Flyway `{event}` callback: it does not change what a migrate run applies"),
                        });
                        continue;
                    }
                };
                slot.push((name, script));
            }
        }
    }
    for (version, entry) in undos {
        let key = flyway_version_key(&version).join(".");
        let Some(migration) = collector.get_mut(&key) else {
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
    let mut migrations = collector.finish(|a, b| compare_flyway(&a.1.version, &b.1.version));
    let mut seen = HashMap::new();
    for m in &repeatables {
        if let Some(first) = seen.insert(m.name.clone(), m.up.path.clone()) {
            return Err(ChainError::DuplicateVersion {
                version: format!("R__{}", m.name),
                first,
                second: m.up.path.clone(),
            });
        }
        check_up(m)?;
    }
    repeatables.sort_by(|a, b| a.name.cmp(&b.name));
    migrations.extend(repeatables);
    callbacks.sort();
    Ok(Found {
        migrations,
        ignored,
        callbacks,
    })
}

/// Files of `entries` and, recursively, of their non-hidden folders.
fn collect_files(entries: &[Entry], out: &mut Vec<Entry>) -> Result<(), ChainError> {
    for entry in entries {
        if entry.is_dir {
            let inner = super::list_entries(&entry.path)?;
            collect_files(&inner, out)?;
        } else {
            out.push(entry.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Some(FlywayName::Versioned {
                undo: false,
                version: "1.2".into(),
                name: "add".into()
            })
        );
        assert_eq!(parse_flyway_name("V__x.sql"), None);
        assert_eq!(
            parse_flyway_name("R__view.sql"),
            Some(FlywayName::Repeatable {
                name: "view".into()
            })
        );
        assert_eq!(
            parse_flyway_name("afterMigrate.sql"),
            Some(FlywayName::Callback {
                event: "afterMigrate".into(),
                name: String::new()
            })
        );
        assert_eq!(
            parse_flyway_name("afterMigrate__grants.SQL"),
            Some(FlywayName::Callback {
                event: "afterMigrate".into(),
                name: "grants".into()
            })
        );
        assert_eq!(parse_flyway_name("README.md"), None);
    }

    #[test]
    fn flyway_versions_compare_by_numeric_parts() {
        assert_eq!(compare_flyway("1.2", "1.10"), Ordering::Less);
        assert_eq!(compare_flyway("1.0", "1"), Ordering::Equal);
        assert_eq!(compare_flyway("001", "1"), Ordering::Equal);
        assert_eq!(compare_flyway("13.1", "14"), Ordering::Less);
    }
}
