//! What a run leaves to clean up when a [`super::Server`] is dropped
//! instead of shut down (a command cancelled by a signal, a test binary's
//! process-wide server at exit): the run's databases on a user's server and
//! the run's container. Drop cannot await, so it hands them over here:
//!
//! - [`finish`] cleans them up from async code, on the caller's runtime,
//!   bounded by a timeout: the CLI awaits it before it exits, signals
//!   included;
//! - at process exit, whatever is still here is cleaned up synchronously
//!   (an `atexit` hook: plain sockets, no runtime): the Docker API over its
//!   socket, `DROP DATABASE` through [`super::exit_client`].
//!
//! A local cluster needs neither: stopping it is a signal and a directory
//! removal, done in place.

use std::sync::{Mutex, Once};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use super::exit_client;

/// How long cleanup may take, in all, before the process goes on exiting.
pub(crate) const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Something a run created that outlives its [`super::Server`] value.
#[derive(Debug)]
pub(crate) enum Leftover {
    /// Databases on a server the run does not own.
    Databases {
        admin: Box<PgConnectOptions>,
        /// The admin URL the user gave (for the password).
        url: String,
        /// Newest last.
        names: Vec<String>,
        /// SQL undoing what the run created server-wide, run after.
        undo: Vec<String>,
    },
    /// A container the run started.
    Container { id: String },
    /// Databases on a server of ours that outlives the process (a shared
    /// local server): their `DROP`s are sent, not waited for.
    SharedDatabases {
        target: exit_client::Target,
        names: Vec<String>,
    },
}

static PENDING: Mutex<Vec<Leftover>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();

/// Hands `leftover` over for cleanup by [`finish`] or at process exit.
pub(crate) fn defer(leftover: Leftover) {
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(leftover);
    AT_EXIT.call_once(|| {
        // SAFETY: registering a plain extern "C" fn without captures.
        unsafe { libc::atexit(at_exit) };
    });
}

fn take_pending() -> Vec<Leftover> {
    std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Cleans up everything dropped servers left, on the caller's runtime,
/// within [`CLEANUP_TIMEOUT`]. What is not done by then is left to the exit
/// hook and, failing that, to the next run's reaping.
pub async fn finish() {
    let pending = take_pending();
    if pending.is_empty() {
        return;
    }
    let work = async {
        for leftover in &pending {
            match leftover {
                Leftover::Databases {
                    admin, names, undo, ..
                } => super::clean_url(admin, names, undo).await,
                Leftover::Container { id } => super::docker::remove(id).await,
                Leftover::SharedDatabases { target, names } => {
                    if let Err(e) = drop_detached(target, names) {
                        tracing::warn!("dropping the run's databases: {e}");
                    }
                }
            }
        }
    };
    if tokio::time::timeout(CLEANUP_TIMEOUT, work).await.is_err() {
        tracing::warn!(
            "cleanup did not finish within {}s; the next run reaps what is left",
            CLEANUP_TIMEOUT.as_secs()
        );
    }
}

extern "C" fn at_exit() {
    run_now();
}

/// Cleans up what is pending synchronously, without a runtime: for exit
/// hooks.
pub(crate) fn run_now() {
    for leftover in take_pending() {
        let done = match &leftover {
            Leftover::Databases {
                admin,
                url,
                names,
                undo,
            } => clean_url_now(admin, url, &super::cleanup_statements(names, undo)),
            Leftover::Container { id } => super::docker::remove_now(id),
            Leftover::SharedDatabases { target, names } => drop_detached(target, names),
        };
        if let Err(e) = done {
            // stderr may be closed at exit; a failed write is fine.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "pgharness: warning: could not clean up at exit ({e}); the next run on this machine reaps what is left"
            );
        }
    }
}

/// Sends a `DROP DATABASE` for each of `names` and goes on without
/// waiting for them (a shared server is ours: nothing else depends on it).
/// One connection each: a backend whose client has gone ends when it
/// answers its first statement, so a second one on it would never run.
fn drop_detached(target: &exit_client::Target, names: &[String]) -> Result<(), String> {
    for name in names {
        let sql = format!(
            "drop database if exists {} with (force)",
            super::quote_ident(name)
        );
        exit_client::Client::connect(target)?.send_then_close(&[sql])?;
    }
    Ok(())
}

/// Runs the cleanup `statements` without a runtime.
fn clean_url_now(admin: &PgConnectOptions, url: &str, statements: &[String]) -> Result<(), String> {
    if statements.is_empty() {
        return Ok(());
    }
    let host = match admin.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => admin.get_host().to_string(),
    };
    let parsed = url::Url::parse(url).ok();
    let password = parsed
        .as_ref()
        .and_then(|u| {
            u.password().map(str::to_string).or_else(|| {
                u.query_pairs()
                    .find(|(k, _)| k.eq_ignore_ascii_case("password"))
                    .map(|(_, v)| v.into_owned())
            })
        })
        .map(|p| {
            percent_encoding::percent_decode_str(&p)
                .decode_utf8_lossy()
                .into_owned()
        })
        .or_else(|| std::env::var("PGPASSWORD").ok());
    let target = exit_client::Target {
        host,
        port: admin.get_port(),
        user: admin.get_username().to_string(),
        password,
        database: admin.get_database().unwrap_or("postgres").to_string(),
    };
    let mut client = exit_client::Client::connect(&target)?;
    client.execute(super::GLOBAL_LOCK_EXCLUSIVE)?;
    let mut failed = Vec::new();
    for sql in statements {
        if let Err(e) = client.execute(sql) {
            failed.push(format!("`{sql}`: {e}"));
        }
    }
    client.close();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}
