//! Names of the databases the harness creates, and URLs shown to people.
//!
//! Every database the harness makes is named
//! `pgharness_<host>_<pid>_<seq>_<label>`: the prefix is what lets the `url`
//! backend touch only its own databases, and host and pid are what let a
//! later run tell a killed run's leftovers from a live run's databases.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgConnection;

use super::{quote_ident, ServerError};

/// Prefix of every database name the harness creates.
pub const DATABASE_PREFIX: &str = "pgharness_";

/// Generator of unique database names for this process.
#[derive(Debug)]
pub(crate) struct Names {
    host: String,
    pid: u32,
    seq: AtomicU64,
}

impl Names {
    pub(crate) fn new() -> Self {
        Names {
            host: host_tag(),
            pid: std::process::id(),
            seq: AtomicU64::new(0),
        }
    }

    pub(crate) fn next(&self, label: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let mut name = format!("{DATABASE_PREFIX}{}_{}_{n}_{label}", self.host, self.pid);
        // Postgres truncates identifiers to 63 bytes; the name is ASCII.
        name.truncate(63);
        name
    }
}

/// Eight hex digits identifying this machine.
pub(crate) fn host_tag() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    // FNV-1a: stable across runs and Rust versions, unlike DefaultHasher.
    let mut hash: u32 = 0x811c_9dc5;
    for b in host.trim().bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// This process's start time in clock ticks since boot: with the pid, it
/// tells a live owner from a recycled pid.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it are
    // counted from the closing parenthesis.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether process `pid` is alive on this machine.
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Drops databases left on a shared server by killed runs of this machine:
/// names with our host tag whose process is gone. Databases of other
/// machines and of live runs are never touched.
pub(crate) async fn reap_databases(
    conn: &mut PgConnection,
    names: &Names,
) -> Result<(), ServerError> {
    let pattern = format!("{}{}\\_%", DATABASE_PREFIX.replace('_', "\\_"), names.host);
    let existing: Vec<String> = sqlx::query_scalar(
        "select datname from pg_database where datname like $1 order by oid desc",
    )
    .bind(&pattern)
    .fetch_all(&mut *conn)
    .await
    .map_err(|source| ServerError::Sql {
        what: "listing leftover harness databases".into(),
        source,
    })?;
    let mut reaped = 0;
    for name in existing {
        let rest = &name[DATABASE_PREFIX.len() + names.host.len() + 1..];
        let Some(pid) = rest.split('_').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == names.pid || process_alive(pid) {
            continue;
        }
        let sql = format!(
            "drop database if exists {} with (force)",
            quote_ident(&name)
        );
        match sqlx::raw_sql(&sql).execute(&mut *conn).await {
            Ok(_) => reaped += 1,
            Err(e) => tracing::warn!("could not drop leftover database {name}: {e}"),
        }
    }
    if reaped > 0 {
        tracing::info!("reaped {reaped} database(s) left by killed runs");
    }
    Ok(())
}

/// `url` with its password (in the user part or a `password=` parameter)
/// replaced by `***`. Works on text, not on a parsed URL, so that a
/// malformed URL (the very thing an error message may be about) is masked
/// too.
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_string();
    let authority_start = out.find("://").map_or(0, |i| i + 3);
    let authority_end = out[authority_start..]
        .find(['/', '?', '#'])
        .map_or(out.len(), |i| authority_start + i);
    if let Some(at) = out[authority_start..authority_end].rfind('@') {
        let userinfo_end = authority_start + at;
        if let Some(colon) = out[authority_start..userinfo_end].find(':') {
            out.replace_range(authority_start + colon + 1..userinfo_end, "***");
        }
    }
    // `password=` parameters, in the query or in a key=value string.
    let mut search = 0;
    while let Some(found) = out[search..].to_ascii_lowercase().find("password=") {
        let start = search + found + "password=".len();
        let preceded_ok =
            search + found == 0 || matches!(out.as_bytes()[search + found - 1], b'?' | b'&' | b' ');
        let end = out[start..]
            .find(['&', ' ', '#'])
            .map_or(out.len(), |i| start + i);
        if preceded_ok {
            out.replace_range(start..end, "***");
            search = start + 3;
        } else {
            search = start;
        }
    }
    out
}

/// The admin URL with its database replaced by `name`.
pub(crate) fn url_with_database(admin_url: &str, name: &str) -> String {
    match url::Url::parse(admin_url) {
        Ok(mut u) => {
            u.set_path(&format!("/{name}"));
            u.to_string()
        }
        Err(_) => admin_url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_in_malformed_urls_too() {
        assert_eq!(
            mask_url("postgres://u:s3cret@127.0.0.1:99999999/db"),
            "postgres://u:***@127.0.0.1:99999999/db"
        );
        assert_eq!(
            mask_url("host=x password=s3cret user=u"),
            "host=x password=*** user=u"
        );
        assert_eq!(mask_url("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_url("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(
            mask_url("postgres://u@h/db?password=secret&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable"
        );
        assert_eq!(mask_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn names_carry_prefix_and_fit() {
        let names = Names::new();
        let a = names.next("tpl 0003_x");
        let b = names.next(&"v".repeat(100));
        assert!(a.starts_with(DATABASE_PREFIX) && a.ends_with("tpl_0003_x"));
        assert_ne!(a, b);
        assert_eq!(b.len(), 63);
    }
}
