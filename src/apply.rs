//! Applying one migration script to a database: statement by statement,
//! inside a transaction unless the script opts out or manages its own, with
//! a failure pinned to `file:line:col`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;

use sqlx::postgres::{PgConnection, PgDatabaseError, PgErrorPosition};

use crate::chain::{Layout, Script};
use crate::statement;

/// A script that failed to apply: where, and what Postgres said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApplyError {
    /// The migration file.
    pub path: PathBuf,
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// The SQLSTATE, when the server reported one.
    pub sqlstate: Option<String>,
    /// Postgres' message (or the connection failure).
    pub message: String,
    /// Postgres' DETAIL.
    pub detail: Option<String>,
    /// Postgres' HINT, or ours (e.g. the no-transaction marker to use).
    pub hint: Option<String>,
    /// Postgres' CONTEXT (e.g. the PL/pgSQL line that raised).
    pub context: Option<String>,
    /// The offending line of the file.
    pub source_line: String,
    /// The connection broke (the server went away), as opposed to the
    /// statement failing.
    pub connection_lost: bool,
}

impl ApplyError {
    /// `path:line:col: message (SQLSTATE x)` on one line.
    pub fn headline(&self) -> String {
        let state = self
            .sqlstate
            .as_deref()
            .map(|s| format!(" (SQLSTATE {s})"))
            .unwrap_or_default();
        format!(
            "{}:{}:{}: {}{state}",
            self.path.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline())?;
        for (label, value) in [
            ("detail", &self.detail),
            ("hint", &self.hint),
            ("context", &self.context),
        ] {
            if let Some(v) = value {
                writeln!(f, "  {label}: {}", v.replace('\n', "\n    "))?;
            }
        }
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        let line = self.source_line.replace('\t', " ");
        let caret_pad: String = line
            .chars()
            .take(self.col.saturating_sub(1))
            .map(|_| ' ')
            .collect();
        writeln!(f, "  {number} | {line}")?;
        write!(f, "  {pad} | {caret_pad}^")
    }
}

impl std::error::Error for ApplyError {}

/// What applying a script did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyStats {
    /// Statements executed.
    pub statements: usize,
}

/// A client-side limit on each statement, for when the server's
/// `statement_timeout` is not enough: a script may `SET statement_timeout
/// = 0` and then hang. Past `limit`, `stop` ends the statement's backend
/// (from another connection) and the statement fails with SQLSTATE 57014.
pub struct Watchdog<'a> {
    /// The statement timeout the user configured (for the message).
    pub timeout: Duration,
    /// How long one statement may take (the timeout and some grace).
    pub limit: Duration,
    /// Ends the backend of the connection the script runs on.
    pub stop: Box<dyn Fn() -> LocalBoxFuture<'a, ()> + 'a>,
}

/// What one statement of a script did, for a [`StatementObserver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementOutcome {
    /// Rows the statement inserted, updated, deleted or copied (0 for DDL).
    pub rows: u64,
    /// How long the statement took, as the client saw it.
    pub elapsed: Duration,
    /// Whether a transaction block was open when the statement ended (the
    /// locks it took are still held).
    pub in_transaction: bool,
}

/// Watches a script's statements as they run (`impact` reads the locks and
/// rewrites of each). The script is still run by the one function that
/// applies scripts; the observer only looks.
pub trait StatementObserver {
    /// Runs beside a statement that runs outside a transaction block (its
    /// locks are gone by the time it ends), on a connection of the
    /// observer's own; `None` to watch nothing. The future need not end:
    /// it is dropped when the statement ends.
    fn during<'a>(&'a mut self, index: usize) -> Option<LocalBoxFuture<'a, ()>>;
    /// Runs after statement `index` succeeded, on the script's connection
    /// (inside the script's transaction while `outcome.in_transaction`).
    /// An error here is the observer's, reported as the statement's.
    fn after<'a>(
        &'a mut self,
        conn: &'a mut PgConnection,
        index: usize,
        stmt: &'a statement::Statement<'a>,
        outcome: StatementOutcome,
    ) -> LocalBoxFuture<'a, Result<(), sqlx::Error>>;
    /// The transaction the harness opened around the script committed,
    /// taking `elapsed`.
    fn committed(&mut self, elapsed: Duration);
}

/// Runs `stmt` under `watchdog`, if any; returns the rows it affected.
async fn run_watched(
    conn: &mut PgConnection,
    stmt: &statement::Statement<'_>,
    watchdog: Option<&Watchdog<'_>>,
) -> Result<u64, Watched> {
    let Some(w) = watchdog else {
        return run_statement(conn, stmt).await.map_err(Watched::Sql);
    };
    match tokio::time::timeout(w.limit, run_statement(conn, stmt)).await {
        Ok(result) => result.map_err(Watched::Sql),
        Err(_) => {
            (w.stop)().await;
            Err(Watched::TimedOut(w.timeout))
        }
    }
}

/// Why a watched statement failed.
enum Watched {
    Sql(sqlx::Error),
    TimedOut(Duration),
}

impl Watched {
    fn into_apply_error(
        self,
        script: &Script,
        stmt: &statement::Statement<'_>,
        layout: Layout,
    ) -> ApplyError {
        match self {
            Watched::Sql(e) => to_apply_error(script, Some(stmt), e, layout),
            Watched::TimedOut(timeout) => {
                let mut err = to_apply_error(
                    script,
                    Some(stmt),
                    sqlx::Error::Protocol(String::new()),
                    layout,
                );
                err.connection_lost = false;
                err.sqlstate = Some("57014".into());
                err.message = format!(
                    "the statement ran past the statement timeout ({} s) and was stopped by the harness",
                    timeout.as_secs()
                );
                err.hint = Some("a script's own SET statement_timeout does not lift the harness's; raise it with --timeout or server.statement_timeout".into());
                err
            }
        }
    }
}

/// Runs `script` on `conn`.
///
/// The script runs in a transaction when it says so ([`Script::transaction`])
/// and does not manage its own (a top-level `BEGIN`/`COMMIT`); a failure
/// rolls back what the harness opened. `layout` only words the hint for
/// statements that cannot run in a transaction.
pub async fn apply_script(
    conn: &mut PgConnection,
    script: &Script,
    layout: Layout,
) -> Result<ApplyStats, ApplyError> {
    apply_script_watched(conn, script, layout, None).await
}

/// [`apply_script`] with each statement under `watchdog`.
pub async fn apply_script_watched(
    conn: &mut PgConnection,
    script: &Script,
    layout: Layout,
    watchdog: Option<&Watchdog<'_>>,
) -> Result<ApplyStats, ApplyError> {
    apply_script_observed(conn, script, layout, watchdog, None).await
}

/// [`apply_script_watched`] with each statement shown to `observer`.
pub async fn apply_script_observed(
    conn: &mut PgConnection,
    script: &Script,
    layout: Layout,
    watchdog: Option<&Watchdog<'_>>,
    mut observer: Option<&mut dyn StatementObserver>,
) -> Result<ApplyStats, ApplyError> {
    let statements = statement::split(&script.sql);
    let own_transaction = statements
        .iter()
        .any(statement::Statement::is_transaction_control);
    let wrap = script.transaction && !own_transaction;
    if wrap {
        exec(conn, "begin")
            .await
            .map_err(|e| to_apply_error(script, None, e, layout))?;
    }
    // Whether a transaction block is open (the script's own, or ours).
    let mut in_transaction = wrap;
    for (index, stmt) in statements.iter().enumerate() {
        let started = std::time::Instant::now();
        let ran = match observer.as_mut() {
            Some(o) if !in_transaction => match o.during(index) {
                Some(watch) => {
                    let run = run_watched(conn, stmt, watchdog);
                    tokio::pin!(run);
                    tokio::select! {
                        ran = &mut run => ran,
                        () = watch => run.await,
                    }
                }
                None => run_watched(conn, stmt, watchdog).await,
            },
            _ => run_watched(conn, stmt, watchdog).await,
        };
        let elapsed = started.elapsed();
        let observed = match ran {
            Err(e) => Err(e),
            Ok(rows) => {
                if own_transaction {
                    in_transaction = transaction_open_after(stmt, in_transaction);
                }
                let outcome = StatementOutcome {
                    rows,
                    elapsed,
                    in_transaction,
                };
                show(&mut observer, conn, index, stmt, outcome).await
            }
        };
        if let Err(e) = observed {
            let err = e.into_apply_error(script, stmt, layout);
            if (wrap || own_transaction) && !err.connection_lost {
                // Leave the connection usable; the error is what matters.
                let _ = exec(conn, "rollback").await;
            }
            return Err(err);
        }
    }
    if let Some(begin) = statement::unclosed_begin(&statements) {
        // psql would roll this transaction back when the script ends: every
        // statement after the BEGIN would silently not have happened.
        let _ = exec(conn, "rollback").await;
        let mut err = to_apply_error(
            script,
            Some(&begin),
            sqlx::Error::Protocol(String::new()),
            layout,
        );
        err.connection_lost = false;
        err.message = "this BEGIN is never committed: the script ends with its transaction open, so psql rolls back everything after it".to_string();
        err.hint = Some("add COMMIT at the end of the script".to_string());
        return Err(err);
    }
    if wrap {
        let started = std::time::Instant::now();
        exec(conn, "commit")
            .await
            .map_err(|e| to_apply_error(script, None, e, layout))?;
        if let Some(o) = observer {
            o.committed(started.elapsed());
        }
    }
    Ok(ApplyStats {
        statements: statements.len(),
    })
}

/// Shows a statement that succeeded to the observer, if any.
async fn show(
    observer: &mut Option<&mut dyn StatementObserver>,
    conn: &mut PgConnection,
    index: usize,
    stmt: &statement::Statement<'_>,
    outcome: StatementOutcome,
) -> Result<(), Watched> {
    match observer.as_mut() {
        Some(o) => o
            .after(conn, index, stmt, outcome)
            .await
            .map_err(Watched::Sql),
        None => Ok(()),
    }
}

/// Whether a transaction block is open after `stmt` ran, given whether one
/// was before (for scripts that manage their own).
fn transaction_open_after(stmt: &statement::Statement<'_>, before: bool) -> bool {
    if !stmt.is_transaction_control() {
        return before;
    }
    matches!(stmt.keyword().as_str(), "begin" | "start")
}

/// Whether `script` can run inside a transaction the caller holds: it does
/// not opt out of transactions and does not manage its own.
pub fn can_run_in_caller_transaction(script: &Script) -> bool {
    script.transaction
        && !statement::split(&script.sql)
            .iter()
            .any(statement::Statement::is_transaction_control)
}

/// Runs `script` inside the transaction the caller holds on `conn` (no
/// BEGIN/COMMIT of its own): for checks that undo everything with one
/// rollback. The caller must have checked
/// [`can_run_in_caller_transaction`]; a failure leaves the caller's
/// transaction aborted.
pub async fn apply_script_within(
    conn: &mut PgConnection,
    script: &Script,
    layout: Layout,
    watchdog: Option<&Watchdog<'_>>,
) -> Result<ApplyStats, ApplyError> {
    apply_script_within_observed(conn, script, layout, watchdog, None).await
}

/// [`apply_script_within`] with each statement shown to `observer`.
pub async fn apply_script_within_observed(
    conn: &mut PgConnection,
    script: &Script,
    layout: Layout,
    watchdog: Option<&Watchdog<'_>>,
    mut observer: Option<&mut dyn StatementObserver>,
) -> Result<ApplyStats, ApplyError> {
    let statements = statement::split(&script.sql);
    for (index, stmt) in statements.iter().enumerate() {
        let started = std::time::Instant::now();
        let shown = match run_watched(conn, stmt, watchdog).await {
            Ok(rows) => {
                let outcome = StatementOutcome {
                    rows,
                    elapsed: started.elapsed(),
                    in_transaction: true,
                };
                show(&mut observer, conn, index, stmt, outcome).await
            }
            Err(e) => Err(e),
        };
        shown.map_err(|e| e.into_apply_error(script, stmt, layout))?;
    }
    Ok(ApplyStats {
        statements: statements.len(),
    })
}

/// Runs one statement as psql would: SQL as a simple query, `COPY ... FROM
/// stdin` with the script's inline data, harmless meta-commands not at all
/// (the chain reader refuses the others).
async fn run_statement(
    conn: &mut PgConnection,
    stmt: &statement::Statement<'_>,
) -> Result<u64, sqlx::Error> {
    if stmt.meta {
        return Ok(0);
    }
    let Some(data) = stmt.copy_data else {
        return sqlx::raw_sql(stmt.text)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected());
    };
    let mut copy = conn.copy_in_raw(stmt.text).await?;
    if let Err(e) = copy.send(data.as_bytes()).await {
        let _ = copy.abort("the script's COPY data could not be sent").await;
        return Err(e);
    }
    copy.finish().await
}

async fn exec(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sql).execute(&mut *conn).await.map(|_| ())
}

fn to_apply_error(
    script: &Script,
    stmt: Option<&statement::Statement<'_>>,
    error: sqlx::Error,
    layout: Layout,
) -> ApplyError {
    let stmt_start = stmt.map_or(0, |s| s.start);
    let mut offset = stmt_start;
    let (sqlstate, message, detail, mut hint, context, connection_lost) = match &error {
        sqlx::Error::Database(db) => match db.try_downcast_ref::<PgDatabaseError>() {
            Some(pg) => {
                if let (Some(PgErrorPosition::Original(pos)), Some(s)) = (pg.position(), stmt) {
                    offset = s.start + statement::char_position_to_byte(s.text, pos);
                }
                (
                    Some(pg.code().to_string()),
                    pg.message().to_string(),
                    pg.detail().map(str::to_string),
                    pg.hint().map(str::to_string),
                    pg.r#where().map(str::to_string),
                    false,
                )
            }
            None => (
                db.code().map(|c| c.to_string()),
                db.message().to_string(),
                None,
                None,
                None,
                false,
            ),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => (
            None,
            format!("connection to the server lost: {error}"),
            None,
            None,
            None,
            true,
        ),
        other => (None, other.to_string(), None, None, None, false),
    };
    if sqlstate.as_deref() == Some("25001") {
        hint = Some(format!(
            "this statement cannot run inside a transaction; mark the migration with {}",
            layout.no_transaction_marker()
        ));
    }
    if sqlstate.as_deref() == Some("55P04") {
        hint = Some(format!(
            "a label added by ALTER TYPE ... ADD VALUE cannot be used before it is committed: move its use to the next migration, or mark this one with {}",
            layout.no_transaction_marker()
        ));
    }
    if sqlstate.as_deref() == Some("57014") && message.contains("statement timeout") {
        hint = Some("the statement ran past the statement timeout (a lock wait or a long sleep?); raise it with --timeout".to_string());
    }
    let (line, col) = statement::line_col(&script.sql, offset);
    let source_line = script.sql.lines().nth(line - 1).unwrap_or("").to_string();
    ApplyError {
        path: script.path.clone(),
        line: line + script.line_offset,
        col,
        sqlstate,
        message,
        detail,
        hint,
        context,
        source_line,
        connection_lost,
    }
}
