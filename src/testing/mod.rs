//! Helpers for a project's own `cargo test`: one throwaway server per test
//! process, shared by every test, and one [`Harness`] per config file, so
//! that templates are built once and each test clones what it needs.
//!
//! ```no_run
//! #[tokio::test]
//! async fn goals_are_unique_per_cycle() -> Result<(), pgharness::Error> {
//!     let harness = pgharness::testing::harness("pgharness.toml").await?;
//!     let db = harness.database_at(None).await?;
//!     let mut conn = db.connect().await?;
//!     // ... exercise the schema ...
//!     # let _ = &mut conn;
//!     Ok(())
//! }
//! ```
//!
//! The server is stopped and its files removed when the test process exits
//! normally; if the process is killed, the server stops with it and the next
//! run removes what is left.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::config::{BackendChoice, Config, ServerConfig};
use crate::server::Server;
use crate::{Error, Harness};

static SHARED: OnceCell<Arc<Server>> = OnceCell::const_new();
/// One harness per config file, built on first use.
type HarnessCells = HashMap<PathBuf, Arc<OnceCell<Arc<Harness>>>>;
static HARNESSES: Mutex<Option<HarnessCells>> = Mutex::new(None);

/// At exit: the shared server is a static, never dropped; release what it
/// holds and clean it up now (no runtime is left at exit).
extern "C" fn stop_shared_server() {
    if let Some(server) = SHARED.get() {
        server.release();
    }
    crate::server::cleanup::run_now();
}

/// The server configuration tests use: the backend from
/// `PGHARNESS_BACKEND` (default `auto`; `docker` when
/// `PGHARNESS_REQUIRE_DOCKER=1`, so that a container that cannot start
/// fails instead of falling back), the image from `PGHARNESS_IMAGE`, an
/// admin URL from `PGHARNESS_DATABASE_URL`.
pub fn test_server_config() -> Result<ServerConfig, Error> {
    let mut server = Config::defaults(Path::new(".")).server;
    if std::env::var("PGHARNESS_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        server.backend = BackendChoice::Docker;
    }
    if let Ok(backend) = std::env::var("PGHARNESS_BACKEND") {
        server.backend = backend
            .parse::<BackendChoice>()
            .map_err(|m| Error::Input(format!("PGHARNESS_BACKEND: {m}")))?;
    }
    Ok(server)
}

/// The process-wide throwaway server, started on first use.
pub async fn shared_server() -> Result<Arc<Server>, Error> {
    let server = SHARED
        .get_or_try_init(|| async {
            let server = Server::start(&test_server_config()?).await?;
            // SAFETY: registering a plain extern "C" fn without captures.
            unsafe { libc::atexit(stop_shared_server) };
            Ok::<_, Error>(Arc::new(server))
        })
        .await?;
    Ok(server.clone())
}

/// The process-wide harness for the config file at `path` (relative paths
/// are relative to the crate root when run by `cargo test`), on the shared
/// server. The bootstrap SQL and migrations come from that file; its
/// server section is ignored in favour of the shared server.
pub async fn harness(path: impl AsRef<Path>) -> Result<Arc<Harness>, Error> {
    let path = path.as_ref().to_path_buf();
    let cell = {
        let mut map = HARNESSES.lock().unwrap_or_else(|e| e.into_inner());
        map.get_or_insert_with(HashMap::new)
            .entry(path.clone())
            .or_default()
            .clone()
    };
    let harness = cell
        .get_or_try_init(|| async {
            let config = Config::load(&path)?;
            harness_for(config).await.map(Arc::new)
        })
        .await?;
    Ok(harness.clone())
}

/// A new harness for `config` on the shared server (templates are not
/// shared with other harnesses).
pub async fn harness_for(config: Config) -> Result<Harness, Error> {
    let chain = config.migrations.discover()?;
    let server = shared_server().await?;
    Ok(Harness::with_server(config, chain, server))
}

/// Asserts that the head schema of `harness`'s chain equals the approved
/// snapshot (`snapshots/schema.snap`, insta's format). On a difference it
/// writes `schema.snap.new` for `cargo insta review` (except in CI) and
/// panics with the diff.
///
/// ```no_run
/// #[tokio::test]
/// async fn schema_is_approved() {
///     let harness = pgharness::testing::harness("pgharness.toml").await.unwrap();
///     pgharness::testing::assert_head_snapshot(&harness).await;
/// }
/// ```
pub async fn assert_head_snapshot(harness: &Harness) {
    let result = match crate::properties::fidelity_check(harness).await {
        Ok(result) => result,
        Err(e) => panic!("pgharness: could not check the head snapshot: {e}"),
    };
    if result.status != crate::properties::Status::Pass {
        panic!("{}\n{}", result.message, result.diff.unwrap_or_default());
    }
}

/// A new harness for the chain in `dir` (layout detected, default
/// settings) on the shared server.
///
/// ```no_run
/// # async fn f() -> Result<(), pgharness::Error> {
/// let harness = pgharness::testing::harness_for_dir("migrations").await?;
/// let db = harness.database_at(Some("0003")).await?;
/// # let _ = db; Ok(()) }
/// ```
pub async fn harness_for_dir(dir: impl AsRef<Path>) -> Result<Harness, Error> {
    let mut config = Config::defaults(Path::new("."));
    config.migrations.dir = dir.as_ref().to_path_buf();
    harness_for(config).await
}
