//! Captures of one database that read, after the first, only the tables
//! and views a change could have touched: what keeps a check walking a
//! long chain from reading its whole schema three times per migration.
//!
//! Every catalog row carries `xmin`, the transaction that wrote it, and a
//! change to an object writes rows of it anew (a rename, a new column, a
//! constraint, a comment, a grant). So a capture remembers where its
//! snapshot ends (the first transaction it does not see) and the next one
//! reads the user's rows written since in the catalogs a table's or view's
//! rendering reads (`pg_class`, columns, defaults, constraints, indexes,
//! triggers, policies, rules, inheritance, partition keys, sequences,
//! comments, its dependencies), mapped to their table or view. What a
//! change only deletes (an index, a constraint, a trigger, a policy, a
//! rule, a default, a comment) shows as a table's or view's count of those
//! going down; a table or view that is new or gone shows in their list.
//!
//! A relation renders other objects' names too (a foreign key's table, a
//! column's type, a default's sequence or function, a trigger's function,
//! a view's tables, an enum label in a check). A relation that depends
//! (`pg_depend`) on a changed relation, sequence, type (with its enum
//! labels) or routine (or on a namesake of a changed routine, whose call
//! may now deparse otherwise) is read again. What is not followed reads
//! everything again: a schema, a role, an extension, an operator, operator
//! class or family, access method, collation, text search object or cast
//! written since. Renaming a built-in object is not followed.
//!
//! The rest of the snapshot (schemas, extensions, types, sequences,
//! routines) is read whole each time: it is small next to the relations.
//! A capture inside an open transaction (one begun through sqlx: its
//! changes may yet roll back) is read whole and not remembered.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlx::postgres::types::Oid;
use sqlx::{Connection, FromRow, PgConnection};

use super::capture::{self, RelationNames};
use super::model::SchemaSnapshot;
use super::SchemaError;

/// What the last [`SchemaTracker::capture`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureRead {
    /// Every object: the first capture, one inside a transaction, or one
    /// after a change the tracker does not follow.
    Whole,
    /// The schema-wide objects, and this many tables and views of all
    /// there are.
    Relations {
        /// Tables and views read again.
        read: usize,
        /// Tables and views in the database.
        of: usize,
    },
}

/// Successive schema captures of one database (see the module's text).
/// Use one per database: what it saw of another means nothing here.
#[derive(Debug, Default)]
pub struct SchemaTracker {
    last: Option<Known>,
    verify: bool,
    read: Option<CaptureRead>,
}

/// What the last capture saw.
#[derive(Debug)]
struct Known {
    snapshot: Arc<SchemaSnapshot>,
    /// The first transaction whose catalog rows it may not have seen.
    since: i64,
    roles: String,
    names: RelationNames,
    members: HashMap<u32, i64>,
}

/// Where the next capture's reading of written rows starts, and the roles.
#[derive(FromRow)]
struct Start {
    since: i64,
    roles: String,
}

/// A catalog row written since the last capture: its object, and the table
/// or view it belongs to.
#[derive(FromRow)]
struct Touched {
    catalog: i64,
    oid: i64,
    rel: Option<i64>,
    /// A schema, extension, operator, collation, ...: not followed.
    global: bool,
}

const PG_CLASS: u32 = 1259;
const PG_TYPE: u32 = 1247;
const PG_PROC: u32 = 1255;

/// Where the next capture's reading of written rows starts: the first
/// transaction this snapshot does not see, or, when another session is
/// connected to the database (its transaction may be running and write
/// later), the oldest transaction still running. And every role by OID.
const START: &str = "\
select (case when exists (select from pg_stat_activity a where a.pid <> pg_backend_pid() \
and a.datid = (select d.oid from pg_database d where d.datname = current_database())) \
then pg_snapshot_xmin(s) else pg_snapshot_xmax(s) end)::text::int8 as since, \
coalesce((select string_agg(oid::text || '=' || rolname, ',' order by oid) from pg_roles), '') as roles \
from pg_current_snapshot() s";

/// User rows written by transaction `$1` or later (`age` counts back from
/// this transaction's start), as (catalog, object, its table or view).
const TOUCHED: &str = "\
with lo as (select age((($1::int8 % 4294967296)::text)::xid) as a), \
touched(catalog, oid) as ( \
select 'pg_class'::regclass::oid, c.oid from pg_class c, lo where c.oid >= 16384 and age(c.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, a.attrelid from pg_attribute a, lo where a.attrelid >= 16384 and age(a.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, q.seqrelid from pg_sequence q, lo where q.seqrelid >= 16384 and age(q.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, d.adrelid from pg_attrdef d, lo where d.adrelid >= 16384 and age(d.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, k.conrelid from pg_constraint k, lo where k.oid >= 16384 and k.conrelid <> 0 and age(k.xmin) <= lo.a \
union select 'pg_type'::regclass::oid, k.contypid from pg_constraint k, lo where k.oid >= 16384 and k.contypid <> 0 and age(k.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, i.indrelid from pg_index i, lo where i.indrelid >= 16384 and age(i.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, t.tgrelid from pg_trigger t, lo where t.tgrelid >= 16384 and not t.tgisinternal and age(t.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, p.polrelid from pg_policy p, lo where p.polrelid >= 16384 and age(p.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, w.ev_class from pg_rewrite w, lo where w.ev_class >= 16384 and age(w.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, h.inhrelid from pg_inherits h, lo where h.inhrelid >= 16384 and age(h.xmin) <= lo.a \
union select 'pg_class'::regclass::oid, pt.partrelid from pg_partitioned_table pt, lo where pt.partrelid >= 16384 and age(pt.xmin) <= lo.a \
union select d.classoid, d.objoid from pg_description d, lo where d.objoid >= 16384 and age(d.xmin) <= lo.a \
union select d.classid, d.objid from pg_depend d, lo where d.classid = 'pg_class'::regclass and d.objid >= 16384 and age(d.xmin) <= lo.a \
union select 'pg_type'::regclass::oid, t.oid from pg_type t, lo where t.oid >= 16384 and age(t.xmin) <= lo.a \
union select 'pg_type'::regclass::oid, e.enumtypid from pg_enum e, lo where e.oid >= 16384 and age(e.xmin) <= lo.a \
union select 'pg_type'::regclass::oid, r.rngtypid from pg_range r, lo where r.rngtypid >= 16384 and age(r.xmin) <= lo.a \
union select 'pg_proc'::regclass::oid, n.oid from pg_proc p, lo, pg_proc n where p.oid >= 16384 and age(p.xmin) <= lo.a \
and n.pronamespace = p.pronamespace and n.proname = p.proname \
union select 'pg_namespace'::regclass::oid, n.oid from pg_namespace n, lo where age(n.xmin) <= lo.a \
union select 'pg_extension'::regclass::oid, e.oid from pg_extension e, lo where age(e.xmin) <= lo.a \
union select 'pg_operator'::regclass::oid, o.oid from pg_operator o, lo where o.oid >= 16384 and age(o.xmin) <= lo.a \
union select 'pg_opclass'::regclass::oid, o.oid from pg_opclass o, lo where o.oid >= 16384 and age(o.xmin) <= lo.a \
union select 'pg_opfamily'::regclass::oid, o.oid from pg_opfamily o, lo where o.oid >= 16384 and age(o.xmin) <= lo.a \
union select 'pg_am'::regclass::oid, o.oid from pg_am o, lo where o.oid >= 16384 and age(o.xmin) <= lo.a \
union select 'pg_collation'::regclass::oid, o.oid from pg_collation o, lo where o.oid >= 16384 and age(o.xmin) <= lo.a \
union select 'pg_ts_config'::regclass::oid, o.oid from pg_ts_config o, lo where o.oid >= 16384 and age(o.xmin) <= lo.a \
union select 'pg_ts_dict'::regclass::oid, o.oid from pg_ts_dict o, lo where o.oid >= 16384 and age(o.xmin) <= lo.a \
union select 'pg_cast'::regclass::oid, o.oid from pg_cast o, lo where o.oid >= 16384 and age(o.xmin) <= lo.a) \
select t.catalog::int8 as catalog, t.oid::int8 as oid, case t.catalog \
when 'pg_class'::regclass then (select case when c.relkind in ('r', 'p', 'v', 'm') then c.oid \
  when c.relkind in ('i', 'I') then (select i.indrelid from pg_index i where i.indexrelid = c.oid) \
  when c.relkind = 'S' then (select d.refobjid from pg_depend d where d.classid = 'pg_class'::regclass \
    and d.objid = c.oid and d.refclassid = 'pg_class'::regclass and d.deptype = 'i' limit 1) end \
  from pg_class c where c.oid = t.oid) \
when 'pg_constraint'::regclass then (select k.conrelid from pg_constraint k where k.oid = t.oid and k.conrelid <> 0) \
when 'pg_trigger'::regclass then (select g.tgrelid from pg_trigger g where g.oid = t.oid) \
when 'pg_policy'::regclass then (select p.polrelid from pg_policy p where p.oid = t.oid) \
when 'pg_rewrite'::regclass then (select w.ev_class from pg_rewrite w where w.oid = t.oid) \
end::int8 as rel, t.catalog in ('pg_namespace'::regclass, 'pg_extension'::regclass, 'pg_operator'::regclass, \
'pg_opclass'::regclass, 'pg_opfamily'::regclass, 'pg_am'::regclass, 'pg_collation'::regclass, \
'pg_ts_config'::regclass, 'pg_ts_dict'::regclass, 'pg_cast'::regclass) as global from touched t";

/// Each table's and view's count of the objects a change may only delete:
/// indexes, constraints, triggers, policies, rules, defaults, parents,
/// comments (its own, its columns', indexes', constraints', triggers' and
/// policies').
const MEMBERS: &str = "\
select rel::int8 as oid, count(*)::int8 as members from ( \
select indrelid as rel from pg_index where indrelid >= 16384 \
union all select conrelid from pg_constraint where conrelid >= 16384 \
union all select tgrelid from pg_trigger where tgrelid >= 16384 and not tgisinternal \
union all select polrelid from pg_policy where polrelid >= 16384 \
union all select ev_class from pg_rewrite where ev_class >= 16384 \
union all select adrelid from pg_attrdef where adrelid >= 16384 \
union all select inhrelid from pg_inherits where inhrelid >= 16384 \
union all select coalesce(i.indrelid, k.conrelid, t.tgrelid, p.polrelid, d.objoid) from pg_description d \
left join pg_index i on d.classoid = 'pg_class'::regclass and i.indexrelid = d.objoid \
left join pg_constraint k on d.classoid = 'pg_constraint'::regclass and k.oid = d.objoid \
left join pg_trigger t on d.classoid = 'pg_trigger'::regclass and t.oid = d.objoid \
left join pg_policy p on d.classoid = 'pg_policy'::regclass and p.oid = d.objoid \
where d.objoid >= 16384) m group by rel";

/// The tables and views with a dependency (of theirs, or of a column's,
/// default's, constraint's, index's, trigger's, policy's or rule's) on one
/// of the objects given as catalog and OID arrays.
const DEPENDENTS: &str = "\
select distinct r.rel::int8 as oid from pg_depend d \
cross join lateral (select case d.classid \
  when 'pg_class'::regclass then coalesce((select i.indrelid from pg_index i where i.indexrelid = d.objid), d.objid) \
  when 'pg_attrdef'::regclass then (select a.adrelid from pg_attrdef a where a.oid = d.objid) \
  when 'pg_constraint'::regclass then (select k.conrelid from pg_constraint k where k.oid = d.objid) \
  when 'pg_trigger'::regclass then (select t.tgrelid from pg_trigger t where t.oid = d.objid) \
  when 'pg_policy'::regclass then (select p.polrelid from pg_policy p where p.oid = d.objid) \
  when 'pg_rewrite'::regclass then (select w.ev_class from pg_rewrite w where w.oid = d.objid) \
  end as rel) r \
where (d.refclassid, d.refobjid) in (select * from unnest($1::oid[], $2::oid[])) and r.rel is not null";

impl SchemaTracker {
    /// A tracker with nothing seen yet: its first capture reads everything.
    pub fn new() -> SchemaTracker {
        SchemaTracker::default()
    }

    /// A tracker that also reads everything after each partial read and
    /// fails the capture when the two differ: for testing what it reads
    /// (`PGHARNESS_VERIFY_CAPTURE=1` turns it on for the harness's own
    /// trackers).
    pub fn verifying() -> SchemaTracker {
        SchemaTracker {
            verify: true,
            ..SchemaTracker::default()
        }
    }

    /// A tracker as the environment asks: verifying when
    /// `PGHARNESS_VERIFY_CAPTURE` is `1`.
    pub fn from_env() -> SchemaTracker {
        if std::env::var("PGHARNESS_VERIFY_CAPTURE").is_ok_and(|v| v == "1") {
            SchemaTracker::verifying()
        } else {
            SchemaTracker::new()
        }
    }

    /// What the last capture read (`None` before the first).
    pub fn last_read(&self) -> Option<CaptureRead> {
        self.read
    }

    /// Reads the schema of the database `conn` is connected to: the same
    /// snapshot as [`SchemaSnapshot::capture`], reading again only what
    /// may have changed since this tracker's last capture.
    pub async fn capture(
        &mut self,
        conn: &mut PgConnection,
    ) -> Result<Arc<SchemaSnapshot>, SchemaError> {
        if conn.is_in_transaction() {
            self.last = None;
            self.read = Some(CaptureRead::Whole);
            return Ok(Arc::new(capture::capture(conn).await?));
        }
        let last = self.last.take();
        let verify = self.verify;
        let mut tx = capture::read_only(conn).await?;
        let result = read(&mut tx, last, verify).await;
        capture::end_read_only(tx).await?;
        let (known, read) = result?;
        let snapshot = known.snapshot.clone();
        self.last = Some(known);
        self.read = Some(read);
        Ok(snapshot)
    }
}

/// The capture itself, inside its read-only transaction.
async fn read(
    conn: &mut PgConnection,
    last: Option<Known>,
    verify: bool,
) -> Result<(Known, CaptureRead), SchemaError> {
    let start: Start = capture::fetch(conn, "the snapshot's start (pg_current_snapshot)", START)
        .await?
        .pop()
        .ok_or(SchemaError::Unexpected {
            what: "snapshot start",
            value: "no row".to_string(),
        })?;
    let relations: Vec<(i64,)> =
        capture::fetch(conn, "tables and views (pg_class)", capture::RELATION_OIDS).await?;
    let members: Vec<(i64, i64)> = capture::fetch(
        conn,
        "what tables and views hold (pg_index, pg_constraint, ...)",
        MEMBERS,
    )
    .await?;
    let relations: HashSet<u32> = relations.into_iter().map(|(oid,)| oid as u32).collect();
    let members: HashMap<u32, i64> = members
        .into_iter()
        .map(|(oid, n)| (oid as u32, n))
        .collect();

    let changed = match &last {
        Some(last) if last.roles == start.roles => {
            changed_relations(conn, last, &relations, &members).await?
        }
        _ => None,
    };
    // Reading most relations one by one costs more than all at once.
    let partial = changed
        .filter(|changed| changed.len() * 2 <= relations.len().max(1))
        .zip(last.as_ref());
    let (snapshot, names, read) = match partial {
        None => {
            tracing::debug!(
                first = last.is_none(),
                relations = relations.len(),
                "schema capture: whole"
            );
            let (snapshot, names) = capture::read_whole(conn).await?;
            (snapshot, names, CaptureRead::Whole)
        }
        Some((changed, last)) => {
            let mut snapshot = capture::read_schema_wide(conn).await?;
            let oids: Vec<Oid> = changed.iter().map(|&o| Oid(o)).collect();
            let mut names = capture::read_relations(conn, &mut snapshot, Some(oids)).await?;
            for (&oid, (name, view)) in &last.names {
                if changed.contains(&oid) || !relations.contains(&oid) {
                    continue;
                }
                let kept = if *view {
                    last.snapshot.views.get(name).map(|v| {
                        snapshot.views.insert(name.clone(), v.clone());
                    })
                } else {
                    last.snapshot.tables.get(name).map(|t| {
                        snapshot.tables.insert(name.clone(), t.clone());
                    })
                };
                if kept.is_none() {
                    return Err(SchemaError::Unexpected {
                        what: "relation missing from the last capture",
                        value: name.to_string(),
                    });
                }
                names.insert(oid, (name.clone(), *view));
            }
            let read = CaptureRead::Relations {
                read: changed.len(),
                of: relations.len(),
            };
            tracing::debug!(
                read = changed.len(),
                of = relations.len(),
                "schema capture: partial"
            );
            if verify {
                let (whole, _) = capture::read_whole(conn).await?;
                let (partial_text, whole_text) = (snapshot.render(), whole.render());
                if partial_text != whole_text {
                    let diff = super::unified_diff(&whole_text, &partial_text, "whole", "partial");
                    return Err(SchemaError::Unexpected {
                        what: "partial capture that differs from a whole one",
                        value: diff,
                    });
                }
            }
            (snapshot, names, read)
        }
    };
    Ok((
        Known {
            snapshot: Arc::new(snapshot),
            since: start.since,
            roles: start.roles,
            names,
            members,
        },
        read,
    ))
}

/// The relations to read again (`None`: read everything): those new, with
/// a row written since the last capture or fewer members than then, and
/// those depending on one of those, or on a sequence, type or routine
/// written since.
async fn changed_relations(
    conn: &mut PgConnection,
    last: &Known,
    relations: &HashSet<u32>,
    members: &HashMap<u32, i64>,
) -> Result<Option<HashSet<u32>>, SchemaError> {
    let touched: Vec<Touched> = capture::fetch_since(
        conn,
        "catalog rows written since the last capture",
        TOUCHED,
        last.since,
    )
    .await?;
    let mut changed: HashSet<u32> = relations
        .iter()
        .filter(|oid| {
            !last.names.contains_key(oid)
                || last.members.get(oid).copied().unwrap_or(0)
                    != members.get(oid).copied().unwrap_or(0)
        })
        .copied()
        .collect();
    let mut referenced: Vec<(u32, u32)> = Vec::new();
    for t in &touched {
        if t.global {
            tracing::debug!(
                catalog = t.catalog,
                oid = t.oid,
                "schema capture: not followed"
            );
            return Ok(None);
        }
        let (catalog, oid) = (t.catalog as u32, t.oid as u32);
        if matches!(catalog, PG_CLASS | PG_TYPE | PG_PROC) {
            referenced.push((catalog, oid));
        }
        // A comment on a trigger, policy, rule or constraint names it by
        // its own OID: `rel` is its relation.
        if let Some(rel) = t.rel {
            changed.insert(rel as u32);
            referenced.push((PG_CLASS, rel as u32));
        }
    }
    if referenced.is_empty() {
        return Ok(Some(changed));
    }
    referenced.sort_unstable();
    referenced.dedup();
    let (catalogs, oids): (Vec<Oid>, Vec<Oid>) = referenced
        .into_iter()
        .map(|(c, o)| (Oid(c), Oid(o)))
        .unzip();
    let dependents: Vec<(i64,)> =
        capture::fetch_dependents(conn, DEPENDENTS, catalogs, oids).await?;
    changed.extend(dependents.into_iter().map(|(oid,)| oid as u32));
    changed.retain(|oid| relations.contains(oid));
    Ok(Some(changed))
}
