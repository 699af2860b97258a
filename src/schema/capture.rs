//! Reading a [`SchemaSnapshot`] from the system catalogs: one set-based
//! query per kind of object, assembled into the typed model in Rust.
//!
//! The queries run in one read-only transaction (repeatable read when the
//! connection is not already in a transaction, so every query sees the same
//! catalog), with session settings pinned so that the server's deparsed
//! text does not depend on the caller's session: `search_path` is
//! `pg_catalog`, so every user object comes out schema-qualified, and the
//! date, time zone and number formats that constants print with are fixed.
//! The transaction is rolled back, which also restores the settings.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;

use serde::Deserialize;
use sqlx::postgres::types::Oid;
use sqlx::types::Json;
use sqlx::{Connection, Executor, FromRow, PgConnection, Postgres, Transaction};

use super::model::*;
use super::sql_text::lowercase_keywords;
use super::SchemaError;

/// Settings that change how the server deparses expressions and constants;
/// and the plan of a query with arguments (one table's columns, the rows
/// written since a transaction) made once per connection, not per capture,
/// and never compiled (JIT took 130 ms of a 6 ms query).
const SESSION_SETTINGS: &str = "\
set local search_path = pg_catalog;
set local quote_all_identifiers = off;
set local standard_conforming_strings = on;
set local datestyle = 'ISO, YMD';
set local intervalstyle = 'postgres';
set local timezone = 'UTC';
set local extra_float_digits = 1;
set local bytea_output = 'hex';
set local lc_monetary = 'C';
set local plan_cache_mode = force_generic_plan;
set local jit = off;
";

/// The schemas whose objects are a migration's: not the system's, not a
/// session's temporary schema, not the harness's bookkeeping.
macro_rules! user_namespace {
    () => {
        "n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'pgharness') \
         and n.nspname !~ '^pg_(toast_)?temp_'"
    };
}

/// Objects created by `CREATE EXTENSION` are represented by the extension.
macro_rules! not_extension_member {
    ($catalog:literal, $oid:literal) => {
        concat!(
            "not exists (select from pg_depend x where x.classid = '",
            $catalog,
            "'::regclass and x.objid = ",
            $oid,
            " and x.deptype = 'e')"
        )
    };
}

/// A collation as SQL: bare for `pg_catalog` collations, qualified otherwise.
macro_rules! collation_name {
    ($oid:literal) => {
        concat!(
            "(select case when cn.nspname = 'pg_catalog' then quote_ident(co.collname) \
             else quote_ident(cn.nspname) || '.' || quote_ident(co.collname) end \
             from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace \
             where co.oid = ",
            $oid,
            ")"
        )
    };
}

/// The names of the columns numbered in the array `$attnums` of relation
/// `$rel`, in the array's order; a number no column has (an expression's
/// 0) is left out. A lookup per number: joining the array to the
/// relation's columns cost a hash and a sort per row.
macro_rules! column_names {
    ($attnums:literal, $rel:literal) => {
        concat!(
            "array(select x.name from (select (select a.attname::text from pg_attribute a ",
            "where a.attrelid = ",
            $rel,
            " and a.attnum = k.num) as name, k.ord from unnest(",
            $attnums,
            ") with ordinality k(num, ord)) x where x.name is not null order by x.ord)"
        )
    };
}

/// An object's comment: `obj_description($oid, '$catalog')` with `$subid`
/// `0`, `col_description($oid, $subid)` with `pg_class` and a column
/// number. A subquery: the same row (`pg_description` is unique on object,
/// catalog and sub-id), without a SQL function's executor started per
/// object.
macro_rules! description {
    ($oid:literal, $catalog:literal, $subid:literal) => {
        concat!(
            "(select pd.description from pg_description pd where pd.objoid = ",
            $oid,
            " and pd.classoid = 'pg_catalog.",
            $catalog,
            "'::regclass and pd.objsubid = ",
            $subid,
            ")"
        )
    };
}

/// The privileges of an object that differ from `$baseline` (what a fresh
/// object has), as a JSON array of [`AclRow`]. A null `$acl` means the
/// built-in default `$default`. The owner is flagged, never named.
macro_rules! privileges {
    ($acl:literal, $default:literal, $baseline:literal, $owner:literal) => {
        concat!(
            // A null ACL whose default is the baseline differs from it in
            // nothing: most objects and nearly every column, spared the
            // set differences below.
            "case when ",
            $acl,
            " is null and (",
            $default,
            ") = (",
            $baseline,
            ") then '[]'::json else ",
            "(select coalesce(json_agg(json_build_object(",
            "'revoke', a.is_revoke, 'public', a.grantee = 0, 'owner', a.grantee = ",
            $owner,
            ", 'role', gr.rolname, 'grantor', case when a.grantor <> ",
            $owner,
            " then go.rolname end, 'privilege', a.privilege_type, 'grantable', a.is_grantable)), '[]'::json) ",
            "from ((select false as is_revoke, e.* from aclexplode(coalesce(",
            $acl,
            ", ",
            $default,
            ")) e except select false, e.* from aclexplode(",
            $baseline,
            ") e) union all (select true, e.* from aclexplode(",
            $baseline,
            ") e except select true, e.* from aclexplode(coalesce(",
            $acl,
            ", ",
            $default,
            ")) e)) a ",
            "left join pg_roles gr on gr.oid = a.grantee left join pg_roles go on go.oid = a.grantor) end"
        )
    };
}

/// A fresh database's `public` schema grants `USAGE` to `PUBLIC` (and
/// `CREATE` too before PostgreSQL 15): that is not a migration's doing.
const SCHEMAS: &str = concat!(
    "select n.nspname as name, ",
    description!("n.oid", "pg_namespace", "0"),
    " as comment, ",
    privileges!(
        "n.nspacl",
        "acldefault('n', n.nspowner)",
        "case when n.nspname <> 'public' then acldefault('n', n.nspowner) \
         when current_setting('server_version_num')::int >= 150000 \
         then acldefault('n', n.nspowner) || makeaclitem(0, n.nspowner, 'USAGE', false) \
         else acldefault('n', n.nspowner) || makeaclitem(0, n.nspowner, 'USAGE', false) \
         || makeaclitem(0, n.nspowner, 'CREATE', false) end",
        "n.nspowner"
    ),
    " as privileges from pg_namespace n where ",
    user_namespace!(),
    " and ",
    not_extension_member!("pg_namespace", "n.oid")
);

/// `plpgsql` is in every database. An extension's comment comes from its
/// control file unless someone changed it.
const EXTENSIONS: &str = concat!(
    "select e.extname::text as name, e.extversion as version, n.nspname::text as schema, nullif(",
    description!("e.oid", "pg_extension", "0"),
    ", (select a.comment from pg_available_extensions a where a.name = e.extname)) as comment ",
    "from pg_extension e join pg_namespace n on n.oid = e.extnamespace ",
    "where e.extname <> 'plpgsql' and n.nspname <> 'pgharness'"
);

const TYPES: &str = concat!(
    "select t.oid::int8 as oid, n.nspname::text as schema, t.typname::text as name, t.typtype::text as typtype, ",
    "array(select l.enumlabel::text from pg_enum l where l.enumtypid = t.oid order by l.enumsortorder) as labels, ",
    "case when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end as base_type, ",
    "case when t.typtype = 'd' and t.typcollation <> coalesce(bt.typcollation, 0) then ",
    collation_name!("t.typcollation"),
    " end as collation, ",
    "t.typnotnull as not_null, pg_get_expr(t.typdefaultbin, 0, true) as default_expr, ",
    "case when t.typtype = 'r' then format_type(r.rngsubtype, null) end as subtype, ",
    description!("t.oid", "pg_type", "0"),
    " as comment, ",
    privileges!(
        "t.typacl",
        "acldefault('T', t.typowner)",
        "acldefault('T', t.typowner)",
        "t.typowner"
    ),
    " as privileges from pg_type t join pg_namespace n on n.oid = t.typnamespace ",
    "left join pg_type bt on bt.oid = t.typbasetype ",
    "left join pg_class c on c.oid = t.typrelid ",
    "left join pg_range r on r.rngtypid = t.oid ",
    "where (t.typtype in ('e', 'd', 'r') or (t.typtype = 'c' and c.relkind = 'c')) and ",
    user_namespace!(),
    " and ",
    not_extension_member!("pg_type", "t.oid")
);

/// Domain `NOT NULL` is read from `pg_type.typnotnull`; newer servers also
/// list it here as contype `n`, which is why only `c` is read.
const DOMAIN_CONSTRAINTS: &str = concat!(
    "select con.contypid::int8 as type_oid, con.conname::text as name, ",
    "pg_get_constraintdef(con.oid, true) as definition, ",
    description!("con.oid", "pg_constraint", "0"),
    " as comment from pg_constraint con where con.contypid <> 0 and con.contype = 'c'"
);

const COMPOSITE_ATTRIBUTES: &str = concat!(
    "select t.oid::int8 as type_oid, a.attname::text as name, format_type(a.atttypid, a.atttypmod) as data_type, ",
    "case when a.attcollation <> at.typcollation then ",
    collation_name!("a.attcollation"),
    " end as collation, ",
    description!("a.attrelid", "pg_class", "a.attnum"),
    " as comment ",
    "from pg_type t join pg_namespace n on n.oid = t.typnamespace ",
    "join pg_class c on c.oid = t.typrelid and c.relkind = 'c' ",
    "join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped ",
    "join pg_type at on at.oid = a.atttypid where ",
    user_namespace!(),
    " order by t.oid, a.attnum"
);

/// Identity sequences (dependency type `i`) are part of their column.
const SEQUENCES: &str = concat!(
    "select n.nspname::text as schema, c.relname::text as name, format_type(s.seqtypid, null) as data_type, ",
    "s.seqstart as start, s.seqincrement as increment, s.seqmin as min, s.seqmax as max, ",
    "s.seqcache as cache, s.seqcycle as cycle, ",
    "o.owner_schema, o.owner_table, o.owner_column, ",
    description!("c.oid", "pg_class", "0"),
    " as comment, ",
    privileges!(
        "c.relacl",
        "acldefault('s', c.relowner)",
        "acldefault('s', c.relowner)",
        "c.relowner"
    ),
    " as privileges from pg_class c join pg_namespace n on n.oid = c.relnamespace ",
    "join pg_sequence s on s.seqrelid = c.oid ",
    "left join lateral (select tn.nspname::text as owner_schema, tc.relname::text as owner_table, ",
    "a.attname::text as owner_column from pg_depend d join pg_class tc on tc.oid = d.refobjid ",
    "join pg_namespace tn on tn.oid = tc.relnamespace ",
    "join pg_attribute a on a.attrelid = tc.oid and a.attnum = d.refobjsubid ",
    "where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass ",
    "and d.deptype = 'a' and d.refobjsubid > 0 order by 1, 2, 3 limit 1) o on true ",
    "where c.relkind = 'S' and ",
    user_namespace!(),
    " and ",
    not_extension_member!("pg_class", "c.oid"),
    " and not exists (select from pg_depend d where d.classid = 'pg_class'::regclass ",
    "and d.objid = c.oid and d.deptype = 'i')"
);

/// The OIDs of the tables and views [`RELATIONS`] reads.
pub(super) const RELATION_OIDS: &str = concat!(
    "select c.oid::int8 from pg_class c join pg_namespace n on n.oid = c.relnamespace ",
    "where c.relkind in ('r', 'p', 'v', 'm') and ",
    user_namespace!(),
    " and ",
    not_extension_member!("pg_class", "c.oid")
);

/// Tables (`r`, `p`), views (`v`) and materialized views (`m`).
macro_rules! relations_sql {
    () => {
        concat!(
            "select c.oid::int8 as oid, n.nspname::text as schema, c.relname::text as name, ",
            "c.relkind::text as relkind, c.relpersistence::text as persistence, c.relispartition as is_partition, ",
            "case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as partition_key, ",
            "case when c.relispartition then pg_get_expr(c.relpartbound, c.oid, true) end as partition_bound, ",
            "coalesce((select json_agg(json_build_array(pn.nspname, pc.relname) order by i.inhseqno) ",
            "from pg_inherits i join pg_class pc on pc.oid = i.inhparent ",
            "join pg_namespace pn on pn.oid = pc.relnamespace where i.inhrelid = c.oid), '[]'::json) as parents, ",
            "coalesce(c.reloptions, '{}')::text[] as options, ",
            "c.relrowsecurity as row_security, c.relforcerowsecurity as force_row_security, ",
            "case when c.reloftype <> 0 then format_type(c.reloftype, null) end as of_type, ",
            "c.relreplident::text as replica_identity, ",
            "(select ri.relname::text from pg_index i join pg_class ri on ri.oid = i.indexrelid ",
            "where i.indrelid = c.oid and i.indisreplident) as replica_identity_index, ",
            "case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid, true) end as view_definition, ",
            description!("c.oid", "pg_class", "0"),
            " as comment, ",
            privileges!(
                "c.relacl",
                "acldefault('r', c.relowner)",
                "acldefault('r', c.relowner)",
                "c.relowner"
            ),
            " as privileges from pg_class c join pg_namespace n on n.oid = c.relnamespace ",
            "where c.relkind in ('r', 'p', 'v', 'm') and ",
            user_namespace!(),
            " and ",
            not_extension_member!("pg_class", "c.oid")
        )
    };
}
const RELATIONS: &str = relations_sql!();
/// [`RELATIONS`] of the relations whose OIDs are `$1`.
const RELATIONS_OF: &str = concat!(relations_sql!(), " and c.oid = any($1)");

macro_rules! columns_sql {
    () => {
        concat!(
            "select a.attrelid::int8 as rel, a.attname::text as name, format_type(a.atttypid, a.atttypmod) as data_type, ",
            "case when a.attcollation <> t.typcollation then ",
            collation_name!("a.attcollation"),
            " end as collation, ",
            "a.attnotnull as not_null, a.attidentity::text as identity, a.attgenerated::text as generated, ",
            "pg_get_expr(ad.adbin, ad.adrelid, true) as default_expr, ",
            "s.seq_schema, s.seq_name, s.seq_type, s.seq_start, s.seq_increment, s.seq_min, s.seq_max, ",
            "s.seq_cache, s.seq_cycle, ",
            description!("a.attrelid", "pg_class", "a.attnum"),
            " as comment, ",
            privileges!(
                "a.attacl",
                "acldefault('c', c.relowner)",
                "acldefault('c', c.relowner)",
                "c.relowner"
            ),
            " as privileges from pg_attribute a join pg_class c on c.oid = a.attrelid ",
            "join pg_namespace n on n.oid = c.relnamespace join pg_type t on t.oid = a.atttypid ",
            "left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum ",
            "left join lateral (select sn.nspname::text as seq_schema, sc.relname::text as seq_name, ",
            "format_type(q.seqtypid, null) as seq_type, q.seqstart as seq_start, q.seqincrement as seq_increment, ",
            "q.seqmin as seq_min, q.seqmax as seq_max, q.seqcache as seq_cache, q.seqcycle as seq_cycle ",
            "from pg_depend d join pg_class sc on sc.oid = d.objid ",
            "join pg_namespace sn on sn.oid = sc.relnamespace ",
            // A lookup by the sequence's oid, not a hash of every sequence built
            // per identity column.
            "cross join lateral (select * from pg_sequence q where q.seqrelid = sc.oid offset 0) q ",
            "where a.attidentity <> '' and d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass ",
            "and d.refobjid = a.attrelid and d.refobjsubid = a.attnum and d.deptype = 'i' limit 1) s on true ",
            "where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm') and ",
            user_namespace!(),
            " and ",
            not_extension_member!("pg_class", "c.oid")
        )
    };
}
const COLUMNS: &str = concat!(columns_sql!(), " order by a.attrelid, a.attnum");
/// [`COLUMNS`] of the relations whose OIDs are `$1`.
const COLUMNS_OF: &str = concat!(
    columns_sql!(),
    " and c.oid = any($1) order by a.attrelid, a.attnum"
);

/// Constraints a partition or an inheritance child gets from its parent
/// (`conparentid`, `not conislocal`) are the parent's, shown there once.
/// Not-null constraints (contype `n` on PostgreSQL 18) are column facts.
macro_rules! constraints_sql {
    () => {
        concat!(
            "select con.conrelid::int8 as rel, con.conname::text as name, con.contype::text as contype, ",
            "pg_get_constraintdef(con.oid, true) as definition, ",
            "con.condeferrable as deferrable, con.condeferred as initially_deferred, ",
            column_names!("con.conkey", "con.conrelid"),
            " as columns, ",
            "fn.nspname::text as ref_schema, fc.relname::text as ref_table, ",
            column_names!("con.confkey", "con.confrelid"),
            " as ref_columns, ",
            "con.confupdtype::text as on_update, con.confdeltype::text as on_delete, ",
            "con.confmatchtype::text as match_type, ",
            description!("con.oid", "pg_constraint", "0"),
            " as comment ",
            "from pg_constraint con join pg_class c on c.oid = con.conrelid ",
            "join pg_namespace n on n.oid = c.relnamespace ",
            "left join pg_class fc on fc.oid = con.confrelid left join pg_namespace fn on fn.oid = fc.relnamespace ",
            "where con.contype in ('p', 'u', 'f', 'c', 'x') and con.conparentid = 0 and con.conislocal and ",
            user_namespace!(),
            " and ",
            not_extension_member!("pg_class", "c.oid")
        )
    };
}
const CONSTRAINTS: &str = constraints_sql!();
/// [`CONSTRAINTS`] of the relations whose OIDs are `$1`.
const CONSTRAINTS_OF: &str = concat!(constraints_sql!(), " and c.oid = any($1)");

/// Indexes behind a primary key, unique or exclusion constraint are the
/// constraint's, shown there.
macro_rules! indexes_sql {
    () => {
        concat!(
            "select i.indrelid::int8 as rel, ic.relname::text as name, ",
            "pg_get_indexdef(i.indexrelid, 0, true) as definition, ",
            "i.indisunique as is_unique, i.indisvalid as valid, am.amname::text as method, ",
            "quote_ident(ic.relname) as quoted_name, quote_ident(c.relname) as quoted_table, ",
            "quote_ident(n.nspname) as quoted_schema, ",
            "array(select pg_get_indexdef(i.indexrelid, k, true) from generate_series(1, i.indnkeyatts::int) k order by k) as key_columns, ",
            "array(select pg_get_indexdef(i.indexrelid, k, true) ",
            "from generate_series(i.indnkeyatts::int + 1, i.indnatts::int) k order by k) as include_columns, ",
            "pg_get_expr(i.indpred, i.indrelid, true) as predicate, ",
            description!("i.indexrelid", "pg_class", "0"),
            " as comment ",
            "from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid ",
            "join pg_namespace n on n.oid = c.relnamespace join pg_am am on am.oid = ic.relam ",
            "where c.relkind in ('r', 'p', 'm') and ",
            user_namespace!(),
            " and ",
            not_extension_member!("pg_class", "c.oid"),
            " and not exists (select from pg_constraint k where k.conindid = i.indexrelid ",
            "and k.conrelid = i.indrelid and k.contype in ('p', 'u', 'x'))"
        )
    };
}
const INDEXES: &str = indexes_sql!();
/// [`INDEXES`] of the relations whose OIDs are `$1`.
const INDEXES_OF: &str = concat!(indexes_sql!(), " and c.oid = any($1)");

/// Internal triggers implement foreign keys and deferred uniqueness, and
/// clones (`tgparentid`) are a partitioned table's trigger, shown there.
macro_rules! triggers_sql {
    () => {
        concat!(
            "select t.tgrelid::int8 as rel, t.tgname::text as name, pg_get_triggerdef(t.oid, true) as definition, ",
            "t.tgenabled::text as enabled, t.tgtype::int4 as tgtype, t.tgconstraint <> 0 as is_constraint, ",
            "fn.nspname::text as function_schema, f.proname::text as function_name, ",
            column_names!("t.tgattr::int2[]", "t.tgrelid"),
            " as columns, ",
            "quote_ident(t.tgname) as quoted_name, quote_ident(c.relname) as quoted_table, ",
            "quote_ident(n.nspname) as quoted_schema, ",
            description!("t.oid", "pg_trigger", "0"),
            " as comment ",
            "from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace ",
            "join pg_proc f on f.oid = t.tgfoid join pg_namespace fn on fn.oid = f.pronamespace ",
            "where not t.tgisinternal and t.tgparentid = 0 and c.relkind in ('r', 'p', 'v', 'm') and ",
            user_namespace!(),
            " and ",
            not_extension_member!("pg_class", "c.oid")
        )
    };
}
const TRIGGERS: &str = triggers_sql!();
/// [`TRIGGERS`] of the relations whose OIDs are `$1`.
const TRIGGERS_OF: &str = concat!(triggers_sql!(), " and c.oid = any($1)");

macro_rules! policies_sql {
    () => {
        concat!(
            "select p.polrelid::int8 as rel, p.polname::text as name, p.polcmd::text as command, ",
            "p.polpermissive as permissive, ",
            "(select json_agg(json_build_object('public', r.role_oid = 0, 'owner', r.role_oid = c.relowner, ",
            "'role', ro.rolname)) from unnest(p.polroles) r(role_oid) left join pg_roles ro on ro.oid = r.role_oid) as roles, ",
            "pg_get_expr(p.polqual, p.polrelid, true) as using_expr, ",
            "pg_get_expr(p.polwithcheck, p.polrelid, true) as check_expr, ",
            description!("p.oid", "pg_policy", "0"),
            " as comment ",
            "from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace ",
            "where ",
            user_namespace!(),
            " and ",
            not_extension_member!("pg_class", "c.oid")
        )
    };
}
const POLICIES: &str = policies_sql!();
/// [`POLICIES`] of the relations whose OIDs are `$1`.
const POLICIES_OF: &str = concat!(policies_sql!(), " and c.oid = any($1)");

/// SQL-standard bodies (`BEGIN ATOMIC`, PostgreSQL 14+) have no `prosrc`;
/// the server deparses them from `prosqlbody`. Functions that are an
/// internal part of another object (a range type's constructors) are that
/// object's.
const ROUTINES: &str = concat!(
    "select n.nspname::text as schema, p.proname::text as name, p.prokind::text as kind, ",
    "pg_get_function_identity_arguments(p.oid) as identity_arguments, ",
    "pg_get_function_arguments(p.oid) as arguments, pg_get_function_result(p.oid) as result, ",
    "l.lanname::text as language, p.provolatile::text as volatility, p.proisstrict as strict, ",
    "p.prosecdef as security_definer, p.proleakproof as leakproof, p.proparallel::text as parallel, ",
    "p.procost::numeric::text as cost, p.prorows::numeric::text as row_estimate, ",
    "coalesce(p.proconfig, '{}') as config, ",
    "p.prosqlbody is not null as sql_body, ",
    "case when p.prosqlbody is not null then pg_get_function_sqlbody(p.oid) else p.prosrc end as body, ",
    "case when l.lanname = 'c' then p.probin end as library, ",
    description!("p.oid", "pg_proc", "0"),
    " as comment, ",
    privileges!(
        "p.proacl",
        "acldefault('f', p.proowner)",
        "acldefault('f', p.proowner)",
        "p.proowner"
    ),
    " as privileges from pg_proc p join pg_namespace n on n.oid = p.pronamespace ",
    "join pg_language l on l.oid = p.prolang where p.prokind in ('f', 'p') and ",
    user_namespace!(),
    " and ",
    not_extension_member!("pg_proc", "p.oid"),
    " and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass ",
    "and d.objid = p.oid and d.deptype = 'i')"
);

/// One element of the JSON the `privileges!` fragment builds.
#[derive(Debug, Deserialize)]
struct AclRow {
    revoke: bool,
    public: bool,
    owner: bool,
    role: Option<String>,
    grantor: Option<String>,
    privilege: String,
    grantable: bool,
}

/// A role as the `polroles` JSON names it.
#[derive(Debug, Deserialize)]
struct RoleRow {
    public: bool,
    owner: bool,
    role: Option<String>,
}

#[derive(FromRow)]
struct SchemaRow {
    name: String,
    comment: Option<String>,
    privileges: Json<Vec<AclRow>>,
}

#[derive(FromRow)]
struct ExtensionRow {
    name: String,
    version: String,
    schema: String,
    comment: Option<String>,
}

#[derive(FromRow)]
struct TypeRow {
    oid: i64,
    schema: String,
    name: String,
    typtype: String,
    labels: Vec<String>,
    base_type: Option<String>,
    collation: Option<String>,
    not_null: bool,
    default_expr: Option<String>,
    subtype: Option<String>,
    comment: Option<String>,
    privileges: Json<Vec<AclRow>>,
}

#[derive(FromRow)]
struct DomainConstraintRow {
    type_oid: i64,
    name: String,
    definition: String,
    comment: Option<String>,
}

#[derive(FromRow)]
struct AttributeRow {
    type_oid: i64,
    name: String,
    data_type: String,
    collation: Option<String>,
    comment: Option<String>,
}

#[derive(FromRow)]
struct SequenceRow {
    schema: String,
    name: String,
    data_type: String,
    start: i64,
    increment: i64,
    min: i64,
    max: i64,
    cache: i64,
    cycle: bool,
    owner_schema: Option<String>,
    owner_table: Option<String>,
    owner_column: Option<String>,
    comment: Option<String>,
    privileges: Json<Vec<AclRow>>,
}

#[derive(FromRow)]
struct RelationRow {
    oid: i64,
    schema: String,
    name: String,
    relkind: String,
    persistence: String,
    is_partition: bool,
    partition_key: Option<String>,
    partition_bound: Option<String>,
    parents: Json<Vec<(String, String)>>,
    options: Vec<String>,
    row_security: bool,
    force_row_security: bool,
    of_type: Option<String>,
    replica_identity: String,
    replica_identity_index: Option<String>,
    view_definition: Option<String>,
    comment: Option<String>,
    privileges: Json<Vec<AclRow>>,
}

#[derive(FromRow)]
struct ColumnRow {
    rel: i64,
    name: String,
    data_type: String,
    collation: Option<String>,
    not_null: bool,
    identity: String,
    generated: String,
    default_expr: Option<String>,
    seq_schema: Option<String>,
    seq_name: Option<String>,
    seq_type: Option<String>,
    seq_start: Option<i64>,
    seq_increment: Option<i64>,
    seq_min: Option<i64>,
    seq_max: Option<i64>,
    seq_cache: Option<i64>,
    seq_cycle: Option<bool>,
    comment: Option<String>,
    privileges: Json<Vec<AclRow>>,
}

#[derive(FromRow)]
struct ConstraintRow {
    rel: i64,
    name: String,
    contype: String,
    definition: String,
    deferrable: bool,
    initially_deferred: bool,
    columns: Vec<String>,
    ref_schema: Option<String>,
    ref_table: Option<String>,
    ref_columns: Vec<String>,
    on_update: String,
    on_delete: String,
    match_type: String,
    comment: Option<String>,
}

#[derive(FromRow)]
struct IndexRow {
    rel: i64,
    name: String,
    definition: String,
    is_unique: bool,
    valid: bool,
    method: String,
    quoted_name: String,
    quoted_table: String,
    quoted_schema: String,
    key_columns: Vec<String>,
    include_columns: Vec<String>,
    predicate: Option<String>,
    comment: Option<String>,
}

#[derive(FromRow)]
struct TriggerRow {
    rel: i64,
    name: String,
    definition: String,
    enabled: String,
    tgtype: i32,
    is_constraint: bool,
    function_schema: String,
    function_name: String,
    columns: Vec<String>,
    quoted_name: String,
    quoted_table: String,
    quoted_schema: String,
    comment: Option<String>,
}

#[derive(FromRow)]
struct PolicyRow {
    rel: i64,
    name: String,
    command: String,
    permissive: bool,
    roles: Option<Json<Vec<RoleRow>>>,
    using_expr: Option<String>,
    check_expr: Option<String>,
    comment: Option<String>,
}

#[derive(FromRow)]
struct RoutineRow {
    schema: String,
    name: String,
    kind: String,
    identity_arguments: String,
    arguments: String,
    result: Option<String>,
    language: String,
    volatility: String,
    strict: bool,
    security_definer: bool,
    leakproof: bool,
    parallel: String,
    cost: String,
    row_estimate: String,
    config: Vec<String>,
    sql_body: bool,
    body: Option<String>,
    library: Option<String>,
    comment: Option<String>,
    privileges: Json<Vec<AclRow>>,
}

/// A boxed catalog read: `Send` for every lifetime (see [`fetch`]).
pub(super) type Reading<'c, T> = Pin<Box<dyn Future<Output = Result<T, SchemaError>> + Send + 'c>>;

/// Runs one catalog query, naming it in the error.
///
/// Boxed so the future is `Send` for every lifetime: left to inference,
/// the generic `query_as` future trips rustc's "`Executor` is not general
/// enough" when `capture` runs on a spawned task.
pub(super) fn fetch<'c, T>(
    conn: &'c mut PgConnection,
    what: &'static str,
    sql: &'static str,
) -> Reading<'c, Vec<T>>
where
    T: for<'r> FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + 'c,
{
    Box::pin(async move {
        sqlx::query_as::<_, T>(sql)
            .fetch_all(conn)
            .await
            .map_err(|source| SchemaError::Query { what, source })
    })
}

/// [`fetch`] of the relations whose OIDs are `oids` (`$1`).
fn fetch_of<'c, T>(
    conn: &'c mut PgConnection,
    what: &'static str,
    sql: &'static str,
    oids: Vec<Oid>,
) -> Reading<'c, Vec<T>>
where
    T: for<'r> FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + 'c,
{
    Box::pin(async move {
        sqlx::query_as::<_, T>(sql)
            .bind(oids)
            .fetch_all(conn)
            .await
            .map_err(|source| SchemaError::Query { what, source })
    })
}

/// [`fetch`] with one `int8` argument (`$1`).
pub(super) fn fetch_since<'c, T>(
    conn: &'c mut PgConnection,
    what: &'static str,
    sql: &'static str,
    since: i64,
) -> Reading<'c, Vec<T>>
where
    T: for<'r> FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + 'c,
{
    Box::pin(async move {
        sqlx::query_as::<_, T>(sql)
            .bind(since)
            .fetch_all(conn)
            .await
            .map_err(|source| SchemaError::Query { what, source })
    })
}

/// The relations `sql` finds for the objects given as catalog and OID
/// arrays (`$1`, `$2`; boxed: see [`fetch`]).
pub(super) fn fetch_dependents<'c>(
    conn: &'c mut PgConnection,
    sql: &'static str,
    catalogs: Vec<Oid>,
    oids: Vec<Oid>,
) -> Reading<'c, Vec<(i64,)>> {
    Box::pin(async move {
        sqlx::query_as::<_, (i64,)>(sql)
            .bind(catalogs)
            .bind(oids)
            .fetch_all(conn)
            .await
            .map_err(|source| SchemaError::Query {
                what: "tables and views depending on changed objects (pg_depend)",
                source,
            })
    })
}

/// The future of [`capture`]: boxed (see [`fetch`]) so that it is `Send`
/// for every lifetime and `capture` can run on a spawned task.
pub(super) type CaptureFuture<'c> =
    Pin<Box<dyn Future<Output = Result<SchemaSnapshot, SchemaError>> + Send + 'c>>;

/// Reads the schema of the database `conn` is connected to.
pub(super) fn capture(conn: &mut PgConnection) -> CaptureFuture<'_> {
    Box::pin(async move {
        let mut tx = read_only(conn).await?;
        let result = read_whole(&mut tx).await;
        end_read_only(tx).await?;
        Ok(result?.0)
    })
}

/// Opens the read-only transaction a capture reads in, with the session
/// settings pinned. Inside the caller's transaction this is a savepoint:
/// the isolation level is theirs, and rolling back to it restores the
/// settings.
pub(super) fn read_only(conn: &mut PgConnection) -> Reading<'_, Transaction<'_, Postgres>> {
    Box::pin(async move {
        let mut tx = if conn.is_in_transaction() {
            conn.begin().await
        } else {
            conn.begin_with("begin isolation level repeatable read read only")
                .await
        }
        .map_err(|source| SchemaError::Query {
            what: "begin a read-only transaction",
            source,
        })?;
        settle(&mut tx).await?;
        Ok(tx)
    })
}

/// Rolls back what [`read_only`] opened (boxed: see [`fetch`]).
pub(super) fn end_read_only(tx: Transaction<'_, Postgres>) -> Reading<'_, ()> {
    Box::pin(async move {
        tx.rollback().await.map_err(|source| SchemaError::Query {
            what: "end the read-only transaction",
            source,
        })
    })
}

/// Pins the session settings (boxed: see [`fetch`]).
fn settle(conn: &mut PgConnection) -> Reading<'_, ()> {
    Box::pin(async move {
        // A query without arguments goes over the simple protocol, which
        // takes several statements at once.
        conn.execute(SESSION_SETTINGS)
            .await
            .map(|_| ())
            .map_err(|source| SchemaError::Query {
                what: "session settings",
                source,
            })
    })
}

/// The name of each table and view read, by OID, and whether it is a view.
pub(super) type RelationNames = HashMap<u32, (QualifiedName, bool)>;

/// Every object of the schema, and the names of its tables and views.
pub(super) async fn read_whole(
    conn: &mut PgConnection,
) -> Result<(SchemaSnapshot, RelationNames), SchemaError> {
    let mut snapshot = read_schema_wide(conn).await?;
    let names = read_relations(conn, &mut snapshot, None).await?;
    Ok((snapshot, names))
}

/// Everything but the tables and views: schemas, extensions, types,
/// sequences and routines.
pub(super) async fn read_schema_wide(
    conn: &mut PgConnection,
) -> Result<SchemaSnapshot, SchemaError> {
    let schemas: Vec<SchemaRow> = fetch(conn, "schemas (pg_namespace)", SCHEMAS).await?;
    let extensions: Vec<ExtensionRow> =
        fetch(conn, "extensions (pg_extension)", EXTENSIONS).await?;
    let types: Vec<TypeRow> = fetch(conn, "types (pg_type)", TYPES).await?;
    let domain_constraints: Vec<DomainConstraintRow> = fetch(
        conn,
        "domain constraints (pg_constraint)",
        DOMAIN_CONSTRAINTS,
    )
    .await?;
    let attributes: Vec<AttributeRow> = fetch(
        conn,
        "composite type attributes (pg_attribute)",
        COMPOSITE_ATTRIBUTES,
    )
    .await?;
    let sequences: Vec<SequenceRow> = fetch(conn, "sequences (pg_sequence)", SEQUENCES).await?;
    let routines: Vec<RoutineRow> =
        fetch(conn, "functions and procedures (pg_proc)", ROUTINES).await?;

    let mut snapshot = SchemaSnapshot::default();
    for row in schemas {
        let comment = row
            .comment
            .filter(|c| !(row.name == "public" && c == "standard public schema"));
        snapshot.schemas.insert(
            row.name,
            Schema {
                comment,
                privileges: privileges(row.privileges.0)?,
            },
        );
    }
    for row in extensions {
        snapshot.extensions.insert(
            row.name,
            Extension {
                version: row.version,
                schema: row.schema,
                comment: row.comment,
            },
        );
    }
    assemble_types(&mut snapshot, types, domain_constraints, attributes)?;
    for row in sequences {
        let owned_by = match (row.owner_schema, row.owner_table, row.owner_column) {
            (Some(schema), Some(table), Some(column)) => Some(ColumnRef {
                table: QualifiedName::new(schema, table),
                column,
            }),
            _ => None,
        };
        snapshot.sequences.insert(
            QualifiedName::new(row.schema, row.name),
            Sequence {
                options: SequenceOptions {
                    data_type: row.data_type,
                    start: row.start,
                    increment: row.increment,
                    min: row.min,
                    max: row.max,
                    cache: row.cache,
                    cycle: row.cycle,
                },
                owned_by,
                comment: row.comment,
                privileges: privileges(row.privileges.0)?,
            },
        );
    }
    for row in routines {
        let key = RoutineKey {
            name: QualifiedName::new(row.schema.clone(), row.name.clone()),
            identity_arguments: lowercase_keywords(&row.identity_arguments),
        };
        let routine = routine(row)?;
        snapshot.routines.insert(key, routine);
    }
    Ok(snapshot)
}

/// Reads the tables and views (those whose OIDs `only` lists, or all) into
/// `snapshot`; returns their names.
pub(super) async fn read_relations(
    conn: &mut PgConnection,
    snapshot: &mut SchemaSnapshot,
    only: Option<Vec<Oid>>,
) -> Result<RelationNames, SchemaError> {
    let (relations, parts) = match only {
        None => (
            fetch(conn, "tables and views (pg_class)", RELATIONS).await?,
            RelationParts {
                columns: fetch(conn, "columns (pg_attribute)", COLUMNS).await?,
                constraints: fetch(conn, "constraints (pg_constraint)", CONSTRAINTS).await?,
                indexes: fetch(conn, "indexes (pg_index)", INDEXES).await?,
                triggers: fetch(conn, "triggers (pg_trigger)", TRIGGERS).await?,
                policies: fetch(conn, "policies (pg_policy)", POLICIES).await?,
            },
        ),
        Some(oids) if oids.is_empty() => return Ok(HashMap::new()),
        Some(oids) => {
            let relations: Vec<RelationRow> = fetch_of(
                conn,
                "tables and views (pg_class)",
                RELATIONS_OF,
                oids.clone(),
            )
            .await?;
            (
                relations,
                RelationParts {
                    columns: fetch_of(conn, "columns (pg_attribute)", COLUMNS_OF, oids.clone())
                        .await?,
                    constraints: fetch_of(
                        conn,
                        "constraints (pg_constraint)",
                        CONSTRAINTS_OF,
                        oids.clone(),
                    )
                    .await?,
                    indexes: fetch_of(conn, "indexes (pg_index)", INDEXES_OF, oids.clone()).await?,
                    triggers: fetch_of(conn, "triggers (pg_trigger)", TRIGGERS_OF, oids.clone())
                        .await?,
                    policies: fetch_of(conn, "policies (pg_policy)", POLICIES_OF, oids).await?,
                },
            )
        }
    };
    let names = relations
        .iter()
        .map(|r| {
            (
                r.oid as u32,
                (
                    QualifiedName::new(r.schema.clone(), r.name.clone()),
                    matches!(r.relkind.as_str(), "v" | "m"),
                ),
            )
        })
        .collect();
    assemble_relations(snapshot, relations, parts)?;
    Ok(names)
}

fn assemble_types(
    snapshot: &mut SchemaSnapshot,
    types: Vec<TypeRow>,
    domain_constraints: Vec<DomainConstraintRow>,
    attributes: Vec<AttributeRow>,
) -> Result<(), SchemaError> {
    let mut constraints_by_type: HashMap<i64, Vec<DomainConstraint>> = HashMap::new();
    for row in domain_constraints {
        constraints_by_type
            .entry(row.type_oid)
            .or_default()
            .push(DomainConstraint {
                name: row.name,
                definition: lowercase_keywords(&row.definition),
                comment: row.comment,
            });
    }
    let mut attributes_by_type: HashMap<i64, Vec<Attribute>> = HashMap::new();
    for row in attributes {
        attributes_by_type
            .entry(row.type_oid)
            .or_default()
            .push(Attribute {
                name: row.name,
                data_type: row.data_type,
                collation: row.collation,
                comment: row.comment,
            });
    }
    for row in types {
        let kind = match row.typtype.as_str() {
            "e" => TypeKind::Enum { labels: row.labels },
            "d" => {
                let mut constraints = constraints_by_type.remove(&row.oid).unwrap_or_default();
                constraints.sort_by(|a, b| a.name.cmp(&b.name));
                TypeKind::Domain {
                    base_type: required(row.base_type, "base type of a domain")?,
                    collation: row.collation,
                    not_null: row.not_null,
                    default: row.default_expr.as_deref().map(lowercase_keywords),
                    constraints,
                }
            }
            "c" => TypeKind::Composite {
                attributes: attributes_by_type.remove(&row.oid).unwrap_or_default(),
            },
            "r" => TypeKind::Range {
                subtype: required(row.subtype, "subtype of a range type")?,
            },
            other => return Err(unexpected("pg_type.typtype", other)),
        };
        snapshot.types.insert(
            QualifiedName::new(row.schema, row.name),
            TypeDef {
                kind,
                comment: row.comment,
                privileges: privileges(row.privileges.0)?,
            },
        );
    }
    Ok(())
}

/// The rows that belong to tables and views, grouped by relation later.
struct RelationParts {
    columns: Vec<ColumnRow>,
    constraints: Vec<ConstraintRow>,
    indexes: Vec<IndexRow>,
    triggers: Vec<TriggerRow>,
    policies: Vec<PolicyRow>,
}

fn assemble_relations(
    snapshot: &mut SchemaSnapshot,
    relations: Vec<RelationRow>,
    parts: RelationParts,
) -> Result<(), SchemaError> {
    let mut columns: HashMap<i64, Vec<Column>> = HashMap::new();
    for row in parts.columns {
        columns.entry(row.rel).or_default().push(column(row)?);
    }
    let mut constraints: HashMap<i64, Vec<Constraint>> = HashMap::new();
    for row in parts.constraints {
        constraints
            .entry(row.rel)
            .or_default()
            .push(constraint(row)?);
    }
    let mut indexes: HashMap<i64, Vec<Index>> = HashMap::new();
    for row in parts.indexes {
        indexes.entry(row.rel).or_default().push(index(row));
    }
    let mut triggers: HashMap<i64, Vec<Trigger>> = HashMap::new();
    for row in parts.triggers {
        triggers.entry(row.rel).or_default().push(trigger(row)?);
    }
    let mut policies: HashMap<i64, Vec<Policy>> = HashMap::new();
    for row in parts.policies {
        policies.entry(row.rel).or_default().push(policy(row)?);
    }

    for row in relations {
        let name = QualifiedName::new(row.schema, row.name);
        let mut options = row.options;
        options.sort();
        let mut rel_indexes = indexes.remove(&row.oid).unwrap_or_default();
        rel_indexes.sort_by(|a, b| a.name.cmp(&b.name));
        let mut rel_triggers = triggers.remove(&row.oid).unwrap_or_default();
        rel_triggers.sort_by(|a, b| a.name.cmp(&b.name));
        let rel_columns = columns.remove(&row.oid).unwrap_or_default();
        let privileges = privileges(row.privileges.0)?;
        match row.relkind.as_str() {
            "r" | "p" => {
                let mut parents: Vec<QualifiedName> = row
                    .parents
                    .0
                    .into_iter()
                    .map(|(schema, name)| QualifiedName::new(schema, name))
                    .collect();
                let partition_of = if row.is_partition {
                    let parent = parents.pop();
                    match (parent, row.partition_bound) {
                        (Some(parent), Some(bound)) => Some(PartitionOf {
                            parent,
                            bound: lowercase_keywords(&bound),
                        }),
                        _ => {
                            return Err(unexpected(
                                "partition without parent or bound",
                                &name.to_string(),
                            ))
                        }
                    }
                } else {
                    None
                };
                let mut rel_constraints = constraints.remove(&row.oid).unwrap_or_default();
                rel_constraints.sort_by(|a, b| a.name.cmp(&b.name));
                let mut rel_policies = policies.remove(&row.oid).unwrap_or_default();
                rel_policies.sort_by(|a, b| a.name.cmp(&b.name));
                let replica_identity = match row.replica_identity.as_str() {
                    "d" => ReplicaIdentity::Default,
                    "n" => ReplicaIdentity::Nothing,
                    "f" => ReplicaIdentity::Full,
                    "i" => ReplicaIdentity::Index(required(
                        row.replica_identity_index,
                        "replica identity index",
                    )?),
                    other => return Err(unexpected("pg_class.relreplident", other)),
                };
                let persistence = match row.persistence.as_str() {
                    "u" => Persistence::Unlogged,
                    _ => Persistence::Permanent,
                };
                snapshot.tables.insert(
                    name,
                    Table {
                        persistence,
                        partition_key: row.partition_key.as_deref().map(lowercase_keywords),
                        partition_of,
                        inherits: parents,
                        of_type: row.of_type,
                        options,
                        columns: rel_columns,
                        constraints: rel_constraints,
                        indexes: rel_indexes,
                        triggers: rel_triggers,
                        row_security: row.row_security,
                        force_row_security: row.force_row_security,
                        replica_identity,
                        policies: rel_policies,
                        privileges,
                        comment: row.comment,
                    },
                );
            }
            "v" | "m" => {
                snapshot.views.insert(
                    name,
                    View {
                        materialized: row.relkind == "m",
                        options,
                        definition: lowercase_keywords(
                            row.view_definition.as_deref().unwrap_or(""),
                        ),
                        columns: rel_columns,
                        indexes: rel_indexes,
                        triggers: rel_triggers,
                        privileges,
                        comment: row.comment,
                    },
                );
            }
            other => return Err(unexpected("pg_class.relkind", other)),
        }
    }
    Ok(())
}

fn column(row: ColumnRow) -> Result<Column, SchemaError> {
    let identity_kind = match row.identity.as_str() {
        "" => None,
        "a" => Some(IdentityKind::Always),
        "d" => Some(IdentityKind::ByDefault),
        other => return Err(unexpected("pg_attribute.attidentity", other)),
    };
    let identity = match identity_kind {
        None => None,
        Some(kind) => {
            let (
                Some(schema),
                Some(name),
                Some(data_type),
                Some(start),
                Some(increment),
                Some(min),
                Some(max),
                Some(cache),
                Some(cycle),
            ) = (
                row.seq_schema,
                row.seq_name,
                row.seq_type,
                row.seq_start,
                row.seq_increment,
                row.seq_min,
                row.seq_max,
                row.seq_cache,
                row.seq_cycle,
            )
            else {
                return Err(unexpected(
                    "identity column without its sequence",
                    &row.name,
                ));
            };
            Some(Identity {
                kind,
                sequence: QualifiedName::new(schema, name),
                options: SequenceOptions {
                    data_type,
                    start,
                    increment,
                    min,
                    max,
                    cache,
                    cycle,
                },
            })
        }
    };
    let expression = row.default_expr.as_deref().map(lowercase_keywords);
    let (default, generated) = match row.generated.as_str() {
        "" => (expression, None),
        // Stored (`s`), and virtual (`v`, PostgreSQL 18) which the
        // renderer tells apart by nothing else: both are an expression.
        "s" | "v" => (None, expression),
        other => return Err(unexpected("pg_attribute.attgenerated", other)),
    };
    Ok(Column {
        name: row.name,
        data_type: row.data_type,
        collation: row.collation,
        not_null: row.not_null,
        default,
        identity,
        generated,
        comment: row.comment,
        privileges: privileges(row.privileges.0)?,
    })
}

fn constraint(row: ConstraintRow) -> Result<Constraint, SchemaError> {
    let kind = match row.contype.as_str() {
        "p" => ConstraintKind::PrimaryKey,
        "u" => ConstraintKind::Unique,
        "f" => ConstraintKind::ForeignKey,
        "c" => ConstraintKind::Check,
        "x" => ConstraintKind::Exclusion,
        other => return Err(unexpected("pg_constraint.contype", other)),
    };
    let references = if kind == ConstraintKind::ForeignKey {
        let (Some(schema), Some(table)) = (row.ref_schema, row.ref_table) else {
            return Err(unexpected(
                "foreign key without referenced table",
                &row.name,
            ));
        };
        Some(ForeignKey {
            table: QualifiedName::new(schema, table),
            columns: row.ref_columns,
            on_update: foreign_key_action(&row.on_update)?,
            on_delete: foreign_key_action(&row.on_delete)?,
            match_type: match row.match_type.as_str() {
                "s" => ForeignKeyMatch::Simple,
                "f" => ForeignKeyMatch::Full,
                "p" => ForeignKeyMatch::Partial,
                other => return Err(unexpected("pg_constraint.confmatchtype", other)),
            },
        })
    } else {
        None
    };
    Ok(Constraint {
        name: row.name,
        kind,
        columns: row.columns,
        references,
        deferrable: row.deferrable,
        initially_deferred: row.initially_deferred,
        definition: lowercase_keywords(&row.definition),
        comment: row.comment,
    })
}

fn foreign_key_action(code: &str) -> Result<ForeignKeyAction, SchemaError> {
    Ok(match code {
        "a" => ForeignKeyAction::NoAction,
        "r" => ForeignKeyAction::Restrict,
        "c" => ForeignKeyAction::Cascade,
        "n" => ForeignKeyAction::SetNull,
        "d" => ForeignKeyAction::SetDefault,
        other => return Err(unexpected("pg_constraint foreign key action", other)),
    })
}

/// `pg_get_indexdef` repeats the index and table names; inside the table's
/// block only what follows them says anything: `using <method> (...)`.
fn index(row: IndexRow) -> Index {
    let definition = strip_index_prefix(&row).unwrap_or(&row.definition);
    Index {
        name: row.name.clone(),
        unique: row.is_unique,
        method: row.method.clone(),
        key_columns: row
            .key_columns
            .iter()
            .map(|c| lowercase_keywords(c))
            .collect(),
        include_columns: row
            .include_columns
            .iter()
            .map(|c| lowercase_keywords(c))
            .collect(),
        predicate: row.predicate.as_deref().map(lowercase_keywords),
        valid: row.valid,
        definition: lowercase_keywords(definition),
        comment: row.comment.clone(),
    }
}

/// `CREATE [UNIQUE] INDEX <name> ON [ONLY] [<schema>.]<table> ` removed;
/// `None` when the text is not shaped like that (then it is kept whole).
fn strip_index_prefix(row: &IndexRow) -> Option<&str> {
    let unique = if row.is_unique { "UNIQUE " } else { "" };
    let rest = row
        .definition
        .strip_prefix(&format!("CREATE {unique}INDEX {} ON ", row.quoted_name))?;
    let rest = rest.strip_prefix("ONLY ").unwrap_or(rest);
    let rest = strip_relation(rest, &row.quoted_schema, &row.quoted_table)?;
    rest.strip_prefix(' ')
}

/// Strips a relation name, qualified or not, from the front of `text`.
fn strip_relation<'a>(text: &'a str, schema: &str, table: &str) -> Option<&'a str> {
    let qualified = format!("{schema}.{table}");
    text.strip_prefix(&qualified)
        .or_else(|| text.strip_prefix(table))
}

/// `pg_get_triggerdef` without `CREATE [CONSTRAINT] TRIGGER <name> ` and
/// ` ON <table>`, which the enclosing block already says.
fn trigger_definition(row: &TriggerRow) -> Option<String> {
    let rest = row
        .definition
        .strip_prefix("CREATE ")?
        .trim_start_matches("CONSTRAINT ")
        .strip_prefix("TRIGGER ")?
        .strip_prefix(&row.quoted_name)?
        .strip_prefix(' ')?;
    let on = rest.find(" ON ")?;
    let after = strip_relation(&rest[on + 4..], &row.quoted_schema, &row.quoted_table)?;
    Some(format!("{}{}", &rest[..on], after))
}

fn trigger(row: TriggerRow) -> Result<Trigger, SchemaError> {
    // tgtype bits, from the server's catalog/pg_trigger.h.
    const ROW: i32 = 1 << 0;
    const BEFORE: i32 = 1 << 1;
    const INSERT: i32 = 1 << 2;
    const DELETE: i32 = 1 << 3;
    const UPDATE: i32 = 1 << 4;
    const TRUNCATE: i32 = 1 << 5;
    const INSTEAD: i32 = 1 << 6;
    let timing = if row.tgtype & INSTEAD != 0 {
        TriggerTiming::InsteadOf
    } else if row.tgtype & BEFORE != 0 {
        TriggerTiming::Before
    } else {
        TriggerTiming::After
    };
    let events = [
        (INSERT, TriggerEvent::Insert),
        (UPDATE, TriggerEvent::Update),
        (DELETE, TriggerEvent::Delete),
        (TRUNCATE, TriggerEvent::Truncate),
    ]
    .into_iter()
    .filter(|(bit, _)| row.tgtype & bit != 0)
    .map(|(_, event)| event)
    .collect();
    let enabled = match row.enabled.as_str() {
        "O" => TriggerEnabled::Origin,
        "A" => TriggerEnabled::Always,
        "R" => TriggerEnabled::Replica,
        "D" => TriggerEnabled::Disabled,
        other => return Err(unexpected("pg_trigger.tgenabled", other)),
    };
    let definition =
        lowercase_keywords(&trigger_definition(&row).unwrap_or_else(|| row.definition.clone()));
    Ok(Trigger {
        name: row.name,
        timing,
        events,
        columns: row.columns,
        for_each_row: row.tgtype & ROW != 0,
        constraint_trigger: row.is_constraint,
        function: QualifiedName::new(row.function_schema, row.function_name),
        enabled,
        definition,
        comment: row.comment,
    })
}

fn policy(row: PolicyRow) -> Result<Policy, SchemaError> {
    let command = match row.command.as_str() {
        "*" => PolicyCommand::All,
        "r" => PolicyCommand::Select,
        "a" => PolicyCommand::Insert,
        "w" => PolicyCommand::Update,
        "d" => PolicyCommand::Delete,
        other => return Err(unexpected("pg_policy.polcmd", other)),
    };
    let mut roles = row
        .roles
        .map(|json| json.0)
        .unwrap_or_default()
        .into_iter()
        .map(|r| grantee(r.public, r.owner, r.role))
        .collect::<Result<Vec<_>, _>>()?;
    roles.sort();
    Ok(Policy {
        name: row.name,
        command,
        permissive: row.permissive,
        roles,
        using: row.using_expr.as_deref().map(lowercase_keywords),
        with_check: row.check_expr.as_deref().map(lowercase_keywords),
        comment: row.comment,
    })
}

fn routine(row: RoutineRow) -> Result<Routine, SchemaError> {
    let kind = match row.kind.as_str() {
        "f" => RoutineKind::Function,
        "p" => RoutineKind::Procedure,
        other => return Err(unexpected("pg_proc.prokind", other)),
    };
    let volatility = match row.volatility.as_str() {
        "i" => Volatility::Immutable,
        "s" => Volatility::Stable,
        "v" => Volatility::Volatile,
        other => return Err(unexpected("pg_proc.provolatile", other)),
    };
    let parallel = match row.parallel.as_str() {
        "s" => Parallel::Safe,
        "r" => Parallel::Restricted,
        "u" => Parallel::Unsafe,
        other => return Err(unexpected("pg_proc.proparallel", other)),
    };
    let mut config = row.config;
    config.sort();
    Ok(Routine {
        kind,
        arguments: lowercase_keywords(&row.arguments),
        result: row.result.as_deref().map(lowercase_keywords),
        language: row.language,
        volatility,
        strict: row.strict,
        security_definer: row.security_definer,
        leakproof: row.leakproof,
        parallel,
        cost: row.cost,
        rows: row.row_estimate,
        config,
        // A SQL-standard body is deparsed by the server; a string body is
        // the author's text and stays as written.
        body: match row.body {
            Some(body) if row.sql_body => lowercase_keywords(&body),
            Some(body) => body,
            None => String::new(),
        },
        sql_body: row.sql_body,
        library: row.library,
        comment: row.comment,
        privileges: privileges(row.privileges.0)?,
    })
}

fn grantee(public: bool, owner: bool, role: Option<String>) -> Result<Grantee, SchemaError> {
    if public {
        Ok(Grantee::Public)
    } else if owner {
        Ok(Grantee::Owner)
    } else {
        role.map(Grantee::Role)
            .ok_or_else(|| unexpected("privilege or policy naming a role that does not exist", ""))
    }
}

/// The order privileges are listed in, so that lines do not depend on
/// `aclexplode`'s row order: the ACL order (`arwdDxtm...`) with `SELECT`
/// first, as people write it.
const PRIVILEGE_ORDER: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "MAINTAIN",
    "EXECUTE",
    "USAGE",
    "CREATE",
    "TEMPORARY",
    "CONNECT",
    "SET",
    "ALTER SYSTEM",
];

/// Groups exploded ACL rows into one [`Privilege`] per grantee, grant
/// option and grantor, sorted.
fn privileges(rows: Vec<AclRow>) -> Result<Vec<Privilege>, SchemaError> {
    let mut grouped: BTreeMap<(PrivilegeAction, Grantee, bool, Option<String>), Vec<String>> =
        BTreeMap::new();
    for row in rows {
        let action = if row.revoke {
            PrivilegeAction::Revoke
        } else {
            PrivilegeAction::Grant
        };
        let who = grantee(row.public, row.owner, row.role)?;
        grouped
            .entry((action, who, row.grantable, row.grantor))
            .or_default()
            .push(row.privilege);
    }
    Ok(grouped
        .into_iter()
        .map(|((action, grantee, grantable, grantor), mut names)| {
            names.sort_by_key(|p| {
                (
                    PRIVILEGE_ORDER
                        .iter()
                        .position(|known| known == p)
                        .unwrap_or(PRIVILEGE_ORDER.len()),
                    p.clone(),
                )
            });
            names.dedup();
            Privilege {
                action,
                grantee,
                grantable,
                grantor,
                privileges: names.iter().map(|p| p.to_lowercase()).collect(),
            }
        })
        .collect())
}

fn required(value: Option<String>, what: &'static str) -> Result<String, SchemaError> {
    value.ok_or_else(|| unexpected(what, "missing"))
}

fn unexpected(what: &'static str, value: &str) -> SchemaError {
    SchemaError::Unexpected {
        what,
        value: value.to_string(),
    }
}
