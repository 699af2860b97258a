//! Drives proptest from async code: cases are drawn and shrunk through
//! proptest's `Strategy` / `ValueTree` API (`new_tree`, `simplify`,
//! `complicate`) and each case is awaited on the caller's runtime, so a
//! property's cases share its connections and no runtime is ever nested.
//!
//! What a user of proptest relies on is kept: failing seeds are saved in
//! proptest's regression-file format (`cc <hex> # shrinks to ...`) and
//! replayed before any new case; a run's seed fixes every case it draws,
//! the same cases proptest's own `TestRunner::run` draws from that RNG.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::PathBuf;

use futures_util::stream::{FuturesUnordered, StreamExt};

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

/// Runs the cases on values of `strategy`: first every seed saved in the
/// regression file (on the first worker), then `settings.cases` new cases
/// from `rng`, spread over `workers` (each case on whichever worker is
/// free; a worker runs one case at a time). The cases drawn are those of a
/// sequential run, in the same order; on a failure no new case starts, the
/// cases running finish, and the first failing case (in drawing order) is
/// shrunk on the first worker: the verdict does not depend on the number of
/// workers.
pub(super) async fn run<S, C>(
    strategy: &S,
    settings: &Settings,
    rng: TestRng,
    workers: &mut [C],
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
    let Some(first) = workers.first_mut() else {
        return Verdict::Abort("no worker to run cases on".to_string());
    };

    let saved = settings.regressions.as_deref().map(persistence);
    let replay: Vec<PersistedSeed> = saved
        .as_ref()
        .map(|p| p.load_persisted_failures2(None))
        .unwrap_or_default();
    let fresh = runner.rng().clone();
    for seed in replay.iter().rev() {
        let Some(rng) = rng_of(seed) else { continue };
        *runner.rng() = rng;
        let mut tree = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree,
            Err(reason) => return Verdict::Abort(reason.to_string()),
        };
        match first.run(tree.current()).await {
            Ok(()) => {}
            Err(TestCaseError::Reject(_)) => {
                rejects += 1;
                if rejects >= MAX_GLOBAL_REJECTS {
                    return Verdict::Abort(too_many_rejects(rejects));
                }
            }
            Err(TestCaseError::Fail(reason)) => {
                return shrink(&mut tree, reason.message().to_string(), settings, first).await
            }
        }
    }
    *runner.rng() = fresh;

    // Drawn, not yet passed: the value tree (to shrink) and its seed (to
    // save), by drawing order.
    let mut drawn: BTreeMap<u64, (S::Tree, [u8; 32])> = BTreeMap::new();
    let mut failures: BTreeMap<u64, String> = BTreeMap::new();
    let mut idle: Vec<&mut C> = workers.iter_mut().rev().collect();
    let mut running = FuturesUnordered::new();
    let (mut next, mut passed) = (0u64, 0u32);
    let mut abort: Option<String> = None;
    loop {
        while failures.is_empty()
            && abort.is_none()
            && passed as usize + running.len() < settings.cases as usize
        {
            let Some(worker) = idle.pop() else { break };
            // As proptest does: a fresh seed per case, so that a failing
            // case can be saved as the seed that draws it.
            let bytes: [u8; 32] = runner.rng().random();
            *runner.rng() = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
            let tree = match strategy.new_tree(&mut runner) {
                Ok(tree) => tree,
                Err(reason) => {
                    idle.push(worker);
                    abort = Some(reason.to_string());
                    break;
                }
            };
            running.push(run_on(worker, next, tree.current()));
            drawn.insert(next, (tree, bytes));
            next += 1;
        }
        // Every case started is awaited, whatever happened: a case dropped
        // halfway would leave its connection mid-transaction.
        let Some((worker, index, outcome)) = running.next().await else {
            break;
        };
        idle.push(worker);
        match outcome {
            Ok(()) => {
                passed += 1;
                drawn.remove(&index);
            }
            Err(TestCaseError::Reject(_)) => {
                drawn.remove(&index);
                rejects += 1;
                if rejects >= MAX_GLOBAL_REJECTS && abort.is_none() {
                    abort = Some(too_many_rejects(rejects));
                }
            }
            Err(TestCaseError::Fail(reason)) => {
                failures.insert(index, reason.message().to_string());
            }
        }
    }
    drop(running);
    drop(idle);
    if let Some((index, reason)) = failures.into_iter().next() {
        let Some((mut tree, bytes)) = drawn.remove(&index) else {
            return Verdict::Abort(format!("case {index} failed but was not drawn"));
        };
        let verdict = shrink(&mut tree, reason, settings, &mut workers[0]).await;
        if let (Verdict::Fail(_, minimal), Some(mut saved), Ok(seed)) =
            (&verdict, saved, persisted(&bytes))
        {
            saved.save_persisted_failure2(None, seed, minimal);
        }
        return verdict;
    }
    match abort {
        Some(reason) => Verdict::Abort(reason),
        None => Verdict::Pass,
    }
}

/// One case on one worker, handing the worker back with the outcome.
async fn run_on<V, C: Case<V>>(
    worker: &mut C,
    index: u64,
    value: V,
) -> (&mut C, u64, Result<(), TestCaseError>) {
    let outcome = worker.run(value).await;
    (worker, index, outcome)
}

fn too_many_rejects(rejects: u32) -> String {
    format!("{rejects} cases were rejected")
}

/// Shrinks a failing value to the simplest one that still fails, on
/// `case`.
async fn shrink<T, C>(
    tree: &mut T,
    first_failure: String,
    settings: &Settings,
    case: &mut C,
) -> Verdict<T::Value>
where
    T: ValueTree,
    C: Case<T::Value>,
{
    let mut last_failure = first_failure;
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
            std::slice::from_mut(&mut case),
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
        let verdict = run(
            &strategy,
            &settings(0, Some(file)),
            seeded(2),
            std::slice::from_mut(&mut again),
        )
        .await;
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
            run(
                &strategy,
                &settings(40, None),
                seeded(7),
                std::slice::from_mut(&mut a)
            )
            .await,
            Verdict::Pass
        ));
        assert!(matches!(
            run(
                &strategy,
                &settings(40, None),
                seeded(7),
                std::slice::from_mut(&mut b)
            )
            .await,
            Verdict::Pass
        ));
        assert_eq!(a.0.len(), 40);
        assert_eq!(a.0, b.0);
        let mut c = Record(Vec::new());
        run(
            &strategy,
            &settings(40, None),
            seeded(8),
            std::slice::from_mut(&mut c),
        )
        .await;
        assert_ne!(a.0, c.0);
    }

    /// Records every value and fails past a sum of 100, finishing its
    /// cases out of order (a case yields as many times as its first
    /// value says): several workers interleave.
    struct SlowRecord {
        seen: Vec<Vec<u32>>,
        fail_over: u32,
    }

    impl Case<Vec<u32>> for SlowRecord {
        async fn run(&mut self, value: Vec<u32>) -> Result<(), TestCaseError> {
            for _ in 0..value.first().copied().unwrap_or(0) % 7 {
                tokio::task::yield_now().await;
            }
            self.seen.push(value.clone());
            let sum: u32 = value.iter().sum();
            if sum > self.fail_over {
                return Err(TestCaseError::fail(format!("sum {sum}")));
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn workers_run_the_cases_of_a_sequential_run_and_shrink_the_same_failure() {
        let strategy = vec(0u32..100, 0..6);
        let worker = |fail_over| SlowRecord {
            seen: Vec::new(),
            fail_over,
        };
        // Passing: the same values, each once, spread over the workers.
        let mut one = [worker(u32::MAX)];
        let mut three = [worker(u32::MAX), worker(u32::MAX), worker(u32::MAX)];
        assert!(matches!(
            run(&strategy, &settings(60, None), seeded(3), &mut one).await,
            Verdict::Pass
        ));
        assert!(matches!(
            run(&strategy, &settings(60, None), seeded(3), &mut three).await,
            Verdict::Pass
        ));
        assert!(three.iter().all(|w| !w.seen.is_empty()), "a worker idled");
        let mut all: Vec<Vec<u32>> = three.iter().flat_map(|w| w.seen.clone()).collect();
        let mut sequential = one[0].seen.clone();
        assert_eq!(sequential.len(), 60);
        all.sort();
        sequential.sort();
        assert_eq!(all, sequential);

        // Failing: the first failing case in drawing order is the one
        // shrunk, whichever worker finished first.
        let mut one = [worker(150)];
        let mut three = [worker(150), worker(150), worker(150)];
        let a = run(&strategy, &settings(200, None), seeded(4), &mut one).await;
        let b = run(&strategy, &settings(200, None), seeded(4), &mut three).await;
        let (Verdict::Fail(ra, ma), Verdict::Fail(rb, mb)) = (a, b) else {
            panic!("expected two failures");
        };
        assert_eq!((ra, ma), (rb, mb));
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
