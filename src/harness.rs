//! The harness: a chain on a server, with a template database at each
//! version it was asked for, so that a fresh database at version V is one
//! `CREATE DATABASE ... TEMPLATE` away.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgConnection;
use sqlx::Connection;
use tokio::sync::OnceCell;

use crate::server::global::GlobalState;

use crate::apply::{apply_script, apply_script_watched, ApplyError, Watchdog};
use crate::chain::{Chain, Migration};
use crate::config::Config;
use crate::schema::{SchemaSnapshot, SchemaTracker};
use crate::server::{BackendKind, Database, Server, ServerError};
use crate::Error;
use futures_util::future::FutureExt;

/// A migration chain bound to a server.
///
/// ```no_run
/// # async fn demo() -> Result<(), pgharness::Error> {
/// let config = pgharness::config::Config::load("pgharness.toml".as_ref())?;
/// let harness = pgharness::Harness::new(config).await?;
/// let db = harness.database_at(None).await?; // at head
/// let mut conn = db.connect().await?;
/// sqlx::query("select 1").execute(&mut conn).await?;
/// # Ok(()) }
/// ```
pub struct Harness {
    config: Config,
    chain: Chain,
    server: Arc<Server>,
    /// `templates[k]`: a database with the bootstrap SQL and the first `k`
    /// migrations applied. Built on first use, once, whoever asks.
    templates: Vec<OnceCell<String>>,
    /// `schemas[k]`: the schema snapshot at level `k`, captured once by the
    /// first check that holds a database in that state.
    schemas: Vec<OnceCell<Arc<SchemaSnapshot>>>,
    /// `read_when_built[k]`: the schema at level `k` is read on the
    /// connection that builds its template, whose caches are warm (see
    /// [`Harness::read_schema_when_built`]).
    read_when_built: Vec<AtomicBool>,
    /// The first level whose template failed to build (`usize::MAX` while
    /// none has): later levels are not tried again.
    stops_at: AtomicUsize,
    /// `server_wide[i]`: what migration `i` changed server-wide (roles,
    /// databases, settings: see [`GlobalState`]) when its template was
    /// built; such state is shared by every database of a server.
    server_wide: Vec<std::sync::Mutex<Vec<String>>>,
    /// `applied_in[i]`: how long migration `i`'s up took when its template
    /// was built, in microseconds (0: not applied).
    applied_in: Vec<std::sync::atomic::AtomicU64>,
    /// What the run has done so far (for a progress line).
    progress: Arc<crate::progress::Counters>,
    /// On a shared server: the key naming this chain's templates there
    /// (see [`Harness::share_templates`]).
    shared_key: Option<String>,
    /// `app_templates[k]`: `templates[k]` with the chain tool's
    /// bookkeeping (see [`Harness::app_database_at`]).
    app_templates: Vec<OnceCell<String>>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("chain", &self.chain.dir)
            .field("server", &self.server)
            .finish()
    }
}

impl Harness {
    /// Discovers the chain and starts a server, both as `config` says.
    pub async fn new(config: Config) -> Result<Harness, Error> {
        let chain = config.migrations.discover()?;
        let server = Arc::new(Server::start(&config.server).await?);
        Ok(Self::with_server(config, chain, server))
    }

    /// A harness for `chain` on an already running server (servers can be
    /// shared between harnesses; see [`crate::testing::shared_server`]).
    pub fn with_server(config: Config, chain: Chain, server: Arc<Server>) -> Harness {
        let chain_len = chain.migrations.len();
        let templates = (0..=chain.migrations.len())
            .map(|_| OnceCell::new())
            .collect();
        let server_wide = chain
            .migrations
            .iter()
            .map(|_| std::sync::Mutex::new(Vec::new()))
            .collect();
        let schemas = (0..=chain.migrations.len())
            .map(|_| OnceCell::new())
            .collect();
        let read_when_built = (0..=chain.migrations.len())
            .map(|_| AtomicBool::new(false))
            .collect();
        let applied_in = chain
            .migrations
            .iter()
            .map(|_| std::sync::atomic::AtomicU64::new(0))
            .collect();
        Harness {
            config,
            chain,
            server,
            templates,
            schemas,
            read_when_built,
            stops_at: AtomicUsize::new(usize::MAX),
            server_wide,
            applied_in,
            progress: Arc::default(),
            shared_key: None,
            app_templates: (0..=chain_len).map(|_| OnceCell::new()).collect(),
        }
    }

    /// Shares this chain's templates with every process on the same
    /// server: each is named `pgharness_tpl_<key>_<level>`, where the key
    /// is a hash of the chain's files, the bootstrap and this version of
    /// pgharness (so a changed migration gets new templates), and built by
    /// whichever process needs it first, under an advisory lock; the others
    /// adopt it. Its name is left out of what this process drops at exit.
    pub fn share_templates(&mut self) {
        self.shared_key = Some(self.template_key());
    }

    /// The hash naming this chain's templates on a shared server.
    fn template_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(env!("CARGO_PKG_VERSION"));
        hash.update(format!("{:?}", self.chain.layout));
        hash.update(format!("{:?}", self.chain.migrations));
        hash.update(format!("{:?}", self.chain.callbacks));
        hash.update(&self.config.server.bootstrap);
        hash.update(self.config.server.statement_timeout_secs.to_le_bytes());
        let digest = hash.finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The server.
    pub fn server(&self) -> &Arc<Server> {
        &self.server
    }

    /// Number of migrations applied at `version` (`None` or `head`: all).
    pub fn level_of(&self, version: Option<&str>) -> Result<usize, Error> {
        match version {
            None | Some("head") => Ok(self.chain.migrations.len()),
            Some("0" | "empty") => Ok(0),
            Some(v) => self
                .chain
                .position(v)
                .map(|i| i + 1)
                .ok_or_else(|| Error::UnknownVersion(v.to_string())),
        }
    }

    /// A fresh database at `version` (`None` or `"head"` for the head of
    /// the chain), cloned from its template.
    pub async fn database_at(&self, version: Option<&str>) -> Result<Database, Error> {
        let level = self.level_of(version)?;
        // A template at exactly this level, kept for the next test.
        let template = self.template(level).await?;
        let name = self.server.new_database_name(&label(&self.chain, level));
        Ok(self
            .server
            .create_database_named(&name, Some(&template))
            .await?)
    }

    /// A fresh database with the first `level` migrations applied: a clone
    /// of the nearest template at or below `level`, with the few ups
    /// between replayed (templates are kept every [`TEMPLATE_STRIDE`]
    /// levels; see [`Harness::template`]).
    pub async fn database_at_level(&self, level: usize) -> Result<Database, Error> {
        if level >= self.templates.len() {
            return Err(Error::UnknownVersion(level.to_string()));
        }
        // The highest template already kept at or below `level` (a kept
        // stride level at least).
        let stride_base = level / TEMPLATE_STRIDE * TEMPLATE_STRIDE;
        let base = (stride_base..=level)
            .rev()
            .find(|&l| self.templates[l].initialized())
            .unwrap_or(stride_base);
        let template = self.template(base).await?;
        let name = self.server.new_database_name(&label(&self.chain, level));
        let db = self
            .server
            .create_database_named(&name, Some(&template))
            .await?;
        if base == level {
            return Ok(db);
        }
        let mut conn = self.connect(&db).await?;
        let mut replayed = Ok(());
        for index in base..level {
            replayed = self.apply_up(&mut conn, index).await;
            if replayed.is_ok() {
                let callbacks = &self.chain.callbacks.after_migrate;
                replayed = self
                    .apply_callbacks(&mut conn, callbacks, Some(index))
                    .await;
            }
            if replayed.is_err() {
                break;
            }
        }
        let _ = conn.close().await;
        if let Err(e) = replayed {
            let _ = self.server.drop_database(&name).await;
            return Err(e);
        }
        Ok(db)
    }

    /// Makes sure the chain's templates reach `level`: the template that
    /// covers it (the next kept level, or head) is built, so every
    /// migration up to `level` is known to apply.
    pub async fn ensure_applied(&self, level: usize) -> Result<(), Error> {
        let head = self.chain.migrations.len();
        let covering = level.div_ceil(TEMPLATE_STRIDE) * TEMPLATE_STRIDE;
        self.template(covering.min(head)).await.map(|_| ())
    }

    /// The schema snapshot at `version` (`None` or `"head"` for the head),
    /// read from a clone of its template that is dropped afterwards.
    pub async fn schema_at(&self, version: Option<&str>) -> Result<SchemaSnapshot, Error> {
        let db = self.database_at(version).await?;
        let mut conn = self.connect(&db).await?;
        let snapshot = SchemaSnapshot::capture(&mut conn).await;
        drop(conn);
        let _ = self.drop_database(&db).await;
        Ok(snapshot?)
    }

    /// The schema at `level`, read on `conn` (whose database must be in that
    /// state: a clone of the level's template, or one level below with the
    /// next up applied) the first time it is asked for, then remembered.
    /// Chains with after-migrate callbacks are read every time: their
    /// templates hold what a check's single up does not.
    pub async fn level_schema(
        &self,
        level: usize,
        conn: &mut PgConnection,
    ) -> Result<Arc<SchemaSnapshot>, Error> {
        self.level_schema_from(level, async {
            SchemaSnapshot::capture(conn).await.map(Arc::new)
        })
        .await
    }

    /// [`Harness::level_schema`], read (when it is read) by `tracker`, the
    /// tracker of the database `conn` is connected to.
    pub async fn level_schema_tracked(
        &self,
        level: usize,
        conn: &mut PgConnection,
        tracker: &mut SchemaTracker,
    ) -> Result<Arc<SchemaSnapshot>, Error> {
        self.level_schema_from(level, tracker.capture(conn)).await
    }

    /// [`Harness::level_schema`], read (when it is read) over a connection
    /// of its own to `db`, a database at `level`.
    pub async fn level_schema_on(
        &self,
        level: usize,
        db: &Database,
    ) -> Result<Arc<SchemaSnapshot>, Error> {
        self.level_schema_from(level, async {
            let mut conn = self.connect(db).await?;
            let schema = SchemaSnapshot::capture(&mut conn).await;
            let _ = conn.close().await;
            Ok::<_, Error>(Arc::new(schema?))
        })
        .await
    }

    /// Asks for the schema at `level` to be read when its template is
    /// built, on the connection that applied its migrations: a new
    /// connection's first read of the catalogs costs several times a warm
    /// one's (36 against 10 ms on the sample's head), and the checks that
    /// want it (fidelity, property files) each start on a new connection.
    /// Nothing is read when the template exists already or the chain has
    /// after-migrate callbacks; an error there leaves the read to whoever
    /// asks next.
    pub fn read_schema_when_built(&self, level: usize) {
        if let Some(flag) = self.read_when_built.get(level) {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// What [`Harness::read_schema_when_built`] asked for, on `conn`, the
    /// connection that brought a template to `level`.
    async fn read_schema_if_wanted(&self, level: usize, conn: &mut PgConnection) {
        let wanted = self
            .read_when_built
            .get(level)
            .is_some_and(|f| f.load(Ordering::Relaxed));
        if !wanted || !self.chain.callbacks.after_migrate.is_empty() {
            return;
        }
        // As a new session would see it (a migration's `SET search_path`
        // or temporary table must not show).
        if sqlx::raw_sql(NEW_SESSION_STATE)
            .execute(&mut *conn)
            .await
            .is_ok()
        {
            let _ = self.level_schema(level, conn).await;
        }
    }

    /// The schema at `level`: remembered, or `read` (awaited only when it
    /// is needed).
    async fn level_schema_from<E>(
        &self,
        level: usize,
        read: impl std::future::Future<Output = Result<Arc<SchemaSnapshot>, E>>,
    ) -> Result<Arc<SchemaSnapshot>, Error>
    where
        Error: From<E>,
    {
        let Some(cell) = self.schemas.get(level) else {
            return Err(Error::UnknownVersion(level.to_string()));
        };
        if !self.chain.callbacks.after_migrate.is_empty() {
            return Ok(read.await?);
        }
        Ok(cell.get_or_try_init(|| read).await?.clone())
    }

    /// A fresh database holding only the bootstrap SQL: what the chain
    /// starts from.
    pub async fn fresh_database(&self) -> Result<Database, Error> {
        self.database_at_level(0).await
    }

    /// Name of the template database at `level`, building it (and the
    /// kept levels below it) if needed. Templates are kept at level 0, every
    /// [`TEMPLATE_STRIDE`] levels, at head and at any level asked for here;
    /// each is built from the kept level below by applying the ups between
    /// on one connection. Template databases must not be connected to.
    pub async fn template(&self, level: usize) -> Result<String, Error> {
        if level >= self.templates.len() {
            return Err(Error::UnknownVersion(level.to_string()));
        }
        if self.shared_key.is_some() && !self.templates[level].initialized() {
            // Another process may have built exactly this level already.
            if let Some(name) = self.shared_template(level).await? {
                let _ = self.templates[level].set(name);
                return Ok(self.templates[level].get().cloned().unwrap_or_default());
            }
        }
        self.templates[0]
            .get_or_try_init(|| self.build_or_adopt(0, 0))
            .await?;
        let mut points: Vec<usize> = (TEMPLATE_STRIDE..level).step_by(TEMPLATE_STRIDE).collect();
        if level > 0 {
            points.push(level);
        }
        let mut from = 0;
        for point in points {
            self.templates[point]
                .get_or_try_init(|| self.build_or_adopt(from, point))
                .await?;
            from = point;
        }
        Ok(self.templates[level].get().cloned().unwrap_or_default())
    }

    /// How far the chain applies to an empty database: every template is
    /// built up to the first migration that fails, which is returned with
    /// its error. Errors that are not a migration's (the server went away)
    /// end the run.
    pub async fn reach(&self) -> Result<Reach, Error> {
        let head = self.chain.migrations.len();
        self.template(0).await?;
        let mut points: Vec<usize> = (TEMPLATE_STRIDE..head).step_by(TEMPLATE_STRIDE).collect();
        points.push(head);
        for level in points.into_iter().filter(|&l| l > 0) {
            match self.template(level).await {
                Ok(_) => {}
                Err(error @ Error::Migration { .. }) => {
                    let stops_at = self.stops_at.load(Ordering::Relaxed).min(level);
                    return Ok(Reach {
                        applied: stops_at.saturating_sub(1),
                        failure: Some(error),
                    });
                }
                Err(other) => return Err(other),
            }
        }
        Ok(Reach {
            applied: head,
            failure: None,
        })
    }

    /// The shared template of `level`, if some process built it.
    async fn shared_template(&self, level: usize) -> Result<Option<String>, Error> {
        let Some(key) = &self.shared_key else {
            return Ok(None);
        };
        let name = shared_template_name(key, level);
        let mut admin = self.server.admin_connection().await?;
        let exists = database_exists(&mut admin, &name).await;
        let _ = admin.close().await;
        Ok(exists?.then_some(name))
    }

    /// [`Harness::build_template`], or on a shared server: the template
    /// another process built, or one built here and published under its
    /// shared name. The build starts from the highest shared template
    /// between `from` and `level`: a level kept after a migration that
    /// created roles must not be replayed.
    async fn build_or_adopt(&self, from: usize, level: usize) -> Result<String, Error> {
        let Some(key) = &self.shared_key else {
            return self.build_template(from, level).await;
        };
        let build = async {
            let mut from = from;
            let mut admin = self.server.admin_connection().await?;
            for below in (from + 1..level).rev() {
                let candidate = shared_template_name(key, below);
                if database_exists(&mut admin, &candidate).await? {
                    let _ = self.templates[below].set(candidate);
                    from = below;
                    break;
                }
            }
            let _ = admin.close().await;
            self.build_template(from, level).await
        };
        self.adopt_or_publish(&shared_template_name(key, level), level as u64, build)
            .await
    }

    /// On a shared server: database `name` if some process made it, else
    /// the one `build` makes, renamed to `name`. One process builds it;
    /// the others wait (an advisory lock per name, `slot` telling names of
    /// one chain apart) and adopt it. Its name is left out of what this
    /// process drops when it ends.
    async fn adopt_or_publish(
        &self,
        name: &str,
        slot: u64,
        build: impl std::future::Future<Output = Result<String, Error>>,
    ) -> Result<String, Error> {
        let key = self.shared_key.as_deref().unwrap_or_default();
        let mut admin = self.server.admin_connection().await?;
        let sql_error = |what: &'static str| {
            move |source| {
                Error::Server(ServerError::Sql {
                    what: what.into(),
                    source,
                })
            }
        };
        sqlx::query("select pg_advisory_lock($1)")
            .bind(shared_lock_key(key, slot))
            .execute(&mut admin)
            .await
            .map_err(sql_error("waiting for a shared template"))?;
        let result = async {
            if database_exists(&mut admin, name).await? {
                return Ok(name.to_string());
            }
            let built = build.await?;
            let rename = format!(
                "alter database {} rename to {}",
                crate::server::quote_ident(&built),
                crate::server::quote_ident(name)
            );
            sqlx::raw_sql(&rename)
                .execute(&mut admin)
                .await
                .map_err(sql_error("publishing a shared template"))?;
            self.server.forget_created(&built);
            Ok(name.to_string())
        }
        .await;
        // Closing the connection releases the lock.
        let _ = admin.close().await;
        result
    }

    /// A fresh database at `version` (`None` or `"head"`: head) for an
    /// application: [`Harness::database_at`] plus the chain tool's own
    /// bookkeeping (`_sqlx_migrations`, `flyway_schema_history`, ...) as
    /// that tool would have written it, so the app's migrator sees the
    /// database up to date. Checks never see these databases.
    pub async fn app_database_at(&self, version: Option<&str>) -> Result<Database, Error> {
        let level = self.level_of(version)?;
        // On a shared server the template's name is known before anything
        // is looked up: a clone made ahead is one statement away, and
        // another process may have built every template already.
        if let Some(key) = &self.shared_key {
            let template = match level {
                0 => shared_template_name(key, 0),
                _ => shared_app_template_name(key, level),
            };
            if let Some(db) = self
                .server
                .ready_clone(&template, &label(&self.chain, level))
                .await?
            {
                return Ok(db);
            }
        }
        let template = self.app_template(level).await?;
        // The template exists now: clones of it can be made ahead.
        self.server.make_clones_of(&template);
        let name = self.server.new_database_name(&label(&self.chain, level));
        Ok(self
            .server
            .create_database_named(&name, Some(&template))
            .await?)
    }

    /// The template of [`Harness::app_database_at`] at `level`: the
    /// level's template with the bookkeeping recorded (the template itself
    /// when the layout has none).
    async fn app_template(&self, level: usize) -> Result<String, Error> {
        let cell = &self.app_templates[level];
        if let Some(name) = cell.get() {
            return Ok(name.clone());
        }
        let template = self.template(level).await?;
        // Every layout's tool keeps a history, written once something is
        // applied (computing it reads and hashes every file: only when the
        // template is built).
        if level == 0 {
            return Ok(cell.get_or_init(|| async { template }).await.clone());
        }
        let build = || async {
            let name = self
                .server
                .new_database_name(&format!("app_{}", label(&self.chain, level)));
            let db = self
                .server
                .create_database_named(&name, Some(&template))
                .await?;
            let mut conn = self.connect(&db).await?;
            let recorded =
                crate::chain::bookkeeping::record_bookkeeping(&mut conn, &self.chain, level).await;
            let _ = conn.close().await;
            if let Err(e) = recorded {
                let _ = self.server.drop_database(&name).await;
                return Err(e);
            }
            Ok(name)
        };
        let name = cell
            .get_or_try_init(|| async {
                match &self.shared_key {
                    Some(key) => {
                        let shared = shared_app_template_name(key, level);
                        self.adopt_or_publish(&shared, (1 << 20) | level as u64, build())
                            .await
                    }
                    None => build().await,
                }
            })
            .await?;
        Ok(name.clone())
    }

    /// Builds the template at `level` from the one at `from` (level 0: the
    /// bootstrap on an empty database), applying the ups between one by
    /// one on one connection, and notes which of them change the server's
    /// roles.
    async fn build_template(&self, from: usize, level: usize) -> Result<String, Error> {
        let name = self
            .server
            .new_database_name(&format!("tpl_{}", label(&self.chain, level)));
        let db = if level == 0 {
            self.server.create_database_named(&name, None).await?
        } else {
            let previous = self.templates[from].get().cloned().unwrap_or_default();
            self.server
                .create_database_named(&name, Some(&previous))
                .await?
        };
        let result = if level == 0 {
            self.bootstrap(&db).await
        } else {
            let conn = self.connect(&db).await?;
            self.apply_ups_noting_roles(conn, &db, from, level).await
        };
        let result = match result {
            Ok(mut conn) => {
                self.read_schema_if_wanted(level, &mut conn).await;
                let _ = conn.close().await;
                Ok(())
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            let _ = self.server.drop_database(&name).await;
            return Err(e);
        }
        Ok(name)
    }

    /// The level-0 template: the bootstrap SQL, run as the admin user (it
    /// stands for what the platform provides), then the tool's
    /// before-migrate callbacks as the chain's own session. On a server
    /// the run does not own, what the bootstrap created server-wide (its
    /// roles) is removed at shutdown.
    async fn bootstrap(&self, db: &Database) -> Result<PgConnection, Error> {
        let timeout = self.config.server.statement_timeout_secs * 1000;
        let mut admin = db
            .connect_with(&[("statement_timeout", &timeout.to_string())])
            .await?;
        let lock = self.server.global_lock(true).await?;
        let before = GlobalState::capture(&mut admin).await?;
        self.apply_bootstrap(&mut admin).await?;
        let after = GlobalState::capture(&mut admin).await?;
        let undo = before.undo(&after);
        let undo = match self.server.run_role() {
            Some(_) => share_bootstrap_roles(&mut admin, undo).await?,
            None => undo,
        };
        self.server.note_undo(undo);
        drop(lock);
        if let Some(role) = self.server.run_role() {
            hand_over(&mut admin, role).await?;
        }
        let _ = admin.close().await;
        let mut conn = self.connect(db).await?;
        self.apply_callbacks(&mut conn, &self.chain.callbacks.before_migrate, None)
            .await?;
        Ok(conn)
    }

    /// Applies the ups of migrations `from..level` on `conn`, each followed
    /// by the tool's after-migrate callbacks (a template is what a migrate
    /// run to its version leaves), marking the migrations that change the
    /// server's roles; a failure marks where the chain stops.
    async fn apply_ups_noting_roles(
        &self,
        mut conn: PgConnection,
        db: &Database,
        from: usize,
        level: usize,
    ) -> Result<PgConnection, Error> {
        // Held until the ups are applied: see `Server::global_lock`.
        let _lock = self.server.global_lock(false).await?;
        let mut state = GlobalState::capture(&mut conn).await?;
        for index in from..level {
            let started = std::time::Instant::now();
            let mut result = self.apply_up(&mut conn, index).await;
            crate::progress::Counters::bump(&self.progress.applied);
            self.applied_in[index].store(
                (started.elapsed().as_micros() as u64).max(1),
                Ordering::Relaxed,
            );
            if result.is_ok() {
                let callbacks = &self.chain.callbacks.after_migrate;
                result = self
                    .apply_callbacks(&mut conn, callbacks, Some(index))
                    .await;
            }
            if let Err(e) = result {
                if matches!(e, Error::Migration { .. }) {
                    self.stops_at.fetch_min(index + 1, Ordering::Relaxed);
                }
                return Err(e);
            }
            let after = GlobalState::capture(&mut conn).await?;
            let changes = state.changes(&after);
            if !changes.is_empty() {
                self.server.note_undo(state.undo(&after));
                *self.server_wide[index]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = changes;
                state = after;
                // Its roles now exist server-wide: no later clone may replay
                // this migration, so the level after it is kept too.
                if index + 1 < level {
                    conn = self.keep_level(conn, db, index + 1).await?;
                }
            }
        }
        Ok(conn)
    }

    /// Keeps the state of `db` (at `level`, being built on `conn`) as the
    /// template of `level`: the copy needs the source without connections,
    /// so `conn` is closed for it and a new one returned.
    async fn keep_level(
        &self,
        conn: PgConnection,
        db: &Database,
        level: usize,
    ) -> Result<PgConnection, Error> {
        let _ = conn.close().await;
        let name = match &self.shared_key {
            Some(key) => shared_template_name(key, level),
            None => self
                .server
                .new_database_name(&format!("tpl_{}", label(&self.chain, level))),
        };
        let made = self
            .server
            .create_database_named(&name, Some(db.name()))
            .await;
        match made {
            Ok(_) => {
                if self.shared_key.is_some() {
                    self.server.forget_created(&name);
                }
            }
            // Another process kept the same level first.
            Err(ServerError::Sql { source, .. })
                if self.shared_key.is_some() && source.to_string().contains("already exists") => {}
            Err(e) => return Err(e.into()),
        }
        if self.templates[level].set(name.clone()).is_err() {
            let _ = self.server.drop_database(&name).await;
        }
        self.connect(db).await
    }

    /// Whether the chain is known to stop before migration `index` applies
    /// (an earlier migration, or this one, failed to build its template).
    pub fn stops_before(&self, index: usize) -> bool {
        index + 1 >= self.stops_at.load(Ordering::Relaxed)
    }

    /// Whether migration `index` changes server-wide state (roles,
    /// databases, settings): checks that run it again must run where no
    /// other database of the harness depends on that state, as on the
    /// plain server psql would see.
    pub fn changes_server_state(&self, index: usize) -> bool {
        !self.server_changes(index).is_empty()
    }

    /// What migration `index` changed server-wide when its template was
    /// built, one line per object (`created role "reporter"`).
    /// What the run has done so far.
    pub fn progress(&self) -> &Arc<crate::progress::Counters> {
        &self.progress
    }

    /// How long migration `index`'s up took when its template was built.
    pub fn apply_time(&self, index: usize) -> Option<std::time::Duration> {
        let micros = self.applied_in.get(index)?.load(Ordering::Relaxed);
        (micros > 0).then(|| std::time::Duration::from_micros(micros))
    }

    pub fn server_changes(&self, index: usize) -> Vec<String> {
        self.server_wide
            .get(index)
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    /// A harness for the same chain on a private server of the same kind,
    /// for checks of migrations that change server-wide state; `None` on
    /// the url backend (one server only). The caller shuts it down.
    pub async fn isolated(&self) -> Result<Option<Harness>, Error> {
        let kind = self.server.backend();
        let backend = match kind {
            BackendKind::Local => crate::config::BackendChoice::Local,
            BackendKind::Docker => crate::config::BackendChoice::Docker,
            BackendKind::Url => return Ok(None),
        };
        let mut config = self.config.clone();
        config.server.backend = backend;
        let server = Arc::new(Server::start(&config.server).await?);
        Ok(Some(Harness::with_server(
            config,
            self.chain.clone(),
            server,
        )))
    }

    /// Opens a connection to `db` with the configured statement timeout.
    /// The timeout is a session default, so it outlives the `RESET ALL`
    /// that starts each migration's session state afresh.
    /// On a server the run does not own, the session runs as the run's
    /// role (see [`Server::run_role`]).
    pub async fn connect(&self, db: &Database) -> Result<PgConnection, Error> {
        let timeout = Duration::from_secs(self.config.server.statement_timeout_secs);
        let millis = timeout.as_millis().to_string();
        let mut settings = vec![("statement_timeout", millis.as_str())];
        if let Some(role) = self.server.run_role() {
            settings.push(("role", role));
        }
        Ok(db.connect_with(&settings).await?)
    }

    /// Gives `conn` the session state of a new connection (settings reset,
    /// temporary tables gone), as each run of a migration tool starts: a
    /// `SET search_path` or a `CREATE TEMPORARY TABLE` in one script must
    /// not leak into the next step of a check. Returns the connection's
    /// server process (for [`Harness::watchdog`]), read in the same round
    /// trip.
    async fn fresh_session(conn: &mut PgConnection, migration: &Migration) -> Result<i32, Error> {
        use sqlx::Row;
        let rows = sqlx::raw_sql(&format!("{NEW_SESSION_STATE}; select pg_backend_pid()"))
            .fetch_all(&mut *conn)
            .await
            .map_err(|source| {
                if matches!(source, sqlx::Error::Io(_) | sqlx::Error::Protocol(_)) {
                    Error::Server(ServerError::Unavailable(format!(
                        "the server went away before applying {}: {source}",
                        migration.id()
                    )))
                } else {
                    Error::Server(ServerError::Sql {
                        what: "resetting the session".into(),
                        source,
                    })
                }
            })?;
        rows.first()
            .and_then(|row| row.try_get::<i32, _>(0).ok())
            .ok_or_else(|| {
                Error::Server(ServerError::Unavailable(format!(
                    "the server gave no process id before applying {}",
                    migration.id()
                )))
            })
    }

    /// Runs the configured bootstrap SQL (roles, extensions, schemas the
    /// platform provides) on `conn`; nothing when there is none.
    pub async fn apply_bootstrap(&self, conn: &mut PgConnection) -> Result<(), Error> {
        if self.config.server.bootstrap.trim().is_empty() {
            return Ok(());
        }
        apply_script(conn, &self.bootstrap_script(), self.chain.layout)
            .await
            .map_err(|error| Error::Bootstrap(Box::new(error)))?;
        Ok(())
    }

    /// The bootstrap SQL as a script (its errors name the config file).
    fn bootstrap_script(&self) -> crate::chain::Script {
        crate::chain::Script {
            path: format!(
                "{} (server.bootstrap)",
                self.config
                    .file
                    .as_deref()
                    .unwrap_or("pgharness.toml".as_ref())
                    .display()
            )
            .into(),
            sql: self.config.server.bootstrap.clone(),
            line_offset: 0,
            transaction: true,
        }
    }

    /// Whether the bootstrap SQL can run inside a transaction the caller
    /// holds.
    pub fn bootstrap_fits_in_a_transaction(&self) -> bool {
        crate::apply::can_run_in_caller_transaction(&self.bootstrap_script())
    }

    /// The bootstrap SQL inside the transaction the caller holds.
    pub async fn apply_bootstrap_within(&self, conn: &mut PgConnection) -> Result<(), Error> {
        if self.config.server.bootstrap.trim().is_empty() {
            return Ok(());
        }
        crate::apply::apply_script_within(conn, &self.bootstrap_script(), self.chain.layout, None)
            .await
            .map(|_| ())
            .map_err(|error| Error::Bootstrap(Box::new(error)))
    }

    /// Runs the up script of migration `index` (0-based) on `conn`, with
    /// the tool's per-migration callbacks around it (Flyway's
    /// `beforeEachMigrate` / `afterEachMigrate`).
    pub async fn apply_up(&self, conn: &mut PgConnection, index: usize) -> Result<(), Error> {
        self.apply_up_observed(conn, index, None).await
    }

    /// [`Harness::apply_up`] with each statement of the up script shown to
    /// `observer` (the callbacks around it are not).
    pub async fn apply_up_observed(
        &self,
        conn: &mut PgConnection,
        index: usize,
        observer: Option<&mut dyn crate::apply::StatementObserver>,
    ) -> Result<(), Error> {
        let migration = &self.chain.migrations[index];
        let callbacks = &self.chain.callbacks;
        let pid = Self::fresh_session(conn, migration).await?;
        self.apply_callbacks(conn, &callbacks.before_each, Some(index))
            .await?;
        let watchdog = self.watchdog(pid);
        crate::apply::apply_script_observed(
            conn,
            &migration.up,
            self.chain.layout,
            Some(&watchdog),
            observer,
        )
        .await
        .map_err(|error| migration_error(migration, error))?;
        self.apply_callbacks(conn, &callbacks.after_each, Some(index))
            .await
    }

    /// Runs callback scripts; a failure is reported as the migration's
    /// (`index`) when there is one, else as the bootstrap's.
    async fn apply_callbacks(
        &self,
        conn: &mut PgConnection,
        scripts: &[(String, crate::chain::Script)],
        index: Option<usize>,
    ) -> Result<(), Error> {
        for (_, script) in scripts {
            if let Err(error) = apply_script(conn, script, self.chain.layout).await {
                return Err(match index {
                    Some(i) => migration_error(&self.chain.migrations[i], error),
                    None => Error::Bootstrap(Box::new(error)),
                });
            }
        }
        Ok(())
    }

    /// Whether the up scripts of migrations `from..` can all run inside one
    /// transaction the caller holds (see [`Harness::apply_up_within`]).
    pub fn ups_fit_in_a_transaction(&self, from: usize) -> bool {
        self.chain.migrations[from..]
            .iter()
            .all(|m| crate::apply::can_run_in_caller_transaction(&m.up))
    }

    /// Runs the up script of migration `index` inside the transaction the
    /// caller holds on `conn`, from a fresh session's settings (as
    /// [`Harness::apply_up`]; callbacks are not run: callers check
    /// [`Harness::ups_fit_in_a_transaction`] and the chain's callbacks).
    pub async fn apply_up_within(
        &self,
        conn: &mut PgConnection,
        index: usize,
    ) -> Result<(), Error> {
        self.apply_up_within_observed(conn, index, None).await
    }

    /// [`Harness::apply_up_within`] with each statement shown to
    /// `observer`.
    pub async fn apply_up_within_observed(
        &self,
        conn: &mut PgConnection,
        index: usize,
        observer: Option<&mut dyn crate::apply::StatementObserver>,
    ) -> Result<(), Error> {
        let migration = &self.chain.migrations[index];
        let watchdog = self.watchdog(Self::fresh_session(conn, migration).await?);
        crate::apply::apply_script_within_observed(
            conn,
            &migration.up,
            self.chain.layout,
            Some(&watchdog),
            observer,
        )
        .await
        .map(|_| ())
        .map_err(|error| migration_error(migration, error))
    }

    /// Runs the down script of migration `index`; `Ok(false)` when it has
    /// none.
    pub async fn apply_down(&self, conn: &mut PgConnection, index: usize) -> Result<bool, Error> {
        let migration = &self.chain.migrations[index];
        let Some(down) = &migration.down else {
            return Ok(false);
        };
        let watchdog = self.watchdog(Self::fresh_session(conn, migration).await?);
        apply_script_watched(conn, down, self.chain.layout, Some(&watchdog))
            .await
            .map_err(|error| migration_error(migration, error))?;
        Ok(true)
    }

    /// The client-side limit on each statement of a migration on the
    /// connection to backend `pid`: the configured statement timeout and a
    /// little (the server's own limit fires first unless a script lifted
    /// it); past it the backend is ended from an admin connection.
    fn watchdog(&self, pid: i32) -> Watchdog<'_> {
        let server = &self.server;
        let timeout = Duration::from_secs(self.config.server.statement_timeout_secs);
        Watchdog {
            timeout,
            limit: timeout + Duration::from_secs(2),
            stop: Box::new(move || {
                async move {
                    if let Ok(mut admin) = server.admin_connection().await {
                        let _ = sqlx::query("select pg_terminate_backend($1)")
                            .bind(pid)
                            .execute(&mut admin)
                            .await;
                        let _ = admin.close().await;
                    }
                }
                .boxed_local()
            }),
        }
    }

    /// Drops a database made by this harness (e.g. a test's scratch one).
    pub async fn drop_database(&self, db: &Database) -> Result<(), Error> {
        Ok(self.server.drop_database(db.name()).await?)
    }

    /// Drops a database the harness created in the background (see
    /// [`Server::drop_database_later`]): for one nobody is connected to
    /// and nothing waits for.
    pub fn drop_database_later(&self, db: &Database) -> Result<(), Error> {
        Ok(self.server.drop_database_later(db.name())?)
    }
}

/// What gives a connection the session state of a new one: settings
/// reset (to the connection's own defaults), temporary tables dropped.
const NEW_SESSION_STATE: &str = "reset all; discard temp";

/// Templates are kept every this many levels: a template costs a `CREATE
/// DATABASE` (about 35 ms for a 270-migration schema on tmpfs, several
/// times a typical up), so a check at another level clones the kept level
/// below and replays the few ups between instead.
pub const TEMPLATE_STRIDE: usize = 8;

/// The name of a shared template (see [`Harness::share_templates`]).
fn shared_template_name(key: &str, level: usize) -> String {
    format!("{}tpl_{key}_{level}", crate::server::DATABASE_PREFIX)
}

/// The name of a shared template with the chain tool's bookkeeping (see
/// [`Harness::app_database_at`]).
fn shared_app_template_name(key: &str, level: usize) -> String {
    format!("{}app_{key}_{level}", crate::server::DATABASE_PREFIX)
}

/// The advisory lock key of a shared template's build.
fn shared_lock_key(key: &str, slot: u64) -> i64 {
    let high = u64::from_str_radix(&key[..8.min(key.len())], 16).unwrap_or(0);
    ((high << 24) ^ slot) as i64
}

async fn database_exists(conn: &mut PgConnection, name: &str) -> Result<bool, Error> {
    sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
        .map_err(|source| {
            Error::Server(ServerError::Sql {
                what: "looking for a shared template".into(),
                source,
            })
        })
}

/// How far a chain applies: see [`Harness::reach`].
#[derive(Debug)]
pub struct Reach {
    /// Migrations that applied, in order: `0..applied` are reachable.
    pub applied: usize,
    /// The error of migration `applied`, when the chain stops there.
    pub failure: Option<Error>,
}

impl Reach {
    /// Whether migration `index` (0-based) was applied on the way to head.
    pub fn applies(&self, index: usize) -> bool {
        index < self.applied
    }

    /// Why migration `index` cannot be checked, when it is not reachable.
    pub fn unreachable_reason(&self, chain: &Chain, index: usize) -> Option<String> {
        if self.applies(index) {
            return None;
        }
        let failing = chain.migrations.get(self.applied)?.id();
        Some(if index == self.applied {
            "does not apply (see apply)".to_string()
        } else {
            format!("not reached: {failing} failed to apply")
        })
    }

    /// Why head-level checks cannot run, when the chain stops short.
    pub fn head_unreachable_reason(&self, chain: &Chain) -> Option<String> {
        let failing = chain.migrations.get(self.applied)?.id();
        Some(format!(
            "the chain does not reach head: {failing} failed to apply"
        ))
    }
}

/// Roles a bootstrap creates on a server several harness runs share (the
/// sample's `app_user`) are used by every run whose bootstrap found them:
/// they are marked as the harness's instead of dropped by the run that
/// made them, and whichever run is last on the server drops them (see
/// [`crate::server::Server::run_role`]'s cleanup), or the next run's
/// reaping does.
async fn share_bootstrap_roles(
    conn: &mut PgConnection,
    undo: Vec<String>,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(undo.len());
    for sql in undo {
        let Some(role) = sql.strip_prefix("drop role if exists ") else {
            out.push(sql);
            continue;
        };
        let mark = format!(
            "comment on role {role} is '{}'",
            crate::server::BOOTSTRAP_ROLE_MARKER
        );
        sqlx::raw_sql(&mark)
            .execute(&mut *conn)
            .await
            .map_err(|source| ServerError::Sql {
                what: format!("marking the bootstrap's role {role}"),
                source,
            })?;
    }
    Ok(out)
}

/// Gives the run's role (see [`Server::run_role`]) what the bootstrap
/// made in this database as the admin user: its schemas, tables, views,
/// sequences, functions and types become the role's, as they are the
/// migrating user's on the platform the bootstrap stands for. Extension
/// members stay with their extension; nothing outside this database is
/// touched.
async fn hand_over(conn: &mut PgConnection, role: &str) -> Result<(), Error> {
    let statements: Vec<String> = sqlx::query_scalar(
        r"
with admin as (select oid from pg_roles where rolname = current_user),
ext as (select objid, classid from pg_depend where deptype = 'e')
select format('alter schema %I owner to %I', n.nspname, $1)
  from pg_namespace n
 where n.nspowner = (select oid from admin)
   and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
   and n.nspname not like 'pg\_%'
   and not exists (select 1 from ext where ext.objid = n.oid and ext.classid = 'pg_namespace'::regclass)
union all
select format('alter %s %I.%I owner to %I',
              case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
                             when 'S' then 'sequence' when 'f' then 'foreign table' else 'table' end,
              n.nspname, c.relname, $1)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relowner = (select oid from admin)
   and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
   and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\_%'
   and not exists (select 1 from ext where ext.objid = c.oid and ext.classid = 'pg_class'::regclass)
   -- a sequence owned by a column follows its table
   and not (c.relkind = 'S' and exists (select 1 from pg_depend d
                                         where d.objid = c.oid and d.classid = 'pg_class'::regclass
                                           and d.deptype in ('a', 'i')))
union all
select format('alter routine %s owner to %I', p.oid::regprocedure, $1)
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where p.proowner = (select oid from admin)
   and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\_%'
   and not exists (select 1 from ext where ext.objid = p.oid and ext.classid = 'pg_proc'::regclass)
union all
select format('alter type %s owner to %I', t.oid::regtype, $1)
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
 where t.typowner = (select oid from admin)
   and t.typtype in ('e', 'd', 'c', 'r', 'm') and (t.typtype <> 'c' or t.typrelid = 0
        or (select relkind from pg_class where oid = t.typrelid) = 'c')
   and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\_%'
   and not exists (select 1 from ext where ext.objid = t.oid and ext.classid = 'pg_type'::regclass)",
    )
    .bind(role)
    .fetch_all(&mut *conn)
    .await
    .map_err(|source| ServerError::Sql {
        what: "listing what the bootstrap made".into(),
        source,
    })?;
    for sql in statements {
        sqlx::raw_sql(&sql)
            .execute(&mut *conn)
            .await
            .map_err(|source| ServerError::Sql {
                what: format!("handing the bootstrap's objects to the run's role ({sql})"),
                source,
            })?;
    }
    Ok(())
}

fn migration_error(migration: &Migration, error: ApplyError) -> Error {
    if error.connection_lost {
        return Error::Server(ServerError::Unavailable(format!(
            "the server went away while applying {}: {}",
            migration.id(),
            error.message
        )));
    }
    Error::Migration {
        migration: migration.id(),
        error: Box::new(error),
    }
}

fn label(chain: &Chain, level: usize) -> String {
    match level {
        0 => "v0".to_string(),
        k => format!("v{}", chain.migrations[k - 1].version),
    }
}
