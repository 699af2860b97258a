//! `roundtrip`: for each migration with a down, up -> down restores the
//! previous schema exactly and up again reproduces the same schema; for the
//! whole chain, all ups, all downs (back to the empty database), all ups.

use super::walk::Walk;
use super::{apply_failure, capture, Location, PropertyResult, Step};
use crate::chain::Migration;
use crate::schema::{unified_diff, ColumnOrder, RenderOptions, SchemaSnapshot};
use crate::{statement, Error, Harness};

const PROPERTY: &str = "roundtrip";

/// Runs the property on the migrations `selected` (indices into the chain);
/// [`check_chain`] is the whole-chain round trip.
pub(super) async fn check(
    harness: &Harness,
    selected: &[usize],
) -> Result<Vec<PropertyResult>, Error> {
    use futures_util::FutureExt;
    super::walk::per_migration_walking(harness, selected, |harness, index, walk| {
        check_migration(harness, index, walk).boxed_local()
    })
    .await
}

fn rerun(migration: &Migration) -> String {
    format!("check --only roundtrip --migration {}", migration.version)
}

/// Compares `actual` with `expected`; `None` when they match. With
/// non-strict column order, a difference in column order alone is reported
/// through `note` and does not count.
fn compare(
    harness: &Harness,
    expected: &SchemaSnapshot,
    actual: &SchemaSnapshot,
    labels: (&str, &str),
    note: &mut Option<String>,
) -> Option<String> {
    let (e, a) = (expected.render(), actual.render());
    if e == a {
        return None;
    }
    let diff = unified_diff(&e, &a, labels.0, labels.1);
    let by_name = RenderOptions {
        column_order: ColumnOrder::Name,
    };
    if !harness.config().roundtrip.strict_column_order
        && expected.render_with(&by_name) == actual.render_with(&by_name)
    {
        *note = Some(format!(
            "only column order differs ({} vs {}); Postgres can only add columns at the end, so this is not a failure unless roundtrip.strict_column_order = true",
            labels.0, labels.1
        ));
        return None;
    }
    Some(diff)
}

/// up, down, up on a database at the previous version (the walk's, or a
/// clone). A down that does not restore the schema is one finding; what
/// the re-up then does (fails, or builds another schema than the first up,
/// as when a down's `DROP ... CASCADE` took an earlier migration's trigger
/// with it) is a second one. A clean pass leaves the database at the next
/// level for the walk to go on from; a migration without a down is
/// applied once for it.
async fn check_migration(
    harness: &Harness,
    index: usize,
    walk: &mut Walk,
) -> Result<Vec<PropertyResult>, Error> {
    let migration = &harness.chain().migrations[index];
    let id = migration.id();
    let Some(down) = &migration.down else {
        if harness.config().roundtrip.require_down {
            let mut r = PropertyResult::fail(
                PROPERTY,
                &id,
                format!(
                    "{}: no down script, and roundtrip.require_down = true",
                    migration.up.path.display()
                ),
            );
            r.location = Some(Location {
                file: migration.up.path.display().to_string(),
                line: migration.up.line_offset + 1,
                col: 1,
                sqlstate: None,
            });
            r.rerun = Some(rerun(migration));
            return Ok(vec![r]);
        }
        // The walk goes on past it; it is checked where it is applied.
        let conn = walk.at(harness, index).await?;
        match harness.apply_up(conn, index).await {
            Ok(()) => walk.now_at(index + 1),
            Err(_) => walk.spoiled(),
        }
        return Ok(vec![PropertyResult::skip(PROPERTY, &id, "no down script")]);
    };
    let (conn, tracker) = walk.at_tracked(harness, index).await?;
    let result: Result<Vec<PropertyResult>, Error> = async {
        let before = harness.level_schema_tracked(index, conn, tracker).await?;
        if let Err(e) = harness.apply_up(conn, index).await {
            return Ok(vec![apply_failure(PROPERTY, &id, Step::Up, e)?]);
        }
        let after_up = harness.level_schema_tracked(index + 1, conn, tracker).await?;
        if statement::is_blank(&down.sql) && before.render() != after_up.render() {
            let mut r = PropertyResult::fail_with_diff(PROPERTY,
                &id,
                format!(
                    "{}: the down script is empty (or only comments), but the up changed the schema",
                    down.path.display()
                ), unified_diff(&before.render(), &after_up.render(), "before up", "after up"));
            r.location = Some(Location { file: down.path.display().to_string(), line: down.line_offset + 1, col: 1, sqlstate: None });
            return Ok(vec![r]);
        }
        if let Err(e) = harness.apply_down(conn, index).await {
            return Ok(vec![apply_failure(PROPERTY, &id, Step::Down, e)?]);
        }
        let after_down = tracker.capture(conn).await?;
        let mut note = None;
        let mut findings = Vec::new();
        if let Some(diff) = compare(harness, &before, &after_down, ("before up", "after up, down"), &mut note) {
            let mut r = PropertyResult::fail_with_diff(PROPERTY,
                &id,
                format!("{}: down does not restore the schema from before the up", down.path.display()), diff);
            r.location = Some(Location { file: down.path.display().to_string(), line: down.line_offset + 1, col: 1, sqlstate: None });
            findings.push(r);
        }
        // The re-up: what a rollback and redeploy would do next.
        if let Err(e) = harness.apply_up(conn, index).await {
            findings.push(apply_failure(PROPERTY, &id, Step::UpAgain, e)?);
            return Ok(findings);
        }
        let after_redo = tracker.capture(conn).await?;
        if let Some(diff) = compare(harness, &after_up, &after_redo, ("after up", "after up, down, up"), &mut note) {
            let mut r = PropertyResult::fail_with_diff(PROPERTY,
                &id,
                format!("{}: up after down gives a different schema than the first up", migration.up.path.display()), diff);
            r.location = Some(Location { file: migration.up.path.display().to_string(), line: migration.up.line_offset + 1, col: 1, sqlstate: None });
            findings.push(r);
        }
        if findings.is_empty() {
            let mut r = PropertyResult::pass(PROPERTY, &id);
            if let Some(note) = note {
                r.message = note;
            }
            findings.push(r);
        }
        Ok(findings)
    }
    .await;
    match &result {
        Ok(r)
            if r.iter()
                .all(|r| r.status == super::Status::Pass && r.message.is_empty()) =>
        {
            walk.now_at(index + 1)
        }
        _ => walk.spoiled(),
    }
    result.map(|mut results| {
        for r in &mut results {
            if r.status == super::Status::Fail {
                r.rerun = Some(rerun(migration));
            }
        }
        results
    })
}

/// All ups, all downs in reverse (must give the empty database's schema),
/// all ups again (must give the first head).
pub(super) async fn check_chain(harness: &Harness) -> Result<PropertyResult, Error> {
    let server_wide =
        (0..harness.chain().migrations.len()).any(|i| harness.changes_server_state(i));
    if server_wide {
        if let Some(own) = harness.isolated().await? {
            let result = check_chain_here(&own).await;
            own.server().shutdown().await;
            return result;
        }
    }
    check_chain_here(harness).await
}

async fn check_chain_here(harness: &Harness) -> Result<PropertyResult, Error> {
    let migrations = &harness.chain().migrations;
    if let Some(m) = migrations.iter().find(|m| m.down.is_none()) {
        return Ok(PropertyResult::skip(
            PROPERTY,
            "chain",
            format!("{} has no down script", m.id()),
        ));
    }
    let db = harness.fresh_database().await?;
    let mut conn = harness.connect(&db).await?;
    let result = async {
        let empty = capture(&mut conn).await?;
        for index in 0..migrations.len() {
            if let Err(e) = harness.apply_up(&mut conn, index).await {
                return apply_failure(PROPERTY, "chain", Step::Up, e);
            }
        }
        let head = capture(&mut conn).await?;
        for index in (0..migrations.len()).rev() {
            if let Err(e) = harness.apply_down(&mut conn, index).await {
                return apply_failure(PROPERTY, "chain", Step::Down, e);
            }
        }
        let after_downs = capture(&mut conn).await?;
        let mut note = None;
        if let Some(diff) = compare(
            harness,
            &empty,
            &after_downs,
            ("empty database", "after all ups, all downs"),
            &mut note,
        ) {
            return Ok(PropertyResult::fail_with_diff(
                PROPERTY,
                "chain",
                "all downs in reverse do not give back the empty database",
                diff,
            ));
        }
        for index in 0..migrations.len() {
            if let Err(e) = harness.apply_up(&mut conn, index).await {
                return apply_failure(PROPERTY, "chain", Step::UpAgain, e);
            }
        }
        let head_again = capture(&mut conn).await?;
        if let Some(diff) = compare(
            harness,
            &head,
            &head_again,
            ("head", "head after all downs and all ups"),
            &mut note,
        ) {
            return Ok(PropertyResult::fail_with_diff(
                PROPERTY,
                "chain",
                "all ups after all downs give a different head schema",
                diff,
            ));
        }
        let mut r = PropertyResult::pass(PROPERTY, "chain");
        if let Some(note) = note {
            r.message = note;
        }
        Ok(r)
    }
    .await;
    drop(conn);
    let _ = harness.drop_database(&db).await;
    result.map(|mut r| {
        if r.status == super::Status::Fail {
            r.rerun = Some("check --only roundtrip".to_string());
        }
        r
    })
}
