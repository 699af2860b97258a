//! `fidelity`: the head schema equals the approved snapshot.
//!
//! Approved snapshots are files in insta's `.snap` format (a small header
//! between `---` lines, then the text), so `cargo insta review` and
//! `cargo insta accept` work on them: a mismatch writes `<name>.snap.new`
//! beside the approved file, as insta does. In CI (`CI` set) nothing is
//! written and a missing snapshot is a failure.

use std::path::{Path, PathBuf};

use super::PropertyResult;
use crate::schema::unified_diff;
use crate::{Error, Harness};

const PROPERTY: &str = "fidelity";

/// Name of the head snapshot in the snapshots dir.
pub const HEAD_SNAPSHOT: &str = "schema.snap";

/// An approved snapshot file and its pending `.snap.new` sibling.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    /// The approved file (`snapshots/schema.snap`).
    pub path: PathBuf,
}

impl SnapshotFile {
    /// The head snapshot of `harness`'s config, for its server's major:
    /// `schema.pg<K>.snap` of the highest `K` up to that major (approved
    /// where PostgreSQL `K` began to render the schema differently), else
    /// `schema.snap`.
    pub fn head(harness: &Harness) -> SnapshotFile {
        Self::head_for(
            &harness.config().snapshots_dir,
            harness.server().major_version(),
        )
    }

    /// [`SnapshotFile::head`] in `dir` for PostgreSQL `major`.
    pub fn head_for(dir: &Path, major: u32) -> SnapshotFile {
        let specific = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let k: u32 = name
                    .strip_prefix("schema.pg")?
                    .strip_suffix(".snap")?
                    .parse()
                    .ok()?;
                (k <= major).then_some(k)
            })
            .max();
        let path = match specific {
            Some(k) => Self::for_major(dir, k),
            None => dir.join(HEAD_SNAPSHOT),
        };
        SnapshotFile { path }
    }

    /// The snapshot file at `path`.
    pub fn at(path: PathBuf) -> SnapshotFile {
        SnapshotFile { path }
    }

    /// Where the approved snapshot of PostgreSQL `major` goes when it
    /// differs from `schema.snap`.
    pub fn for_major(dir: &Path, major: u32) -> PathBuf {
        dir.join(format!("schema.pg{major}.snap"))
    }

    /// The pending file insta reviews.
    pub fn pending_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".new");
        PathBuf::from(p)
    }

    /// The approved text, or `None` when there is no approved file.
    pub fn read(&self) -> Result<Option<String>, Error> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(contents(&text).to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Input(format!(
                "{}: cannot read: {e}",
                self.path.display()
            ))),
        }
    }

    fn render(&self, text: &str, chain_dir: &Path) -> String {
        let expression = format!("schema at the head of {}", chain_dir.display());
        // As insta writes it (YAML, quoted only when it must be), so that
        // `cargo insta review` and `snapshot --accept` write the same bytes.
        let plain = expression
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./-".contains(c));
        let expression = if plain {
            expression
        } else {
            serde_json::to_string(&expression).unwrap_or_default()
        };
        format!("---\nsource: pgharness\nexpression: {expression}\n---\n{text}")
    }

    /// Removes a pending `.snap.new` left from an earlier difference (the
    /// schema matches again: `cargo insta review` must not offer it).
    pub fn remove_stale_pending(&self) {
        if !in_ci() {
            let _ = std::fs::remove_file(self.pending_path());
        }
    }

    /// Writes `text` as the approved snapshot and removes a pending one.
    pub fn accept(&self, text: &str, chain_dir: &Path) -> Result<(), Error> {
        write(&self.path, &self.render(text, chain_dir))?;
        let _ = std::fs::remove_file(self.pending_path());
        Ok(())
    }

    /// Writes `text` as the pending `.snap.new` for review.
    pub fn write_pending(&self, text: &str, chain_dir: &Path) -> Result<(), Error> {
        write(&self.pending_path(), &self.render(text, chain_dir))
    }
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Input(format!("{}: cannot create: {e}", dir.display())))?;
    }
    std::fs::write(path, text)
        .map_err(|e| Error::Input(format!("{}: cannot write: {e}", path.display())))
}

/// The snapshot text after insta's header.
fn contents(file: &str) -> &str {
    let Some(rest) = file.strip_prefix("---\n") else {
        return file;
    };
    match rest.find("\n---\n") {
        Some(end) => &rest[end + 5..],
        None => file,
    }
}

/// Whether this is a CI run, where snapshots are never written.
fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Compares the head schema with the approved snapshot.
pub(super) async fn check(harness: &Harness) -> Result<PropertyResult, Error> {
    let file = SnapshotFile::head(harness);
    let actual = harness.schema_at(None).await?.render();
    let chain_dir = &harness.chain().dir;
    let Some(approved) = file.read()? else {
        let mut r = PropertyResult::fail(
            PROPERTY,
            "chain",
            format!(
                "no approved snapshot at {}; run `pgharness snapshot --accept` and commit the file",
                file.path.display()
            ),
        );
        if !in_ci() {
            file.write_pending(&actual, chain_dir)?;
            r.message.push_str(&format!(
                " (the current schema is in {})",
                file.pending_path().display()
            ));
        }
        r.rerun = Some("snapshot --accept".to_string());
        return Ok(r);
    };
    if approved.trim_end() == actual.trim_end() {
        file.remove_stale_pending();
        return Ok(PropertyResult::pass(PROPERTY, "chain"));
    }
    let mut r = PropertyResult::fail(
        PROPERTY,
        "chain",
        format!(
            "the head schema differs from the approved snapshot {}; if the change is intended, accept it with `pgharness snapshot --accept` or `cargo insta review`",
            file.path.display()
        ),
    );
    r.diff = Some(unified_diff(
        &approved,
        &actual,
        &file.path.display().to_string(),
        "head schema",
    ));
    if !in_ci() {
        file.write_pending(&actual, chain_dir)?;
    }
    r.rerun = Some("check --only fidelity".to_string());
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::contents;

    #[test]
    fn contents_follow_the_insta_header() {
        assert_eq!(
            contents("---\nsource: x\nexpression: y\n---\nschema public\n"),
            "schema public\n"
        );
        assert_eq!(contents("no header\n"), "no header\n");
    }
}
