//! Differences between snapshots: which objects changed, and a unified
//! diff of their renderings.

use serde::Serialize;
use similar::udiff::UnifiedDiffHunk;
use similar::{DiffTag, TextDiff};

use super::render::ObjectKey;
use super::SchemaSnapshot;

/// How an object differs between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only in the second snapshot.
    Added,
    /// Only in the first snapshot.
    Removed,
    /// In both, rendered differently.
    Changed,
}

/// One object that differs between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectChange {
    /// The object.
    pub key: ObjectKey,
    /// Added, removed or changed.
    pub change: Change,
}

/// The objects that differ from `a` to `b`, in key order (kind, then name).
///
/// Objects are compared by their rendered blocks, so this agrees with the
/// text diff of the two renderings: an object is "changed" exactly when
/// its block differs.
///
/// ```no_run
/// # async fn f(before: pgharness::schema::SchemaSnapshot, after: pgharness::schema::SchemaSnapshot) {
/// for change in pgharness::schema::changed_objects(&before, &after) {
///     println!("{:?} {}", change.change, change.key);
/// }
/// # }
/// ```
pub fn changed_objects(a: &SchemaSnapshot, b: &SchemaSnapshot) -> Vec<ObjectChange> {
    let old = a.objects();
    let mut new = b.objects();
    let mut changes = Vec::new();
    for (key, old_block) in old {
        let change = match new.remove(&key) {
            None => Change::Removed,
            Some(new_block) if new_block != old_block => Change::Changed,
            Some(_) => continue,
        };
        changes.push(ObjectChange { key, change });
    }
    changes.extend(new.into_keys().map(|key| ObjectChange {
        key,
        change: Change::Added,
    }));
    changes.sort();
    changes
}

/// A unified diff (3 lines of context) from `old` to `new`, with `---`/`+++`
/// headers naming them; the empty string when the texts are equal.
///
/// Like `git diff`, each `@@` line ends with a heading: the first line
/// starting in column 0 among the hunk's first changed lines, or else the
/// nearest one above them. In a schema rendering that is the header of the
/// changed (added, removed) object, e.g. `table public.goal`, so every
/// hunk says which object it is about even when the header is out of
/// context.
///
/// ```
/// let diff = pgharness::schema::unified_diff("a\nb\n", "a\nc\n", "expected", "actual");
/// assert!(diff.contains("-b\n+c\n"));
/// assert_eq!(pgharness::schema::unified_diff("a\n", "a\n", "x", "y"), "");
/// ```
pub fn unified_diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(old, new);
    let old_lines = diff.old_slices();
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        let text = hunk.to_string();
        let heading = hunk_heading(&hunk, old_lines, diff.new_slices());
        match (heading, text.split_once('\n')) {
            (Some(heading), Some((range, rest))) => {
                out.push_str(&format!("{range} {heading}\n{rest}"));
            }
            _ => out.push_str(&text),
        }
    }
    out
}

/// A header line: one that starts in column 0 (not indented, not blank).
fn is_heading(line: &str) -> bool {
    line.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// The object a hunk's first change is in: the header of the first changed
/// line's own object (the line itself when it is a header, else the
/// nearest header above it on its side of the diff), so the header names
/// the object whose lines follow it.
fn hunk_heading<'a>(
    hunk: &UnifiedDiffHunk<'_, '_, '_, '_, str>,
    old_lines: &[&'a str],
    new_lines: &[&'a str],
) -> Option<&'a str> {
    let op = hunk.ops().iter().find(|op| op.tag() != DiffTag::Equal)?;
    let (lines, range) = if op.old_range().is_empty() {
        (new_lines, op.new_range())
    } else {
        (old_lines, op.old_range())
    };
    // The first changed line that says something (a blank line between
    // objects belongs to neither).
    let first = range
        .clone()
        .find(|&i| lines.get(i).is_some_and(|l| !l.trim().is_empty()))
        .unwrap_or(range.start);
    lines
        .get(..=first)
        .unwrap_or_default()
        .iter()
        .rev()
        .find(|line| is_heading(line))
        .map(|line| line.trim_end())
}

/// `diff` (as [`unified_diff`] makes it) with removed lines in red, added
/// lines in green and hunk headers in cyan, for a terminal.
pub fn colorize_diff(diff: &str) -> String {
    const RED: &str = "\x1b[31m";
    const GREEN: &str = "\x1b[32m";
    const CYAN: &str = "\x1b[36m";
    const BOLD: &str = "\x1b[1m";
    const RESET: &str = "\x1b[0m";
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (text, newline) = match line.strip_suffix('\n') {
            Some(text) => (text, "\n"),
            None => (line, ""),
        };
        let color = if text.starts_with("---") || text.starts_with("+++") {
            Some(BOLD)
        } else if text.starts_with("@@") {
            Some(CYAN)
        } else if text.starts_with('-') {
            Some(RED)
        } else if text.starts_with('+') {
            Some(GREEN)
        } else {
            None
        };
        match color {
            Some(color) => out.push_str(&format!("{color}{text}{RESET}{newline}")),
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_of_equal_texts_is_empty() {
        assert_eq!(unified_diff("a\nb\n", "a\nb\n", "old", "new"), "");
    }

    #[test]
    fn diff_has_headers_and_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n";
        let new = "1\n2\n3\n4\n55\n6\n7\n8\n";
        let diff = unified_diff(old, new, "before", "after");
        assert_eq!(
            diff,
            "--- before\n+++ after\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+55\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn hunks_name_the_enclosing_object() {
        let old = "table public.a\n  x int\n\ntable public.b\n  a int\n  b int\n  c int\n  d int\n  e int\n";
        let new = "table public.a\n  x int\n\ntable public.b\n  a int\n  b int\n  c int\n  d int\n  e bigint\n";
        let diff = unified_diff(old, new, "old", "new");
        assert!(diff.contains("@@ -6,4 +6,4 @@ table public.b\n"), "{diff}");
    }

    #[test]
    fn hunks_name_an_added_object() {
        let old = "schema public\n";
        let new = "schema extra\n\nschema public\n";
        let diff = unified_diff(old, new, "old", "new");
        assert!(diff.contains("@@ -1 +1,3 @@ schema extra\n"), "{diff}");
    }

    #[test]
    fn colorize_marks_only_changed_lines() {
        let colored = colorize_diff("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n z\n");
        assert!(colored.contains("\x1b[31m-x\x1b[0m\n"));
        assert!(colored.contains("\x1b[32m+y\x1b[0m\n"));
        assert!(colored.contains("\n z\n"));
        assert!(colored.starts_with("\x1b[1m--- a\x1b[0m\n"));
    }
}
