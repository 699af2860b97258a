//! Race properties (`[[race]]` in a property file): a rule that must hold
//! when sessions run at once. Each race lists the steps of two or more
//! sessions; the runner drives every interleaving of those steps (a seeded
//! sample when there are too many), each on its own clone of the case's
//! data, and checks `hold` after each.
//!
//! ```toml
//! [[race]]
//! name = "two sessions cannot both start a task of the same cycle"
//! sessions = 2                                   # optional: must match `steps`
//! for_each = "select t.cycle_id, t.id, u.id from task t join task u on ..."
//! setup = "update task set status = 'todo' where cycle_id = $1"  # optional
//! steps = [
//!   ["begin", "update task set status = 'in_progress' where id = $2", "commit"],
//!   ["begin", "update task set status = 'in_progress' where id = $3", "commit"],
//! ]
//! isolation = "read committed"       # or "repeatable read" / "serializable"
//! allow = ["PH002"]                  # SQLSTATEs (or 2-character classes) a step may fail with
//! hold = "select count(*) <= 1 from task where cycle_id = $1 and status = 'in_progress'"
//! ```
//!
//! A schedule is driven deterministically: steps are sent in the schedule's
//! order, and after each the runner waits until every running step has
//! finished or waits for a lock held by another session of the race (read
//! from `pg_blocking_pids`, never guessed from a sleep). A session whose step
//! waits keeps its next steps until it is free; the other sessions go on.

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use proptest::test_runner::TestCaseError;
use serde::Deserialize;
use sqlx::postgres::PgConnection;
use sqlx::Either;

use super::cases::show_row;
use super::rules::bind_literals;
use crate::server::Database;
use crate::{Error, Harness};

/// At most this many sessions in one race.
pub const MAX_SESSIONS: usize = 8;

/// Schedules per race and case when the file does not say: every
/// interleaving when there are at most this many, a seeded sample of this
/// many otherwise.
pub const DEFAULT_SCHEDULES: usize = 64;

/// The most schedules a file may ask for per race and case.
pub const MAX_SCHEDULES: usize = 10_000;

/// Data cases a file with races runs at most: each case runs every
/// schedule of every race on clones of its data.
pub const MAX_RACE_CASES: u32 = 4;

/// The isolation level of every session of a race.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Isolation {
    /// READ COMMITTED (PostgreSQL's default).
    #[default]
    #[serde(rename = "read committed")]
    ReadCommitted,
    /// REPEATABLE READ.
    #[serde(rename = "repeatable read")]
    RepeatableRead,
    /// SERIALIZABLE.
    #[serde(rename = "serializable")]
    Serializable,
}

impl Isolation {
    fn sql(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read committed",
            Isolation::RepeatableRead => "repeatable read",
            Isolation::Serializable => "serializable",
        }
    }
}

/// One `[[race]]` of a property file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Race {
    /// 1-based position among the file's races.
    pub number: usize,
    /// The line of the file the race starts on.
    pub line: usize,
    /// The rule, in words.
    pub name: String,
    /// Rows to race on, bound as `$1..$n` in `setup`, `steps` and `hold`;
    /// the first row of each case is raced on.
    pub for_each: Option<String>,
    /// Run before each schedule, committed, on the race's own connection.
    pub setup: Option<String>,
    /// The statements of each session, in order.
    pub steps: Vec<Vec<String>>,
    /// Isolation level of every session.
    pub isolation: Isolation,
    /// SQLSTATEs (5 characters) or classes (2) a step may fail with.
    pub allow: Vec<String>,
    /// Must return one boolean, true, after every schedule.
    pub hold: String,
    /// Schedules per case at most.
    pub schedules: usize,
}

impl Race {
    /// `race 1 ("two sessions ...")`.
    pub fn label(&self) -> String {
        format!("race {} (\"{}\")", self.number, self.name)
    }

    fn allows(&self, code: &str) -> bool {
        self.allow.iter().any(|a| code.starts_with(a.as_str()))
    }
}

/// A `[[race]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRace {
    name: String,
    sessions: Option<usize>,
    for_each: Option<String>,
    setup: Option<String>,
    steps: Vec<Vec<String>>,
    #[serde(default)]
    isolation: Isolation,
    allow: Option<Vec<String>>,
    hold: String,
    schedules: Option<usize>,
}

/// What a step may fail with when the race does not say: constraint
/// violations and serialization failures, the refusals a correct rule
/// gives a loser of a race. Deadlocks (40P01) are not among them.
const DEFAULT_ALLOW: [&str; 2] = ["23", "40001"];

/// Checks a race as written; `invalid(line, message)` makes the error.
pub(super) fn parse(
    raw: RawRace,
    number: usize,
    line: usize,
    invalid: &dyn Fn(usize, String) -> Error,
) -> Result<Race, Error> {
    let at = |m: String| invalid(line, format!("race {number}: {m}"));
    let n = raw.steps.len();
    if n < 2 {
        return Err(at(format!(
            "`steps` lists {n} session(s): a race needs at least 2"
        )));
    }
    if n > MAX_SESSIONS {
        return Err(at(format!(
            "`steps` lists {n} sessions: at most {MAX_SESSIONS}"
        )));
    }
    if let Some(sessions) = raw.sessions {
        if sessions != n {
            return Err(at(format!(
                "sessions = {sessions}, but `steps` lists {n} session(s)"
            )));
        }
    }
    for (i, steps) in raw.steps.iter().enumerate() {
        if steps.is_empty() {
            return Err(at(format!("session {} has no steps", i + 1)));
        }
        if let Some(k) = steps.iter().position(|s| s.trim().is_empty()) {
            return Err(at(format!("session {} step {} is empty", i + 1, k + 1)));
        }
    }
    if raw.hold.trim().is_empty() {
        return Err(at("`hold` is empty".into()));
    }
    let allow = match raw.allow {
        Some(list) => list,
        None => DEFAULT_ALLOW.iter().map(|s| s.to_string()).collect(),
    };
    for code in &allow {
        let well_formed = matches!(code.len(), 2 | 5)
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !well_formed {
            return Err(at(format!(
                "allow: \"{code}\" is neither a 5-character SQLSTATE nor a 2-character class"
            )));
        }
    }
    let schedules = raw.schedules.unwrap_or(DEFAULT_SCHEDULES);
    if !(1..=MAX_SCHEDULES).contains(&schedules) {
        return Err(at(format!(
            "schedules = {schedules}: give 1 to {MAX_SCHEDULES}"
        )));
    }
    Ok(Race {
        number,
        line,
        name: raw.name,
        for_each: raw.for_each,
        setup: raw.setup.filter(|s| !s.trim().is_empty()),
        steps: raw.steps,
        isolation: raw.isolation,
        allow,
        hold: raw.hold,
        schedules,
    })
}

// ---------------------------------------------------------------------
// Schedules.
// ---------------------------------------------------------------------

/// The number of interleavings of sessions with `counts` steps (the
/// multinomial coefficient), saturating.
pub fn interleavings(counts: &[usize]) -> u128 {
    let mut total: u128 = 1;
    let mut placed: u128 = 0;
    for &c in counts {
        for k in 1..=c as u128 {
            placed += 1;
            // total * placed / k stays an integer at every step.
            total = match total.checked_mul(placed) {
                Some(t) => t / k,
                None => return u128::MAX,
            };
        }
    }
    total
}

/// The schedules to drive, each a sequence of session indices (the k-th
/// occurrence of a session is its k-th step): every interleaving in
/// lexicographic order when there are at most `max`, else `max` distinct
/// ones drawn from `seed`.
pub fn schedules(counts: &[usize], max: usize, seed: u64) -> Vec<Vec<usize>> {
    let total: usize = counts.iter().sum();
    if interleavings(counts) <= max as u128 {
        let mut out = Vec::new();
        let mut left = counts.to_vec();
        let mut prefix = Vec::with_capacity(total);
        enumerate(&mut left, &mut prefix, total, &mut out);
        return out;
    }
    let mut rng = SplitMix(seed);
    let mut base: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(s, &c)| std::iter::repeat_n(s, c))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut attempts = 0;
    while out.len() < max && attempts < max * 20 {
        attempts += 1;
        for i in (1..base.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            base.swap(i, j);
        }
        if seen.insert(base.clone()) {
            out.push(base.clone());
        }
    }
    out
}

fn enumerate(left: &mut [usize], prefix: &mut Vec<usize>, total: usize, out: &mut Vec<Vec<usize>>) {
    if prefix.len() == total {
        out.push(prefix.clone());
        return;
    }
    for s in 0..left.len() {
        if left[s] > 0 {
            left[s] -= 1;
            prefix.push(s);
            enumerate(left, prefix, total, out);
            prefix.pop();
            left[s] += 1;
        }
    }
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }
}

/// The seed of a race's sampled schedules: the run's seed and the race.
pub fn schedule_seed(seed: u64, stem: &str, race: usize) -> u64 {
    let mut z = seed ^ (race as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in stem.bytes() {
        z = (z ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    z
}

// ---------------------------------------------------------------------
// Driving one schedule.
// ---------------------------------------------------------------------

/// What a step that succeeded gave back.
#[derive(Debug, Default)]
struct StepOk {
    rows: usize,
    affected: u64,
}

type StepResult = Result<StepOk, sqlx::Error>;
type Running = Pin<Box<dyn Future<Output = (PgConnection, StepResult)> + Send>>;

enum Slot {
    Idle(PgConnection),
    Busy(Running),
    Taken,
}

struct Session {
    pid: i32,
    slot: Slot,
    /// Bound statements.
    statements: Vec<String>,
    /// Steps sent so far.
    started: usize,
    /// The trace line of the running step, and whether it was seen waiting.
    line: usize,
    waited: bool,
    /// An error left the session's transaction failed (for the trace).
    failed: bool,
}

impl Session {
    fn is_idle(&self) -> bool {
        matches!(self.slot, Slot::Idle(_))
    }
    fn is_busy(&self) -> bool {
        matches!(self.slot, Slot::Busy(_))
    }
    /// The step sent last was a `begin` and a step follows it.
    fn glues_next(&self) -> bool {
        self.started > 0
            && self.started < self.statements.len()
            && is_transaction_start(&self.statements[self.started - 1])
    }
}

/// A step that failed with an error the race does not allow.
struct Refused {
    session: usize,
    step: usize,
    code: String,
    message: String,
}

struct Driver<'a> {
    race: &'a Race,
    control: &'a mut PgConnection,
    sessions: Vec<Session>,
    queue: VecDeque<usize>,
    trace: Vec<String>,
    steps_sent: usize,
    refused: Vec<Refused>,
}

/// How long a running step is awaited before the server is asked whether
/// it waits for a lock. Only speed depends on it, never the outcome.
const POLL: Duration = Duration::from_millis(1);

fn one_line(sql: &str) -> String {
    let flat: Vec<&str> = sql.split_whitespace().collect();
    let flat = flat.join(" ");
    if flat.chars().count() > 100 {
        let cut: String = flat.chars().take(97).collect();
        format!("{cut}...")
    } else {
        flat
    }
}

/// `begin` / `start transaction`: it takes no snapshot and no lock (the
/// snapshot comes with the next statement), so where it runs among other
/// sessions' steps changes nothing. A schedule sends it together with the
/// session's next step, which cuts the schedules to drive without losing
/// an outcome.
fn is_transaction_start(sql: &str) -> bool {
    // One statement only: a step that goes on after its `begin` may wait
    // for a lock, and is scheduled as what it is.
    if sql.trim().trim_end_matches(';').contains(';') {
        return false;
    }
    let mut words = sql
        .split_whitespace()
        .map(|w| w.trim_end_matches(';').to_ascii_lowercase());
    match words.next().as_deref() {
        Some("begin") => true,
        Some("start") => words.next().as_deref() == Some("transaction"),
        _ => false,
    }
}

/// The steps of a session a schedule places: each `begin` goes with the
/// step after it.
pub fn scheduled_steps(statements: &[String]) -> usize {
    let glued = statements
        .windows(2)
        .filter(|pair| is_transaction_start(&pair[0]))
        .count();
    statements.len() - glued
}

fn is_transaction_end(sql: &str) -> bool {
    let word = sql
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches(';')
        .to_ascii_lowercase();
    matches!(word.as_str(), "commit" | "rollback" | "end" | "abort")
}

async fn run_step(conn: &mut PgConnection, sql: &str) -> StepResult {
    let mut ok = StepOk::default();
    let mut stream = sqlx::raw_sql(sql).fetch_many(&mut *conn);
    while let Some(item) = stream.try_next().await? {
        match item {
            Either::Left(done) => ok.affected += done.rows_affected(),
            Either::Right(_) => ok.rows += 1,
        }
    }
    Ok(ok)
}

/// Waits for the first running step to finish (forever when none runs).
async fn next_done(sessions: &mut [Session]) -> (usize, PgConnection, StepResult) {
    std::future::poll_fn(|cx| {
        for (i, s) in sessions.iter_mut().enumerate() {
            if let Slot::Busy(step) = &mut s.slot {
                if let Poll::Ready((conn, result)) = step.as_mut().poll(cx) {
                    s.slot = Slot::Taken;
                    return Poll::Ready((i, conn, result));
                }
            }
        }
        Poll::Pending
    })
    .await
}

impl Driver<'_> {
    fn any_busy(&self) -> bool {
        self.sessions.iter().any(Session::is_busy)
    }

    fn start(&mut self, s: usize) {
        let session = &mut self.sessions[s];
        let Slot::Idle(mut conn) = std::mem::replace(&mut session.slot, Slot::Taken) else {
            return;
        };
        let step = session.started;
        session.started += 1;
        let sql = session.statements[step].clone();
        self.steps_sent += 1;
        session.line = self.trace.len();
        session.waited = false;
        self.trace.push(format!(
            "{:>3}. session {}: {}",
            self.steps_sent,
            s + 1,
            one_line(&sql)
        ));
        session.slot = Slot::Busy(Box::pin(async move {
            let result = run_step(&mut conn, &sql).await;
            (conn, result)
        }));
    }

    fn finished(&mut self, s: usize, conn: PgConnection, result: StepResult) {
        let race = self.race;
        let session = &mut self.sessions[s];
        session.slot = Slot::Idle(conn);
        let step = session.started - 1;
        let ends = is_transaction_end(&session.statements[step]);
        let outcome = match result {
            Ok(ok) => {
                let text = if ends && session.failed {
                    "ok (rolled back: the transaction had failed)".to_string()
                } else if ok.rows > 0 {
                    format!("ok, {} row(s)", ok.rows)
                } else if ok.affected > 0 {
                    format!("ok, {} row(s) affected", ok.affected)
                } else {
                    "ok".to_string()
                };
                // A transaction that ended, or a new one: nothing failed
                // in it yet.
                if ends || is_transaction_start(&session.statements[step]) {
                    session.failed = false;
                }
                text
            }
            Err(e) => {
                let (code, message) = super::cases::db_error(&e);
                let code = code.unwrap_or_default();
                // After an error in a transaction, every statement until its
                // end fails with 25P02 (the server sends it for nothing
                // else): a consequence, not an outcome.
                let consequence = code == "25P02";
                session.failed = !ends;
                let allowed = consequence || race.allows(&code);
                if !allowed {
                    self.refused.push(Refused {
                        session: s,
                        step,
                        code: code.clone(),
                        message: message.clone(),
                    });
                }
                let note = if allowed { "" } else { " (not allowed)" };
                format!("ERROR {code}: {}{note}", one_line(&message))
            }
        };
        if session.waited {
            self.trace
                .push(format!("     session {} resumes: {outcome}", s + 1));
        } else if let Some(line) = self.trace.get_mut(session.line) {
            let _ = write!(line, "  ->  {outcome}");
        }
    }

    /// Waits until every running step has finished or waits for a lock
    /// another session of the race holds.
    async fn settle(&mut self) -> Result<(), TestCaseError> {
        loop {
            if !self.any_busy() {
                return Ok(());
            }
            if let Ok((s, conn, result)) =
                tokio::time::timeout(POLL, next_done(&mut self.sessions)).await
            {
                self.finished(s, conn, result);
                continue;
            }
            let pids: Vec<i32> = self.sessions.iter().map(|s| s.pid).collect();
            let waits: Vec<(i32, Vec<i32>)> =
                sqlx::query_as("select pid, pg_blocking_pids(pid) from unnest($1::int4[]) pid")
                    .bind(&pids)
                    .fetch_all(&mut *self.control)
                    .await
                    .map_err(|e| {
                        TestCaseError::fail(format!(
                            "{}: cannot read the sessions' lock waits: {e}",
                            self.race.label()
                        ))
                    })?;
            let mut all_wait = true;
            for (s, session) in self.sessions.iter_mut().enumerate() {
                if !session.is_busy() {
                    continue;
                }
                let blockers: Vec<usize> = waits
                    .iter()
                    .find(|(pid, _)| *pid == session.pid)
                    .map(|(_, by)| {
                        by.iter()
                            .filter_map(|b| pids.iter().position(|p| p == b))
                            .filter(|&b| b != s)
                            .collect()
                    })
                    .unwrap_or_default();
                if blockers.is_empty() {
                    all_wait = false;
                    continue;
                }
                if !session.waited {
                    session.waited = true;
                    let names: Vec<String> = blockers
                        .iter()
                        .map(|b| format!("session {}", b + 1))
                        .collect();
                    if let Some(line) = self.trace.get_mut(session.line) {
                        let _ = write!(line, "  ->  waits for {}", names.join(" and "));
                    }
                }
            }
            if all_wait {
                return Ok(());
            }
        }
    }

    /// Sends queued steps of free sessions, in the schedule's order, each
    /// followed by a settle.
    async fn pump(&mut self) -> Result<(), TestCaseError> {
        while let Some(pos) = self.queue.iter().position(|&s| self.sessions[s].is_idle()) {
            let Some(s) = self.queue.remove(pos) else {
                break;
            };
            self.start(s);
            self.settle().await?;
            // A `begin` takes the session's next step with it.
            while self.sessions[s].is_idle() && self.sessions[s].glues_next() {
                self.start(s);
                self.settle().await?;
            }
        }
        Ok(())
    }

    /// Rolls back the open transactions of sessions whose steps are all
    /// sent: nothing else can end them. Returns whether any was.
    async fn end_open_transactions(&mut self) -> Result<bool, TestCaseError> {
        let done: Vec<i32> = self
            .sessions
            .iter()
            .filter(|s| s.is_idle() && s.started == s.statements.len())
            .map(|s| s.pid)
            .collect();
        if done.is_empty() {
            return Ok(false);
        }
        let open: Vec<i32> = sqlx::query_scalar(
            "select pid from pg_stat_activity where pid = any($1) and state like 'idle in transaction%'",
        )
        .bind(&done)
        .fetch_all(&mut *self.control)
        .await
        .map_err(|e| {
            TestCaseError::fail(format!(
                "{}: cannot read the sessions' state: {e}",
                self.race.label()
            ))
        })?;
        for (s, session) in self.sessions.iter_mut().enumerate() {
            if !open.contains(&session.pid) {
                continue;
            }
            if let Slot::Idle(conn) = &mut session.slot {
                let _ = sqlx::raw_sql("rollback").execute(&mut *conn).await;
                self.trace.push(format!(
                    "     session {}: its steps ended inside a transaction: rolled back",
                    s + 1
                ));
                session.failed = false;
            }
        }
        Ok(!open.is_empty())
    }

    async fn drive(&mut self, schedule: &[usize]) -> Result<(), TestCaseError> {
        for &s in schedule {
            self.queue.push_back(s);
            self.pump().await?;
        }
        loop {
            self.pump().await?;
            if !self.any_busy() {
                break;
            }
            // Every running step waits and nothing queued can be sent: a
            // finished session's open transaction may hold the lock, else
            // the server resolves it (deadlock detection, statement timeout).
            if self.end_open_transactions().await? {
                self.settle().await?;
                continue;
            }
            let (s, conn, result) = next_done(&mut self.sessions).await;
            self.finished(s, conn, result);
            self.settle().await?;
        }
        self.end_open_transactions().await?;
        Ok(())
    }
}

/// Where a race's schedules run: the case's database (data loaded and
/// committed), which each schedule clones.
pub(super) struct RaceContext<'a> {
    pub harness: &'a Harness,
    pub case_db: &'a Database,
    pub file_stem: &'a str,
    pub seed: u64,
}

/// What running a race in one case counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct RaceCount {
    /// Schedules driven.
    pub schedules: u64,
    /// Time spent on them (clones included).
    pub elapsed: Duration,
    /// Data sets drawn again because no race had a row to race on.
    pub rejected: u64,
}

/// Runs every schedule of `race` on `row` (the first of `for_each`);
/// `first` is a schedule to try before the others (the one that failed
/// last, while shrinking). On failure returns the broken schedule too.
///
/// Schedules are pipelined: while one runs, the database of the previous
/// one is dropped and the next one's clone is made and connected.
pub(super) async fn run_race(
    ctx: &RaceContext<'_>,
    race: &Race,
    row: &[Option<String>],
    first: Option<&[usize]>,
    count: &mut RaceCount,
) -> Result<(), (TestCaseError, Option<Vec<usize>>)> {
    let bind = |sql: &str| {
        bind_literals(sql, row)
            .map_err(|m| (TestCaseError::fail(format!("{}: {m}", race.label())), None))
    };
    let mut statements = Vec::new();
    for steps in &race.steps {
        statements.push(
            steps
                .iter()
                .map(|s| bind(s))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let setup = race.setup.as_deref().map(bind).transpose()?;
    let setup = setup.as_deref();
    let hold = bind(&race.hold)?;
    let counts: Vec<usize> = race.steps.iter().map(|s| scheduled_steps(s)).collect();
    let mut all = schedules(
        &counts,
        race.schedules,
        schedule_seed(ctx.seed, ctx.file_stem, race.number),
    );
    let total = interleavings(&counts);
    if let Some(first) = first {
        if let Some(pos) = all.iter().position(|s| s == first) {
            let f = all.remove(pos);
            all.insert(0, f);
        }
    }
    let started = Instant::now();
    let mut pending = Some(prepare(ctx, race, setup).await);
    let mut to_drop: Option<Database> = None;
    let mut broken = None;
    for (i, schedule) in all.iter().enumerate() {
        let current = pending.take();
        let more = i + 1 < all.len();
        let run = async {
            match current {
                Some(Ok(prepared)) => {
                    let (db, outcome) =
                        drive_prepared(race, prepared, &statements, &hold, schedule).await;
                    count.schedules += 1;
                    (Some(db), outcome)
                }
                Some(Err(message)) => (None, Err((message, String::new()))),
                None => (
                    None,
                    Err(("no database was prepared".into(), String::new())),
                ),
            }
        };
        let background = async {
            if let Some(db) = to_drop.take() {
                let _ = ctx.harness.drop_database(&db).await;
            }
            if more {
                Some(prepare(ctx, race, setup).await)
            } else {
                None
            }
        };
        let ((db, outcome), next) = futures_util::future::join(run, background).await;
        pending = next;
        to_drop = db;
        if let Err(trace) = outcome {
            broken = Some((schedule, trace));
            break;
        }
    }
    if let Some(db) = to_drop {
        let _ = ctx.harness.drop_database(&db).await;
    }
    if let Some(Ok(prepared)) = pending {
        let db = prepared.close().await;
        let _ = ctx.harness.drop_database(&db).await;
    }
    count.elapsed += started.elapsed();
    let Some((schedule, (what, trace))) = broken else {
        return Ok(());
    };
    let with = if row.is_empty() {
        String::new()
    } else {
        format!(" with {}", show_row(row))
    };
    let drawn = all.len();
    let of = if total == drawn as u128 {
        format!("{drawn}, every interleaving")
    } else {
        format!("{drawn} drawn of {total} interleavings")
    };
    let order: Vec<String> = schedule.iter().map(|s| (s + 1).to_string()).collect();
    let glued = if counts.iter().zip(&race.steps).any(|(c, s)| *c < s.len()) {
        ", each `begin` with the step after it"
    } else {
        ""
    };
    Err((
        TestCaseError::fail(format!(
            "{}{with}: {what}\n  schedule (sessions in the order {}{glued}; one of {of}):\n{trace}",
            race.label(),
            order.join(" "),
        )),
        Some(schedule.clone()),
    ))
}

/// A clone of the case's database, `setup` run on it, and the race's
/// connections open: the control connection and one per session.
struct Prepared {
    db: Database,
    control: PgConnection,
    sessions: Vec<(PgConnection, i32)>,
}

impl Prepared {
    async fn close(self) -> Database {
        let _ = sqlx::Connection::close(self.control).await;
        for (conn, _) in self.sessions {
            let _ = sqlx::Connection::close(conn).await;
        }
        self.db
    }
}

async fn prepare(
    ctx: &RaceContext<'_>,
    race: &Race,
    setup: Option<&str>,
) -> Result<Prepared, String> {
    let server = ctx.harness.server();
    let name = server.new_database_name("race");
    let db = server
        .create_database_named(&name, Some(ctx.case_db.name()))
        .await
        .map_err(|e| format!("cannot clone the case's database: {e}"))?;
    let connected = connect_all(ctx, race, &db, setup).await;
    match connected {
        Ok((control, sessions)) => Ok(Prepared {
            db,
            control,
            sessions,
        }),
        Err(message) => {
            let _ = ctx.harness.drop_database(&db).await;
            Err(message)
        }
    }
}

type Connections = (PgConnection, Vec<(PgConnection, i32)>);

async fn connect_all(
    ctx: &RaceContext<'_>,
    race: &Race,
    db: &Database,
    setup: Option<&str>,
) -> Result<Connections, String> {
    let control = async {
        let mut control = ctx
            .harness
            .connect(db)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        if let Some(setup) = setup {
            sqlx::raw_sql(setup)
                .execute(&mut control)
                .await
                .map_err(|e| format!("`setup` failed: {e}"))?;
        }
        Ok::<_, String>(control)
    };
    let set = format!(
        "set session characteristics as transaction isolation level {}",
        race.isolation.sql()
    );
    let sessions = futures_util::future::try_join_all(race.steps.iter().map(|_| async {
        let mut conn = ctx
            .harness
            .connect(db)
            .await
            .map_err(|e| format!("cannot connect a session: {e}"))?;
        let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| format!("cannot start a session: {e}"))?;
        sqlx::raw_sql(&set)
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot set the isolation level: {e}"))?;
        // Deadlocks are found sooner where the role may say so (a
        // superuser setting); elsewhere the server's default applies.
        let _ = sqlx::raw_sql("set deadlock_timeout = '20ms'")
            .execute(&mut conn)
            .await;
        Ok::<_, String>((conn, pid))
    }));
    futures_util::future::try_join(control, sessions).await
}

/// Drives `schedule` on a prepared clone, then checks `hold`. Returns the
/// clone (to drop) and `Err((what broke, trace))` on a failure.
async fn drive_prepared(
    race: &Race,
    prepared: Prepared,
    statements: &[Vec<String>],
    hold: &str,
    schedule: &[usize],
) -> (Database, Result<(), (String, String)>) {
    let Prepared {
        db,
        mut control,
        sessions,
    } = prepared;
    let sessions = sessions
        .into_iter()
        .zip(statements)
        .map(|((conn, pid), statements)| Session {
            pid,
            slot: Slot::Idle(conn),
            statements: statements.clone(),
            started: 0,
            line: 0,
            waited: false,
            failed: false,
        })
        .collect();
    let mut driver = Driver {
        race,
        control: &mut control,
        sessions,
        queue: VecDeque::new(),
        trace: Vec::new(),
        steps_sent: 0,
        refused: Vec::new(),
    };
    let driven = driver.drive(schedule).await;
    let trace = driver.trace.join("\n");
    let refused = std::mem::take(&mut driver.refused);
    let sessions = std::mem::take(&mut driver.sessions);
    drop(driver);
    for session in sessions {
        if let Slot::Idle(conn) = session.slot {
            let _ = sqlx::Connection::close(conn).await;
        }
    }
    let outcome = judge(race, &mut control, hold, driven, refused, trace).await;
    let _ = sqlx::Connection::close(control).await;
    (db, outcome)
}

async fn judge(
    race: &Race,
    control: &mut PgConnection,
    hold: &str,
    driven: Result<(), TestCaseError>,
    refused: Vec<Refused>,
    trace: String,
) -> Result<(), (String, String)> {
    if let Err(e) = driven {
        let what = match &e {
            TestCaseError::Fail(r) | TestCaseError::Reject(r) => r.message().to_string(),
        };
        return Err((what, trace));
    }
    if let Some(r) = refused.first() {
        let allowed = race.allow.join(", ");
        return Err((
            format!(
                "session {} step {} failed with SQLSTATE {} ({}), which the race does not allow (allow = [{allowed}])",
                r.session + 1,
                r.step + 1,
                r.code,
                one_line(&r.message)
            ),
            trace,
        ));
    }
    let shown = one_line(&race.hold);
    match super::cases::text_rows(control, hold).await {
        Ok(rows) => match rows.as_slice() {
            [only] if only.len() == 1 && only[0].as_deref() == Some("t") => Ok(()),
            [only] if only.len() == 1 && only[0].as_deref() == Some("f") => Err((
                format!("`hold` is false after this schedule: {shown}"),
                trace,
            )),
            _ => Err((
                format!("`hold` must return one boolean, returned {rows:?}: {shown}"),
                trace,
            )),
        },
        Err(e) => Err((format!("`hold` failed: {e}"), trace)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_enumerates_interleavings() {
        assert_eq!(interleavings(&[3, 3]), 20);
        assert_eq!(interleavings(&[4, 3]), 35);
        assert_eq!(interleavings(&[2, 2, 2]), 90);
        let all = schedules(&[3, 3], 64, 1);
        assert_eq!(all.len(), 20);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 20);
        assert_eq!(all[0], vec![0, 0, 0, 1, 1, 1]);
        assert!(all.contains(&vec![0, 1, 0, 1, 0, 1]));
        for s in &all {
            assert_eq!(s.iter().filter(|&&x| x == 0).count(), 3);
        }
    }

    #[test]
    fn samples_distinct_schedules_from_the_seed() {
        let a = schedules(&[4, 4, 4], 50, 7);
        assert_eq!(a.len(), 50);
        assert_eq!(a.iter().collect::<HashSet<_>>().len(), 50);
        assert_eq!(a, schedules(&[4, 4, 4], 50, 7));
        assert_ne!(a, schedules(&[4, 4, 4], 50, 8));
    }

    #[test]
    fn a_begin_is_scheduled_with_the_step_after_it() {
        let steps = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            scheduled_steps(&steps(&["begin", "update t set a = 1", "commit"])),
            2
        );
        assert_eq!(
            scheduled_steps(&steps(&[
                "BEGIN ISOLATION LEVEL SERIALIZABLE;",
                "select 1",
                "commit"
            ])),
            2
        );
        assert_eq!(
            scheduled_steps(&steps(&["start transaction", "select 1"])),
            1
        );
        // A step that goes on after its begin may wait: scheduled alone.
        assert_eq!(
            scheduled_steps(&steps(&["begin; update t set a = 1", "commit"])),
            2
        );
        // A trailing begin has nothing to go with; a `begin`-less session
        // is scheduled step by step.
        assert_eq!(scheduled_steps(&steps(&["select 1", "begin"])), 2);
        assert_eq!(scheduled_steps(&steps(&["starting_soon()", "select 1"])), 2);
        assert!(!is_transaction_start("start_transaction()"));
    }
}
