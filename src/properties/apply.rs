//! `apply`: the whole chain applies to an empty database.

use super::{apply_failure, PropertyResult, Step};
use crate::harness::Reach;
use crate::server::BackendKind;
use crate::{Error, Harness};

/// A migration that applies: a pass, except on a server the run does not
/// own (the url backend), where changing server-wide state (roles,
/// databases, settings every database shares) is a finding in itself.
fn on_a_server_not_ours(harness: &Harness, index: usize, id: &str) -> PropertyResult {
    let changes = harness.server_changes(index);
    if harness.server().backend() != BackendKind::Url || changes.is_empty() {
        return PropertyResult::pass("apply", id);
    }
    let migration = &harness.chain().migrations[index];
    let mut r = PropertyResult::fail(
        "apply",
        id,
        format!(
            "{}: applies, but changes server-wide state on a server the run does not own: {}; what it created is removed at the end of the run, what it dropped or changed cannot be given back: check such migrations on a private server (--backend local or docker)",
            migration.up.path.display(),
            changes.join("; ")
        ),
    );
    r.rerun = Some("check --only apply".to_string());
    r
}

/// One result per migration: pass up to the first failure, which fails with
/// the file position, and skips after it. `reach` is how far the chain
/// applied (see [`Harness::reach`]); its failure is consumed.
pub(super) fn check(harness: &Harness, reach: &mut Reach) -> Result<Vec<PropertyResult>, Error> {
    let migrations = &harness.chain().migrations;
    let mut results = Vec::with_capacity(migrations.len());
    for (index, migration) in migrations.iter().enumerate() {
        let id = migration.id();
        if reach.applies(index) {
            let mut result = on_a_server_not_ours(harness, index, &id);
            if let Some(took) = harness.apply_time(index) {
                result = result.took(took);
            }
            results.push(result);
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
