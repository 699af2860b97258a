//! `apply`: the whole chain applies to an empty database.

use super::{apply_failure, PropertyResult, Step};
use crate::{Error, Harness};

/// One result per migration: pass up to the first failure, which fails with
/// the file position, and skips after it.
pub(super) async fn check(harness: &Harness) -> Result<Vec<PropertyResult>, Error> {
    let migrations = &harness.chain().migrations;
    let mut results = Vec::with_capacity(migrations.len());
    let mut failed: Option<String> = None;
    for (index, migration) in migrations.iter().enumerate() {
        let id = migration.id();
        if let Some(first) = &failed {
            results.push(PropertyResult::skip(
                "apply",
                &id,
                format!("not reached: {first} failed"),
            ));
            continue;
        }
        match harness.template(index + 1).await {
            Ok(_) => results.push(PropertyResult::pass("apply", &id)),
            Err(error) => {
                let mut result = apply_failure("apply", &id, Step::Up, error)?;
                // The whole message is the position: "up failed" adds nothing.
                result.message = result.message.trim_start_matches("up failed: ").to_string();
                result.rerun = Some("check --only apply".to_string());
                results.push(result);
                failed = Some(id);
            }
        }
    }
    Ok(results)
}
