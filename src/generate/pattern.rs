//! Regular-expression `CHECK`s (`code ~ '^[A-Z]{3}-[0-9]{4}$'`): strings
//! are generated from the pattern by proptest's regex strategy, and matched
//! with the `regex` crate so that a row is redrawn before the server sees
//! it. PostgreSQL's own regex engine (ARE) has the last word: every check
//! with a pattern is also evaluated on the server (see `oracle`).
//!
//! PostgreSQL syntax the Rust engines do not share (`\m`, `\M`, `\y`,
//! `[[:<:]]`, back references) leaves the pattern undecided here: the
//! column gets its usual values and the server keeps the rows that match.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use proptest::strategy::{Strategy, ValueTree};
use proptest::string::{string_regex_parsed, RegexGeneratorStrategy};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};

use super::rng::SeedRng;

/// A pattern a column's values must match.
#[derive(Clone)]
pub(crate) struct Pattern {
    pub source: String,
    pub case_insensitive: bool,
    generator: Option<Arc<RegexGeneratorStrategy<String>>>,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Pattern({:?}, ci: {})",
            self.source, self.case_insensitive
        )
    }
}

impl Pattern {
    pub(crate) fn new(source: &str, case_insensitive: bool) -> Pattern {
        let generator = rust_syntax(source)
            .and_then(|s| {
                regex_syntax::ParserBuilder::new()
                    .case_insensitive(case_insensitive)
                    .build()
                    .parse(&s)
                    .ok()
            })
            .and_then(|hir| string_regex_parsed(&printable(hir)).ok())
            .map(Arc::new);
        Pattern {
            source: source.to_string(),
            case_insensitive,
            generator,
        }
    }

    /// A string matching the pattern, or `None` when the pattern is beyond
    /// the generator (the server then decides).
    pub(crate) fn sample(&self, rng: &mut SeedRng) -> Option<String> {
        let generator = self.generator.as_ref()?;
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
        );
        let text = generator.new_tree(&mut runner).ok()?.current();
        (!text.contains('\0')).then_some(text)
    }
}

/// Whether `text` matches `pattern` as PostgreSQL's `~` (`~*`) would see
/// it, when the pattern is in the syntax both engines share.
pub(crate) fn is_match(text: &str, pattern: &str, case_insensitive: bool) -> Option<bool> {
    thread_local! {
        static COMPILED: RefCell<HashMap<(String, bool), Option<regex::Regex>>> =
            RefCell::new(HashMap::new());
    }
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        let re = cache
            .entry((pattern.to_string(), case_insensitive))
            .or_insert_with(|| {
                rust_syntax(pattern).and_then(|s| {
                    regex::RegexBuilder::new(&s)
                        .case_insensitive(case_insensitive)
                        .build()
                        .ok()
                })
            });
        re.as_ref().map(|re| re.is_match(text))
    })
}

/// The pattern in Rust regex syntax, or `None` for PostgreSQL-only syntax.
fn rust_syntax(pattern: &str) -> Option<String> {
    // An ARE may start with `***:` (the rest is an ARE) or an embedded
    // option `(?...)` that Rust reads differently.
    let pattern = pattern.strip_prefix("***:").unwrap_or(pattern);
    if pattern.starts_with("***") || pattern.contains("[[:<:]]") || pattern.contains("[[:>:]]") {
        return None;
    }
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            // Word boundaries and back references: PostgreSQL's own.
            'm' | 'M' | 'y' | 'Y' | '1'..='9' => return None,
            'Z' => out.push_str("\\z"),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// `hir` with anchors dropped (a generated string is the whole match) and
/// each class narrowed to printable ASCII where it has any, so that `.`
/// and `\w` give readable text.
fn printable(hir: Hir) -> Hir {
    let ascii = ClassUnicode::new([ClassUnicodeRange::new(' ', '~')]);
    match hir.into_kind() {
        HirKind::Look(_) => Hir::empty(),
        HirKind::Class(Class::Unicode(class)) => {
            let mut narrowed = class.clone();
            narrowed.intersect(&ascii);
            if narrowed.ranges().is_empty() {
                Hir::class(Class::Unicode(class))
            } else {
                Hir::class(Class::Unicode(narrowed))
            }
        }
        HirKind::Repetition(mut rep) => {
            rep.sub = Box::new(printable(*rep.sub));
            // At most a few repeats of an unbounded part: readable values
            // that fit short columns.
            if rep.max.is_none_or(|m| m > rep.min + 8) {
                rep.max = Some(rep.min + 8);
            }
            Hir::repetition(rep)
        }
        HirKind::Capture(mut cap) => {
            cap.sub = Box::new(printable(*cap.sub));
            Hir::capture(cap)
        }
        HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(printable).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.into_iter().map(printable).collect()),
        other => other_kind(other),
    }
}

fn other_kind(kind: HirKind) -> Hir {
    match kind {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(lit) => Hir::literal(lit.0),
        HirKind::Class(c) => Hir::class(c),
        _ => Hir::empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_match_their_pattern() {
        let mut rng = SeedRng::new(7);
        for (p, ci) in [
            ("^[A-Z]{3}-[0-9]{4}$", false),
            ("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$", false),
            ("^[a-z0-9]+(-[a-z0-9]+)*$", false),
            ("^\\d{5}(-\\d{4})?$", false),
            ("^#[0-9a-f]{6}$", true),
            ("@", false),
            ("^[[:alpha:]]+$", false),
        ] {
            let pattern = Pattern::new(p, ci);
            for _ in 0..50 {
                let s = pattern.sample(&mut rng).expect(p);
                assert_eq!(is_match(&s, p, ci), Some(true), "{p}: {s:?}");
                assert!(s.chars().all(|c| (' '..='~').contains(&c)), "{p}: {s:?}");
            }
        }
    }

    #[test]
    fn postgres_only_syntax_is_left_to_the_server() {
        assert_eq!(is_match("a b", "\\mb", false), None);
        assert!(Pattern::new("[[:<:]]x", false)
            .sample(&mut SeedRng::new(1))
            .is_none());
        assert_eq!(is_match("ab", "b\\Z", false), Some(true));
        assert_eq!(is_match("AB", "^ab$", true), Some(true));
    }
}
