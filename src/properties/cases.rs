//! Running property files: each file's cases drawn and shrunk through
//! `runner`, its checks run in a transaction per case, its races driven by
//! `race` on a committed copy of the case's data, and the result with the
//! minimal data set and the command to reproduce it.

use std::fmt::Write as _;

use proptest::test_runner::{RngAlgorithm, TestCaseError, TestRng};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Connection, Row, ValueRef};

use super::prepared::Prepared;
use super::race::{self, RaceContext, RaceCount};
use super::rules::{bind_literals, load_dir, Check, Expect, PropertyFile};
use super::runner::{self, Case, Settings, Verdict};
use super::{PropertyResult, Status};
use crate::generate::{dataset_strategy, Dataset, Existing, Rejected};
use crate::schema::sql_literal as literal;
use crate::server::{quote_ident, Database};
use crate::{Error, Harness};

/// At most this many `for_each` rows are tried per check and case: enough
/// to exercise a rule, bounded so a large data set stays fast.
const MAX_ROWS_PER_CHECK: usize = 16;

/// Data sets drawn again at most per file because none of its races had a
/// row to race on; past that, cases count as not exercising the races.
const MAX_RACE_REJECTS: u64 = 100;

/// What the runner counted, for the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseCount {
    /// Generated cases run (shrinking steps included) by files without
    /// races.
    pub cases: u64,
    /// Race schedules driven (each on a clone of its case's data).
    pub schedules: u64,
    /// Files run at once, all from the same start: the time until the
    /// last file without races finished ...
    pub case_wall: std::time::Duration,
    /// ... and until the last file with races finished.
    pub schedule_wall: std::time::Duration,
}
/// Runs every property file against generated data sets.
pub(super) async fn check(
    harness: &Harness,
    cases: u32,
    seed: u64,
    selection: &super::FileSelection,
) -> Result<(Vec<PropertyResult>, CaseCount), Error> {
    let mut files = load_dir(&harness.config().properties.dir)?;
    selection.check_names(&files)?;
    files.retain(|f| selection.runs(&f.stem));
    let mut results = Vec::new();
    let mut count = CaseCount::default();
    let started = std::time::Instant::now();
    // Files run at once, as tasks of this one runtime: the cases of one
    // file are sequential (each shrinks from the last), the server is not.
    let at_once = files.len();
    let outcomes = futures_util::future::join_all(files.iter().map(|file| async move {
        let outcome = run_property(harness, file, cases, seed, at_once).await;
        crate::progress::Counters::bump(&harness.progress().files);
        (outcome, started.elapsed())
    }))
    .await;
    for (file, (outcome, wall)) in files.iter().zip(outcomes) {
        let (result, n) = outcome?;
        results.push(result);
        count.cases += n.cases;
        count.schedules += n.schedules;
        if file.races.is_empty() {
            count.case_wall = count.case_wall.max(wall);
        } else {
            count.schedule_wall = count.schedule_wall.max(wall);
        }
    }
    Ok((results, count))
}

/// Text of a result row: one `Option<String>` per column (simple-query
/// protocol results are text).
pub(super) fn text_row(row: &PgRow) -> Vec<Option<String>> {
    (0..row.len())
        .map(|i| {
            let value = row.try_get_raw(i).ok()?;
            if value.is_null() {
                return None;
            }
            value.as_str().ok().map(str::to_string)
        })
        .collect()
}

pub(super) async fn text_rows(
    conn: &mut PgConnection,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, sqlx::Error> {
    let rows = sqlx::raw_sql(sql).fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(text_row).collect())
}

pub(super) fn show_row(row: &[Option<String>]) -> String {
    let cells: Vec<String> = row
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            None => format!("${} = NULL", i + 1),
            Some(v) => format!("${} = '{}'", i + 1, v.replace('\'', "''")),
        })
        .collect();
    cells.join(", ")
}

pub(super) fn db_error(e: &sqlx::Error) -> (Option<String>, String) {
    match e {
        sqlx::Error::Database(db) => (db.code().map(|c| c.into_owned()), db.message().to_string()),
        other => (None, other.to_string()),
    }
}

/// The seed of the RNG for one property: the run's seed mixed with the
/// file's stem, so files do not all draw the same data.
fn rng_for(seed: u64, stem: &str) -> TestRng {
    let mut bytes = [0u8; 32];
    let mut z = seed;
    for b in stem.bytes() {
        z = (z ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    for chunk in bytes.chunks_mut(8) {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = z;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(x ^ (x >> 31)).to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Finds what no generated data can fix before any is generated: every
/// statement of every check is prepared once on the property's database
/// (at its version), the roles it sets must exist, and its `$n` must be
/// columns of `for_each`. An error here names the file and the check's
/// line and ends the run with exit 2, instead of failing every case and
/// shrinking toward nothing.
///
/// A `reject` statement may rightly fail to prepare (a column that must be
/// gone, a view that must not be writable): only its syntax is checked.
/// `after` queries of `preserve` checks run at head and are checked there.
/// Whether `select 1 from <relation_and_column> = name` finds a row.
async fn catalog_has(
    conn: &mut PgConnection,
    relation_and_column: &str,
    name: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "select exists (select 1 from {relation_and_column} = $1)"
    ))
    .bind(name)
    .fetch_one(&mut *conn)
    .await
}

async fn validate(file: &PropertyFile, conn: &mut PgConnection) -> Result<(), Error> {
    use sqlx::Executor;
    let at = |check: &Check, message: String| {
        Error::Input(format!(
            "{}:{}: {}: {message}",
            file.path.display(),
            check.line,
            check.label()
        ))
    };
    for check in &file.checks {
        let columns = match &check.for_each {
            Some(q) => match conn.describe(q.as_str()).await {
                Ok(d) => d.columns().len(),
                Err(e) => {
                    return Err(at(
                        check,
                        format!("`for_each` cannot run: {}", db_error(&e).1),
                    ))
                }
            },
            None => 0,
        };
        let nulls = vec![None; columns];
        let sql = bind_literals(&check.sql, &nulls).map_err(|m| at(check, m))?;
        for (key, value) in &check.settings {
            if let Some(n) = value
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
            {
                if n == 0 || n > columns {
                    return Err(at(
                        check,
                        format!("setting `{key}` = ${n}, but `for_each` gives {columns} column(s)"),
                    ));
                }
            }
            if !key.contains('.') {
                let known = catalog_has(conn, "pg_settings where name", key)
                    .await
                    .map_err(|e| at(check, e.to_string()))?;
                if !known {
                    return Err(at(
                        check,
                        format!("setting `{key}` is not a PostgreSQL setting (custom settings need a dot: `app.{key}`)"),
                    ));
                }
            }
        }
        if let Some(role) = &check.role {
            let exists = catalog_has(conn, "pg_roles where rolname", role)
                .await
                .map_err(|e| at(check, e.to_string()))?;
            if !exists {
                return Err(at(
                    check,
                    format!("role `{role}` does not exist at this version"),
                ));
            }
        }
        let statements: Vec<(&str, &str)> = match check.expect {
            Expect::Preserve => vec![("before", check.before.as_deref().unwrap_or_default())],
            _ => vec![("sql", sql.as_str())],
        };
        for (what, text) in statements {
            // Several statements cannot be prepared as one, and a later one
            // may stand on an earlier one: those are left to the cases.
            if text.trim().is_empty() || crate::statement::split(text).len() > 1 {
                continue;
            }
            if let Err(e) = conn.describe(text).await {
                let (code, message) = db_error(&e);
                let syntax = code.as_deref() == Some("42601");
                if check.expect != Expect::Reject || syntax {
                    return Err(at(check, format!("`{what}` cannot run: {message}")));
                }
            }
        }
    }
    for race in &file.races {
        let at = |message: String| {
            Error::Input(format!(
                "{}:{}: {}: {message}",
                file.path.display(),
                race.line,
                race.label()
            ))
        };
        let columns = match &race.for_each {
            Some(q) => match conn.describe(q.as_str()).await {
                Ok(d) => d.columns().len(),
                Err(e) => return Err(at(format!("`for_each` cannot run: {}", db_error(&e).1))),
            },
            None => 0,
        };
        let nulls = vec![None; columns];
        let mut texts: Vec<(String, &str)> = Vec::new();
        if let Some(setup) = &race.setup {
            texts.push(("`setup`".into(), setup));
        }
        for (s, steps) in race.steps.iter().enumerate() {
            for (k, step) in steps.iter().enumerate() {
                texts.push((format!("session {} step {}", s + 1, k + 1), step));
            }
        }
        texts.push(("`hold`".into(), &race.hold));
        for (what, text) in texts {
            let bound = bind_literals(text, &nulls).map_err(|m| at(format!("{what}: {m}")))?;
            // Only syntax is checked: a step may stand on what `setup` or
            // an earlier step creates.
            if crate::statement::split(&bound).len() != 1 {
                continue;
            }
            if let Err(e) = conn.describe(bound.as_str()).await {
                let (code, message) = db_error(&e);
                if code.as_deref() == Some("42601") {
                    return Err(at(format!("{what} cannot run: {message}")));
                }
            }
        }
    }
    Ok(())
}

/// One property file's cases on its database, over one connection.
struct PropertyCases<'a> {
    harness: &'a Harness,
    file: &'a PropertyFile,
    level: usize,
    conn: PgConnection,
    /// Per check, then per race: cases in which it had something to check.
    exercised: Vec<u64>,
    /// Cases run, shrinking steps included.
    cases: u64,
    /// The run's seed (races draw their sampled schedules from it).
    seed: u64,
    /// The race and schedule that failed last: tried first while
    /// shrinking.
    failing_schedule: Option<(usize, Vec<usize>)>,
    /// Race schedules driven.
    races: RaceCount,
    /// The schema at the file's version.
    schema: &'a crate::schema::SchemaSnapshot,
    /// What the database holds before a case's rows.
    existing: &'a Existing,
    /// Generated rows the server rejected, over all cases.
    rejected: Rejected,
    /// What this connection has prepared of the file's checks.
    prepared: Prepared,
    /// The last case's transaction is still open: its `ROLLBACK` goes
    /// ahead of the next case's data set, in the same round trip, or
    /// alone before anything else uses the connection ([`Self::settle`]).
    rollback_owed: bool,
}

impl PropertyCases<'_> {
    /// Ends the last case's transaction now, if it is still open.
    async fn settle(&mut self) {
        if std::mem::take(&mut self.rollback_owed) {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut self.conn).await;
        }
    }
}

impl Case<Dataset> for PropertyCases<'_> {
    async fn run(&mut self, data: Dataset) -> Result<(), TestCaseError> {
        self.cases += 1;
        if data.needs_the_server(self.schema, self.existing) {
            self.settle().await;
        }
        let data = accepted(
            &mut self.conn,
            self.schema,
            self.existing,
            data,
            &mut self.rejected,
        )
        .await
        .map_err(TestCaseError::fail)?;
        run_case(self, &data).await
    }
}

/// `data` without the rows the server rejects under the checks the
/// generator could not decide (what a case loads and a failure shows).
async fn accepted(
    conn: &mut PgConnection,
    schema: &crate::schema::SchemaSnapshot,
    existing: &Existing,
    data: Dataset,
    rejected: &mut Rejected,
) -> Result<Dataset, String> {
    if !data.needs_the_server(schema, existing) {
        return Ok(data);
    }
    let (data, r) = data
        .accepted_by(conn, schema, existing)
        .await
        .map_err(|e| e.to_string())?;
    rejected.add(r);
    Ok(data)
}

/// What a property's cases produced: the verdict, how many cases
/// exercised each check and race, how many cases ran, and the race
/// schedules driven.
type CasesOutcome = (Verdict<Dataset>, Vec<u64>, u64, RaceCount, Rejected);

/// Draws and runs the cases of `file` on `db`, one connection: replayed
/// regressions first, then new cases, a failure shrunk and saved.
async fn run_cases(
    harness: &Harness,
    file: &PropertyFile,
    level: usize,
    db: &Database,
    cases: u32,
    seed: u64,
    files_at_once: usize,
) -> Result<CasesOutcome, Error> {
    // A race case drives every schedule of every race on clones of its
    // data: fewer cases, on one worker (it drives its schedules
    // concurrently already). Other files get more workers, each on a
    // database of its own at the same version (a case's rows and checks
    // see only its database): the cases of one file spread over the
    // server's cores. Their databases are cloned while the first worker
    // reads the schema.
    let racing = !file.races.is_empty();
    let wanted = if racing {
        1
    } else {
        case_workers(cases, files_at_once)
    };
    let setup = async {
        let mut conn = harness.connect(db).await?;
        // The schema at this level, unless another check read it already,
        // over a second connection while this one checks the file's SQL.
        let (valid, schema) = futures_util::future::join(
            validate(file, &mut conn),
            harness.level_schema_on(level, db),
        )
        .await;
        valid?;
        let schema = schema?;
        let existing = Existing::read(&mut conn, &schema)
            .await
            .map_err(|e| Error::Generate(Box::new(e)))?;
        let profile =
            crate::generate::with_values_for_unknown_types(&mut conn, &schema, &file.profile)
                .await
                .map_err(|e| Error::Generate(Box::new(e)))?;
        let prepared = Prepared::on(&mut conn, file).await;
        Ok::<_, Error>((conn, schema, existing, profile, prepared))
    };
    let extra = extra_workers(harness, file, level, wanted - 1);
    let (setup, extra) = futures_util::future::join(setup, extra).await;
    let (extra_dbs, extra_conns): (Vec<Database>, Vec<(PgConnection, Prepared)>) =
        extra.into_iter().unzip();
    let (conn, schema, existing, profile, prepared) = match setup {
        Ok(setup) => setup,
        Err(e) => {
            drop_workers(harness, extra_conns, &extra_dbs).await;
            return Err(e);
        }
    };
    let strategy = match dataset_strategy(&existing.schema_for_generation(&schema), &profile) {
        Ok(strategy) => strategy,
        Err(e) => {
            use crate::generate::GenerateError as G;
            drop_workers(harness, extra_conns, &extra_dbs).await;
            // What the file says wrong is an input error; what the
            // generator cannot do for this schema fails this property
            // alone, saying what to write, and every other one runs.
            let input = matches!(
                e,
                G::ProfileIo { .. }
                    | G::Profile { .. }
                    | G::UnknownTable { .. }
                    | G::UnknownColumn { .. }
                    | G::BadValue { .. }
            );
            let text = e.to_string();
            if input {
                // These name their file and line.
                return Err(Error::Input(text));
            }
            let _ = conn.close().await;
            let verdict = Verdict::Abort(format!("[data]: no data set could be generated: {text}"));
            return Ok((
                verdict,
                vec![0; file.checks.len() + file.races.len()],
                0,
                RaceCount::default(),
                Rejected::default(),
            ));
        }
    };
    // Shrinking a race case stays cheap: the failing schedule is tried
    // first on each smaller data set.
    let settings = Settings {
        cases: if racing {
            cases.min(race::MAX_RACE_CASES)
        } else {
            cases
        },
        max_shrink_iters: 1024,
        regressions: Some(file.regressions_path()),
    };
    let first = PropertyCases {
        harness,
        file,
        level,
        conn,
        exercised: vec![0; file.checks.len() + file.races.len()],
        cases: 0,
        seed,
        failing_schedule: None,
        races: RaceCount::default(),
        schema: &schema,
        existing: &existing,
        rejected: Rejected::default(),
        prepared,
        rollback_owed: false,
    };
    let mut workers = vec![first];
    for (conn, prepared) in extra_conns {
        workers.push(PropertyCases {
            conn,
            prepared,
            exercised: vec![0; file.checks.len() + file.races.len()],
            cases: 0,
            races: RaceCount::default(),
            rejected: Rejected::default(),
            failing_schedule: None,
            rollback_owed: false,
            ..workers[0]
        });
    }
    let mut verdict = runner::run(
        &strategy,
        &settings,
        rng_for(seed, &file.stem),
        &mut workers,
    )
    .await;
    let mut rest = workers.split_off(1);
    let mut state = workers.pop().expect("the first worker");
    state.settle().await;
    if let Verdict::Fail(reason, minimal) = verdict {
        // What the case loaded.
        let mut ignored = Rejected::default();
        let minimal = match accepted(
            &mut state.conn,
            &schema,
            state.existing,
            minimal.clone(),
            &mut ignored,
        )
        .await
        {
            Ok(data) => data,
            Err(_) => minimal,
        };
        let (reason, minimal) = fewest_rows(&mut state, &schema, reason, minimal).await;
        verdict = Verdict::Fail(reason, minimal);
    }
    let _ = state.conn.close().await;
    let mut rest_conns = Vec::new();
    for worker in rest.drain(..) {
        for (sum, n) in state.exercised.iter_mut().zip(&worker.exercised) {
            *sum += n;
        }
        state.cases += worker.cases;
        state.rejected.add(worker.rejected);
        rest_conns.push((worker.conn, worker.prepared));
    }
    drop_workers(harness, rest_conns, &extra_dbs).await;
    Ok((
        verdict,
        state.exercised,
        state.cases,
        state.races,
        state.rejected,
    ))
}

/// `n` more databases at `level`, each with a connection, cloned at once;
/// fewer when the server refuses one (a server's connection limit only
/// means fewer workers).
async fn extra_workers(
    harness: &Harness,
    file: &PropertyFile,
    level: usize,
    n: usize,
) -> Vec<(Database, (PgConnection, Prepared))> {
    let made = futures_util::future::join_all((0..n).map(|_| async {
        let db = harness.database_at_level(level).await.ok()?;
        match harness.connect(&db).await {
            Ok(mut conn) => {
                let prepared = Prepared::on(&mut conn, file).await;
                Some((db, (conn, prepared)))
            }
            Err(_) => {
                let _ = harness.drop_database(&db).await;
                None
            }
        }
    }))
    .await;
    made.into_iter().flatten().collect()
}

/// Closes the extra workers' connections and drops their databases in the
/// background.
async fn drop_workers(harness: &Harness, conns: Vec<(PgConnection, Prepared)>, dbs: &[Database]) {
    futures_util::future::join_all(conns.into_iter().map(|(conn, _)| async {
        let _ = conn.close().await;
    }))
    .await;
    for db in dbs {
        let _ = harness.drop_database_later(db);
    }
}

/// How many workers run a file's `cases` new cases: one per core, and half
/// as many again when the file runs alone (at most four), each with at
/// least 16 cases (a worker's database costs about a case's time). A
/// worker's server process idles while its case's round trips go back and
/// forth; a file alone has no other file's workers to fill those gaps
/// (goal_unique alone on 2 cores: 475 cases/s with 2 workers, 560 with 3;
/// every sample file at once: slower with 3 each than with 2).
fn case_workers(cases: u32, files_at_once: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = if files_at_once <= 1 {
        cores + cores / 2
    } else {
        cores
    };
    wanted.min(4).min((cases / 16).max(1) as usize)
}

/// Row deletions tried at most after proptest's shrinking ...
const MAX_ROW_DELETIONS: usize = 400;
/// ... and for at most this long (a race that passes without a row runs
/// every schedule).
const ROW_DELETION_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// Shrinks a failing data set to its fewest rows: proptest shrinks the
/// generator's inputs (row counts, simpler values), which cannot drop one
/// row while keeping another; this then deletes rows one at a time (each
/// with the rows that reference it), keeping a deletion when the case
/// still fails. A data set that fails to load is not a smaller failure of
/// a rule that loaded.
async fn fewest_rows(
    state: &mut PropertyCases<'_>,
    schema: &crate::schema::SchemaSnapshot,
    mut reason: String,
    mut data: Dataset,
) -> (String, Dataset) {
    const NOT_LOADED: &str = "the generated data set did not load";
    let load_failure = reason.contains(NOT_LOADED);
    let mut tried = 0;
    let started = std::time::Instant::now();
    'pass: {
        // Children first: a deletion there leaves the parents in place.
        for t in (0..data.tables().len()).rev() {
            let mut r = data.tables()[t].rows().len();
            while r > 0 {
                r -= 1;
                if tried >= MAX_ROW_DELETIONS || started.elapsed() > ROW_DELETION_TIME {
                    break 'pass;
                }
                let Some(smaller) = data.without_row(t, r, schema) else {
                    continue;
                };
                tried += 1;
                if let Err(TestCaseError::Fail(why)) = state.run(smaller.clone()).await {
                    let why = why.message().to_string();
                    // (Preserve checks put their label before it.)
                    if load_failure || !why.contains(NOT_LOADED) {
                        reason = why;
                        data = smaller;
                        // Rows after `r` may have gone with it.
                        r = r.min(data.tables()[t].rows().len());
                    }
                }
            }
        }
    }
    (reason, data)
}

/// What to do about a check that saw no rows: give the tables rows, or,
/// when the server rejected generated rows, values that pass.
fn rejected_hint(rejected: &Rejected) -> String {
    let Some((table, constraint, n)) = rejected.by_constraint.iter().max_by_key(|(_, _, n)| *n)
    else {
        return "give [data] rows the tables it reads".to_string();
    };
    format!(
        "PostgreSQL rejected {n} generated rows of {table} under {constraint}: give its columns values that satisfy it under [data.tables.\"{table}\".columns.<column>]"
    )
}

/// Runs one property file: a database at its version, its cases, the
/// result.
async fn run_property(
    harness: &Harness,
    file: &PropertyFile,
    cases: u32,
    seed: u64,
    files_at_once: usize,
) -> Result<(PropertyResult, CaseCount), Error> {
    let property = file.property();
    let in_file = |e: Error| Error::Input(format!("{}: {e}", file.path.display()));
    let level = harness.level_of(file.at.as_deref()).map_err(in_file)?;
    let db = harness.database_at_level(level).await?;
    let started = std::time::Instant::now();
    let outcome = run_cases(harness, file, level, &db, cases, seed, files_at_once).await;
    let _ = harness.drop_database_later(&db);
    let (result, exercised, cases_run, raced, rejected) = outcome?;
    let elapsed = started.elapsed();
    // A race file's cases are counted as its schedules.
    let count = CaseCount {
        cases: if file.races.is_empty() { cases_run } else { 0 },
        schedules: raced.schedules,
        ..CaseCount::default()
    };
    let elapsed = elapsed.as_secs_f64();
    // Checks, then races: what each is, where it is, whether it reads rows.
    let items: Vec<(String, usize, bool, &'static str)> = file
        .checks
        .iter()
        .map(|c| {
            let what = if c.expect == Expect::Preserve {
                "`before`"
            } else {
                "`for_each`"
            };
            let reads = c.for_each.is_some() || c.expect == Expect::Preserve;
            (c.label(), c.line, reads, what)
        })
        .chain(
            file.races
                .iter()
                .map(|r| (r.label(), r.line, r.for_each.is_some(), "`for_each`")),
        )
        .collect();
    let rerun = format!("check --only {property} --seed {seed}");
    let mut r = match result {
        Verdict::Pass => {
            let vacuous = items
                .iter()
                .zip(&exercised)
                .find(|((_, _, reads, _), n)| **n == 0 && *reads);
            if let Some(((label, line, _, what), _)) = vacuous {
                let mut r = PropertyResult::fail(
                    &property,
                    &file.name,
                    format!(
                        "{}:{line}: {label} was never exercised: {what} returned no rows in all {cases_run} cases, so it proved nothing ({})",
                        file.path.display(),
                        rejected_hint(&rejected),
                    ),
                );
                r.rerun = Some(rerun.clone());
                r
            } else {
                let counts: Vec<String> = items
                    .iter()
                    .zip(&exercised)
                    .map(|((label, ..), n)| {
                        let short = label.split(" (").next().unwrap_or(label);
                        format!("{short}: {n}")
                    })
                    .collect();
                let mut r = PropertyResult::pass(&property, &file.name);
                let schedules = if raced.schedules > 0 {
                    format!(
                        ", {} race schedules at {:.0}/s",
                        raced.schedules,
                        raced.schedules as f64 / raced.elapsed.as_secs_f64().max(1e-9)
                    )
                } else {
                    String::new()
                };
                let drawn_again = if raced.rejected > 0 {
                    format!(
                        " ({} more drawn and set aside: no row to race on)",
                        raced.rejected
                    )
                } else {
                    String::new()
                };
                let ran = cases_run.saturating_sub(raced.rejected);
                // A race file's time goes to its schedules: their rate is
                // the one that says something.
                let rate = if raced.schedules > 0 {
                    String::new()
                } else {
                    format!(", {:.0} cases/s", ran as f64 / elapsed.max(1e-9))
                };
                r.message = format!(
                    "{ran} cases{drawn_again}{rate}{schedules}; exercised in {}",
                    counts.join(", ")
                );
                r
            }
        }
        Verdict::Fail(reason, minimal) => {
            let mut r = PropertyResult::fail(
                &property,
                &file.name,
                format!(
                    "{}: {}",
                    file.path.display(),
                    reason.lines().next().unwrap_or("")
                ),
            );
            let mut evidence = String::new();
            let _ = writeln!(evidence, "{reason}");
            let _ = writeln!(
                evidence,
                "minimal data set ({} rows):",
                minimal.total_rows()
            );
            for line in minimal.to_inserts().lines() {
                let _ = writeln!(evidence, "  {line}");
            }
            // An overflow on a value the generator took at its type's
            // limit: a schema without bounds, or a rule that needs them.
            if reason.contains("SQLSTATE 22003") {
                for (table, column, ty, value, largest) in minimal.values_at_integer_limits() {
                    let end = if largest { "largest" } else { "smallest" };
                    let _ = writeln!(
                        evidence,
                        "note: {table}.{column} = {value} is the {end} {ty}, and the failure is an overflow (SQLSTATE 22003): if the schema should not allow such values, bound the column with a CHECK; if it should, the rule must not overflow on them; to generate smaller values only, give [data.tables.\"{table}\".columns.{column}] range = [lo, hi]"
                    );
                }
            }
            let _ = writeln!(evidence, "reproduce: --seed {seed} (the failing case is also saved in {} and replayed first)", file.regressions_path().display());
            r.diff = Some(evidence);
            r.rerun = Some(rerun.clone());
            r
        }
        Verdict::Abort(reason) => {
            let mut r = PropertyResult::fail(
                &property,
                &file.name,
                format!("{}: aborted: {reason}", file.path.display()),
            );
            r.rerun = Some(rerun.clone());
            r
        }
    };
    if r.status == Status::Fail && r.rerun.is_none() {
        r.rerun = Some(rerun);
    }
    Ok((r.took(std::time::Duration::from_secs_f64(elapsed)), count))
}

/// One generated case: load the data set and run every check. `Err` is a
/// broken rule (proptest then shrinks the data set). The data set is
/// loaded once for the plain checks (each in a savepoint) and the
/// preservation checks (every `before`, one migration to head, every
/// `after`), in one transaction rolled back; a chain whose ups cannot run
/// in a transaction migrates a database of the case's own.
async fn run_case(state: &mut PropertyCases<'_>, data: &Dataset) -> Result<(), TestCaseError> {
    let PropertyCases {
        harness,
        file,
        level,
        conn,
        exercised,
        rollback_owed,
        prepared,
        ..
    } = state;
    let (harness, file, level) = (*harness, *file, *level);
    let (preserve, plain): (Vec<&Check>, Vec<&Check>) = file
        .checks
        .iter()
        .partition(|c| c.expect == Expect::Preserve);
    let preserve_here = !preserve.is_empty() && harness.ups_fit_in_a_transaction(level);
    if !plain.is_empty() || preserve_here {
        let outcome = async {
            // The last case's ROLLBACK, BEGIN and the data set as the
            // INSERTs a failure would show, sent with the first check's
            // first round trip; then deferred constraints fire inside the
            // case.
            let rollback = if std::mem::take(rollback_owed) {
                "ROLLBACK;\n"
            } else {
                ""
            };
            let mut owed = Owed::load(format!(
                "{rollback}BEGIN;\n{}\nSET CONSTRAINTS ALL IMMEDIATE;",
                data.to_inserts()
            ));
            for check in &plain {
                let exercised = &mut exercised[check.number - 1];
                run_check(conn, prepared, check, exercised, &mut owed).await?;
            }
            if preserve_here {
                owed.flush(conn).await?;
                preserve_steps(harness, level, &preserve, exercised, conn, true).await?;
            }
            Ok::<(), TestCaseError>(())
        }
        .await;
        // Whatever happened (an aborted transaction included), the case's
        // transaction is rolled back: with the next case's first round
        // trip when this one passed, now when it failed (shrinking and the
        // report use the connection next).
        if outcome.is_ok() {
            *rollback_owed = true;
        } else {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
        }
        outcome?;
    }
    if !preserve.is_empty() && !preserve_here {
        preserve_apart(harness, level, &preserve, data, exercised).await?;
    }
    run_races(state, data).await
}

/// The case's races: the data set loaded and committed in a database of
/// its own (the sessions of a race must see it), which every schedule
/// clones. Each race runs on the first row of its `for_each`.
async fn run_races(state: &mut PropertyCases<'_>, data: &Dataset) -> Result<(), TestCaseError> {
    let (harness, file) = (state.harness, state.file);
    if file.races.is_empty() {
        return Ok(());
    }
    let fail = |m: String| TestCaseError::fail(m);
    let db = harness
        .database_at_level(state.level)
        .await
        .map_err(|e| fail(format!("cannot create the races' database: {e}")))?;
    let outcome = async {
        let mut conn = harness
            .connect(&db)
            .await
            .map_err(|e| fail(format!("cannot connect: {e}")))?;
        let batch = format!("BEGIN;\n{}\nCOMMIT;", data.to_inserts());
        let loaded = sqlx::raw_sql(&batch).execute(&mut conn).await;
        let mut rows = Vec::new();
        let mut read = Ok(());
        if let Err(e) = loaded {
            read = Err(fail(format!("the generated data set did not load: {e}")));
        } else {
            for race in &file.races {
                match &race.for_each {
                    Some(q) => match text_rows(&mut conn, q).await {
                        Ok(found) => rows.push(found.into_iter().next()),
                        Err(e) => {
                            read = Err(fail(format!("{}: for_each failed: {e}", race.label())));
                            break;
                        }
                    },
                    None => rows.push(Some(Vec::new())),
                }
            }
        }
        let _ = conn.close().await;
        read?;
        // A data set with nothing to race on is drawn again (a bounded
        // number of times): schedules are too costly to spend on nothing.
        if rows.iter().all(Option::is_none) && state.races.rejected < MAX_RACE_REJECTS {
            state.races.rejected += 1;
            return Err(TestCaseError::reject("no race has a row to race on"));
        }
        let ctx = RaceContext {
            harness,
            case_db: &db,
            file_stem: &file.stem,
            seed: state.seed,
        };
        // The race that failed last goes first while shrinking.
        let mut order: Vec<usize> = (0..file.races.len()).collect();
        if let Some((failed, _)) = &state.failing_schedule {
            order.retain(|i| i != failed);
            order.insert(0, *failed);
        }
        for i in order {
            let Some(row) = &rows[i] else {
                continue;
            };
            state.exercised[file.checks.len() + i] += 1;
            let first = state
                .failing_schedule
                .as_ref()
                .filter(|(race, _)| *race == i)
                .map(|(_, schedule)| schedule.clone());
            let raced = race::run_race(
                &ctx,
                &file.races[i],
                row,
                first.as_deref(),
                &mut state.races,
            )
            .await;
            if let Err((e, schedule)) = raced {
                if let Some(schedule) = schedule {
                    state.failing_schedule = Some((i, schedule));
                }
                return Err(e);
            }
        }
        Ok(())
    }
    .await;
    let _ = harness.drop_database(&db).await;
    outcome
}

async fn run_check(
    conn: &mut PgConnection,
    prepared: &Prepared,
    check: &Check,
    exercised: &mut u64,
    owed: &mut Owed,
) -> Result<(), TestCaseError> {
    let setup_err = |what: &str, e: sqlx::Error| {
        TestCaseError::fail(format!("{}: {what} failed: {e}", check.label()))
    };
    let rows = match &check.for_each {
        Some(q) => for_each_rows(conn, prepared.for_each(check, q), owed)
            .await?
            .map_err(|e| setup_err("for_each", e))?,
        None => vec![Vec::new()],
    };
    if !rows.is_empty() {
        *exercised += 1;
    }
    let rows = &rows[..rows.len().min(MAX_ROWS_PER_CHECK)];
    if check.expect == Expect::Accept
        && rows.len() > 1
        && crate::statement::split(&check.sql).len() == 1
    {
        return match run_accepted(conn, prepared, check, rows, owed).await? {
            Some((failed, e)) => judge(check, &rows[failed], Err(e)),
            None => Ok(()),
        };
    }
    for row in rows {
        let sql = bound(prepared, check, row)?;
        let result = run_in_savepoint(conn, check, row, &sql, owed).await?;
        judge(check, row, result)?;
    }
    Ok(())
}

/// What runs a check's statement with one `for_each` row's values.
fn bound(
    prepared: &Prepared,
    check: &Check,
    row: &[Option<String>],
) -> Result<String, TestCaseError> {
    prepared
        .statement(check, row)
        .map_err(|m| TestCaseError::fail(format!("{}: {m}", check.label())))
}

/// What a check's statement did for one `for_each` row against what the
/// rule expects: the case's failure, if any.
fn judge(
    check: &Check,
    row: &[Option<String>],
    result: Result<Vec<Vec<Option<String>>>, sqlx::Error>,
) -> Result<(), TestCaseError> {
    let with = if row.is_empty() {
        String::new()
    } else {
        format!(" with {}", show_row(row))
    };
    let broken = |what: String| {
        TestCaseError::fail(format!(
            "{}: `{}`{with} {what}",
            check.label(),
            check.sql.trim()
        ))
    };
    match (check.expect, result) {
        (Expect::Reject, Ok(_)) => {
            let wanted = check
                .sqlstate
                .as_deref()
                .map(|s| format!(" with SQLSTATE {s}"))
                .unwrap_or_default();
            return Err(broken(format!(
                "succeeded, but the rule says it must fail{wanted}"
            )));
        }
        (Expect::Reject, Err(e)) => {
            let (code, message) = db_error(&e);
            if let Some(wanted) = &check.sqlstate {
                if code.as_deref() != Some(wanted.as_str()) {
                    return Err(broken(format!(
                        "failed with SQLSTATE {} ({message}), but the rule says SQLSTATE {wanted}",
                        code.as_deref().unwrap_or("none")
                    )));
                }
            }
        }
        (Expect::Accept, Err(e)) => {
            let (code, message) = db_error(&e);
            return Err(broken(format!(
                "failed: {message} (SQLSTATE {}), but the rule says it must succeed",
                code.as_deref().unwrap_or("none")
            )));
        }
        (Expect::Accept, Ok(_)) => {}
        (Expect::Hold, Ok(rows)) => match rows.as_slice() {
            [only] if only.len() == 1 && only[0].as_deref() == Some("t") => {}
            [only] if only.len() == 1 && only[0].as_deref() == Some("f") => {
                return Err(broken("returned false".into()))
            }
            _ => {
                return Err(broken(format!(
                    "must return one boolean, returned {rows:?}"
                )))
            }
        },
        (Expect::Hold, Err(e)) => {
            let (code, message) = db_error(&e);
            return Err(broken(format!(
                "failed: {message} (SQLSTATE {})",
                code.as_deref().unwrap_or("none")
            )));
        }
        (Expect::Preserve, _) => {}
    }
    Ok(())
}

const SAVEPOINT: &str = "SAVEPOINT pgharness_check";
/// Back to a check's savepoint, and rid of it: two statements.
const UNDO: [&str; 2] = [
    "ROLLBACK TO SAVEPOINT pgharness_check",
    "RELEASE SAVEPOINT pgharness_check",
];

/// Statements a case owes its transaction, sent ahead of the next round
/// trip's own: the case's data set (BEGIN, its INSERTs), and a check's
/// savepoint still to be rolled back (its statement failed, so the
/// transaction is aborted until it is).
struct Owed {
    /// The data set's batch and how many statements it holds.
    load: Option<(String, usize)>,
    undo: bool,
}

/// What [`Owed::take`] put ahead of a round trip's own statements.
struct Debt {
    load: usize,
    undo: usize,
}

impl Owed {
    fn load(batch: String) -> Owed {
        let statements = crate::statement::split(&batch).len();
        Owed {
            load: Some((batch, statements)),
            undo: false,
        }
    }

    /// The owed statements as the start of a batch (empty when none), and
    /// how many there are of each.
    fn take(&mut self) -> (String, Debt) {
        let mut text = String::new();
        let mut debt = Debt { load: 0, undo: 0 };
        if let Some((batch, statements)) = self.load.take() {
            text.push_str(&batch);
            text.push('\n');
            debt.load = statements;
        }
        if std::mem::take(&mut self.undo) {
            for statement in UNDO {
                text.push_str(statement);
                text.push_str(";\n");
            }
            debt.undo = UNDO.len();
        }
        (text, debt)
    }

    /// Sends the owed statements now, if any.
    async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), TestCaseError> {
        let (text, debt) = self.take();
        if text.is_empty() {
            return Ok(());
        }
        match run_batch(conn, &text, usize::MAX).await {
            (_, _, Ok(())) => Ok(()),
            (done, _, Err(e)) => Err(debt.failed(done, e).unwrap_or_else(undo_failed)),
        }
    }
}

impl Debt {
    fn len(&self) -> usize {
        self.load + self.undo
    }

    /// The case's failure when the batch stopped at its `done`-th
    /// statement, one of the owed ones; `Err(e)` back when it stopped
    /// after them.
    fn failed(&self, done: usize, e: sqlx::Error) -> Result<TestCaseError, sqlx::Error> {
        if done < self.load {
            Ok(TestCaseError::fail(format!(
                "the generated data set did not load: {e}"
            )))
        } else if done < self.len() {
            Ok(undo_failed(e))
        } else {
            Err(e)
        }
    }
}

/// A batch of statements as one simple query: how many completed (a
/// command tag each), the text rows of those from the `from`-th on, and
/// the error that stopped the batch, if any.
pub(super) async fn run_batch(
    conn: &mut PgConnection,
    batch: &str,
    from: usize,
) -> (usize, Vec<Vec<Option<String>>>, Result<(), sqlx::Error>) {
    use futures_util::TryStreamExt as _;
    use sqlx::Either;
    let mut done = 0;
    let mut rows = Vec::new();
    let mut stream = sqlx::raw_sql(batch).fetch_many(&mut *conn);
    let outcome = loop {
        match stream.try_next().await {
            Ok(None) => break Ok(()),
            Ok(Some(Either::Left(_))) => done += 1,
            Ok(Some(Either::Right(r))) => {
                if done >= from {
                    rows.push(text_row(&r));
                }
            }
            Err(e) => break Err(e),
        }
    };
    (done, rows, outcome)
}

fn undo_failed(e: sqlx::Error) -> TestCaseError {
    TestCaseError::fail(format!("ROLLBACK TO SAVEPOINT failed: {e}"))
}

/// The rows of a check's `for_each` query. What the case owes (`owed`)
/// goes ahead of it in the same round trip; `Err` of the outer result when
/// that fails, of the inner when the query does.
async fn for_each_rows(
    conn: &mut PgConnection,
    query: &str,
    owed: &mut Owed,
) -> Result<Result<Vec<Vec<Option<String>>>, sqlx::Error>, TestCaseError> {
    let (mut batch, debt) = owed.take();
    if batch.is_empty() {
        return Ok(text_rows(conn, query).await);
    }
    batch.push_str(query);
    match run_batch(conn, &batch, debt.len()).await {
        (_, rows, Ok(())) => Ok(Ok(rows)),
        (done, _, Err(e)) => debt.failed(done, e).map_or_else(|e| Ok(Err(e)), Err),
    }
}

/// The statements ahead of a check's statement for one `for_each` row, as
/// (what, statement): its savepoint, the check's role and settings.
fn savepoint_setup(check: &Check, row: &[Option<String>]) -> Vec<(&'static str, String)> {
    let mut setup = vec![("SAVEPOINT", SAVEPOINT.to_string())];
    if let Some(role) = &check.role {
        setup.push(("SET ROLE", format!("SET LOCAL ROLE {}", quote_ident(role))));
    }
    for (key, value) in &check.settings {
        let value = match value
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => row.get(n.wrapping_sub(1)).cloned().flatten(),
            None => Some(value.clone()),
        };
        let value = value.as_deref().map_or("NULL".to_string(), literal);
        setup.push((
            "set_config",
            format!("SELECT set_config({}, {value}, true)", literal(key)),
        ));
    }
    setup
}

/// What each statement of a check's batch is, after what the case owed.
enum Part {
    /// The row's savepoint, role or a setting (what it is, for the error).
    Setup(&'static str),
    /// The check's statement for the row at this index.
    Statement(usize),
    /// The rollback to the row's savepoint.
    Undo,
}

/// A check's batch: what the case owed, then for each row its savepoint,
/// role, settings, statement and rollback, as one simple query.
struct RowBatch {
    text: String,
    debt: Debt,
    parts: Vec<Part>,
}

impl RowBatch {
    fn new(owed: &mut Owed) -> RowBatch {
        let (text, debt) = owed.take();
        RowBatch {
            text,
            debt,
            parts: Vec::new(),
        }
    }

    fn push(&mut self, part: Part, statement: &str) {
        self.text.push_str(statement);
        // On a line of its own: a comment ending the statement ends there.
        self.text.push_str("\n;\n");
        self.parts.push(part);
    }

    /// Row `i`'s statements; `sql` is its check's statement with its values.
    fn push_row(&mut self, check: &Check, i: usize, row: &[Option<String>], sql: &str) {
        for (what, statement) in savepoint_setup(check, row) {
            self.push(Part::Setup(what), &statement);
        }
        self.push(Part::Statement(i), sql);
        for statement in UNDO {
            self.push(Part::Undo, statement);
        }
    }

    /// Runs the batch: how many of its parts completed, the rows from the
    /// first row's statement on, and the error that stopped it at the part
    /// after those. A failure in what the case owed, or in a row's
    /// savepoint, role or setting, is the case's failure (`Err`), the
    /// savepoint rolled back to first if it was made.
    async fn run(
        &self,
        conn: &mut PgConnection,
        check: &Check,
        owed: &mut Owed,
    ) -> Result<(usize, Vec<Vec<Option<String>>>, Option<sqlx::Error>), TestCaseError> {
        let first = self
            .parts
            .iter()
            .position(|p| matches!(p, Part::Statement(_)))
            .unwrap_or(self.parts.len());
        let (done, rows, outcome) = run_batch(conn, &self.text, self.debt.len() + first).await;
        let Err(e) = outcome else {
            return Ok((done - self.debt.len(), rows, None));
        };
        let e = match self.debt.failed(done, e) {
            Ok(failure) => return Err(failure),
            Err(e) => e,
        };
        let at = done - self.debt.len();
        if let Some(Part::Setup(what)) = self.parts.get(at) {
            // The transaction is aborted until the row's savepoint, if its
            // SAVEPOINT got through, is rolled back to.
            owed.undo = *what != "SAVEPOINT";
            owed.flush(conn).await?;
            return Err(TestCaseError::fail(format!(
                "{}: {what} failed: {e}",
                check.label()
            )));
        }
        Ok((at, rows, Some(e)))
    }
}

/// An `accept` check's rows at once: each row's statement in a savepoint
/// rolled back after, as [`run_in_savepoint`] runs one, every row in one
/// simple query. The query stops at the first statement that fails, where
/// a row-at-a-time run stops too, so the rows run and the verdict are the
/// same. `Some((row, error))` when a row's statement failed (its
/// savepoint's rollback is left owed); `Err` when what the case owed, a
/// savepoint, the role, a setting or a row's literals failed.
async fn run_accepted(
    conn: &mut PgConnection,
    prepared: &Prepared,
    check: &Check,
    rows: &[Vec<Option<String>>],
    owed: &mut Owed,
) -> Result<Option<(usize, sqlx::Error)>, TestCaseError> {
    let mut batch = RowBatch::new(owed);
    // A row whose literals cannot be bound fails the case once the rows
    // before it have run, as it would one row at a time.
    let mut unbound = None;
    for (i, row) in rows.iter().enumerate() {
        match bound(prepared, check, row) {
            Ok(sql) => batch.push_row(check, i, row, &sql),
            Err(failure) => {
                unbound = Some(failure);
                break;
            }
        }
    }
    match batch.run(conn, check, owed).await? {
        (done, _, None) => {
            debug_assert_eq!(done, batch.parts.len(), "statements counted");
            unbound.map_or(Ok(None), Err)
        }
        (at, _, Some(e)) => match batch.parts.get(at) {
            Some(Part::Statement(i)) => {
                owed.undo = true;
                Ok(Some((*i, e)))
            }
            _ => Err(undo_failed(e)),
        },
    }
}

/// Runs a check's statement for one `for_each` row in a savepoint rolled
/// back after, with the check's role and settings: the database's verdict
/// and the statement's rows. One round trip: what the case owes (`owed`:
/// its data set, the last row's pending rollback), the savepoint, role,
/// settings, statement and rollback as one simple query; a statement that
/// fails leaves its rollback owed. `Err` when the data set does not load
/// or the role or a setting cannot be set.
async fn run_in_savepoint(
    conn: &mut PgConnection,
    check: &Check,
    row: &[Option<String>],
    sql: &str,
    owed: &mut Owed,
) -> Result<Result<Vec<Vec<Option<String>>>, sqlx::Error>, TestCaseError> {
    let mut batch = RowBatch::new(owed);
    batch.push_row(check, 0, row, sql);
    // Past its setup: the statement's failure (it may be several
    // statements), or its rollback's, as before batches held many rows.
    match batch.run(conn, check, owed).await? {
        (_, rows, None) => Ok(Ok(rows)),
        (_, _, Some(e)) => {
            owed.undo = true;
            Ok(Err(e))
        }
    }
}

/// Preservation checks on a database of the case's own (the ups to head
/// cannot all run in a transaction): the data set loaded and committed,
/// then [`preserve_steps`].
async fn preserve_apart(
    harness: &Harness,
    level: usize,
    checks: &[&Check],
    data: &Dataset,
    exercised: &mut [u64],
) -> Result<(), TestCaseError> {
    let fail = |m: String| TestCaseError::fail(format!("{}: {m}", checks[0].label()));
    let db = harness
        .database_at_level(level)
        .await
        .map_err(|e| fail(format!("cannot create a database: {e}")))?;
    let outcome = async {
        let mut conn = harness
            .connect(&db)
            .await
            .map_err(|e| fail(format!("cannot connect: {e}")))?;
        let batch = format!("BEGIN;\n{}\nCOMMIT;", data.to_inserts());
        let outcome = match sqlx::raw_sql(&batch).execute(&mut conn).await {
            Ok(_) => preserve_steps(harness, level, checks, exercised, &mut conn, false).await,
            Err(e) => Err(fail(format!("the generated data set did not load: {e}"))),
        };
        let _ = conn.close().await;
        outcome
    }
    .await;
    let _ = harness.drop_database(&db).await;
    outcome
}

/// The preservation checks on a database holding the case's data at the
/// property's version: every `before`, the chain migrated to head once
/// (inside the caller's transaction when `in_transaction`), every `after`;
/// each check's results must be equal.
async fn preserve_steps(
    harness: &Harness,
    level: usize,
    checks: &[&Check],
    exercised: &mut [u64],
    conn: &mut PgConnection,
    in_transaction: bool,
) -> Result<(), TestCaseError> {
    let mut befores = Vec::with_capacity(checks.len());
    for check in checks {
        let before_sql = check.before.as_deref().unwrap_or_default();
        let before = text_rows(conn, before_sql)
            .await
            .map_err(|e| TestCaseError::fail(format!("{}: `before` failed: {e}", check.label())))?;
        if !before.is_empty() {
            exercised[check.number - 1] += 1;
        }
        befores.push(before);
    }
    for index in level..harness.chain().migrations.len() {
        let applied = if in_transaction {
            harness.apply_up_within(conn, index).await
        } else {
            harness.apply_up(conn, index).await
        };
        applied.map_err(|e| {
            TestCaseError::fail(format!(
                "{}: migrating to head failed: {e}",
                checks[0].label()
            ))
        })?;
    }
    for (check, before) in checks.iter().zip(&befores) {
        let fail = |m: String| TestCaseError::fail(format!("{}: {m}", check.label()));
        let after_sql = check.after.as_deref().unwrap_or_default();
        let after = text_rows(conn, after_sql)
            .await
            .map_err(|e| fail(format!("`after` failed: {e}")))?;
        if *before == after {
            continue;
        }
        let first_diff = before
            .iter()
            .zip(&after)
            .position(|(a, b)| a != b)
            .unwrap_or(before.len().min(after.len()));
        let show = |rows: &[Vec<Option<String>>], i: usize| {
            rows.get(i).map_or("(no row)".to_string(), |r| {
                let cells: Vec<String> = r
                    .iter()
                    .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
                    .collect();
                format!("({})", cells.join(", "))
            })
        };
        return Err(fail(format!(
            "data not preserved across the migration to head: `before` returned {} rows, `after` {}; first difference at row {}: before {} after {}",
            before.len(),
            after.len(),
            first_diff + 1,
            show(before, first_diff),
            show(&after, first_diff)
        )));
    }
    Ok(())
}
