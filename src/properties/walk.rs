//! Per-migration checks that walk one database along the chain instead of
//! cloning one per migration: a check that leaves its database exactly at
//! the next level (round-trip's up, down, up, when it passes) hands it to
//! the next migration's check, which then needs no `CREATE DATABASE` and no
//! replayed ups. That is what a person checking a chain by hand with psql
//! does. A check that spoils its database (a finding, an error) makes the
//! next one start from a clone again, so one finding never colours the
//! next verdict.

use sqlx::postgres::PgConnection;
use sqlx::Connection;

use super::PropertyResult;
use crate::harness::TEMPLATE_STRIDE;
use crate::schema::SchemaTracker;
use crate::server::Database;
use crate::{Error, Harness};

/// The database a walk carries, and the level it is at.
pub(super) struct Walk {
    current: Option<Current>,
}

/// The walk's database, its connection, its level, and the schema captures
/// of it (each after the first reads only what changed).
struct Current {
    db: Database,
    conn: PgConnection,
    level: usize,
    tracker: SchemaTracker,
}

impl Walk {
    pub(super) fn new() -> Walk {
        Walk { current: None }
    }

    /// A connection to a database at `level`: the walk's own when it is
    /// there, else a new clone (the old one dropped).
    pub(super) async fn at(
        &mut self,
        harness: &Harness,
        level: usize,
    ) -> Result<&mut PgConnection, Error> {
        Ok(self.at_tracked(harness, level).await?.0)
    }

    /// [`Walk::at`], with the tracker of the database's schema captures.
    pub(super) async fn at_tracked(
        &mut self,
        harness: &Harness,
        level: usize,
    ) -> Result<(&mut PgConnection, &mut SchemaTracker), Error> {
        if !matches!(&self.current, Some(c) if c.level == level) {
            self.finish(harness).await;
            let db = harness.database_at_level(level).await?;
            match harness.connect(&db).await {
                Ok(conn) => {
                    self.current = Some(Current {
                        db,
                        conn,
                        level,
                        tracker: SchemaTracker::from_env(),
                    })
                }
                Err(e) => {
                    let _ = harness.drop_database(&db).await;
                    return Err(e);
                }
            }
        }
        match &mut self.current {
            Some(c) => Ok((&mut c.conn, &mut c.tracker)),
            None => unreachable!("set just above"),
        }
    }

    /// The check left the database at `level`, in the state the chain's
    /// ups alone give: the next check may go on from it.
    pub(super) fn now_at(&mut self, level: usize) {
        if let Some(c) = &mut self.current {
            c.level = level;
        }
    }

    /// The check left the database in a state no later check may start
    /// from.
    pub(super) fn spoiled(&mut self) {
        if let Some(c) = &mut self.current {
            c.level = usize::MAX;
        }
    }

    /// Drops the walk's database.
    pub(super) async fn finish(&mut self, harness: &Harness) {
        if let Some(c) = self.current.take() {
            let _ = c.conn.close().await;
            let _ = harness.drop_database(&c.db).await;
        }
    }
}

/// The longest walk, in template strides.
const WALK_STRIDES: usize = 4;

/// Runs `check` on each selected migration index, in walks of consecutive
/// migrations (a few walks at once), results in chain order; the first
/// error ends the run. A migration's check waits until its template exists
/// and is left out when the chain stops before it (`check` reports those as
/// not reached); a migration that changes server-wide state (roles) is
/// checked on a private server, where no template of the chain holds that
/// state.
/// Chains with after-migrate callbacks are not walked: their templates
/// hold what a check's single up does not.
pub(super) async fn per_migration_walking<F>(
    harness: &Harness,
    selected: &[usize],
    check: F,
) -> Result<Vec<PropertyResult>, Error>
where
    F: for<'a> Fn(
        &'a Harness,
        usize,
        &'a mut Walk,
    )
        -> futures_util::future::LocalBoxFuture<'a, Result<Vec<PropertyResult>, Error>>,
{
    use futures_util::stream::{self, StreamExt};
    let walkable = harness.chain().callbacks.after_migrate.is_empty();
    // Walks as long as a few template strides (each starts at a kept
    // template when the chain is long), shorter on short chains so that the
    // concurrency is used. A walk's first schema capture reads everything
    // and its new connection fills the server's caches; later captures
    // read what changed: fewer, longer walks on a long chain (4 strides
    // instead of 1: the 300-migration synthetic chain 15.6 -> 13.2 s).
    let len = if walkable {
        selected
            .len()
            .div_ceil(super::MIGRATION_CONCURRENCY)
            .clamp(1, WALK_STRIDES * TEMPLATE_STRIDE)
    } else {
        1
    };
    let check = &check;
    let per_walk: Vec<Vec<PropertyResult>> = stream::iter(selected.chunks(len))
        .map(|indices| async move {
            let mut walk = Walk::new();
            let mut results = Vec::new();
            let mut outcome = Ok(());
            for &index in indices {
                let step = async {
                    if !super::wait_applied(harness, index).await? {
                        return Ok(Vec::new());
                    }
                    if harness.changes_server_state(index) {
                        if let Some(own) = harness.isolated().await? {
                            let mut private = Walk::new();
                            let started = std::time::Instant::now();
                            let mut result = check(&own, index, &mut private).await;
                            if let Ok(found) = &mut result {
                                super::timed(found, started.elapsed());
                            }
                            private.finish(&own).await;
                            own.server().shutdown().await;
                            walk.spoiled();
                            return result;
                        }
                    }
                    let started = std::time::Instant::now();
                    let mut result = check(harness, index, &mut walk).await;
                    if let Ok(found) = &mut result {
                        super::timed(found, started.elapsed());
                    }
                    if !walkable {
                        walk.spoiled();
                    }
                    result
                };
                let stepped = step.await;
                crate::progress::Counters::bump(&harness.progress().checked);
                match stepped {
                    Ok(r) => results.extend(r),
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
            }
            walk.finish(harness).await;
            outcome.map(|()| results)
        })
        .buffered(super::MIGRATION_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok(per_walk.into_iter().flatten().collect())
}
