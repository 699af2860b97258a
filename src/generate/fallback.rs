//! Columns of a type the generator has no values for (an extension's type
//! such as `cube` or `seg`, a base type made in C): their values are text
//! forms the type's own input function accepts, found by asking the server
//! to read a few common forms. Only NOT NULL columns without a default or a
//! profile rule need it (the others get NULL or their default).

use sqlx::PgConnection;

use crate::schema::SchemaSnapshot;

use super::plan::resolve_table;
use super::profile::{ColumnProfile, ColumnRule, Scalar, TableProfile};
use super::types::{Base, ColumnType};
use super::{GenerateError, Profile};

/// Text forms tried, in order: numbers, tuples, arrays and ranges, words,
/// times, key/value pairs, log positions.
const FORMS: &[&str] = &[
    "0",
    "1",
    "2",
    "(0)",
    "(1,2)",
    "(0,1),(2,3)",
    "[0,1)",
    "{}",
    "{0}",
    "a",
    "b",
    "a.b",
    "true",
    "2020-01-01",
    "00:00",
    "a=>b",
    "0/0",
    "1/1",
];

/// The most distinct values kept per type.
const KEPT: usize = 6;

/// `profile` with a `values` rule for each column that needs one and whose
/// type reads some of the common forms tried (numbers, tuples, ranges,
/// words, ...); other columns are left as they are (the
/// generator's error then names them).
pub async fn with_values_for_unknown_types(
    conn: &mut PgConnection,
    schema: &SchemaSnapshot,
    profile: &Profile,
) -> Result<Profile, GenerateError> {
    let mut out = profile.clone();
    let mut known: Vec<(String, Vec<String>)> = Vec::new();
    for (name, table) in &schema.tables {
        if table.partition_of.is_some() {
            continue;
        }
        for column in &table.columns {
            let free = column.not_null
                && column.default.is_none()
                && column.generated.is_none()
                && column.identity.is_none();
            if !free || ColumnType::resolve(&column.data_type, schema).base != Base::Unsupported {
                continue;
            }
            let ti = out
                .tables
                .iter()
                .position(|t| resolve_table(schema, &t.name).as_ref() == Some(name));
            if ti.is_some_and(|ti| out.tables[ti].columns.iter().any(|c| c.name == column.name)) {
                continue;
            }
            let values = match known.iter().find(|(t, _)| *t == column.data_type) {
                Some((_, v)) => v.clone(),
                None => {
                    let v = accepted_forms(conn, &column.data_type).await?;
                    known.push((column.data_type.clone(), v.clone()));
                    v
                }
            };
            if values.is_empty() {
                continue;
            }
            let ti = match ti {
                Some(ti) => ti,
                None => {
                    out.tables.push(TableProfile::named(&name.to_string()));
                    out.tables.len() - 1
                }
            };
            out.tables[ti].columns.push(ColumnProfile {
                name: column.name.clone(),
                line: 0,
                rule: ColumnRule::Values {
                    weights: vec![1.0; values.len()],
                    values: values.into_iter().map(Scalar::Text).collect(),
                },
                null_ratio: None,
            });
        }
    }
    Ok(out)
}

/// The forms `data_type` reads, as the server prints them back (distinct).
async fn accepted_forms(
    conn: &mut PgConnection,
    data_type: &str,
) -> Result<Vec<String>, GenerateError> {
    let mut out: Vec<String> = Vec::new();
    for form in FORMS {
        let sql = format!(
            "select ({})::{data_type}::text",
            super::value::sql_string(form)
        );
        if let Ok(rows) = super::oracle::ask(conn, &sql).await? {
            let text: Option<String> = rows.first().and_then(|r| sqlx::Row::try_get(r, 0).ok());
            if let Some(text) = text.filter(|t| !out.contains(t)) {
                out.push(text);
            }
        }
        if out.len() >= KEPT {
            break;
        }
    }
    Ok(out)
}
