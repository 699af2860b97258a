//! `idempotency`: re-running a migration's up script on a database that is
//! already at that version (and holds data) raises no error and changes
//! neither the schema nor the data.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sqlx::postgres::PgConnection;

use super::{apply_failure, capture, PropertyResult, Status, Step};
use futures_util::FutureExt;

use super::walk::Walk;
use crate::chain::intent;
use crate::config::IdempotencyMode;
use crate::schema::unified_diff;
use crate::server::{quote_ident, ServerError};
use crate::{Error, Harness};

const PROPERTY: &str = "idempotency";

/// Runs the property on the migrations `selected` (indices into the chain),
/// as `idempotency.enabled` says: `true` holds every migration to it;
/// `auto` does when the chain is written to be re-runnable (see
/// [`crate::chain::intent`]) and otherwise sums the misses up in one line;
/// `false` is one skip.
pub(super) async fn check(
    harness: &Harness,
    selected: &[usize],
    seed: u64,
) -> Result<Vec<PropertyResult>, Error> {
    let required = match is_required(harness) {
        Some(required) => required,
        None => {
            return Ok(vec![PropertyResult::skip(
                PROPERTY,
                "chain",
                "the chain is declared not idempotent (idempotency.enabled = false)",
            )])
        }
    };
    let results = super::walk::per_migration_walking(harness, selected, |harness, index, walk| {
        async move {
            check_migration(harness, index, seed, walk)
                .await
                .map(|r| vec![r])
        }
        .boxed_local()
    })
    .await?;
    if required {
        return Ok(results);
    }
    let guarding = intent::guarding(harness.chain());
    let misses = results.iter().filter(|r| r.status == Status::Fail).count();
    let first = results
        .iter()
        .find(|r| r.status == Status::Fail)
        .map(|r| format!("; first: {}: {}", r.target, r.message))
        .unwrap_or_default();
    Ok(vec![PropertyResult::skip(
        PROPERTY,
        "chain",
        format!(
            "not required: {misses} of {} migrations are not re-runnable, and the chain is not written to be ({} of {} schema changes guarded, under {:.0}%); set idempotency.enabled = true to require it{first}",
            results.len(),
            guarding.guarded,
            guarding.statements,
            intent::RERUNNABLE_SHARE * 100.0
        ),
    )])
}

/// Whether every migration is held to idempotency (`None`: the chain is
/// declared not idempotent). In `auto` mode, when the chain is written to
/// be re-run; otherwise its misses are summed up in one result.
pub(super) fn is_required(harness: &Harness) -> Option<bool> {
    match harness.config().idempotency.enabled {
        IdempotencyMode::Off => None,
        IdempotencyMode::Required => Some(true),
        IdempotencyMode::Auto => Some(intent::guarding(harness.chain()).rerunnable()),
    }
}

/// Up once on generated data at the previous version, then up again: the
/// second run must see exactly the state the first left, raise no error and
/// change neither the schema nor the data.
///
/// A migration that can run inside the caller's transaction (most) is
/// checked on the walk's database, in a transaction rolled back at the end,
/// and the walk then applies it for the next migration; the others on a
/// clone of their own.
async fn check_migration(
    harness: &Harness,
    index: usize,
    seed: u64,
    walk: &mut Walk,
) -> Result<PropertyResult, Error> {
    let migration = &harness.chain().migrations[index];
    let id = migration.id();
    let result = if harness
        .config()
        .idempotency
        .skip
        .iter()
        .any(|s| migration.matches(s))
    {
        Ok(PropertyResult::skip(
            PROPERTY,
            &id,
            "declared not idempotent (idempotency.skip in the config)",
        ))
    } else if in_transaction(harness, index) {
        check_in_transaction(harness, index, seed, walk.at(harness, index).await?).await
    } else {
        walk.spoiled();
        check_on_clone(harness, index, seed).await
    };
    // The walk goes on from the database at this migration's version.
    match walk.at(harness, index).await {
        Ok(conn) => match harness.apply_up(conn, index).await {
            Ok(()) => walk.now_at(index + 1),
            Err(_) => walk.spoiled(),
        },
        Err(_) => walk.spoiled(),
    }
    result.map(|mut r| {
        if matches!(r.status, Status::Fail | Status::Partial) {
            r.rerun = Some(format!(
                "check --only idempotency --migration {} --seed {seed}",
                migration.version
            ));
        }
        r
    })
}

/// Whether migration `index` can be checked inside one transaction that
/// undoes it: its up needs no transaction control of its own, and the
/// chain has no callbacks (which run around each up, outside it).
fn in_transaction(harness: &Harness, index: usize) -> bool {
    harness.chain().callbacks.none_around_ups()
        && crate::apply::can_run_in_caller_transaction(&harness.chain().migrations[index].up)
}

/// The check inside a transaction on `conn` (at the previous version),
/// rolled back at the end: the database is left as it was.
async fn check_in_transaction(
    harness: &Harness,
    index: usize,
    seed: u64,
    conn: &mut PgConnection,
) -> Result<PropertyResult, Error> {
    // Through sqlx's transaction API, so that the data load's own
    // transaction becomes a savepoint inside this one.
    let mut tx = begin(conn).await?;
    let schema = harness.level_schema(index, &mut tx).await?;
    let rows = super::fill_with_generated_data(&mut tx, &schema, seed).await?;
    let first = run_twice(harness, index, &mut tx, rows, true).await;
    let _ = tx.rollback().await;
    let why = match first? {
        Twice::Done(r) => return Ok(*r),
        Twice::UpFailedOnData(why) => why,
    };
    let mut tx = begin(conn).await?;
    let again = run_twice(harness, index, &mut tx, Err(why), true).await;
    let _ = tx.rollback().await;
    match again? {
        Twice::Done(r) => Ok(*r),
        Twice::UpFailedOnData(_) => unreachable!("no data the second time"),
    }
}

async fn begin(conn: &mut PgConnection) -> Result<sqlx::Transaction<'_, sqlx::Postgres>, Error> {
    use sqlx::Connection;
    conn.begin().await.map_err(|source| {
        Error::Server(ServerError::Sql {
            what: "BEGIN".into(),
            source,
        })
    })
}

/// Migration `index`'s up, inside the caller's transaction or on its own.
async fn up(
    harness: &Harness,
    conn: &mut PgConnection,
    index: usize,
    within: bool,
) -> Result<(), Error> {
    if within {
        harness.apply_up_within(conn, index).await
    } else {
        harness.apply_up(conn, index).await
    }
}

/// The check on a clone at the previous version of its own.
async fn check_on_clone(
    harness: &Harness,
    index: usize,
    seed: u64,
) -> Result<PropertyResult, Error> {
    let mut rows = None;
    loop {
        let db = harness.database_at_level(index).await?;
        let mut conn = harness.connect(&db).await?;
        let outcome = async {
            let rows = match rows.take() {
                Some(why) => Err(why),
                None => {
                    let schema = harness.level_schema(index, &mut conn).await?;
                    super::fill_with_generated_data(&mut conn, &schema, seed).await?
                }
            };
            run_twice(harness, index, &mut conn, rows, false).await
        }
        .await;
        drop(conn);
        let _ = harness.drop_database(&db).await;
        match outcome? {
            Twice::Done(r) => return Ok(*r),
            Twice::UpFailedOnData(why) => rows = Some(why),
        }
    }
}

/// What running an up twice gave.
enum Twice {
    Done(Box<PropertyResult>),
    /// The first up failed on the generated data: that is not about
    /// running it twice, so the check is run again without data.
    UpFailedOnData(String),
}

/// Up, then up again on `conn` (at the previous version, with `rows`
/// generated rows or why there are none); `within` runs the ups inside the
/// caller's transaction.
async fn run_twice(
    harness: &Harness,
    index: usize,
    conn: &mut PgConnection,
    rows: Result<usize, String>,
    within: bool,
) -> Result<Twice, Error> {
    let migration = &harness.chain().migrations[index];
    let id = migration.id();
    if let Err(e) = up(harness, conn, index, within).await {
        let Error::Migration { error, .. } = &e else {
            return Err(e);
        };
        if matches!(rows, Ok(n) if n > 0) {
            // A NOT NULL added without a backfill: re-runnability is
            // checked without data, and the result says so.
            return Ok(Twice::UpFailedOnData(format!(
                "the up fails on generated data: {}",
                error.headline()
            )));
        }
        return apply_failure(PROPERTY, &id, Step::Up, e).map(|r| Twice::Done(Box::new(r)));
    }
    let schema_before = harness.level_schema(index + 1, conn).await?;
    let data_before = fingerprint(conn).await?;
    if let Err(e) = up(harness, conn, index, within).await {
        return apply_failure(PROPERTY, &id, Step::Rerun, e).map(|r| Twice::Done(Box::new(r)));
    }
    let schema_after = capture(conn).await?;
    let (before, after) = (schema_before.render(), schema_after.render());
    if before != after {
        return Ok(Twice::Done(Box::new(PropertyResult::fail_with_diff(
            PROPERTY,
            &id,
            format!(
                "{}: running the up again changes the schema",
                migration.up.path.display()
            ),
            unified_diff(&before, &after, "after up", "after up, up again"),
        ))));
    }
    let data_after = fingerprint(conn).await?;
    if let Some(changes) = data_changes(&data_before, &data_after) {
        return Ok(Twice::Done(Box::new(PropertyResult::fail_with_diff(
            PROPERTY,
            &id,
            format!(
                "{}: running the up again changes the data ({})",
                migration.up.path.display(),
                changes.lines().next().unwrap_or_default().trim()
            ),
            changes,
        ))));
    }
    let rows_after: i64 = data_after.values().map(|(count, _)| count).sum();
    Ok(Twice::Done(Box::new(match rows {
        Ok(n) => {
            let mut r = PropertyResult::pass(PROPERTY, &id);
            if rows_after > 0 {
                r.message = format!("with {n} generated rows ({rows_after} rows after the up)");
            }
            r
        }
        // The schema half held; the data half could not be checked, and a
        // pass must not hide that.
        Err(why) => PropertyResult::partial(
            PROPERTY,
            &id,
            format!("schema unchanged, data not checked: {why}"),
        ),
    })))
}

/// Per table (qualified name): row count and an order-independent hash of
/// the rows.
pub(crate) type Fingerprint = BTreeMap<String, (i64, String)>;

/// How [`fingerprint_with`] hashes a table's rows, order-independently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowHash {
    /// The sum of a 64-bit hash of each row's text (`hashtextextended`,
    /// summed exactly): one pass, no sort.
    Summed,
    /// The md5 of each row's text, sorted and hashed again: what seed
    /// records written before `Summed` hold. Sorting millions of hashes
    /// costs seconds.
    Sorted,
}

/// Row counts and content hashes of every user table.
pub(crate) async fn fingerprint(conn: &mut PgConnection) -> Result<Fingerprint, Error> {
    fingerprint_with(conn, RowHash::Summed).await
}

/// [`fingerprint`], the rows hashed as `hash` says.
pub(crate) async fn fingerprint_with(
    conn: &mut PgConnection,
    hash: RowHash,
) -> Result<Fingerprint, Error> {
    let sql_error = |what: &str| {
        let what = what.to_string();
        move |source| ServerError::Sql { what, source }
    };
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select n.nspname::text, c.relname::text
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p')
            and n.nspname not in ('pg_catalog', 'information_schema', 'pgharness')
            and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
            and not exists (select 1 from pg_depend d
                             where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
          order by 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(sql_error("listing tables"))?;
    // One query for every table: a chain with hundreds of tables would
    // otherwise pay hundreds of round trips per fingerprint.
    let mut out = Fingerprint::new();
    if tables.is_empty() {
        return Ok(out);
    }
    let parts: Vec<String> = tables
        .iter()
        .enumerate()
        .map(|(i, (schema, table))| {
            let name = format!("{}.{}", quote_ident(schema), quote_ident(table));
            // Independent of the physical order, which a rewrite may change.
            match hash {
                RowHash::Summed => format!(
                    "select {i} as i, count(*) as n, coalesce(sum(hashtextextended(t::text, 0))::text, '') as h from only {name} t"
                ),
                RowHash::Sorted => format!(
                    "select {i} as i, count(*) as n, coalesce(md5(string_agg(h, '' order by h)), '') as h from (select md5(t::text) as h from only {name} t) s"
                ),
            }
        })
        .collect();
    let rows: Vec<(i32, i64, String)> = sqlx::query_as(&parts.join(" union all "))
        .fetch_all(&mut *conn)
        .await
        .map_err(sql_error("hashing the rows of every table"))?;
    for (i, count, hash) in rows {
        if let Some((schema, table)) = tables.get(i as usize) {
            out.insert(format!("{schema}.{table}"), (count, hash));
        }
    }
    Ok(out)
}

/// A line per table whose rows changed, or `None`.
pub(crate) fn data_changes(before: &Fingerprint, after: &Fingerprint) -> Option<String> {
    let mut out = String::new();
    for (table, (count, hash)) in before {
        match after.get(table) {
            None => {
                let _ = writeln!(out, "table {table}: gone (had {count} rows)");
            }
            Some((c, _)) if c != count => {
                let _ = writeln!(out, "table {table}: {count} rows before, {c} after");
            }
            Some((_, h)) if h != hash => {
                let _ = writeln!(out, "table {table}: same {count} rows, different contents");
            }
            Some(_) => {}
        }
    }
    for (table, (count, _)) in after {
        if !before.contains_key(table) {
            let _ = writeln!(out, "table {table}: new, {count} rows");
        }
    }
    (!out.is_empty()).then_some(out)
}
