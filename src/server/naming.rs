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

/// Who made something a run leaves behind (a run dir, a database, a role,
/// a container): machine, boot, PID namespace, process id and the process's
/// start time. Reaping is decided from this marker alone, never from a
/// name: a leftover is reaped only when it carries a marker of this
/// machine and PID namespace whose process is gone (another boot, a pid
/// that is not running, or a pid reused by a later process). What carries
/// no marker, or one from another machine or namespace, is never touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub host: String,
    pub boot: String,
    pub pidns: String,
    pub pid: u32,
    pub start: u64,
}

/// The first word of every marker.
const MARKER: &str = "pgharness-owner";

impl Owner {
    /// This process.
    pub(crate) fn current() -> Owner {
        let pid = std::process::id();
        Owner {
            host: host_tag(),
            boot: boot_id(),
            pidns: pid_namespace(),
            pid,
            start: process_start_time(pid).unwrap_or(0),
        }
    }

    /// `pgharness-owner host=... boot=... pidns=... pid=... start=...`.
    pub(crate) fn marker(&self) -> String {
        format!(
            "{MARKER} host={} boot={} pidns={} pid={} start={}",
            self.host, self.boot, self.pidns, self.pid, self.start
        )
    }

    /// Reads a marker; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Owner> {
        let mut words = text.split_whitespace();
        if words.next()? != MARKER {
            return None;
        }
        let (mut host, mut boot, mut pidns, mut pid, mut start) = (None, None, None, None, None);
        for word in words {
            match word.split_once('=')? {
                ("host", v) => host = Some(v.to_string()),
                ("boot", v) => boot = Some(v.to_string()),
                ("pidns", v) => pidns = Some(v.to_string()),
                ("pid", v) => pid = v.parse().ok(),
                ("start", v) => start = v.parse().ok(),
                _ => {}
            }
        }
        Some(Owner {
            host: host?,
            boot: boot?,
            pidns: pidns?,
            pid: pid?,
            start: start?,
        })
    }

    /// Whether this owner is known to be gone, judged from this process:
    /// only for owners of this machine and PID namespace.
    pub(crate) fn is_gone(&self) -> bool {
        let me = Owner::current();
        if self.host != me.host || self.pidns != me.pidns {
            return false;
        }
        if self.boot != me.boot {
            return true;
        }
        if self.pid == me.pid && self.start == me.start {
            return false;
        }
        !process_alive(self.pid) || process_start_time(self.pid) != Some(self.start)
    }
}

/// This boot's id (a new one after every reboot).
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// This process's PID namespace (`4026531836`): pids from another one
/// cannot be checked from here.
fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|l| {
            let l = l.to_string_lossy().to_string();
            l.strip_prefix("pid:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into())
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

/// Drops databases and roles left on a shared server by killed runs: those
/// whose comment is an owner marker (see [`Owner`]) of this machine and PID
/// namespace whose process is gone. A database or role without such a
/// marker is never touched, whatever its name.
pub(crate) async fn reap_databases(conn: &mut PgConnection) -> Result<(), ServerError> {
    let sql_error = |what: &str| {
        let what = what.to_string();
        move |source| ServerError::Sql { what, source }
    };
    let databases: Vec<(String, Option<String>)> = sqlx::query_as(
        "select datname::text, shobj_description(oid, 'pg_database')
           from pg_database order by oid desc",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(sql_error("listing leftover harness databases"))?;
    let mut reaped = 0;
    for (name, comment) in databases {
        if !comment
            .as_deref()
            .and_then(Owner::parse)
            .is_some_and(|o| o.is_gone())
        {
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
    // The per-run roles of those runs (their databases are gone now).
    let roles: Vec<(String, Option<String>)> =
        sqlx::query_as("select rolname::text, shobj_description(oid, 'pg_authid') from pg_roles")
            .fetch_all(&mut *conn)
            .await
            .map_err(sql_error("listing leftover harness roles"))?;
    for (role, comment) in roles {
        if !comment
            .as_deref()
            .and_then(Owner::parse)
            .is_some_and(|o| o.is_gone())
        {
            continue;
        }
        let sql = format!("drop role if exists {}", quote_ident(&role));
        if let Err(e) = sqlx::raw_sql(&sql).execute(&mut *conn).await {
            tracing::warn!("could not drop leftover role {role}: {e}");
        }
    }
    // Roles harness bootstraps made, left by runs that overlapped: once no
    // run is on the server, they go (this run has no role yet).
    if let Err(e) = sqlx::raw_sql(&super::drop_bootstrap_roles_when_alone(""))
        .execute(&mut *conn)
        .await
    {
        tracing::warn!("could not drop leftover bootstrap roles: {e}");
    }
    Ok(())
}

/// Marks database or role `name` (`kind`: `database`, `role`) as this
/// process's, for [`reap_databases`].
pub(crate) async fn mark(
    conn: &mut PgConnection,
    kind: &str,
    name: &str,
) -> Result<(), ServerError> {
    let sql = format!(
        "comment on {kind} {} is '{}'",
        quote_ident(name),
        Owner::current().marker()
    );
    sqlx::raw_sql(&sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|source| ServerError::Sql {
            what: format!("marking {kind} {name} as this run's"),
            source,
        })
}

/// `url` with its password replaced by `***`: in the user part of a URL
/// (whatever characters the password holds: `/`, `#`, `?`, `@`), in
/// `password=` query parameters (any case), and in key=value connection
/// strings (quoted values included, spaces around `=` allowed). Works on
/// text, not on a parsed URL, so that a malformed URL (the very thing an
/// error message may be about) is masked too. When in doubt it masks more,
/// never less.
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let start = scheme_end + 3;
        // The user part ends at the last `@` followed by something shaped
        // like a host list: a password may hold `@`, `/`, `?` or `#`.
        let at = out[start..]
            .match_indices('@')
            .map(|(i, _)| start + i)
            .rfind(|&i| looks_like_hosts(&out[i + 1..]));
        if let Some(at) = at {
            if let Some(colon) = out[start..at].find(':') {
                out.replace_range(start + colon + 1..at, "***");
            }
        }
    }
    mask_password_parameters(&out)
}

/// Whether `rest` (what follows an `@`) starts with `host[:port][,host...]`
/// and then ends or goes on with a path or query.
fn looks_like_hosts(rest: &str) -> bool {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let hosts = &rest[..end];
    hosts.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | ',' | '[' | ']' | '%')
    })
}

/// Masks the value of every `password` key: `?password=`, `&PassWord=`,
/// `password = 'my secret'`, `password=it\'s`.
fn mask_password_parameters(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("password") {
        let key = search + found;
        search = key + "password".len();
        let boundary = key == 0
            || matches!(bytes[key - 1], b'?' | b'&' | b';')
            || bytes[key - 1].is_ascii_whitespace();
        if !boundary {
            continue;
        }
        let mut i = search;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let value_start = i;
        let value_end = if bytes.get(i) == Some(&b'\'') {
            // A quoted value: up to the closing quote; `\'` and `\\`
            // are escapes. Unclosed: to the end.
            let mut j = i + 1;
            loop {
                match bytes.get(j) {
                    None => break j,
                    Some(b'\\') => j += 2,
                    Some(b'\'') => break j + 1,
                    Some(_) => j += 1,
                }
            }
            .min(bytes.len())
        } else {
            let mut j = i;
            while j < bytes.len()
                && !matches!(bytes[j], b'&' | b'#' | b';')
                && !bytes[j].is_ascii_whitespace()
            {
                j += 1;
            }
            j
        };
        out.push_str(&text[copied..value_start]);
        out.push_str("***");
        copied = value_end;
        search = value_end.max(search);
    }
    out.push_str(&text[copied..]);
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
    fn masks_every_form_of_password() {
        let cases = [
            ("postgres://u:pa/ss@host/db", "postgres://u:***@host/db"),
            (
                "postgres://u:pa#ss@host:5432/db",
                "postgres://u:***@host:5432/db",
            ),
            ("postgres://u:pa?ss@host", "postgres://u:***@host"),
            (
                "postgres://u:a@b/c?d@h1:5,h2:6/db",
                "postgres://u:***@h1:5,h2:6/db",
            ),
            (
                "postgresql://u:p@[::1]:5432/db",
                "postgresql://u:***@[::1]:5432/db",
            ),
            (
                "postgres://h/db?PASSWORD=secret",
                "postgres://h/db?PASSWORD=***",
            ),
            (
                "postgres://h/db?sslmode=disable&PassWord=secret#x",
                "postgres://h/db?sslmode=disable&PassWord=***#x",
            ),
            (
                "host=h password='my secret' user=u",
                "host=h password=*** user=u",
            ),
            (
                "host=h password = 'it\\'s' user=u",
                "host=h password = *** user=u",
            ),
            ("host=h PASSWORD=plain", "host=h PASSWORD=***"),
            ("password='unclosed and more", "password=***"),
            ("host=h user=passwordless", "host=h user=passwordless"),
        ];
        for (input, masked) in cases {
            assert_eq!(mask_url(input), masked, "{input}");
        }
    }

    #[test]
    fn owner_markers_round_trip_and_only_dead_owners_here_are_gone() {
        let me = Owner::current();
        assert_eq!(Owner::parse(&me.marker()), Some(me.clone()));
        assert!(!me.is_gone());
        assert_eq!(Owner::parse("a user's own comment"), None);
        assert_eq!(Owner::parse("pgharness-owner host=x"), None);
        // A pid that cannot be running here: gone.
        let dead = Owner {
            pid: 4_000_000_000,
            ..me.clone()
        };
        assert!(dead.is_gone());
        // The same pid in another PID namespace or on another machine: not
        // ours to judge.
        assert!(!Owner {
            pidns: "1".into(),
            ..dead.clone()
        }
        .is_gone());
        assert!(!Owner {
            host: "0000beef".into(),
            ..dead.clone()
        }
        .is_gone());
        // An earlier boot: gone whatever its pid.
        assert!(Owner {
            boot: "earlier".into(),
            ..me.clone()
        }
        .is_gone());
        // Our pid with another start time: the pid was reused.
        assert!(Owner {
            start: me.start + 1,
            ..me
        }
        .is_gone());
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
