//! Server-wide state: what a migration can change for every database at
//! once (roles and their attributes, passwords and memberships, databases,
//! tablespaces, `ALTER SYSTEM` settings, per-role and per-database
//! settings). Captured before and after each step the harness runs, so that
//! on a server the run does not own (the url backend) any change is a
//! finding naming the migration, and what the run created can be removed.
//! The harness's own databases are left out: they are not the user's.

use std::collections::BTreeMap;

use sqlx::postgres::PgConnection;

use super::{quote_ident, ServerError, DATABASE_PREFIX};

/// Server-wide objects and settings, each as `kind name` -> its details.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalState {
    items: BTreeMap<String, String>,
}

/// Roles and databases (not the harness's: `$1` is their name pattern),
/// tablespaces, role settings. Every role can read these.
const VISIBLE: &str = r"
select 'role ' || quote_ident(r.rolname),
       concat_ws(' ', case when r.rolsuper then 'superuser' end,
                      case when r.rolcreaterole then 'createrole' end,
                      case when r.rolcreatedb then 'createdb' end,
                      case when r.rolcanlogin then 'login' end,
                      case when r.rolreplication then 'replication' end,
                      case when r.rolbypassrls then 'bypassrls' end,
                      case when not r.rolinherit then 'noinherit' end,
                      'connlimit=' || r.rolconnlimit,
                      'valid_until=' || coalesce(r.rolvaliduntil::text, 'none'),
                      'member of ' || coalesce((select string_agg(quote_ident(g.rolname), ',' order by g.rolname)
                                                  from pg_auth_members m join pg_roles g on g.oid = m.roleid
                                                 where m.member = r.oid), ''))
  from pg_roles r
 where r.rolname !~ '^pg_' and r.rolname not like $1
union all
select 'database ' || quote_ident(d.datname),
       concat_ws(' ', 'owner=' || pg_get_userbyid(d.datdba), 'connlimit=' || d.datconnlimit,
                      case when d.datistemplate then 'template' end,
                      case when not d.datallowconn then 'noconnect' end)
  from pg_database d
 where d.datname not like $1
union all
select 'tablespace ' || quote_ident(t.spcname),
       concat_ws(' ', 'owner=' || pg_get_userbyid(t.spcowner), pg_tablespace_location(t.oid))
  from pg_tablespace t
union all
select 'settings of ' || coalesce('role ' || quote_ident(r.rolname), 'every role')
       || coalesce(' in database ' || quote_ident(d.datname), ''),
       array_to_string(s.setconfig, ', ')
  from pg_db_role_setting s
  left join pg_roles r on r.oid = s.setrole
  left join pg_database d on d.oid = s.setdatabase
 where (d.datname is null or d.datname not like $1)
   and (r.rolname is null or r.rolname not like $1)";

/// Passwords (as a digest of the stored hash): superusers only.
const PASSWORDS: &str = r"
select 'password of role ' || quote_ident(rolname), md5(coalesce(rolpassword, ''))
  from pg_authid
 where rolname !~ '^pg_' and rolname not like $1";

/// `ALTER SYSTEM` settings: superusers and pg_read_all_settings only.
const SYSTEM: &str = r"
select 'ALTER SYSTEM setting ' || name, setting
  from pg_file_settings
 where sourcefile like '%postgresql.auto.conf' and $1::text is not null";

impl GlobalState {
    /// Reads the server-wide state through `conn`. What the connection's
    /// role may not read (passwords, `ALTER SYSTEM` settings) is left out.
    pub async fn capture(conn: &mut PgConnection) -> Result<GlobalState, ServerError> {
        let ours = format!("{}%", DATABASE_PREFIX.replace('_', "\\_"));
        let mut items: BTreeMap<String, String> = sqlx::query_as::<_, (String, String)>(VISIBLE)
            .bind(&ours)
            .fetch_all(&mut *conn)
            .await
            .map_err(|source| ServerError::Sql {
                what: "reading the server's roles and databases".into(),
                source,
            })?
            .into_iter()
            .collect();
        for restricted in [PASSWORDS, SYSTEM] {
            // Run inside a savepoint-free probe: a permission error only
            // leaves this part out.
            if let Ok(rows) = sqlx::query_as::<_, (String, String)>(restricted)
                .bind(&ours)
                .fetch_all(&mut *conn)
                .await
            {
                items.extend(rows);
            }
        }
        Ok(GlobalState { items })
    }

    /// What changed from `self` to `after`, one line per object, in a
    /// stable order: `created role "x"`, `dropped database "y"`, `changed
    /// password of role "z"`.
    pub fn changes(&self, after: &GlobalState) -> Vec<String> {
        // A new or dropped role's password is part of that role.
        let of_a_whole_role = |key: &str| {
            key.strip_prefix("password of ")
                .is_some_and(|role| self.items.contains_key(role) != after.items.contains_key(role))
        };
        let mut out = Vec::new();
        for (key, detail) in &self.items {
            match after.items.get(key) {
                None if !of_a_whole_role(key) => out.push(format!("dropped {key}")),
                Some(now) if now != detail => out.push(format!("changed {key}")),
                _ => {}
            }
        }
        for key in after.items.keys() {
            if !self.items.contains_key(key) && !of_a_whole_role(key) {
                out.push(format!("created {key}"));
            }
        }
        out
    }

    /// SQL that removes what `after` has and `self` had not, where that is
    /// safe to undo: roles and databases the step created, `ALTER SYSTEM`
    /// settings it made. What it dropped or changed of what was there
    /// cannot be given back, only reported.
    pub fn undo(&self, after: &GlobalState) -> Vec<String> {
        let mut out = Vec::new();
        for (key, value) in &after.items {
            if let Some(setting) = key.strip_prefix("ALTER SYSTEM setting ") {
                match self.items.get(key) {
                    None => out.push(format!("alter system reset {}", quote_ident(setting))),
                    Some(old) if old != value => out.push(format!(
                        "alter system set {} = '{}'",
                        quote_ident(setting),
                        old.replace('\'', "''")
                    )),
                    Some(_) => {}
                }
                continue;
            }
            if self.items.contains_key(key) {
                continue;
            }
            if let Some(role) = key.strip_prefix("role ") {
                out.push(format!("drop role if exists {role}"));
            } else if let Some(db) = key.strip_prefix("database ") {
                out.push(format!("drop database if exists {db} with (force)"));
            }
        }
        // Databases before roles (a role may own a database).
        out.sort_by_key(|sql| !sql.starts_with("drop database"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(items: &[(&str, &str)]) -> GlobalState {
        GlobalState {
            items: items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn changes_and_undo_name_each_object() {
        let before = state(&[
            ("role \"app\"", "login"),
            ("database victim", "owner=postgres"),
            ("ALTER SYSTEM setting work_mem", "4MB"),
        ]);
        let after = state(&[
            ("role \"app\"", "login superuser"),
            ("role reporter", ""),
            ("password of role reporter", "x"),
            ("ALTER SYSTEM setting work_mem", "8MB"),
            ("ALTER SYSTEM setting jit", "off"),
            ("database made", "owner=postgres"),
        ]);
        assert_eq!(
            before.changes(&after),
            [
                "changed ALTER SYSTEM setting work_mem",
                "dropped database victim",
                "changed role \"app\"",
                "created ALTER SYSTEM setting jit",
                "created database made",
                "created role reporter",
            ]
        );
        assert_eq!(
            before.undo(&after),
            [
                "drop database if exists made with (force)",
                "alter system reset \"jit\"",
                "alter system set \"work_mem\" = '4MB'",
                "drop role if exists reporter",
            ]
        );
    }
}
