//! Helpers for a project's own `cargo test`: one throwaway server shared by
//! every test (and, on the local backend, by every test process of the
//! project: nextest's process per test included), one [`Harness`] per
//! config file or chain dir and process, and [`TestDatabase`]: a fresh
//! database at any version that `#[pgharness::test]` hands to a test.
//!
//! ```no_run
//! use sqlx::PgPool;
//!
//! #[pgharness::test]
//! async fn goals_are_unique_per_cycle(pool: PgPool) {
//!     sqlx::query("select 1").execute(&pool).await.unwrap();
//! }
//! ```
//!
//! Without the macro:
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
//! The local backend's server is shared through a lease (see
//! `server::shared`): it stops a few seconds after the last test process
//! ends (`PGHARNESS_LINGER_SECS`), and is replaced if it dies.
//! `PGHARNESS_SHARED_SERVER=0` gives each test process a server of its own,
//! stopped when the process exits, as the docker and url backends do.

mod database;

pub use database::{TestArg, TestDatabase, TestOutcome};

#[doc(hidden)]
pub use database::{finish_test, run_caught, start_test, TestSpec};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::config::{BackendChoice, Config, ServerConfig};
use crate::server::Server;
use crate::{Error, Harness};

static SHARED: OnceCell<Arc<Server>> = OnceCell::const_new();
/// One harness per config file, built on first use.
type HarnessCells = HashMap<(HarnessKey, String), Arc<OnceCell<Arc<Harness>>>>;

/// What a cached harness was made from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HarnessKey {
    Config(PathBuf),
    Dir(PathBuf),
}
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

/// The process-wide throwaway server, started on first use: on the local
/// backend, a lease on the project's shared server (unless
/// `PGHARNESS_SHARED_SERVER=0`).
pub async fn shared_server() -> Result<Arc<Server>, Error> {
    let server = SHARED
        .get_or_try_init(|| async {
            let config = test_server_config()?;
            let backend = Server::resolve_backend(&config).await?;
            let server = if backend == BackendChoice::Local && sharing_enabled() {
                Server::attach_shared_local(&project_key()).await?
            } else {
                let mut config = config;
                config.backend = backend;
                Server::start(&config).await?
            };
            // SAFETY: registering a plain extern "C" fn without captures.
            unsafe { libc::atexit(stop_shared_server) };
            Ok::<_, Error>(Arc::new(server))
        })
        .await?;
    Ok(server.clone())
}

fn sharing_enabled() -> bool {
    std::env::var("PGHARNESS_SHARED_SERVER").map_or(true, |v| v != "0")
}

/// What names this project's shared server: the user, the project dir
/// (`CARGO_MANIFEST_DIR`, else the working dir) and `PGHARNESS_PG_BIN`.
fn project_key() -> String {
    use sha2::{Digest, Sha256};
    let project = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let project = std::fs::canonicalize(&project).unwrap_or(project);
    let mut hash = Sha256::new();
    // SAFETY: geteuid has no preconditions.
    hash.update(unsafe { libc::geteuid() }.to_le_bytes());
    hash.update(project.as_os_str().as_encoded_bytes());
    // Which binaries, as far as the environment says (finding them runs
    // `pg_config` and `postgres --version`: too slow for every test
    // process).
    if let Some(bin) = std::env::var_os("PGHARNESS_PG_BIN") {
        hash.update(bin.as_encoded_bytes());
    }
    let digest = hash.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A harness on the shared server: on a shared server, its templates are
/// shared with the project's other test processes.
fn on_shared_server(config: Config, chain: crate::chain::Chain, server: Arc<Server>) -> Harness {
    let shared = server.is_shared();
    let mut harness = Harness::with_server(config, chain, server);
    if shared {
        harness.share_templates();
    }
    harness
}

/// The process-wide harness for the config file at `path` (relative paths
/// are relative to the crate root when run by `cargo test`), on the shared
/// server. The bootstrap SQL and migrations come from that file; its
/// server section is ignored in favour of the shared server.
pub async fn harness(path: impl AsRef<Path>) -> Result<Arc<Harness>, Error> {
    let path = path.as_ref().to_path_buf();
    let config = Config::load(&path)?;
    cached(HarnessKey::Config(path), config).await
}

/// The harness cached for `key` and what `config` reads (its settings and
/// the chain's files as they are now: a changed migration gets a new one),
/// made on first use.
async fn cached(key: HarnessKey, config: Config) -> Result<Arc<Harness>, Error> {
    use sha2::{Digest, Sha256};
    // The files' sizes and modification times, not their contents: a call
    // per test reads no migration, and an edited one still gets a new harness.
    let mut hash = Sha256::new();
    hash.update(format!("{config:?}"));
    hash_tree(&mut hash, &config.migrations.dir);
    let contents: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    cached_cell((key, contents), || async {
        let chain = config.migrations.discover()?;
        let server = shared_server().await?;
        Ok(Arc::new(on_shared_server(config, chain, server)))
    })
    .await
}

/// Feeds every entry under `dir` (path, size, modification time) to `hash`,
/// in name order.
fn hash_tree(hash: &mut sha2::Sha256, dir: &Path) {
    use sha2::Digest;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Ok(meta) = entry.metadata() else { continue };
        hash.update(entry.path().as_os_str().as_encoded_bytes());
        hash.update(meta.len().to_le_bytes());
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        hash.update(modified.to_le_bytes());
        if meta.is_dir() {
            hash_tree(hash, &entry.path());
        }
    }
}

/// The harness cached under `key`, made by `make` on first use.
async fn cached_cell<F, Fut>(key: (HarnessKey, String), make: F) -> Result<Arc<Harness>, Error>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Arc<Harness>, Error>>,
{
    let cell = {
        let mut map = HARNESSES.lock().unwrap_or_else(|e| e.into_inner());
        map.get_or_insert_with(HashMap::new)
            .entry(key)
            .or_default()
            .clone()
    };
    let harness = cell.get_or_try_init(make).await?;
    Ok(harness.clone())
}

/// A new harness for `config` on the shared server (templates are not
/// shared with other harnesses).
pub async fn harness_for(config: Config) -> Result<Harness, Error> {
    let chain = config.migrations.discover()?;
    let server = shared_server().await?;
    Ok(on_shared_server(config, chain, server))
}

/// Asserts that the head schema of `harness`'s chain equals the approved
/// snapshot (`snapshots/schema.snap`, insta's format). On a difference it
/// writes `schema.snap.new` for `cargo insta review` (except in CI) and
/// panics with the diff, naming the calling test's line. The
/// [`assert_head_snapshot!`](crate::assert_head_snapshot) macro panics on
/// that line itself.
///
/// ```no_run
/// #[tokio::test]
/// async fn schema_is_approved() {
///     let harness = pgharness::testing::harness("pgharness.toml").await.unwrap();
///     pgharness::testing::assert_head_snapshot(&harness).await;
/// }
/// ```
#[track_caller]
pub fn assert_head_snapshot(harness: &Harness) -> impl std::future::Future<Output = ()> + '_ {
    let caller = std::panic::Location::caller();
    async move {
        if let Err(message) = head_snapshot_matches(harness).await {
            panic!("{caller}: {message}");
        }
    }
}

/// What [`assert_head_snapshot`] checks: `Err` with the diff (or why the
/// snapshot could not be checked).
pub async fn head_snapshot_matches(harness: &Harness) -> Result<(), String> {
    let result = crate::properties::fidelity_check(harness)
        .await
        .map_err(|e| format!("pgharness: could not check the head snapshot: {e}"))?;
    if result.status == crate::properties::Status::Pass {
        return Ok(());
    }
    Err(format!(
        "{}\n{}",
        result.message,
        result.diff.unwrap_or_default()
    ))
}

/// Runs the project's constraint properties (`properties/*.toml`, what
/// `pgharness check --only properties` runs) and panics with the report
/// when one fails, naming the calling test's line. The seed is
/// `PGHARNESS_SEED` when set (a failure prints the one to replay it with),
/// else random; `cases` per property (`None`: the config's).
///
/// ```no_run
/// #[tokio::test]
/// async fn constraint_rules_hold() {
///     let harness = pgharness::testing::harness("pgharness.toml").await.unwrap();
///     pgharness::testing::assert_properties(&harness, None).await;
/// }
/// ```
#[track_caller]
pub fn assert_properties(
    harness: &Harness,
    cases: Option<u32>,
) -> impl std::future::Future<Output = ()> + '_ {
    let caller = std::panic::Location::caller();
    async move {
        if let Err(message) = properties_hold(harness, cases).await {
            panic!("{caller}: {message}");
        }
    }
}

/// What [`assert_properties`] checks: `Err` with the failures' report and
/// how to replay them.
pub async fn properties_hold(harness: &Harness, cases: Option<u32>) -> Result<(), String> {
    use crate::properties::{check, CheckOptions, PropertyKind, Status};
    let seed = match std::env::var("PGHARNESS_SEED") {
        Ok(text) => Some(
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("PGHARNESS_SEED: `{text}` is not a number"))?,
        ),
        Err(_) => None,
    };
    let options = CheckOptions {
        properties: vec![PropertyKind::Properties],
        cases: cases.unwrap_or(harness.config().properties.cases),
        seed,
        ..Default::default()
    };
    let outcome = check(harness, &options)
        .await
        .map_err(|e| format!("pgharness: could not check the properties: {e}"))?;
    let seed = outcome.seed;
    let failed: Vec<String> = outcome
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| {
            let mut text = format!("{} on {}: {}", r.property, r.target, r.message);
            if let Some(diff) = &r.diff {
                text.push('\n');
                text.push_str(diff);
            }
            text
        })
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} constraint propert{} failed:\n{}\nreplay in a test: PGHARNESS_SEED={seed} cargo test (or `pgharness check --only properties --seed {seed}`)",
        failed.len(),
        if failed.len() == 1 { "y" } else { "ies" },
        failed.join("\n\n")
    ))
}

/// Panics on the calling line when the head schema differs from the
/// approved snapshot (see [`testing::assert_head_snapshot`](crate::testing::assert_head_snapshot)).
#[macro_export]
macro_rules! assert_head_snapshot {
    ($harness:expr) => {
        if let ::core::result::Result::Err(message) =
            $crate::testing::head_snapshot_matches(&$harness).await
        {
            ::core::panic!("{}", message);
        }
    };
}

/// Panics on the calling line when a constraint property fails (see
/// [`testing::assert_properties`](crate::testing::assert_properties)).
#[macro_export]
macro_rules! assert_properties {
    ($harness:expr) => {
        $crate::assert_properties!($harness, ::core::option::Option::None)
    };
    ($harness:expr, $cases:expr) => {
        if let ::core::result::Result::Err(message) =
            $crate::testing::properties_hold(&$harness, $cases).await
        {
            ::core::panic!("{}", message);
        }
    };
}

/// The process-wide harness for the chain in `dir` (layout detected,
/// default settings) on the shared server, made on first use: later calls
/// with the same dir return the same harness and its templates while the
/// chain's files are unchanged.
///
/// ```no_run
/// # async fn f() -> Result<(), pgharness::Error> {
/// let harness = pgharness::testing::harness_for_dir("migrations").await?;
/// let db = harness.database_at(Some("0003")).await?;
/// # let _ = db; Ok(()) }
/// ```
pub async fn harness_for_dir(dir: impl AsRef<Path>) -> Result<Arc<Harness>, Error> {
    let dir = dir.as_ref().to_path_buf();
    let mut config = Config::defaults(Path::new("."));
    config.migrations.dir = dir.clone();
    cached(HarnessKey::Dir(dir), config).await
}
