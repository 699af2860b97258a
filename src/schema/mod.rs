//! Schema snapshots: catalog introspection into typed data, one
//! deterministic text rendering, and unified diffs between renderings.
//!
//! Every structural property (idempotency, round-trip, fidelity) rests on
//! this module: two databases with the same schema must render the same
//! text, and any real difference must show.
//!
//! ```no_run
//! # async fn f(mut conn: sqlx::PgConnection) -> Result<(), pgharness::schema::SchemaError> {
//! use pgharness::schema::SchemaSnapshot;
//! let snapshot = SchemaSnapshot::capture(&mut conn).await?;
//! print!("{}", snapshot.render());
//! # Ok(())
//! # }
//! ```
//!
//! The flow: [`SchemaSnapshot::capture`] reads the catalogs with a handful
//! of set-based queries (one per kind of object) into the typed model
//! ([`Table`], [`Column`], [`Constraint`], ...: plain data, no OIDs, no
//! owner names);
//! [`SchemaSnapshot::objects`] renders one block of text per object;
//! [`SchemaSnapshot::render`] joins the blocks. Comparisons go through the
//! rendering ([`changed_objects`], [`unified_diff`]), so what counts as a
//! difference is decided in one place.

#[macro_use]
mod capture;
mod diff;
mod model;
mod render;
mod sql_text;
mod tracker;

use std::collections::BTreeMap;

pub use diff::{changed_objects, colorize_diff, unified_diff, Change, ObjectChange};
pub use model::*;
pub use render::{ColumnOrder, ObjectKey, ObjectKind, RenderOptions};
/// SQL string literals, the one way (also used by the generator).
pub(crate) use sql_text::literal as sql_literal;
pub use tracker::{CaptureRead, SchemaTracker};

/// Reading a snapshot failed.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A catalog query failed (connection lost, permission denied, a server
    /// too old for the catalog columns read: PostgreSQL 14 is the minimum).
    #[error("reading the schema failed: the catalog query for {what} failed")]
    Query {
        /// Which query, e.g. `constraints (pg_constraint)`.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The catalog held a value this version of pgharness does not know,
    /// e.g. from a newer PostgreSQL.
    #[error("reading the schema failed: unexpected {what}: `{value}`")]
    Unexpected {
        /// Which catalog value.
        what: &'static str,
        /// The value found.
        value: String,
    },
}

impl SchemaSnapshot {
    /// Reads the schema of the database `conn` is connected to.
    ///
    /// Runs in a read-only transaction (a savepoint if `conn` is in a
    /// transaction begun with [`sqlx::Connection::begin`]) that is rolled
    /// back, so the session is left as it was. Do not call it inside a
    /// transaction begun with a plain `BEGIN` statement: sqlx cannot see
    /// that one, and the rollback would end it.
    ///
    /// Takes a few milliseconds on a schema of tens of tables (tens on a
    /// new connection, whose catalog caches are cold).
    pub async fn capture(conn: &mut sqlx::PgConnection) -> Result<SchemaSnapshot, SchemaError> {
        capture::capture(conn).await
    }

    /// The whole schema as text, columns in their physical order.
    pub fn render(&self) -> String {
        self.render_with(&RenderOptions::default())
    }

    /// The whole schema as text, as `opts` says: the blocks of
    /// [`SchemaSnapshot::objects_with`] in key order, separated by a blank
    /// line, ending with a newline (empty when there is nothing).
    pub fn render_with(&self, opts: &RenderOptions) -> String {
        render::render(self, opts)
    }

    /// One rendered block per object, keyed by kind and name, columns in
    /// their physical order: the unit [`changed_objects`] compares.
    pub fn objects(&self) -> BTreeMap<ObjectKey, String> {
        self.objects_with(&RenderOptions::default())
    }

    /// One rendered block per object, as `opts` says.
    pub fn objects_with(&self, opts: &RenderOptions) -> BTreeMap<ObjectKey, String> {
        render::objects(self, opts)
    }
}
