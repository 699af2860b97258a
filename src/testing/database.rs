//! The database a test gets: [`TestDatabase`], what `#[pgharness::test]`
//! builds from it ([`TestArg`]), and what happens to it when the test ends:
//! dropped when the test passed, kept (and its URL printed) when it failed
//! or `PGHARNESS_KEEP=1`.

use std::any::Any;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::FutureExt;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;

use crate::chain::Script;
use crate::server::{BackendKind, Database};
use crate::{Error, Harness};

/// A fresh database at a version of the chain, for one test: what
/// `#[pgharness::test]` gives a test (directly, or as a pool or a
/// connection on it).
#[derive(Debug, Clone)]
pub struct TestDatabase {
    harness: Arc<Harness>,
    db: Database,
}

impl TestDatabase {
    /// A fresh database at `version` (`None`: head) of `harness`'s chain,
    /// with the chain tool's bookkeeping, so the app's own migrator sees
    /// it up to date.
    pub async fn at(harness: Arc<Harness>, version: Option<&str>) -> Result<TestDatabase, Error> {
        let db = harness.app_database_at(version).await?;
        Ok(TestDatabase { harness, db })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        self.db.name()
    }

    /// A URL for it (with the throwaway server's password).
    pub fn url(&self) -> String {
        self.db.url()
    }

    /// The harness it came from.
    pub fn harness(&self) -> &Arc<Harness> {
        &self.harness
    }

    /// The database itself.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// A new connection to it.
    pub async fn connect(&self) -> Result<PgConnection, Error> {
        Ok(self.db.connect().await?)
    }

    /// A pool of connections to it, opened as they are needed.
    pub fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(8)
            .connect_lazy_with(self.db.connect_options())
    }

    /// Runs `sql` (from `file`, for error positions) in a transaction, as
    /// a fixture: an error names `file:line:col`.
    pub async fn run_fixture(&self, file: &Path, sql: &str) -> Result<(), Error> {
        let mut conn = self.connect().await?;
        let script = Script {
            path: file.to_path_buf(),
            sql: sql.to_string(),
            line_offset: 0,
            transaction: true,
        };
        let applied =
            crate::apply::apply_script(&mut conn, &script, self.harness.chain().layout).await;
        let _ = conn.close().await;
        applied.map(|_| ()).map_err(|e| {
            Error::Input(format!(
                "fixture {}",
                e.to_string().trim_start_matches("migration ")
            ))
        })
    }
}

/// What a `#[pgharness::test]` parameter can be: made from the test's
/// database before the test runs.
pub trait TestArg: Sized {
    /// Builds the argument.
    fn from_database(db: &TestDatabase) -> impl Future<Output = Result<Self, Error>> + Send;
}

impl TestArg for TestDatabase {
    async fn from_database(db: &TestDatabase) -> Result<Self, Error> {
        Ok(db.clone())
    }
}

impl TestArg for PgPool {
    async fn from_database(db: &TestDatabase) -> Result<Self, Error> {
        Ok(db.pool())
    }
}

impl TestArg for PgConnection {
    async fn from_database(db: &TestDatabase) -> Result<Self, Error> {
        db.connect().await
    }
}

/// Whether a test's return value means it passed (`()`, `Ok(_)`).
pub trait TestOutcome {
    /// Whether the test passed.
    fn passed(&self) -> bool;
}

impl TestOutcome for () {
    fn passed(&self) -> bool {
        true
    }
}

impl<T, E> TestOutcome for Result<T, E> {
    fn passed(&self) -> bool {
        self.is_ok()
    }
}

/// What `#[pgharness::test]` knows of a test (generated code only).
#[doc(hidden)]
#[derive(Debug)]
pub struct TestSpec {
    /// `module::path::test_name`.
    pub name: &'static str,
    /// The crate root (`CARGO_MANIFEST_DIR` at compile time).
    pub manifest_dir: &'static str,
    /// `config = "..."`: the config file, relative to the crate root.
    pub config: Option<&'static str>,
    /// `migrations = "..."`: a chain dir, relative to the crate root.
    pub migrations: Option<&'static str>,
    /// `at = "..."`: the version (default head).
    pub at: Option<&'static str>,
    /// `fixtures(...)`: (file as written, its SQL), in order.
    pub fixtures: &'static [(&'static str, &'static str)],
}

/// The harness a test spec names: `migrations`, else `config`, else the
/// crate's `pgharness.toml`, else its `migrations` dir.
async fn harness_of(spec: &TestSpec) -> Result<Arc<Harness>, Error> {
    let root = PathBuf::from(spec.manifest_dir);
    if let Some(dir) = spec.migrations {
        return super::harness_for_dir(root.join(dir)).await;
    }
    let config = root.join(spec.config.unwrap_or("pgharness.toml"));
    if spec.config.is_some() || config.is_file() {
        return super::harness(config).await;
    }
    super::harness_for_dir(root.join("migrations")).await
}

/// Before a `#[pgharness::test]`: its database, fixtures loaded.
#[doc(hidden)]
pub async fn start_test(spec: &TestSpec) -> Result<TestDatabase, Error> {
    let harness = harness_of(spec).await?;
    let db = TestDatabase::at(harness, spec.at).await?;
    for (file, sql) in spec.fixtures {
        if let Err(e) = db.run_fixture(Path::new(file), sql).await {
            let _ = db.harness.server().drop_database(db.name()).await;
            return Err(e);
        }
    }
    Ok(db)
}

/// Runs a test's future, catching a panic.
#[doc(hidden)]
pub async fn run_caught<F: Future>(test: F) -> Result<F::Output, Box<dyn Any + Send>> {
    std::panic::AssertUnwindSafe(test).catch_unwind().await
}

/// After a `#[pgharness::test]`: drops its database when it passed, keeps
/// it and prints where when it failed or `PGHARNESS_KEEP=1`.
#[doc(hidden)]
pub async fn finish_test(spec: &TestSpec, db: TestDatabase, passed: bool) {
    let keep_all = std::env::var("PGHARNESS_KEEP").is_ok_and(|v| v == "1");
    let server = db.harness.server();
    if passed && !keep_all {
        if let Err(e) = server.drop_database_soon(db.name()).await {
            eprintln!("pgharness: could not drop {}: {e}", db.name());
        }
        return;
    }
    server.mark_kept(db.name());
    let why = if passed {
        "PGHARNESS_KEEP=1"
    } else {
        "the test failed"
    };
    let url = match server.backend() {
        BackendKind::Url => crate::server::mask_url(&db.url()),
        _ => db.url(),
    };
    let lasts = if server.is_shared() {
        "kept until the shared server stops, 600 s after the last test process (PGHARNESS_KEEP_LINGER_SECS)"
    } else {
        match server.backend() {
            BackendKind::Url => "kept on your server until the next pgharness run there",
            _ => "kept until this test process exits",
        }
    };
    eprintln!(
        "pgharness: {}: {why}; database {} {lasts}: psql '{url}'",
        spec.name,
        db.name()
    );
}
