//! Drives proptest from async code: cases are drawn and shrunk through
//! proptest's `Strategy` / `ValueTree` API (`new_tree`, `simplify`,
//! `complicate`) and each case is awaited on the caller's runtime, so a
//! property's cases share its connections and no runtime is ever nested.
//!
//! What a user of proptest relies on is kept: failing seeds are saved in
//! proptest's regression-file format (`cc <hex> # shrinks to ...`) and
//! replayed before any new case; a run's seed fixes every case it draws,
//! the same cases proptest's own `TestRunner::run` draws from that RNG.

use std::fmt::Debug;
use std::path::PathBuf;

use proptest::prelude::RngExt;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{
    Config as ProptestConfig, FailurePersistence, FileFailurePersistence, PersistedSeed,
    RngAlgorithm, TestCaseError, TestRng, TestRunner,
};

/// Gives up after this many rejected cases (proptest's default).
const MAX_GLOBAL_REJECTS: u32 = 1024;

/// One case of a property, awaited by the runner.
pub(super) trait Case<V> {
    /// Runs the case on `value`: `Err(Fail)` breaks the rule (the runner
    /// then shrinks), `Err(Reject)` discards the value.
    async fn run(&mut self, value: V) -> Result<(), TestCaseError>;
}

/// How a property's cases ended.
#[derive(Debug)]
pub(super) enum Verdict<V> {
    /// Every case passed.
    Pass,
    /// A case failed: the reason of the last failure while shrinking and
    /// the minimal value that still fails.
    Fail(String, V),
    /// The run could not go on (a strategy that cannot draw a value, too
    /// many rejects).
    Abort(String),
}

/// What a run is told.
pub(super) struct Settings {
    /// New cases to pass (replayed regressions come on top).
    pub cases: u32,
    /// Shrinking steps at most, per failure.
    pub max_shrink_iters: u32,
    /// The regression file: replayed first, a new failure appended.
    pub regressions: Option<PathBuf>,
}

/// Runs `case` on values of `strategy`: first every seed saved in the
/// regression file, then `settings.cases` new cases from `rng`.
pub(super) async fn run<S, C>(
    strategy: &S,
    settings: &Settings,
    rng: TestRng,
    case: &mut C,
) -> Verdict<S::Value>
where
    S: Strategy,
    S::Value: Debug,
    C: Case<S::Value>,
{
    let config = ProptestConfig {
        cases: settings.cases,
        max_shrink_iters: settings.max_shrink_iters,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let mut rejects = 0u32;

    let saved = settings.regressions.as_deref().map(persistence);
    let replay: Vec<PersistedSeed> = saved
        .as_ref()
        .map(|p| p.load_persisted_failures2(None))
        .unwrap_or_default();
    let fresh = runner.rng().clone();
    for seed in replay.iter().rev() {
        let Some(rng) = rng_of(seed) else { continue };
        *runner.rng() = rng;
        match run_one(&mut runner, strategy, settings, case, &mut rejects).await {
            Verdict::Pass => {}
            other => return other,
        }
    }
    *runner.rng() = fresh;

    let mut passed = 0;
    while passed < settings.cases {
        // As proptest does: a fresh seed per case, so that a failing case
        // can be saved as the seed that draws it.
        let bytes: [u8; 32] = runner.rng().random();
        *runner.rng() = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let before = rejects;
        match run_one(&mut runner, strategy, settings, case, &mut rejects).await {
            Verdict::Pass => {
                if rejects == before {
                    passed += 1;
                }
            }
            Verdict::Fail(reason, minimal) => {
                if let (Some(mut saved), Ok(seed)) = (saved, persisted(&bytes)) {
                    saved.save_persisted_failure2(None, seed, &minimal);
                }
                return Verdict::Fail(reason, minimal);
            }
            abort => return abort,
        }
    }
    Verdict::Pass
}

/// Draws one value from the runner's RNG, runs it and, when it fails,
/// shrinks it to the simplest value that still fails.
async fn run_one<S, C>(
    runner: &mut TestRunner,
    strategy: &S,
    settings: &Settings,
    case: &mut C,
    rejects: &mut u32,
) -> Verdict<S::Value>
where
    S: Strategy,
    C: Case<S::Value>,
{
    let mut tree = match strategy.new_tree(runner) {
        Ok(tree) => tree,
        Err(reason) => return Verdict::Abort(reason.to_string()),
    };
    let first = match case.run(tree.current()).await {
        Ok(()) => return Verdict::Pass,
        Err(TestCaseError::Reject(_)) => {
            *rejects += 1;
            if *rejects >= MAX_GLOBAL_REJECTS {
                return Verdict::Abort(format!("{rejects} cases were rejected"));
            }
            return Verdict::Pass;
        }
        Err(TestCaseError::Fail(reason)) => reason.message().to_string(),
    };
    let mut last_failure = first;
    let mut steps = 0;
    if tree.simplify() {
        loop {
            if steps >= settings.max_shrink_iters {
                // Back to the most recent failing value.
                while tree.complicate() {}
                break;
            }
            steps += 1;
            match case.run(tree.current()).await {
                // A rejected value says nothing against the rule: like a
                // pass, it is not the failure being shrunk.
                Ok(()) | Err(TestCaseError::Reject(_)) => {
                    if !tree.complicate() {
                        break;
                    }
                }
                Err(TestCaseError::Fail(reason)) => {
                    last_failure = reason.message().to_string();
                    if !tree.simplify() {
                        break;
                    }
                }
            }
        }
    }
    Verdict::Fail(last_failure, tree.current())
}

/// proptest's own reader and writer of regression files, so that files
/// written by either replay in both.
fn persistence(path: &std::path::Path) -> FileFailurePersistence {
    // `Direct` wants a `&'static str`: one short string per property file
    // that has a regression file.
    let path: &'static str = Box::leak(path.display().to_string().into_boxed_str());
    FileFailurePersistence::Direct(path)
}

/// The RNG a saved seed stands for (`cc <hex>` for ChaCha, `xs a b c d` for
/// the XorShift seeds of older proptest versions).
fn rng_of(seed: &PersistedSeed) -> Option<TestRng> {
    let text = seed.to_string();
    let mut parts = text.split_whitespace();
    match parts.next()? {
        "cc" => {
            let hex = parts.next()?;
            if hex.len() != 64 {
                return None;
            }
            let bytes: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect::<Option<_>>()?;
            Some(TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
        }
        "xs" => {
            let mut bytes = Vec::with_capacity(16);
            for _ in 0..4 {
                let word: u32 = parts.next()?.parse().ok()?;
                bytes.extend_from_slice(&word.to_le_bytes());
            }
            Some(TestRng::from_seed(RngAlgorithm::XorShift, &bytes))
        }
        _ => None,
    }
}

/// The saved form of a case's ChaCha seed.
fn persisted(bytes: &[u8; 32]) -> Result<PersistedSeed, ()> {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("cc {hex}").parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;

    /// Fails when the values sum past 100; counts its calls.
    struct SumBelow100 {
        calls: u32,
    }

    impl Case<Vec<u32>> for SumBelow100 {
        async fn run(&mut self, value: Vec<u32>) -> Result<(), TestCaseError> {
            self.calls += 1;
            let sum: u32 = value.iter().sum();
            if sum > 100 {
                return Err(TestCaseError::fail(format!("sum {sum} > 100")));
            }
            Ok(())
        }
    }

    fn seeded(n: u8) -> TestRng {
        TestRng::from_seed(RngAlgorithm::ChaCha, &[n; 32])
    }

    fn settings(cases: u32, regressions: Option<PathBuf>) -> Settings {
        Settings {
            cases,
            max_shrink_iters: 1024,
            regressions,
        }
    }

    #[tokio::test]
    async fn a_failure_shrinks_to_the_minimal_value_and_is_replayed_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sum.proptest-regressions");
        let strategy = vec(0u32..100, 0..10);
        let mut case = SumBelow100 { calls: 0 };
        let verdict = run(
            &strategy,
            &settings(256, Some(file.clone())),
            seeded(1),
            &mut case,
        )
        .await;
        let Verdict::Fail(reason, minimal) = verdict else {
            panic!("expected a failure, got {verdict:?}");
        };
        // Minimal: two values (one is at most 99) summing to exactly 101.
        assert_eq!(minimal.iter().sum::<u32>(), 101, "{minimal:?}");
        assert_eq!(minimal.len(), 2, "{minimal:?}");
        assert!(reason.contains("sum 101"), "{reason}");
        let saved = std::fs::read_to_string(&file).unwrap();
        assert!(
            saved.contains("cc ") && saved.contains("shrinks to"),
            "{saved}"
        );

        // Another seed, zero new cases: only the saved failure runs, and
        // fails again.
        let mut again = SumBelow100 { calls: 0 };
        let verdict = run(&strategy, &settings(0, Some(file)), seeded(2), &mut again).await;
        assert!(matches!(verdict, Verdict::Fail(..)), "{verdict:?}");
    }

    #[tokio::test]
    async fn the_same_seed_draws_the_same_cases_and_a_passing_rule_runs_every_case() {
        struct Record(Vec<Vec<u32>>);
        impl Case<Vec<u32>> for Record {
            async fn run(&mut self, value: Vec<u32>) -> Result<(), TestCaseError> {
                self.0.push(value);
                Ok(())
            }
        }
        let strategy = vec(0u32..1000, 0..5);
        let (mut a, mut b) = (Record(Vec::new()), Record(Vec::new()));
        assert!(matches!(
            run(&strategy, &settings(40, None), seeded(7), &mut a).await,
            Verdict::Pass
        ));
        assert!(matches!(
            run(&strategy, &settings(40, None), seeded(7), &mut b).await,
            Verdict::Pass
        ));
        assert_eq!(a.0.len(), 40);
        assert_eq!(a.0, b.0);
        let mut c = Record(Vec::new());
        run(&strategy, &settings(40, None), seeded(8), &mut c).await;
        assert_ne!(a.0, c.0);
    }

    #[test]
    fn saved_seeds_of_both_formats_read_back() {
        let cc: PersistedSeed = format!("cc {}", "ab".repeat(32)).parse().unwrap();
        assert!(rng_of(&cc).is_some());
        let xs: PersistedSeed = "xs 1 2 3 4".parse().unwrap();
        assert!(rng_of(&xs).is_some());
        let bytes = [0x5au8; 32];
        assert_eq!(
            persisted(&bytes).unwrap().to_string(),
            format!("cc {}", "5a".repeat(32))
        );
    }
}
