//! Throwaway PostgreSQL servers and the databases the harness makes on them.
//!
//! A [`Server`] is one running Postgres from one of the backends (a private
//! local cluster, a container, or an existing server given by URL). It only
//! knows how to hand out connections and how to create and drop databases
//! whose names carry the harness prefix; what goes into those databases is
//! the business of the modules above it.

pub mod cleanup;
mod clones;
pub mod docker;
mod exit_client;
pub mod global;
pub mod local;
mod naming;
mod shared;

use std::sync::Mutex;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use crate::config::{BackendChoice, ServerConfig};

pub use naming::{mask_url, DATABASE_PREFIX};

/// Which backend a server came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A private cluster made with `initdb`.
    Local,
    /// A container.
    Docker,
    /// An existing server.
    Url,
}

impl BackendKind {
    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Local => "local",
            BackendKind::Docker => "docker",
            BackendKind::Url => "url",
        }
    }
}

/// Why no usable server could be had, or a server-side operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("no usable PostgreSQL: {0}")]
    Unavailable(String),
    #[error("PostgreSQL server failed to start: {message}{}", log_tail(.log))]
    Start { message: String, log: Vec<String> },
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("invalid database URL {0}")]
    BadUrl(String),
    #[error("{what}: {source}")]
    Sql { what: String, source: sqlx::Error },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("refusing to touch database `{0}`: only databases named {DATABASE_PREFIX}* are the harness's")]
    NotOurs(String),
}

fn log_tail(log: &[String]) -> String {
    if log.is_empty() {
        return String::new();
    }
    let tail: Vec<&str> = log.iter().rev().take(8).rev().map(String::as_str).collect();
    format!("\n  server log (last lines):\n    {}", tail.join("\n    "))
}

enum Backing {
    Local(local::LocalServer),
    /// A lease on the project's shared local server (see [`shared`]).
    Shared(shared::SharedLocal),
    Docker(Box<docker::DockerServer>),
    Url {
        url: String,
    },
}

/// A running PostgreSQL server.
pub struct Server {
    kind: BackendKind,
    version: String,
    /// Connection options of the admin database.
    admin: PgConnectOptions,
    /// The admin URL as shown to people (password masked).
    display_url: String,
    names: naming::Names,
    /// Databases this process created, dropped at shutdown on servers that
    /// outlive the run.
    created: Mutex<Vec<String>>,
    /// url backend: the per-run role migrations run as (see
    /// [`Server::run_role`]).
    run_role: Option<String>,
    /// url backend: SQL that removes what the run created server-wide
    /// (roles, databases, `ALTER SYSTEM` settings), run at shutdown after
    /// the run's databases are dropped, newest first.
    undo: Mutex<Vec<String>>,
    /// Shared server: clones made ahead (see [`clones`]).
    clones: Option<std::sync::Arc<clones::Clones>>,
    /// Drops under way in the background ([`Server::drop_database_later`]),
    /// awaited by [`Server::shutdown`].
    dropping: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    backing: Backing,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("backend", &self.kind)
            .field("version", &self.version)
            .field("url", &self.display_url)
            .finish()
    }
}

/// A database on a [`Server`], created by the harness.
#[derive(Debug, Clone)]
pub struct Database {
    name: String,
    options: PgConnectOptions,
    url: String,
}

impl Database {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL a person or another program can connect with (its password,
    /// if any, included: print it with [`mask_url`]).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Connection options for this database.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// Opens a new connection to this database.
    pub async fn connect(&self) -> Result<PgConnection, ServerError> {
        connect(&self.options, &self.url).await
    }

    /// Opens a new connection whose session defaults include `settings`
    /// (sent at startup, so `RESET ALL` keeps them).
    pub async fn connect_with(
        &self,
        settings: &[(&str, &str)],
    ) -> Result<PgConnection, ServerError> {
        connect(
            &self.options.clone().options(settings.iter().copied()),
            &self.url,
        )
        .await
    }
}

async fn connect(options: &PgConnectOptions, url: &str) -> Result<PgConnection, ServerError> {
    options
        .clone()
        .log_statements(tracing::log::LevelFilter::Trace)
        // A migration may well run for seconds: that is not news worth a
        // warning (with the statement) on every run.
        .log_slow_statements(tracing::log::LevelFilter::Off, Duration::from_secs(3600))
        .connect()
        .await
        .map_err(|source| ServerError::Connect {
            url: mask_url(url),
            source,
        })
}

impl Server {
    /// Starts (or connects to) a server as `config` says. With `auto`, the
    /// choice and its reason are logged in one line.
    pub async fn start(config: &ServerConfig) -> Result<Server, ServerError> {
        let backend = Self::resolve_backend(config).await?;
        let server = match backend {
            BackendChoice::Local => Self::start_local_major(config.major).await,
            BackendChoice::Docker => Self::start_docker(&config.image).await,
            BackendChoice::Url => {
                let Some(url) = &config.database_url else {
                    return Err(ServerError::Unavailable(
                        "backend `url` needs --database-url or PGHARNESS_DATABASE_URL".into(),
                    ));
                };
                Self::connect_url_as(url, !config.superuser).await
            }
            BackendChoice::Auto => unreachable!("resolved above"),
        }?;
        if let Some(major) = config.major {
            if server.major_version() != major {
                return Err(ServerError::Unavailable(format!(
                    "asked for PostgreSQL {major}, but the {} server is {} ({})",
                    server.backend().name(),
                    server.version(),
                    server.display_url()
                )));
            }
        }
        Ok(server)
    }

    /// The backend `config` chooses (`auto` resolved as
    /// [`Server::start`] would, its choice logged).
    pub async fn resolve_backend(config: &ServerConfig) -> Result<BackendChoice, ServerError> {
        match (config.backend, config.major) {
            // One version of a matrix: its local binaries when installed,
            // else its image.
            (BackendChoice::Auto, Some(major)) if config.database_url.is_none() => {
                match local::Binaries::find_major(major) {
                    Ok(bins) => {
                        tracing::info!(
                            "PostgreSQL {major}: backend local ({})",
                            bins.bin_dir.display()
                        );
                        Ok(BackendChoice::Local)
                    }
                    Err(local) => match docker::usable(&config.image).await {
                        Ok(reason) => {
                            tracing::info!("PostgreSQL {major}: backend docker ({reason})");
                            Ok(BackendChoice::Docker)
                        }
                        Err(docker) => Err(ServerError::Unavailable(format!(
                            "PostgreSQL {major}: {local}; and {docker}"
                        ))),
                    },
                }
            }
            (BackendChoice::Auto, _) => Self::choose_backend(config).await,
            (other, _) => Ok(other),
        }
    }

    /// `auto`: `url` if a URL is given; else `docker` if an engine is
    /// reachable and the image is present or pullable; else `local`; else
    /// an error saying what to install. Logs the choice and why.
    async fn choose_backend(config: &ServerConfig) -> Result<BackendChoice, ServerError> {
        if config.database_url.is_some() {
            tracing::info!("backend: url (an admin URL was given)");
            return Ok(BackendChoice::Url);
        }
        let docker_reason = match docker::usable(&config.image).await {
            Ok(reason) => {
                tracing::info!("backend: docker ({reason})");
                return Ok(BackendChoice::Docker);
            }
            Err(e) => e
                .to_string()
                .trim_start_matches("no usable PostgreSQL: ")
                .to_string(),
        };
        match local::Binaries::find() {
            Ok(bins) => {
                // Briefly: the engine's own error (a registry lookup that
                // failed, ...) is for `PGHARNESS_LOG=debug`.
                let brief = docker_reason
                    .split(": ")
                    .next()
                    .unwrap_or(&docker_reason);
                tracing::info!(
                    "backend: local (PostgreSQL {} in {}; docker: {brief})",
                    bins.version,
                    bins.bin_dir.display()
                );
                tracing::debug!("docker: {docker_reason}");
                Ok(BackendChoice::Local)
            }
            Err(_) => Err(ServerError::Unavailable(format!(
                "no Docker ({docker_reason}) and no PostgreSQL server binaries; install the PostgreSQL server (e.g. `apt-get install postgresql`), start a Docker engine, or pass --database-url"
            ))),
        }
    }

    /// Starts a throwaway container of `image`.
    pub async fn start_docker(image: &str) -> Result<Server, ServerError> {
        let container = docker::DockerServer::start(image).await?;
        let admin = container.connect_options("postgres");
        let display_url = container.url("postgres");
        Self::finish(
            BackendKind::Docker,
            admin,
            display_url,
            Backing::Docker(Box::new(container)),
        )
        .await
    }

    /// Starts a private local cluster.
    pub async fn start_local() -> Result<Server, ServerError> {
        Self::start_local_major(None).await
    }

    /// Starts a private local cluster of PostgreSQL `major` (`None`: the
    /// default binaries).
    pub async fn start_local_major(major: Option<u32>) -> Result<Server, ServerError> {
        let local = local::LocalServer::start_major(major).await?;
        let admin = local.connect_options("postgres");
        let display_url = local.url("postgres");
        Self::finish(
            BackendKind::Local,
            admin,
            display_url,
            Backing::Local(local),
        )
        .await
    }

    /// A lease on the local server shared by every process that passes the
    /// same `key` (a project's test processes; see [`shared`]), started if
    /// none runs. Dropping the value releases the lease; the server stops
    /// once no process has held one for a few seconds.
    pub async fn attach_shared_local(key: &str) -> Result<Server, ServerError> {
        let key = key.to_string();
        let lease = tokio::task::spawn_blocking(move || shared::SharedLocal::attach(&key))
            .await
            .map_err(|e| ServerError::Unavailable(format!("server start task failed: {e}")))??;
        let admin = lease.connect_options("postgres");
        let display_url = lease.url("postgres");
        Self::finish(
            BackendKind::Local,
            admin,
            display_url,
            Backing::Shared(lease),
        )
        .await
    }

    /// Whether this is a lease on a shared server: databases other
    /// processes made are there too, and it outlives this process.
    pub fn is_shared(&self) -> bool {
        matches!(self.backing, Backing::Shared(_))
    }

    /// Leaves database `name` out of what this process drops when it
    /// ends (a shared template, a database a failed test kept).
    pub(crate) fn forget_created(&self, name: &str) {
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| n != name);
    }

    /// Shared server: a failed test kept a database to inspect; the server
    /// stays up longer after the last process leaves.
    pub(crate) fn mark_kept(&self, name: &str) {
        self.forget_created(name);
        if let Backing::Shared(lease) = &self.backing {
            lease.mark_kept(name);
        }
    }

    /// Uses the existing server at `url` (an admin URL), migrations
    /// contained in a per-run role (see [`Server::connect_url_as`]).
    pub async fn connect_url(url: &str) -> Result<Server, ServerError> {
        Self::connect_url_as(url, true).await
    }

    /// Uses the existing server at `url` (an admin URL). With `contain`,
    /// and when the admin user may create roles, the run gets a role of
    /// its own, without any attribute (no superuser, no CREATEROLE, no
    /// CREATEDB), that owns the run's databases and that migrations and
    /// checks run as: a chain cannot drop or alter the user's databases,
    /// roles or settings by accident. The bootstrap runs as the admin user.
    pub async fn connect_url_as(url: &str, contain: bool) -> Result<Server, ServerError> {
        let admin = parse_admin_url(url)?;
        let mut server = Self::finish(
            BackendKind::Url,
            admin,
            url.to_string(),
            Backing::Url {
                url: url.to_string(),
            },
        )
        .await?;
        if contain {
            server.run_role = server.create_run_role().await?;
        }
        Ok(server)
    }

    /// Creates the per-run role, when the admin user may.
    async fn create_run_role(&self) -> Result<Option<String>, ServerError> {
        let mut conn = self.admin_connection().await?;
        let sql_error = |what: &str| {
            let what = what.to_string();
            move |source| ServerError::Sql { what, source }
        };
        let may: bool = sqlx::query_scalar(
            "select rolsuper or rolcreaterole from pg_roles where rolname = current_user",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(sql_error("reading the admin user's attributes"))?;
        if !may {
            tracing::info!(
                "url backend: the admin user may not create roles; migrations run as that user"
            );
            let _ = conn.close().await;
            return Ok(None);
        }
        let name = self.names.next("run");
        let sql = format!("create role {} nologin", quote_ident(&name));
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .map_err(sql_error("creating the run's role"))?;
        naming::mark(&mut conn, "role", &name).await?;
        // Last at the end of the run: the bootstraps' roles when no other
        // run is here, then this run's role.
        self.note_undo(vec![
            drop_bootstrap_roles_when_alone(&name),
            format!("drop role if exists {}", quote_ident(&name)),
        ]);
        let _ = conn.close().await;
        Ok(Some(name))
    }

    /// url backend: the role migrations and checks run as (set at the
    /// start of each session, so `RESET ALL` and `RESET ROLE` keep it);
    /// `None` elsewhere, or when the admin user may not create roles, or
    /// with `server.superuser = true`. It limits accidents, not a chain
    /// that means harm: `SET ROLE` to the admin user escapes it.
    pub fn run_role(&self) -> Option<&str> {
        self.run_role.as_deref()
    }

    /// url backend: a lock on the server's admin database that orders the
    /// harness runs sharing this server: steps whose server-wide changes
    /// are compared (the ups of a template build) hold it shared; the
    /// bootstrap, the end-of-run cleanup and the reaping of dead runs,
    /// which create and drop roles, hold it alone. So another run's
    /// bootstrap or cleanup is never taken for a migration's change. The
    /// lock lasts as long as the returned connection. `None` elsewhere.
    pub(crate) async fn global_lock(
        &self,
        exclusive: bool,
    ) -> Result<Option<PgConnection>, ServerError> {
        if self.kind != BackendKind::Url && !self.is_shared() {
            return Ok(None);
        }
        let mut conn = self.admin_connection().await?;
        let sql = if exclusive {
            GLOBAL_LOCK_EXCLUSIVE
        } else {
            GLOBAL_LOCK_SHARED
        };
        lock(&mut conn, sql).await?;
        Ok(Some(conn))
    }

    /// Remembers SQL that undoes what a step of the run created
    /// server-wide, to run at shutdown (url backend; a private server is
    /// thrown away whole).
    pub(crate) fn note_undo(&self, statements: Vec<String>) {
        if self.kind != BackendKind::Url || statements.is_empty() {
            return;
        }
        let mut undo = self.undo.lock().unwrap_or_else(|e| e.into_inner());
        // Newest first at shutdown: a later step's objects may depend on an
        // earlier one's.
        for sql in statements.into_iter().rev() {
            undo.insert(0, sql);
        }
    }

    async fn finish(
        kind: BackendKind,
        admin: PgConnectOptions,
        url: String,
        backing: Backing,
    ) -> Result<Server, ServerError> {
        // A shared server's version is in its state file: no connection
        // on every test process's start for it.
        let known = match &backing {
            Backing::Shared(lease) => lease.version().map(str::to_string),
            _ => None,
        };
        let version = match known {
            Some(version) => version,
            None => {
                let mut conn = connect(&admin, &url).await?;
                let version: String = sqlx::query_scalar("show server_version")
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|source| ServerError::Sql {
                        what: "reading the server version".into(),
                        source,
                    })?;
                if kind == BackendKind::Url {
                    // Alone on the server while roles may be dropped (see
                    // `Server::global_lock`); released with the connection.
                    lock(&mut conn, GLOBAL_LOCK_EXCLUSIVE).await?;
                    naming::reap_databases(&mut conn).await?;
                }
                let _ = conn.close().await;
                version
            }
        };
        let names = naming::Names::new();
        let version = version.split_whitespace().next().unwrap_or("").to_string();
        let version_text = version.clone();
        Ok(Server {
            kind,
            version,
            admin,
            display_url: mask_url(&url),
            names,
            created: Mutex::new(Vec::new()),
            run_role: None,
            undo: Mutex::new(Vec::new()),
            clones: match &backing {
                Backing::Shared(lease) => Some(std::sync::Arc::new(clones::Clones::new(
                    lease.target("postgres"),
                    major_of(&version_text),
                ))),
                _ => None,
            },
            dropping: Mutex::new(Vec::new()),
            backing,
        })
    }

    /// The backend this server came from.
    pub fn backend(&self) -> BackendKind {
        self.kind
    }

    /// The server's version (`15.18`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The major version (`15`).
    pub fn major_version(&self) -> u32 {
        major_of(&self.version)
    }

    /// The admin URL, password masked.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// A connection to the admin database.
    pub async fn admin_connection(&self) -> Result<PgConnection, ServerError> {
        connect(&self.admin, &self.display_url).await
    }

    /// Connection options and URL for database `name` on this server.
    pub fn database(&self, name: &str) -> Database {
        let options = self.admin.clone().database(name);
        let url = match &self.backing {
            Backing::Local(local) => local.url(name),
            Backing::Shared(lease) => lease.url(name),
            Backing::Docker(container) => container.url(name),
            Backing::Url { url } => naming::url_with_database(url, name),
        };
        Database {
            name: name.to_string(),
            options,
            url,
        }
    }

    /// A new name carrying the harness prefix, unique on this server;
    /// `label` (a version, `tpl`) makes it readable.
    pub fn new_database_name(&self, label: &str) -> String {
        self.names.next(label)
    }

    /// Creates a fresh, empty database (a copy of `template0`).
    pub async fn create_database(&self) -> Result<Database, ServerError> {
        let name = self.new_database_name("db");
        self.create_database_named(&name, None).await
    }

    /// Creates database `name` (which must carry the harness prefix) as a
    /// copy of `template` (another harness database, which must have no
    /// open connection), or empty when `template` is `None`.
    pub async fn create_database_named(
        &self,
        name: &str,
        template: Option<&str>,
    ) -> Result<Database, ServerError> {
        if !name.starts_with(DATABASE_PREFIX) {
            return Err(ServerError::NotOurs(name.to_string()));
        }
        let template = template.unwrap_or("template0");
        let mut conn = self.admin_connection().await?;
        // FILE_COPY (PG15+) copies the template's files after a checkpoint:
        // with fsync off that is several times faster than WAL_LOG for the
        // small databases a test suite clones.
        let strategy = if self.major_version() >= 15 {
            " strategy = file_copy"
        } else {
            ""
        };
        // url backend: the run's role owns the run's databases (and so may
        // create in their public schema), nothing else.
        let owner = match &self.run_role {
            Some(role) => format!(" owner {}", quote_ident(role)),
            None => String::new(),
        };
        let sql = format!(
            "create database {} template {}{owner}{strategy}",
            quote_ident(name),
            quote_ident(template)
        );
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.to_string());
        let result = sqlx::raw_sql(&sql).execute(&mut conn).await;
        let result = match result {
            // On a server that outlives the run, the marker is what lets a
            // later run reap it if this one is killed.
            Ok(_) if self.kind == BackendKind::Url => {
                match naming::mark(&mut conn, "database", name).await {
                    Ok(()) => copy_database_settings(&mut conn, template, name).await,
                    Err(e) => Err(e),
                }
            }
            Ok(_) => copy_database_settings(&mut conn, template, name).await,
            Err(source) => Err(ServerError::Sql {
                what: format!("creating database {name} from {template}"),
                source,
            }),
        };
        let _ = conn.close().await;
        result?;
        Ok(self.database(name))
    }

    /// A copy of `template` made ahead, if one is waiting (shared server
    /// only; see [`clones`]): claiming it is one statement, where creating
    /// one copies files. A replacement is made in the background either
    /// way. `None`: create one.
    pub async fn ready_clone(
        &self,
        template: &str,
        label: &str,
    ) -> Result<Option<Database>, ServerError> {
        let Some(clones) = self.clones.clone() else {
            return Ok(None);
        };
        let name = self.new_database_name(label);
        let claimed = {
            let (name, template) = (name.clone(), template.to_string());
            tokio::task::spawn_blocking(move || clones.claim(&template, &name))
                .await
                .map_err(|e| ServerError::Unavailable(format!("claiming a clone: {e}")))?
        };
        if !claimed {
            return Ok(None);
        }
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        Ok(Some(self.database(&name)))
    }

    /// Shared server: has clones of `template` made ahead in the
    /// background (see [`clones`]); elsewhere nothing.
    pub fn make_clones_of(&self, template: &str) {
        if let Some(clones) = &self.clones {
            clones.refill(template);
        }
    }

    /// Drops a database the harness created, in the background where the
    /// server has a thread for it (a shared server's clones): nobody waits
    /// for the files to go. Elsewhere, or when the thread is gone, as
    /// [`Server::drop_database`]. A name the process has not forgotten is
    /// dropped again at its exit if the thread did not get to it.
    pub async fn drop_database_soon(&self, name: &str) -> Result<(), ServerError> {
        if !name.starts_with(DATABASE_PREFIX) {
            return Err(ServerError::NotOurs(name.to_string()));
        }
        match &self.clones {
            Some(clones) if clones.drop_later(name) => Ok(()),
            _ => self.drop_database(name).await,
        }
    }

    /// Drops a database the harness created in the background, on the
    /// current runtime: nothing waits for it but [`Server::shutdown`] (a
    /// drop the runtime never finishes is left to the run's cleanup, as
    /// any database it created). Refuses any other name.
    pub fn drop_database_later(self: &std::sync::Arc<Self>, name: &str) -> Result<(), ServerError> {
        if !name.starts_with(DATABASE_PREFIX) {
            return Err(ServerError::NotOurs(name.to_string()));
        }
        let (server, name) = (self.clone(), name.to_string());
        let task = tokio::spawn(async move {
            if let Err(e) = server.drop_database(&name).await {
                tracing::debug!("dropping {name} in the background: {e}");
            }
        });
        let mut dropping = self.dropping.lock().unwrap_or_else(|e| e.into_inner());
        dropping.retain(|t| !t.is_finished());
        dropping.push(task);
        Ok(())
    }

    /// Waits for the drops [`Server::drop_database_later`] started.
    async fn finish_drops(&self) {
        let tasks = std::mem::take(&mut *self.dropping.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Drops a database the harness created (refuses any other name).
    pub async fn drop_database(&self, name: &str) -> Result<(), ServerError> {
        if !name.starts_with(DATABASE_PREFIX) {
            return Err(ServerError::NotOurs(name.to_string()));
        }
        let mut conn = self.admin_connection().await?;
        let sql = format!("drop database if exists {} with (force)", quote_ident(name));
        // (Not `raw_sql(..).execute(..)`: its future cannot be shown to be
        // `Send`, which `drop_database_later` needs.)
        let result = sqlx::Executor::execute(&mut conn, sql.as_str()).await;
        let _ = conn.close().await;
        result.map_err(|source| ServerError::Sql {
            what: format!("dropping database {name}"),
            source,
        })?;
        if let Backing::Shared(lease) = &self.backing {
            lease.unmark_kept(name);
        }
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| n != name);
        Ok(())
    }

    /// Ends the server: stops and deletes a local cluster, removes a
    /// container; on a server that outlives the run, drops every database
    /// this process created. Bounded by the cleanup timeout. Idempotent;
    /// on drop, the same work is handed to [`cleanup`].
    pub async fn shutdown(&self) {
        // A cluster or container going away takes its databases with it.
        if matches!(self.backing, Backing::Shared(_) | Backing::Url { .. }) {
            let drops = self.finish_drops();
            if tokio::time::timeout(cleanup::CLEANUP_TIMEOUT, drops)
                .await
                .is_err()
            {
                tracing::warn!("dropping the run's databases timed out");
            }
        }
        match &self.backing {
            Backing::Local(local) => local.stop_async().await,
            Backing::Docker(container) => container.stop().await,
            Backing::Shared(_) => {
                let names = self.take_created();
                let work = clean_url(&self.admin, &names, &[]);
                if tokio::time::timeout(cleanup::CLEANUP_TIMEOUT, work)
                    .await
                    .is_err()
                {
                    tracing::warn!("dropping the run's databases timed out");
                }
            }
            Backing::Url { .. } => {
                let names = self.take_created();
                let undo = self.take_undo();
                let work = clean_url(&self.admin, &names, &undo);
                if tokio::time::timeout(cleanup::CLEANUP_TIMEOUT, work)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        "dropping the run's databases timed out; the next run reaps them"
                    );
                }
            }
        }
    }

    fn take_created(&self) -> Vec<String> {
        std::mem::take(&mut *self.created.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn take_undo(&self) -> Vec<String> {
        std::mem::take(&mut *self.undo.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Hands what the run left on a server it does not own (databases) or
    /// in the engine (the container) to [`cleanup`], for places that
    /// cannot await: drop, exit hooks. Stops a local cluster in place.
    /// Idempotent.
    pub(crate) fn release(&self) {
        match &self.backing {
            Backing::Local(local) => local.stop(),
            Backing::Shared(lease) => {
                let mut names = self.take_created();
                if let Some(clones) = &self.clones {
                    names.retain(|n| !clones.has_dropped(n));
                }
                if !names.is_empty() {
                    cleanup::defer(cleanup::Leftover::SharedDatabases {
                        target: lease.target("postgres"),
                        names,
                    });
                }
            }
            Backing::Docker(container) => {
                if let Some(leftover) = container.release() {
                    cleanup::defer(leftover);
                }
            }
            Backing::Url { url } => {
                let names = self.take_created();
                let undo = self.take_undo();
                if !names.is_empty() || !undo.is_empty() {
                    cleanup::defer(cleanup::Leftover::Databases {
                        admin: Box::new(self.admin.clone()),
                        url: url.clone(),
                        names,
                        undo,
                    });
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.release();
    }
}

/// The major of a version (`15.18` -> 15, `18beta1` -> 18).
pub fn major_of(version: &str) -> u32 {
    version
        .split(['.', 'b', 'r'])
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// Reads an admin URL: `postgres://` or `postgresql://` only; a password
/// with characters a URL reserves gets a hint to percent-encode them; a
/// `PASSWORD=` query parameter in any case is taken as the password (and
/// never echoed by the driver's warning about an unknown parameter).
fn parse_admin_url(url: &str) -> Result<PgConnectOptions, ServerError> {
    let bad = |why: String| ServerError::BadUrl(format!("{}: {why}", mask_url(url)));
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad(
            "not a URL (expected postgres://user:password@host:port/database)".into(),
        ));
    };
    if !matches!(scheme, "postgres" | "postgresql") {
        return Err(bad(format!(
            "the scheme is {scheme}://, not postgres:// or postgresql://"
        )));
    }
    let normalized = match rest.split_once('?') {
        Some((before, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, v)) if k.eq_ignore_ascii_case("password") => format!("password={v}"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{scheme}://{before}?{}", params.join("&"))
        }
        None => url.to_string(),
    };
    normalized.parse().map_err(|e: sqlx::Error| {
        // The user part ends at the last `@`; reserved characters before it
        // (in the password) make the rest of the URL misread.
        let userinfo = rest.rsplit_once('@').map(|(u, _)| u).unwrap_or("");
        if userinfo.contains(['/', '?', '#', '@']) {
            bad(format!(
                "{e}; percent-encode the password's reserved characters (/ %2F, ? %3F, # %23, @ %40)"
            ))
        } else {
            bad(e.to_string())
        }
    })
}

/// The comment on a role a harness bootstrap created on a shared server.
pub const BOOTSTRAP_ROLE_MARKER: &str = "pgharness-bootstrap-role";

/// SQL that drops the roles harness bootstraps made (marked
/// [`BOOTSTRAP_ROLE_MARKER`]) when no harness run but the one whose role is
/// `run_role` is on the server (no other role carries an owner marker). A
/// role something still depends on stays, for a later run.
pub(crate) fn drop_bootstrap_roles_when_alone(run_role: &str) -> String {
    format!(
        "do $pgharness$ declare r record; begin
           if not exists (select 1 from pg_roles
                           where shobj_description(oid, 'pg_authid') like 'pgharness-owner %'
                             and rolname <> {}) then
             for r in select rolname from pg_roles
                       where shobj_description(oid, 'pg_authid') = '{BOOTSTRAP_ROLE_MARKER}' loop
               begin
                 execute format('drop role %I', r.rolname);
               exception when others then null;
               end;
             end loop;
           end if;
         end $pgharness$",
        sql_literal(run_role)
    )
}

fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Whether `comment` is a harness owner marker (a harness database's).
pub fn is_owner_marker(comment: &str) -> bool {
    naming::Owner::parse(comment).is_some()
}

/// The advisory lock of [`Server::global_lock`] (key: "pgharness").
pub(crate) const GLOBAL_LOCK_EXCLUSIVE: &str = "select pg_advisory_lock(7522389446201602419)";
const GLOBAL_LOCK_SHARED: &str = "select pg_advisory_lock_shared(7522389446201602419)";

/// Takes the advisory lock `sql` (one of the `GLOBAL_LOCK_*`) on `conn`.
async fn lock(conn: &mut PgConnection, sql: &str) -> Result<(), ServerError> {
    sqlx::raw_sql(sql)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|source| ServerError::Sql {
            what: "waiting for other harness runs on this server".into(),
            source,
        })
}

/// What cleaning up a run on a server it does not own runs: drop its
/// databases `names` (newest first: clones before the templates they came
/// from), then the `undo` statements (what the run created server-wide).
pub(crate) fn cleanup_statements(names: &[String], undo: &[String]) -> Vec<String> {
    names
        .iter()
        .rev()
        .map(|name| format!("drop database if exists {} with (force)", quote_ident(name)))
        .chain(undo.iter().cloned())
        .collect()
}

/// Runs [`cleanup_statements`] over one admin connection.
pub(crate) async fn clean_url(admin: &PgConnectOptions, names: &[String], undo: &[String]) {
    let statements = cleanup_statements(names, undo);
    if statements.is_empty() {
        return;
    }
    match admin.connect().await {
        Ok(mut conn) => {
            if let Err(e) = lock(&mut conn, GLOBAL_LOCK_EXCLUSIVE).await {
                tracing::warn!("cleanup: {e}");
            }
            for sql in &statements {
                if let Err(e) = sqlx::raw_sql(sql).execute(&mut conn).await {
                    tracing::warn!("cleanup: `{sql}` failed: {e}");
                }
            }
            let _ = conn.close().await;
        }
        Err(e) => tracing::warn!("could not clean up the run's databases and roles: {e}"),
    }
}

/// `CREATE DATABASE ... TEMPLATE` copies a database's contents but not its
/// settings (`ALTER DATABASE ... SET`, `ALTER ROLE ... IN DATABASE ...
/// SET`), which live in the shared catalog: a bootstrap that sets the
/// search_path would be lost in every clone. Copies them from `template` to
/// `name`. Each value goes through `set_config` and `SET ... FROM CURRENT`,
/// so it is stored exactly as Postgres stored it (list values included).
async fn copy_database_settings(
    conn: &mut PgConnection,
    template: &str,
    name: &str,
) -> Result<(), ServerError> {
    let sql_error = |what: String| move |source| ServerError::Sql { what, source };
    let rows: Vec<(Option<String>, Vec<String>)> = sqlx::query_as(
        "select r.rolname::text, s.setconfig
           from pg_db_role_setting s
           join pg_database d on d.oid = s.setdatabase
           left join pg_roles r on r.oid = s.setrole
          where d.datname = $1",
    )
    .bind(template)
    .fetch_all(&mut *conn)
    .await
    .map_err(sql_error(format!("reading the settings of {template}")))?;
    if rows.is_empty() {
        return Ok(());
    }
    let what = format!("copying the settings of {template} to {name}");
    sqlx::raw_sql("begin")
        .execute(&mut *conn)
        .await
        .map_err(sql_error(what.clone()))?;
    let result = async {
        for (role, settings) in &rows {
            for setting in settings {
                let Some((key, value)) = setting.split_once('=') else {
                    continue;
                };
                sqlx::query("select set_config($1, $2, true)")
                    .bind(key)
                    .bind(value)
                    .execute(&mut *conn)
                    .await?;
                let key = key
                    .split('.')
                    .map(quote_ident)
                    .collect::<Vec<_>>()
                    .join(".");
                let target = match role {
                    Some(role) => format!(
                        "role {} in database {}",
                        quote_ident(role),
                        quote_ident(name)
                    ),
                    None => format!("database {}", quote_ident(name)),
                };
                sqlx::raw_sql(&format!("alter {target} set {key} from current"))
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    let end = if result.is_ok() { "commit" } else { "rollback" };
    let ended = sqlx::raw_sql(end).execute(&mut *conn).await;
    result.and(ended.map(|_| ())).map_err(sql_error(what))
}

/// Quotes an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
