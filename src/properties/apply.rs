//! `apply`: the whole chain applies to an empty database.

use super::{Location, PropertyResult};
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
            Err(Error::Migration { error, .. }) => {
                let mut result = PropertyResult::fail("apply", &id, error.headline());
                result.diff = Some(error.to_string());
                result.location = Some(Location {
                    file: error.path.display().to_string(),
                    line: error.line,
                    col: error.col,
                    sqlstate: error.sqlstate.clone(),
                });
                result.rerun = Some("check --only apply".to_string());
                results.push(result);
                failed = Some(id);
            }
            Err(other) => return Err(other),
        }
    }
    Ok(results)
}
