//! `idempotency`: re-running a migration's up script on a database that is
//! already at that version (and holds data) raises no error and changes
//! neither the schema nor the data.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sqlx::postgres::PgConnection;

use super::{apply_failure, capture, PropertyResult, Status, Step};
use futures_util::FutureExt;

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
    let chain = harness.chain();
    let guarding = intent::guarding(chain);
    let required = match harness.config().idempotency.enabled {
        IdempotencyMode::Off => {
            return Ok(vec![PropertyResult::skip(
                PROPERTY,
                "chain",
                "the chain is declared not idempotent (idempotency.enabled = false)",
            )])
        }
        IdempotencyMode::Required => true,
        IdempotencyMode::Auto => guarding.rerunnable(),
    };
    let results = super::per_migration(harness, selected, |harness, index| {
        async move { check_migration(harness, index, seed).await.map(|r| vec![r]) }.boxed_local()
    })
    .await?;
    if required {
        return Ok(results);
    }
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

/// Up once on generated data at the previous version, then up again: the
/// second run must see exactly the state the first left, raise no error and
/// change neither the schema nor the data.
async fn check_migration(
    harness: &Harness,
    index: usize,
    seed: u64,
) -> Result<PropertyResult, Error> {
    let migration = &harness.chain().migrations[index];
    let id = migration.id();
    if harness
        .config()
        .idempotency
        .skip
        .iter()
        .any(|s| migration.matches(s))
    {
        return Ok(PropertyResult::skip(
            PROPERTY,
            &id,
            "declared not idempotent (idempotency.skip in the config)",
        ));
    }
    let mut db = harness.database_at_level(index).await?;
    let mut conn = harness.connect(&db).await?;
    let result = async {
        let schema = harness.level_schema(index, &mut conn).await?;
        let mut rows = super::fill_with_generated_data(&mut conn, &schema, seed).await?;
        if let Err(e) = harness.apply_up(&mut conn, index).await {
            let Error::Migration { error, .. } = &e else {
                return Err(e);
            };
            if !matches!(rows, Ok(n) if n > 0) {
                return apply_failure(PROPERTY, &id, Step::Up, e);
            }
            // The up itself fails on the generated data (a NOT NULL added
            // without a backfill): that is not about running it twice, so
            // re-runnability is checked without data, and the result says so.
            rows = Err(format!(
                "the up fails on generated data: {}",
                error.headline()
            ));
            let fresh = harness.database_at_level(index).await?;
            let fresh_conn = harness.connect(&fresh).await?;
            drop(std::mem::replace(&mut conn, fresh_conn));
            let used = std::mem::replace(&mut db, fresh);
            let _ = harness.drop_database(&used).await;
            if let Err(e) = harness.apply_up(&mut conn, index).await {
                return apply_failure(PROPERTY, &id, Step::Up, e);
            }
        }
        let schema_before = harness.level_schema(index + 1, &mut conn).await?;
        let data_before = fingerprint(&mut conn).await?;
        if let Err(e) = harness.apply_up(&mut conn, index).await {
            return apply_failure(PROPERTY, &id, Step::Rerun, e);
        }
        let schema_after = capture(&mut conn).await?;
        let (before, after) = (schema_before.render(), schema_after.render());
        if before != after {
            return Ok(PropertyResult::fail_with_diff(
                PROPERTY,
                &id,
                format!(
                    "{}: running the up again changes the schema",
                    migration.up.path.display()
                ),
                unified_diff(&before, &after, "after up", "after up, up again"),
            ));
        }
        let data_after = fingerprint(&mut conn).await?;
        if let Some(changes) = data_changes(&data_before, &data_after) {
            return Ok(PropertyResult::fail_with_diff(
                PROPERTY,
                &id,
                format!(
                    "{}: running the up again changes the data ({})",
                    migration.up.path.display(),
                    changes.lines().next().unwrap_or_default().trim()
                ),
                changes,
            ));
        }
        let rows_after: i64 = data_after.values().map(|(count, _)| count).sum();
        Ok(match rows {
            Ok(n) => {
                let mut r = PropertyResult::pass(PROPERTY, &id);
                if rows_after > 0 {
                    r.message = format!("with {n} generated rows ({rows_after} rows after the up)");
                }
                r
            }
            // The schema half held; the data half could not be checked, and
            // a pass must not hide that.
            Err(why) => PropertyResult::partial(
                PROPERTY,
                &id,
                format!("schema unchanged, data not checked: {why}"),
            ),
        })
    }
    .await;
    drop(conn);
    let _ = harness.drop_database(&db).await;
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

/// Per table (qualified name): row count and an order-independent hash of
/// the rows.
type Fingerprint = BTreeMap<String, (i64, String)>;

/// Row counts and content hashes of every user table.
pub(super) async fn fingerprint(conn: &mut PgConnection) -> Result<Fingerprint, Error> {
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
            // md5 of each row's text, sorted, hashed again: independent of
            // the physical order, which a rewrite may change.
            format!(
                "select {i} as i, count(*) as n, coalesce(md5(string_agg(h, '' order by h)), '') as h from (select md5(t::text) as h from only {name} t) s"
            )
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
pub(super) fn data_changes(before: &Fingerprint, after: &Fingerprint) -> Option<String> {
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
