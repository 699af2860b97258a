//! `pgharness seed` / `cargo xtask seed`: a realistic, FK-consistent data
//! set for the chain's head schema, written as a psql script, loaded into a
//! database, or served from a throwaway server.
//!
//! The generator (`generate`) works from a schema snapshot; this module
//! provides the snapshot (from a template database at head), and the safety
//! rules around a user's database: a non-empty database is refused unless
//! `--reset`, and `--reset` only undoes what this chain created.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use sqlx::Connection;

use crate::chain::bookkeeping::record_bookkeeping;
use crate::chain::Chain;
use crate::config::Config;
use crate::generate::{
    default_seed, generate_and_load, generate_on, schema_script, write_seed_script, Dataset,
    LoadOptions, Profile, ScriptError,
};
use crate::schema::{changed_objects, SchemaSnapshot};
use crate::server::{mask_url, Server, ServerError};
use crate::{Error, Harness};

/// First line of every file `seed --out` writes: an existing file without
/// it is the user's, and is never overwritten.
pub const FILE_MARK: &str = "-- pgharness seed";

/// Where the data goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A psql script: the schema through the chain, then the data.
    File(PathBuf),
    /// An existing database (URL): the chain applied, then the data.
    Database {
        /// The database URL.
        url: String,
        /// Undo this chain's migrations first when the database is at its
        /// head.
        reset: bool,
    },
}

/// What a seed run did.
#[derive(Debug, Clone)]
pub struct SeedReport {
    /// The seed used.
    pub seed: u64,
    /// Rows per table.
    pub rows: Vec<(String, usize)>,
    /// Rows loaded per second (not for files).
    pub rows_per_second: Option<f64>,
    /// Tables (`schema.table`) generated while they were loaded or
    /// written, never whole in memory.
    pub streamed: Vec<String>,
}

impl SeedReport {
    /// From rows per table (`schema.table`, any order).
    fn from_counts(
        seed: u64,
        mut rows: Vec<(String, usize)>,
        rows_per_second: Option<f64>,
        streamed: Vec<String>,
    ) -> SeedReport {
        rows.sort();
        SeedReport {
            seed,
            rows,
            rows_per_second,
            streamed,
        }
    }

    /// All rows.
    pub fn total_rows(&self) -> usize {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

fn generate_error(e: crate::generate::GenerateError) -> Error {
    Error::Generate(Box::new(e))
}

/// The data set for `profile` on the head schema.
pub async fn dataset(
    harness: &Harness,
    profile: &Profile,
    seed: Option<u64>,
) -> Result<Dataset, Error> {
    let schema = harness.schema_at(None).await?;
    let seed = seed.unwrap_or_else(|| default_seed(profile));
    // A database at head: the server decides the checks the generator
    // cannot.
    let db = harness.database_at(None).await?;
    let mut conn = harness.connect(&db).await?;
    let generated = generate_on(&mut conn, &schema, profile, seed).await;
    let _ = conn.close().await;
    generated.map(|(data, _)| data).map_err(generate_error)
}

/// Errors when `out` exists and is not a file `seed` wrote: the user's
/// files are never overwritten.
pub fn check_out_path(out: &Path) -> Result<(), Error> {
    if let Ok(existing) = std::fs::read_to_string(out) {
        if !existing.starts_with(FILE_MARK) {
            return Err(Error::Input(format!(
                "{}: exists and was not written by pgharness seed; refusing to overwrite it (remove it or choose another --out)",
                out.display()
            )));
        }
    } else if out.exists() {
        return Err(Error::Input(format!(
            "{}: exists and is not a pgharness seed file; refusing to overwrite it",
            out.display()
        )));
    }
    Ok(())
}

/// Writes the psql script: bootstrap and chain, then the data. The file is
/// written whole to a temporary name and renamed, and an existing file is
/// replaced only if `seed` wrote it.
pub async fn to_file(
    harness: &Harness,
    profile: &Profile,
    seed: Option<u64>,
    out: &Path,
) -> Result<SeedReport, Error> {
    check_out_path(out)?;
    let seed = seed.unwrap_or_else(|| default_seed(profile));
    let mut text = format!(
        "{FILE_MARK} (profile {}, seed {seed}): load with psql -v ON_ERROR_STOP=1 -f into an empty database\n",
        profile_name(profile),
    );
    text.push_str(&schema_script(
        harness.chain(),
        &harness.config().server.bootstrap,
    ));
    text.push('\n');
    let io = |e: std::io::Error| Error::Input(format!("{}: cannot write: {e}", out.display()));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let schema = harness.schema_at(None).await?;
    // A database at head: the server decides the checks the generator
    // cannot.
    let db = harness.database_at(None).await?;
    let mut conn = harness.connect(&db).await?;
    let tmp = out.with_extension(format!("tmp-{}", std::process::id()));
    // The data streamed to the file, a block of rows at a time (the
    // largest tables made as they are written).
    let written = match std::fs::File::create(&tmp) {
        Ok(mut file) => {
            let counts =
                write_seed_script(&mut conn, &schema, profile, seed, &text, &mut file).await;
            match counts {
                Ok(counts) => file.sync_all().map(|()| Ok(counts)),
                Err(ScriptError::Io(e)) => Err(e),
                Err(ScriptError::Generate(e)) => Ok(Err(generate_error(e))),
            }
        }
        Err(e) => Err(e),
    };
    let _ = conn.close().await;
    let renamed = match written {
        Ok(Ok(written)) => std::fs::rename(&tmp, out).map(|()| written).map_err(io),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(io(e)),
    };
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed.map(|(counts, streamed)| SeedReport::from_counts(seed, counts, None, streamed))
}

fn profile_name(profile: &Profile) -> String {
    profile.path.display().to_string()
}

/// Loads the data set into a fresh database at head on the harness's own
/// server (for `--serve`); returns the database's URL.
pub async fn into_fresh_database(
    harness: &Harness,
    profile: &Profile,
    seed: Option<u64>,
) -> Result<(String, SeedReport), Error> {
    let seed = seed.unwrap_or_else(|| default_seed(profile));
    // The head schema without the chain tool's bookkeeping, which the
    // database gets too: the app's migrator sees it at head.
    let schema = harness.schema_at(None).await?;
    let db = harness.app_database_at(None).await?;
    let mut conn = harness.connect(&db).await?;
    let options = LoadOptions {
        progress: std::io::stderr().is_terminal(),
        ..LoadOptions::default()
    };
    let stats = generate_and_load(&mut conn, &schema, profile, seed, &options).await;
    let _ = conn.close().await;
    let stats = stats.map_err(generate_error)?;
    Ok((
        db.url(),
        SeedReport::from_counts(
            seed,
            stats.rows.clone(),
            Some(stats.rows_per_second()),
            stats.streamed,
        ),
    ))
}

/// User objects in the database `conn` is connected to (tables, views,
/// sequences, types, functions outside the system schemas, extensions'
/// own objects excepted), as `kind name` lines, at most `limit`.
async fn user_objects(conn: &mut sqlx::PgConnection, limit: i64) -> Result<Vec<String>, Error> {
    let rows: Vec<String> = sqlx::query_scalar(
        "with ext as (select objid, classid from pg_depend where deptype = 'e')
         select kind || ' ' || name from (
           select 'relation' as kind, n.nspname || '.' || c.relname as name
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
              and n.nspname not like 'pg_temp%'
              and not exists (select 1 from ext where ext.classid = 'pg_class'::regclass and ext.objid = c.oid)
           union all
           select 'function', n.nspname || '.' || p.proname
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname not in ('pg_catalog', 'information_schema')
              and not exists (select 1 from ext where ext.classid = 'pg_proc'::regclass and ext.objid = p.oid)
           union all
           select 'type', n.nspname || '.' || t.typname
             from pg_type t join pg_namespace n on n.oid = t.typnamespace
            where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
              and t.typrelid = 0 and t.typelem = 0
              and not exists (select 1 from ext where ext.classid = 'pg_type'::regclass and ext.objid = t.oid)
         ) o order by 1 limit $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(|source| ServerError::Sql {
        what: "listing the database's objects".into(),
        source,
    })?;
    Ok(rows)
}

/// Applies the chain to the database at `url` and loads the data set. A
/// database holding anything is refused unless `reset`; with `reset`, the
/// database must be exactly at the chain's head (its schema snapshot equal
/// to a fresh head's), and the chain's downs undo it first.
///
/// `reset_reference` is a harness on a throwaway server, needed only for
/// `--reset` (the fresh head schema to compare with); without it a
/// non-empty database is refused and no other server is started.
pub async fn into_database(
    config: &Config,
    chain: &Chain,
    profile: &Profile,
    seed: Option<u64>,
    url: &str,
    reset_reference: Option<&Harness>,
) -> Result<SeedReport, Error> {
    let shown = mask_url(url);
    // The user's own database, by their choice: no per-run role (it would
    // own nothing here), migrations run as the URL's user.
    let server = std::sync::Arc::new(Server::connect_url_as(url, false).await?);
    // The target's own harness: only its apply steps are used; it makes no
    // databases.
    let harness = Harness::with_server(config.clone(), chain.clone(), server.clone());
    let result = seed_target(&harness, profile, seed, &shown, reset_reference).await;
    server.shutdown().await;
    result
}

async fn seed_target(
    harness: &Harness,
    profile: &Profile,
    seed: Option<u64>,
    shown: &str,
    reset_reference: Option<&Harness>,
) -> Result<SeedReport, Error> {
    // The URL names the target database: the server's admin connection.
    let mut conn = harness.server().admin_connection().await?;
    let database: String = sqlx::query_scalar("select current_database()::text")
        .fetch_one(&mut conn)
        .await
        .map_err(|source| ServerError::Sql {
            what: "reading the database's name".into(),
            source,
        })?;
    if matches!(database.as_str(), "postgres" | "template0" | "template1") {
        return Err(Error::Input(format!(
            "{shown}: refusing to seed the system database `{database}` (every database made later from template1 would hold the data, and `postgres` is the server's admin database); create one: createdb app_dev"
        )));
    }
    let found = user_objects(&mut conn, 6).await?;
    if !found.is_empty() {
        let Some(reference) = reset_reference else {
            return Err(Error::Input(format!(
                "{shown}: the database is not empty ({}{}); seed never touches a database it did not create: use an empty database, or --reset if it holds only this chain's schema",
                found.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                if found.len() > 5 { ", ..." } else { "" }
            )));
        };
        let head = reference.schema_at(None).await?;
        let current = SchemaSnapshot::capture(&mut conn).await?;
        let mut changes = changed_objects(&head, &current);
        if !changes.is_empty() {
            // Seeded with the tool's bookkeeping (as seed now leaves it)?
            let app = reference.app_database_at(None).await?;
            let mut app_conn = reference.connect(&app).await?;
            let with_bookkeeping = SchemaSnapshot::capture(&mut app_conn).await;
            let _ = app_conn.close().await;
            let _ = reference.drop_database(&app).await;
            let app_changes = changed_objects(&with_bookkeeping?, &current);
            if app_changes.len() < changes.len() {
                changes = app_changes;
            }
        }
        if !changes.is_empty() {
            let list: Vec<String> = changes
                .iter()
                .take(5)
                .map(|c| format!("{:?} {}", c.change, c.key))
                .collect();
            return Err(Error::Input(format!(
                "{shown}: --reset only undoes this chain, but the database is not at its head ({} object(s) differ: {}); nothing was changed",
                changes.len(),
                list.join(", ")
            )));
        }
        // The data too must be exactly what seed left: a row someone added
        // is theirs, and --reset would delete it.
        let recorded = seed_record(&mut conn).await?;
        let legacy = recorded
            .as_deref()
            .is_some_and(|d| !d.starts_with(DIGEST_V2));
        let now = data_digest(&mut conn, legacy).await?;
        match recorded {
            Some(digest) if digest == now => {}
            Some(_) => {
                return Err(Error::Input(format!(
                    "{shown}: --reset only undoes what seed made, but the data changed since it was seeded (rows added, changed or deleted); nothing was changed"
                )))
            }
            None => {
                return Err(Error::Input(format!(
                    "{shown}: --reset only undoes what seed made, and this database carries no record of a pgharness seed; nothing was changed"
                )))
            }
        }
        if let Some(m) = harness.chain().migrations.iter().find(|m| m.down.is_none()) {
            return Err(Error::Input(format!(
                "{shown}: --reset needs every migration's down script, and {} has none; nothing was changed",
                m.id()
            )));
        }
        for index in (0..harness.chain().migrations.len()).rev() {
            harness.apply_down(&mut conn, index).await?;
        }
        drop_bookkeeping(&mut conn, harness.chain(), shown).await?;
    }
    // All or nothing: in one transaction when every step can run in one
    // (the load's own transaction becomes a savepoint); otherwise what
    // applied is undone with the downs when a later step fails.
    let chain = harness.chain();
    let in_one = harness.ups_fit_in_a_transaction(0)
        && harness.bootstrap_fits_in_a_transaction()
        && chain.callbacks.none_around_ups();
    let seed = seed.unwrap_or_else(|| default_seed(profile));
    let report = if in_one {
        let mut tx =
            sqlx::Connection::begin(&mut conn)
                .await
                .map_err(|source| ServerError::Sql {
                    what: "BEGIN".into(),
                    source,
                })?;
        let done = async {
            harness.apply_bootstrap_within(&mut tx).await?;
            for index in 0..chain.migrations.len() {
                harness.apply_up_within(&mut tx, index).await?;
            }
            let report = load(&mut tx, profile, seed).await?;
            record_bookkeeping(&mut tx, chain, chain.migrations.len()).await?;
            Ok(report)
        }
        .await;
        match done {
            Ok(report) => {
                tx.commit().await.map_err(|source| ServerError::Sql {
                    what: "COMMIT".into(),
                    source,
                })?;
                report
            }
            Err(e) => {
                let _ = tx.rollback().await;
                return Err(e);
            }
        }
    } else {
        harness.apply_bootstrap(&mut conn).await?;
        let mut applied = 0;
        let done = async {
            for index in 0..chain.migrations.len() {
                harness.apply_up(&mut conn, index).await?;
                applied = index + 1;
            }
            let report = load(&mut conn, profile, seed).await?;
            record_bookkeeping(&mut conn, chain, chain.migrations.len()).await?;
            Ok(report)
        }
        .await;
        match done {
            Ok(report) => report,
            Err(e) => {
                for index in (0..applied).rev() {
                    if harness.apply_down(&mut conn, index).await.is_err() {
                        tracing::warn!(
                            "{shown}: seeding failed and undoing it stopped at {}; the database holds the chain up to there",
                            chain.migrations[index].id()
                        );
                        break;
                    }
                }
                return Err(e);
            }
        }
    };
    // The record --reset checks: what the data was when seed left it. A
    // comment the user wrote on the database is theirs and stays; a
    // harness database's owner marker keeps its marker.
    let existing = database_comment(&mut conn).await?;
    let digest = data_digest(&mut conn, false).await?;
    let record = match existing.as_deref() {
        None | Some("") => format!("{SEED_RECORD} {digest}"),
        Some(c) if c.starts_with(SEED_RECORD) => format!("{SEED_RECORD} {digest}"),
        Some(c) if crate::server::is_owner_marker(c) => {
            let kept: Vec<&str> = c
                .split_whitespace()
                .filter(|w| !w.starts_with("seed="))
                .collect();
            format!("{} seed={digest}", kept.join(" "))
        }
        Some(_) => {
            tracing::info!("{shown}: the database has a comment of its own; --reset will refuse it (seed records what it made in the comment)");
            let _ = conn.close().await;
            return Ok(report);
        }
    };
    let sql = format!(
        "comment on database {} is '{record}'",
        crate::server::quote_ident(&database)
    );
    sqlx::raw_sql(&sql)
        .execute(&mut conn)
        .await
        .map_err(|source| ServerError::Sql {
            what: "recording the seed".into(),
            source,
        })?;
    let _ = conn.close().await;
    Ok(report)
}

/// After `--reset`'s downs: drops the chain tool's history table(s) seed
/// recorded (and the schema the tool keeps them in, once empty).
async fn drop_bookkeeping(
    conn: &mut sqlx::PgConnection,
    chain: &Chain,
    shown: &str,
) -> Result<(), Error> {
    let tables = crate::chain::bookkeeping::bookkeeping_tables(chain);
    let schemas = crate::chain::bookkeeping::bookkeeping_schemas(chain);
    let statements = tables
        .iter()
        .map(|t| {
            let (schema, name) = t.split_once('.').unwrap_or(("public", t));
            format!(
                "drop table if exists {}.{}",
                crate::server::quote_ident(schema),
                crate::server::quote_ident(name)
            )
        })
        .chain(
            schemas
                .iter()
                .map(|s| format!("drop schema if exists {}", crate::server::quote_ident(s))),
        );
    for sql in statements {
        sqlx::raw_sql(&sql)
            .execute(&mut *conn)
            .await
            .map_err(|source| ServerError::Sql {
                what: format!("{shown}: removing the migration history seed recorded ({sql})"),
                source,
            })?;
    }
    Ok(())
}

/// The first word of the database comment seed leaves.
const SEED_RECORD: &str = "pgharness-seed";

/// The comment on the database `conn` is connected to.
async fn database_comment(conn: &mut sqlx::PgConnection) -> Result<Option<String>, Error> {
    sqlx::query_scalar(
        "select shobj_description(oid, 'pg_database') from pg_database where datname = current_database()",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|source| {
        Error::Server(ServerError::Sql {
            what: "reading the database's comment".into(),
            source,
        })
    })
}

/// The digest seed recorded on the database, if any.
async fn seed_record(conn: &mut sqlx::PgConnection) -> Result<Option<String>, Error> {
    let comment = database_comment(conn).await?;
    Ok(comment.and_then(|c| match c.strip_prefix(SEED_RECORD) {
        Some(digest) => Some(digest.trim().to_string()),
        // On a harness database the record follows the owner marker.
        None => c
            .split_whitespace()
            .find_map(|w| w.strip_prefix("seed="))
            .map(str::to_string),
    }))
}

/// One digest of every user table's rows.
/// Digests this version writes start with this (older ones are a bare
/// md5 of the sorted row hashes).
const DIGEST_V2: &str = "v2-";

/// A digest of every user table's rows: what --reset compares with the
/// seed record. `legacy`: as seed records written before [`DIGEST_V2`]
/// were (a sort of every row's hash, seconds at millions of rows).
async fn data_digest(conn: &mut sqlx::PgConnection, legacy: bool) -> Result<String, Error> {
    use crate::properties::idempotency::{fingerprint_with, RowHash};
    let hash = if legacy {
        RowHash::Sorted
    } else {
        RowHash::Summed
    };
    let fingerprint = fingerprint_with(conn, hash).await?;
    let text: Vec<String> = fingerprint
        .iter()
        .map(|(table, (count, hash))| format!("{table}:{count}:{hash}"))
        .collect();
    let digest: String = sqlx::query_scalar("select md5($1)")
        .bind(text.join(";"))
        .fetch_one(&mut *conn)
        .await
        .map_err(|source| ServerError::Sql {
            what: "digesting the data".into(),
            source,
        })?;
    Ok(if legacy {
        digest
    } else {
        format!("{DIGEST_V2}{digest}")
    })
}

/// Generates the data set for the schema on `conn` and loads it.
async fn load(
    conn: &mut sqlx::PgConnection,
    profile: &Profile,
    seed: u64,
) -> Result<SeedReport, Error> {
    let schema = SchemaSnapshot::capture(&mut *conn).await?;
    let options = LoadOptions {
        progress: std::io::stderr().is_terminal(),
        ..LoadOptions::default()
    };
    let stats = generate_and_load(&mut *conn, &schema, profile, seed, &options)
        .await
        .map_err(generate_error)?;
    Ok(SeedReport::from_counts(
        seed,
        stats.rows.clone(),
        Some(stats.rows_per_second()),
        stats.streamed,
    ))
}
