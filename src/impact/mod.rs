//! `pgharness impact`: what each migration would do to a production
//! database, measured on one. For each migration, its up runs statement by
//! statement on a database at the previous version holding data at a
//! profile's scale (generated and loaded by `generate`), and the tracer
//! (`trace`) records per statement the locks taken, what they block,
//! rewrites, validations, index builds, rows and durations; `rules` turns
//! that into findings with the safer pattern; `render` prints them.
//!
//! The walk: each migration is first traced on an empty clone of its
//! previous version (cheap, and what lock tracers do). One that locks no
//! relation that existed before needs no data: that trace is its report.
//! The others run on a seeded database at their previous version: the one
//! the walk holds when it is at that version and its data covers every
//! table the migration touches, else a new clone seeded there (a table
//! created after the walk's seeding is empty, and a migration that touches
//! it must see it full). A traced migration commits, so the walk moves on.

mod render;
pub mod rules;
pub mod trace;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use sqlx::PgConnection;

use crate::config::ImpactConfig;
use crate::generate::{default_seed, generate_and_load, LoadOptions, Profile};
use crate::properties::ServerInfo;
use crate::schema::SchemaSnapshot;
use crate::server::Database;
use crate::{Error, Harness};

pub use render::Markdown;
pub use rules::{Finding, Severity};
pub use trace::StatementTrace;

/// What `impact` is asked to do.
#[derive(Debug, Clone)]
pub struct ImpactOptions {
    /// The profile giving the data's scale; `None`: `[impact] rows` in
    /// every table.
    pub profile: Option<Profile>,
    /// Only this migration (a version, name or id).
    pub migration: Option<String>,
    /// Seed of the generator (default: the profile's).
    pub seed: Option<u64>,
}

/// The report of an `impact` run.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactReport {
    /// The chain's directory.
    pub chain: PathBuf,
    /// The server it ran on.
    pub server: ServerInfo,
    /// Where the data's scale came from (a profile, or rows per table).
    pub scale: String,
    /// The thresholds applied.
    pub max_lock_ms: u64,
    /// The severity that fails the run.
    pub fail_on: &'static str,
    /// Each traced migration, in chain order.
    pub migrations: Vec<MigrationImpact>,
    /// Each data set loaded.
    pub seeding: Vec<Seeding>,
    /// The profile's tables that matched no table at any version seeded
    /// (a typo, another chain's names, or tables created later).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmatched_tables: Vec<String>,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// Counts.
    pub summary: Summary,
}

/// The counts of a report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Migrations traced.
    pub migrations: usize,
    /// Migrations with at least one finding.
    pub with_findings: usize,
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
    /// Whether a finding reaches `fail_on` (exit 1).
    pub failed: bool,
}

/// One data set the walk loaded.
#[derive(Debug, Clone, Serialize)]
pub struct Seeding {
    /// The version it was loaded at (`<version>_<name>` of the last
    /// migration applied, or `empty`).
    pub at: String,
    /// Rows loaded.
    pub rows: usize,
    /// Seconds to generate, load and vacuum them.
    pub seconds: f64,
    /// The profile's tables this version has.
    #[serde(skip)]
    matched: Vec<String>,
}

/// One migration's trace and findings.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationImpact {
    /// `<version>_<name>`.
    pub migration: String,
    /// The up file.
    pub file: PathBuf,
    /// `seeded`: traced on data at the profile's scale; `empty`: it locks
    /// no relation that existed before, so the trace on the empty database
    /// is its report.
    pub data: &'static str,
    /// Its statements.
    pub statements: Vec<StatementTrace>,
    /// Milliseconds of the commit the harness sent (0 without one).
    pub commit_ms: f64,
    /// Milliseconds of the whole up.
    pub duration_ms: f64,
    /// The error that stopped it, `file:line:col: message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What would hurt.
    pub findings: Vec<Finding>,
    /// The chain stops here: this up fails on the empty database, or an
    /// earlier one did (then `error` says which). The run fails (exit 1)
    /// unless `fail_on` is `never`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chain_stops: bool,
}

impl ImpactReport {
    /// Whether a finding fails the run under `fail_on`.
    pub fn fails(&self, config: &ImpactConfig) -> bool {
        let stops = self.migrations.iter().any(|m| m.chain_stops);
        (stops && config.fail_on != crate::config::FailOn::Never)
            || self
                .migrations
                .iter()
                .flat_map(|m| &m.findings)
                .any(|f| f.severity.fails(config.fail_on))
    }
}

/// The seeded database the walk is on.
struct Walk {
    db: Database,
    conn: PgConnection,
    /// Migrations applied.
    level: usize,
    /// Tables that existed when it was seeded (they hold the profile's
    /// rows).
    seeded: BTreeSet<String>,
}

/// Traces the chain's migrations (or `options.migration`) on data at the
/// profile's scale.
pub async fn run(
    harness: &Harness,
    config: &ImpactConfig,
    options: &ImpactOptions,
) -> Result<ImpactReport, Error> {
    let started = Instant::now();
    let chain = harness.chain();
    let selected: Vec<usize> = match &options.migration {
        Some(selector) => match chain.position(selector) {
            Some(i) => vec![i],
            None => return Err(Error::UnknownVersion(selector.clone())),
        },
        None => (0..chain.migrations.len()).collect(),
    };
    let profile = match &options.profile {
        Some(p) => p.clone(),
        None => Profile {
            default_rows: config.rows,
            on_limit: crate::generate::OnLimit::Cap,
            ..Profile::default()
        },
    };
    let scale = match &options.profile {
        Some(p) => p.path.display().to_string(),
        None => format!(
            "{} rows in every table (impact.rows; give a profile with --profile or impact.profile)",
            rules::thousands(config.rows as i64)
        ),
    };
    let seed = options.seed.unwrap_or_else(|| default_seed(&profile));
    let mut report = ImpactReport {
        chain: chain.dir.clone(),
        server: ServerInfo {
            backend: harness.server().backend().name().to_string(),
            version: harness.server().version().to_string(),
        },
        scale,
        max_lock_ms: config.max_lock_ms,
        fail_on: config.fail_on.name(),
        migrations: Vec::new(),
        seeding: Vec::new(),
        unmatched_tables: Vec::new(),
        seconds: 0.0,
        summary: Summary::default(),
    };
    let mut walk: Option<Walk> = None;
    let run = Run {
        config,
        profile: &profile,
        seed,
    };
    let result = walk_chain(harness, &run, &selected, &mut walk, &mut report).await;
    drop_walk(harness, &mut walk).await;
    result?;
    report.seconds = started.elapsed().as_secs_f64();
    if !report.seeding.is_empty() {
        report.unmatched_tables = profile
            .tables
            .iter()
            .map(|t| t.name.clone())
            .filter(|name| !report.seeding.iter().any(|s| s.matched.contains(name)))
            .collect();
    }
    let all = || report.migrations.iter().flat_map(|m| &m.findings);
    report.summary = Summary {
        migrations: report.migrations.len(),
        with_findings: report
            .migrations
            .iter()
            .filter(|m| !m.findings.is_empty())
            .count(),
        errors: all().filter(|f| f.severity == Severity::Error).count(),
        warnings: all().filter(|f| f.severity == Severity::Warning).count(),
        failed: report.fails(config),
    };
    Ok(report)
}

/// What a run shares across its migrations.
struct Run<'a> {
    config: &'a ImpactConfig,
    profile: &'a Profile,
    seed: u64,
}

async fn walk_chain(
    harness: &Harness,
    run: &Run<'_>,
    selected: &[usize],
    walk: &mut Option<Walk>,
    report: &mut ImpactReport,
) -> Result<(), Error> {
    let chain = harness.chain();
    // How far the chain applies, and which migrations change server-wide
    // state (their templates are built, once).
    let reach = harness.reach().await?;
    for &index in selected {
        let migration = &chain.migrations[index];
        if index > reach.applied {
            let reason = reach
                .unreachable_reason(chain, index)
                .unwrap_or_else(|| "not reached".to_string());
            report
                .migrations
                .push(MigrationImpact::untraced(migration, reason, true));
            break;
        }
        if harness.changes_server_state(index) {
            // Its roles exist on this server since its template was built:
            // traced on a private server, where it creates them once.
            drop_walk(harness, walk).await;
            let Some(isolated) = harness.isolated().await? else {
                let reason = format!(
                    "not traced: it changes server-wide state ({}), and on the url backend there is no private server to run it on",
                    harness.server_changes(index).join(", ")
                );
                report
                    .migrations
                    .push(MigrationImpact::untraced(migration, reason, false));
                continue;
            };
            let mut own = None;
            let traced = trace_migration(&isolated, run, index, &mut own, report).await;
            drop_walk(&isolated, &mut own).await;
            isolated.server().shutdown().await;
            traced?;
            continue;
        }
        let stop = trace_migration(harness, run, index, walk, report).await?;
        if stop {
            break;
        }
    }
    Ok(())
}

async fn drop_walk(harness: &Harness, walk: &mut Option<Walk>) {
    if let Some(w) = walk.take() {
        let _ = sqlx::Connection::close(w.conn).await;
        let _ = harness.drop_database(&w.db).await;
    }
}

/// Traces migration `index` (first on an empty clone, then, when it
/// touches what existed, on the walk's seeded database) and adds its
/// report; `true` when the chain stops there.
async fn trace_migration(
    harness: &Harness,
    run: &Run<'_>,
    index: usize,
    walk: &mut Option<Walk>,
    report: &mut ImpactReport,
) -> Result<bool, Error> {
    let migration = &harness.chain().migrations[index];
    // Outside a transaction the locks are sampled, and a statement on an
    // empty table ends before a sample: such a migration is always traced
    // on data.
    let in_transaction = crate::apply::can_run_in_caller_transaction(&migration.up);
    if in_transaction {
        // On the empty database first, rolled back: what it creates
        // server-wide must not be there when it runs again on data.
        let db = harness.database_at_level(index).await?;
        let mut conn = harness.connect(&db).await?;
        let dry = trace_up(harness, &mut conn, index, true).await;
        let _ = sqlx::Connection::close(conn).await;
        let _ = harness.drop_database(&db).await;
        let dry = dry?;
        if let Some(error) = &dry.error {
            // The chain stops here: nothing after it can be traced.
            report.migrations.push(MigrationImpact {
                error: Some(format!(
                    "{error} (on an empty database: the chain does not apply)"
                )),
                chain_stops: true,
                ..dry.into_impact(migration, "empty", Vec::new())
            });
            return Ok(true);
        }
        let touched: BTreeSet<String> = dry
            .statements
            .iter()
            .flat_map(|s| &s.locks)
            .filter(|l| l.existing && !matches!(l.kind, "index" | "view" | "sequence"))
            .map(|l| l.relation.clone())
            .collect();
        if touched.is_empty() {
            // Nothing that existed is touched: the data cannot change the
            // trace. Keep the walk in step.
            if let Some(w) = walk.as_mut().filter(|w| w.level == index) {
                if harness.apply_up(&mut w.conn, index).await.is_ok() {
                    w.level += 1;
                }
            }
            let findings = rules::findings(&dry.statements, run.config);
            report
                .migrations
                .push(dry.into_impact(migration, "empty", findings));
            return Ok(false);
        }
        let usable = walk
            .as_ref()
            .is_some_and(|w| w.level == index && touched.is_subset(&w.seeded));
        if !usable {
            drop_walk(harness, walk).await;
        }
    } else if walk.as_ref().is_some_and(|w| w.level != index) {
        drop_walk(harness, walk).await;
    }
    if walk.is_none() {
        let (w, seeding) = seeded_walk(harness, run.profile, run.seed, index).await?;
        report.seeding.push(seeding);
        *walk = Some(w);
    }
    let Some(w) = walk.as_mut() else {
        unreachable!("a walk was just made");
    };
    let traced = trace_up(harness, &mut w.conn, index, false).await?;
    let mut findings = rules::findings(&traced.statements, run.config);
    let failed = traced.error.clone();
    if let Some(error) = &failed {
        let line = traced
            .error_line
            .unwrap_or_else(|| traced.statements.last().map_or(1, |s| s.line));
        if !run
            .config
            .ignore
            .iter()
            .any(|r| r == rules::Rule::FailsOnData.name())
        {
            findings.push(rules::fails_on_data(line, error.clone()));
        }
    }
    let stopped = failed.is_some();
    let mut impact = traced.into_impact(migration, "seeded", findings);
    impact.error = failed;
    report.migrations.push(impact);
    if stopped {
        // The walk's transaction rolled back: it is still at `index`, but
        // the next migration needs this one applied.
        drop_walk(harness, walk).await;
    } else if let Some(w) = walk.as_mut() {
        w.level += 1;
    }
    Ok(false)
}

/// A clone at `level` seeded with `profile` (restricted to the tables and
/// columns that exist there), vacuumed and analyzed as a live database
/// would be.
async fn seeded_walk(
    harness: &Harness,
    profile: &Profile,
    seed: u64,
    level: usize,
) -> Result<(Walk, Seeding), Error> {
    let started = Instant::now();
    let at = match level {
        0 => "the empty database".to_string(),
        l => harness.chain().migrations[l - 1].id(),
    };
    tracing::info!("impact: seeding {at} for the next migration");
    // Which version the data was for: a profile written for the head may
    // not fill an earlier one (a table renamed along the chain).
    let in_context = |e: crate::generate::GenerateError| {
        Error::Input(format!(
            "{}: seeding {at} (the version before {}): {e}",
            profile.path.display(),
            harness.chain().migrations[level].id()
        ))
    };
    let db = harness.database_at_level(level).await?;
    let seeded = async {
        let mut conn = harness.connect(&db).await?;
        let schema = SchemaSnapshot::capture(&mut conn).await?;
        let profile = profile.restricted_to(&schema);
        let matched: Vec<String> = profile.tables.iter().map(|t| t.name.clone()).collect();
        // The largest tables nothing points at are made while they load.
        let options = LoadOptions {
            progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            ..LoadOptions::default()
        };
        let stats = generate_and_load(&mut conn, &schema, &profile, seed, &options)
            .await
            .map_err(in_context)?;
        sqlx::raw_sql("vacuum analyze")
            .execute(&mut conn)
            .await
            .map_err(|source| crate::server::ServerError::Sql {
                what: "vacuuming the seeded database".into(),
                source,
            })?;
        let tables: BTreeSet<String> = schema
            .tables
            .keys()
            .map(|q| format!("{}.{}", q.schema, q.name))
            .collect();
        Ok::<_, Error>((conn, stats.total_rows, tables, matched))
    }
    .await;
    let (conn, rows, tables, matched) = match seeded {
        Ok(x) => x,
        Err(e) => {
            let _ = harness.drop_database(&db).await;
            return Err(e);
        }
    };
    Ok((
        Walk {
            db,
            conn,
            level,
            seeded: tables,
        },
        Seeding {
            at: match level {
                0 => "empty".to_string(),
                _ => at,
            },
            rows,
            seconds: started.elapsed().as_secs_f64(),
            matched,
        },
    ))
}

/// One traced up.
struct Traced {
    statements: Vec<StatementTrace>,
    commit_ms: f64,
    error: Option<String>,
    error_line: Option<usize>,
}

impl Traced {
    fn into_impact(
        self,
        migration: &crate::chain::Migration,
        data: &'static str,
        findings: Vec<Finding>,
    ) -> MigrationImpact {
        let duration_ms =
            self.statements.iter().map(|s| s.duration_ms).sum::<f64>() + self.commit_ms;
        MigrationImpact {
            migration: migration.id(),
            file: migration.up.path.clone(),
            data,
            statements: self.statements,
            commit_ms: self.commit_ms,
            duration_ms,
            error: self.error,
            findings,
            chain_stops: false,
        }
    }
}

/// Runs migration `index`'s up on `conn` under the tracer.
async fn trace_up(
    harness: &Harness,
    conn: &mut PgConnection,
    index: usize,
    rolled_back: bool,
) -> Result<Traced, Error> {
    let migration = &harness.chain().migrations[index];
    let sql_error = |what: &str, source| crate::server::ServerError::Sql {
        what: what.to_string(),
        source,
    };
    // Tables a migration created earlier and filled have never been
    // analyzed: their row counts would read as 0.
    let unanalyzed: Vec<String> = sqlx::query_scalar(
        "select format('%I.%I', n.nspname, c.relname) from pg_class c
           join pg_namespace n on n.oid = c.relnamespace
          where c.oid >= 16384 and c.relkind = 'r' and c.reltuples < 0
            and n.nspname not like 'pg\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| sql_error("reading the tables' statistics", e))?;
    if !unanalyzed.is_empty() {
        sqlx::raw_sql(&format!("analyze {}", unanalyzed.join(", ")))
            .execute(&mut *conn)
            .await
            .map_err(|e| sql_error("analyzing tables", e))?;
    }
    let before = trace::Before::read(conn)
        .await
        .map_err(|e| sql_error("reading the relations before the migration", e))?;
    // Statements outside a transaction block are watched from a second
    // connection.
    let monitor = if crate::apply::can_run_in_caller_transaction(&migration.up) {
        None
    } else {
        let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| sql_error("reading the backend's process id", e))?;
        let db_name: String = sqlx::query_scalar("select current_database()::text")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| sql_error("reading the database's name", e))?;
        let db = harness.server().database(&db_name);
        Some((harness.connect(&db).await?, pid))
    };
    let mut tracer = trace::Tracer::new(&migration.up, &before, monitor);
    let applied = if rolled_back {
        // (The caller checked that the up fits in a transaction.)
        sqlx::raw_sql("begin")
            .execute(&mut *conn)
            .await
            .map_err(|e| sql_error("opening the transaction", e))?;
        let applied = harness
            .apply_up_within_observed(conn, index, Some(&mut tracer))
            .await;
        let _ = sqlx::raw_sql("rollback").execute(&mut *conn).await;
        applied
    } else {
        harness
            .apply_up_observed(conn, index, Some(&mut tracer))
            .await
    };
    let (statements, commit) = tracer.close().await;
    let (error, error_line) = match applied {
        Ok(()) => (None, None),
        Err(Error::Migration { error, .. }) => (Some(error.headline()), Some(error.line)),
        Err(e) => return Err(e),
    };
    Ok(Traced {
        statements,
        commit_ms: commit.as_secs_f64() * 1000.0,
        error,
        error_line,
    })
}

impl MigrationImpact {
    /// A migration that was not traced, and why.
    fn untraced(
        migration: &crate::chain::Migration,
        reason: String,
        chain_stops: bool,
    ) -> MigrationImpact {
        MigrationImpact {
            migration: migration.id(),
            file: migration.up.path.clone(),
            data: "empty",
            statements: Vec::new(),
            commit_ms: 0.0,
            duration_ms: 0.0,
            error: Some(reason),
            findings: Vec::new(),
            chain_stops,
        }
    }

    /// The migration's result in a `check` report (`check --only impact`):
    /// it fails on a finding at or above `fail_on`.
    pub fn to_result(&self, config: &ImpactConfig) -> crate::properties::PropertyResult {
        use crate::properties::{Location, PropertyResult, Status};
        let failing: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity.fails(config.fail_on))
            .collect();
        let first = failing.first().copied().or(self.findings.first());
        let message = match (first, self.data) {
            _ if self.chain_stops => self.error.clone().unwrap_or_default(),
            (Some(f), _) => format!(
                "{} ({} at line {}){}",
                f.message,
                f.rule,
                f.line,
                match self.findings.len() {
                    1 => String::new(),
                    2 => "; 1 more finding".to_string(),
                    n => format!("; {} more findings", n - 1),
                }
            ),
            (None, "empty") => {
                "locks nothing that existed before: checked on the empty database".to_string()
            }
            (None, _) => String::new(),
        };
        let diff = (!self.findings.is_empty()).then(|| {
            self.findings
                .iter()
                .map(|f| {
                    format!(
                        "{} {} line {}: {}\n  safer: {}",
                        f.severity.name(),
                        f.rule,
                        f.line,
                        f.message,
                        f.safer
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        PropertyResult {
            property: "impact".to_string(),
            target: self.migration.clone(),
            status: if failing.is_empty() && !self.chain_stops {
                Status::Pass
            } else {
                Status::Fail
            },
            message,
            diff,
            location: first.map(|f| Location {
                file: self.file.display().to_string(),
                line: f.line,
                col: 1,
                sqlstate: None,
            }),
            rerun: (!failing.is_empty()).then(|| format!("impact --migration {}", self.migration)),
            duration_us: Some((self.duration_ms * 1000.0) as u64),
            server: None,
        }
    }
}
