//! `apply`: the whole chain applies to an empty database.

use super::{apply_failure, PropertyResult, Step};
use crate::harness::Reach;
use crate::{Error, Harness};

/// One result per migration: pass up to the first failure, which fails with
/// the file position, and skips after it. `reach` is how far the chain
/// applied (see [`Harness::reach`]); its failure is consumed.
pub(super) fn check(harness: &Harness, reach: &mut Reach) -> Result<Vec<PropertyResult>, Error> {
    let migrations = &harness.chain().migrations;
    let mut results = Vec::with_capacity(migrations.len());
    for (index, migration) in migrations.iter().enumerate() {
        let id = migration.id();
        if reach.applies(index) {
            results.push(PropertyResult::pass("apply", &id));
        } else if index == reach.applied {
            let Some(error) = reach.failure.take() else {
                continue;
            };
            let mut result = apply_failure("apply", &id, Step::Up, error)?;
            // The whole message is the position: "up failed" adds nothing.
            result.message = result.message.trim_start_matches("up failed: ").to_string();
            result.rerun = Some("check --only apply".to_string());
            results.push(result);
        } else {
            let failing = migrations[reach.applied].id();
            results.push(PropertyResult::skip(
                "apply",
                &id,
                format!("not reached: {failing} failed"),
            ));
        }
    }
    Ok(results)
}
