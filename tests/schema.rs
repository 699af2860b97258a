//! Schema snapshots against a real server: a fixture chain with every kind
//! of object renders as approved; a one-detail difference always shows in
//! the diff; the same schema built in different orders renders the same;
//! an empty database renders a fixed minimal text.

mod common;

use std::time::Instant;

use pgharness::schema::{
    changed_objects, unified_diff, Change, ColumnOrder, RenderOptions, SchemaSnapshot,
};
use sqlx::{Connection, PgConnection};

use common::{fresh_database, run_sql as run, schema_fixture_files};

/// Roles the fixtures grant to. Roles are cluster-wide and tests run in
/// parallel on one server: create them tolerating a concurrent creator.
const ROLES: &str = "
do $$ begin create role schema_reader nologin; exception when duplicate_object or unique_violation then null; end $$;
do $$ begin create role schema_writer nologin; exception when duplicate_object or unique_violation then null; end $$;
";

async fn capture(conn: &mut PgConnection) -> SchemaSnapshot {
    SchemaSnapshot::capture(conn)
        .await
        .expect("capture the schema")
}

/// A database built from `sql`, and its snapshot.
async fn snapshot_of(sql: &str) -> SchemaSnapshot {
    let mut conn = fresh_database().await;
    run(&mut conn, ROLES).await;
    run(&mut conn, sql).await;
    capture(&mut conn).await
}

async fn apply_fixture_chain(conn: &mut PgConnection) {
    for file in schema_fixture_files() {
        let sql = std::fs::read_to_string(&file).expect("read fixture");
        if let Err(e) = sqlx::raw_sql(&sql).execute(&mut *conn).await {
            panic!("{} failed: {e}", file.display());
        }
    }
}

/// (a) Every kind of object, rendered: the approved text is
/// `tests/snapshots/schema__fixture_chain.snap` (review with `cargo insta review`).
#[tokio::test]
async fn fixture_chain_renders_as_approved() {
    let mut conn = fresh_database().await;
    apply_fixture_chain(&mut conn).await;

    // Speed is measured, not asserted (targets live in `cargo xtask bench`);
    // the time shows with `--nocapture`.
    let started = Instant::now();
    let snapshot = capture(&mut conn).await;
    let first = started.elapsed();
    let started = Instant::now();
    let again = capture(&mut conn).await;
    eprintln!(
        "capture took {first:?} (cold connection), {:?} (warm)",
        started.elapsed()
    );

    // Reading twice gives the same model, and the model is plain data
    // that serializes (the CLI's JSON output).
    assert_eq!(snapshot, again);
    serde_json::to_string(&snapshot).expect("snapshot serializes to JSON");

    insta::assert_snapshot!("fixture_chain", snapshot.render());
}

/// (d) A fresh database has only the `public` schema, with its stock ACL
/// and comment left out, and no `plpgsql` extension line.
#[tokio::test]
async fn empty_database_renders_minimal_text() {
    let mut conn = fresh_database().await;
    let snapshot = capture(&mut conn).await;
    assert_eq!(snapshot.render(), "schema public\n");
}

/// One detail that must show: `setup` then `a` in one database, `setup`
/// then `b` in another; `object` is the key of the object that differs.
struct Case {
    what: &'static str,
    setup: &'static str,
    a: &'static str,
    b: &'static str,
    object: &'static str,
}

const CASES: &[Case] = &[
    Case {
        what: "schema presence",
        setup: "",
        a: "",
        b: "create schema extra",
        object: "schema extra",
    },
    Case {
        what: "schema grant",
        setup: "create schema s",
        a: "",
        b: "grant usage on schema s to schema_reader",
        object: "schema s",
    },
    Case {
        what: "schema comment",
        setup: "create schema s",
        a: "comment on schema s is 'one'",
        b: "comment on schema s is 'two'",
        object: "schema s",
    },
    Case {
        what: "public schema hardening",
        setup: "",
        a: "",
        b: "revoke usage on schema public from public",
        object: "schema public",
    },
    Case {
        what: "extension presence",
        setup: "",
        a: "",
        b: "create extension citext",
        object: "extension citext",
    },
    Case {
        what: "enum label order",
        setup: "",
        a: "create type mood as enum ('happy', 'sad')",
        b: "create type mood as enum ('sad', 'happy')",
        object: "type public.mood",
    },
    Case {
        what: "enum label added",
        setup: "create type mood as enum ('happy', 'sad')",
        a: "",
        b: "alter type mood add value 'meh'",
        object: "type public.mood",
    },
    Case {
        what: "domain constraint",
        setup: "",
        a: "create domain pos as integer constraint pos_check check (value > 0)",
        b: "create domain pos as integer constraint pos_check check (value >= 0)",
        object: "type public.pos",
    },
    Case {
        what: "domain default",
        setup: "",
        a: "create domain pos as integer default 1",
        b: "create domain pos as integer default 2",
        object: "type public.pos",
    },
    Case {
        what: "domain not null",
        setup: "",
        a: "create domain pos as integer",
        b: "create domain pos as integer not null",
        object: "type public.pos",
    },
    Case {
        what: "composite type attribute",
        setup: "",
        a: "create type pair as (x integer, y text)",
        b: "create type pair as (x bigint, y text)",
        object: "type public.pair",
    },
    Case {
        what: "type privilege",
        setup: "create type mood as enum ('happy')",
        a: "",
        b: "revoke usage on type mood from public",
        object: "type public.mood",
    },
    Case {
        what: "column default",
        setup: "",
        a: "create table t (a integer default 0)",
        b: "create table t (a integer default 1)",
        object: "table public.t",
    },
    Case {
        what: "column type modifier",
        setup: "",
        a: "create table t (a varchar(10))",
        b: "create table t (a varchar(20))",
        object: "table public.t",
    },
    Case {
        what: "column not null",
        setup: "",
        a: "create table t (a integer)",
        b: "create table t (a integer not null)",
        object: "table public.t",
    },
    Case {
        what: "column collation",
        setup: "",
        a: "create table t (a text)",
        b: "create table t (a text collate \"C\")",
        object: "table public.t",
    },
    Case {
        what: "identity kind",
        setup: "",
        a: "create table t (id bigint generated always as identity)",
        b: "create table t (id bigint generated by default as identity)",
        object: "table public.t",
    },
    Case {
        what: "identity sequence option",
        setup: "",
        a: "create table t (id bigint generated always as identity)",
        b: "create table t (id bigint generated always as identity (start with 1000))",
        object: "table public.t",
    },
    Case {
        what: "generated expression",
        setup: "",
        a: "create table t (a integer, b integer generated always as (a * 2) stored)",
        b: "create table t (a integer, b integer generated always as (a * 3) stored)",
        object: "table public.t",
    },
    Case {
        what: "column comment",
        setup: "create table t (a integer)",
        a: "comment on column t.a is 'one'",
        b: "comment on column t.a is 'two'",
        object: "table public.t",
    },
    Case {
        what: "table comment",
        setup: "create table t (a integer)",
        a: "",
        b: "comment on table t is 'tee'",
        object: "table public.t",
    },
    Case {
        what: "unlogged",
        setup: "",
        a: "create table t (a integer)",
        b: "create unlogged table t (a integer)",
        object: "table public.t",
    },
    Case {
        what: "storage parameter",
        setup: "",
        a: "create table t (a integer)",
        b: "create table t (a integer) with (fillfactor = 50)",
        object: "table public.t",
    },
    Case {
        what: "replica identity",
        setup: "create table t (a integer)",
        a: "",
        b: "alter table t replica identity full",
        object: "table public.t",
    },
    Case {
        what: "typed table",
        setup: "create type pair as (x integer, y text)",
        a: "create table t (x integer, y text)",
        b: "create table t of pair",
        object: "table public.t",
    },
    Case {
        what: "partition key",
        setup: "",
        a: "create table t (a integer, b integer) partition by range (a)",
        b: "create table t (a integer, b integer) partition by range (b)",
        object: "table public.t",
    },
    Case {
        what: "partition bound",
        setup: "create table t (a integer) partition by range (a)",
        a: "create table t1 partition of t for values from (0) to (10)",
        b: "create table t1 partition of t for values from (0) to (20)",
        object: "table public.t1",
    },
    Case {
        what: "inheritance",
        setup: "create table parent (a integer)",
        a: "create table child (a integer)",
        b: "create table child () inherits (parent)",
        object: "table public.child",
    },
    Case {
        what: "check constraint",
        setup: "",
        a: "create table t (a integer constraint t_a_check check (a > 0))",
        b: "create table t (a integer constraint t_a_check check (a > 1))",
        object: "table public.t",
    },
    Case {
        what: "constraint name",
        setup: "",
        a: "create table t (a integer constraint t_a_key unique)",
        b: "create table t (a integer constraint t_a_unique unique)",
        object: "table public.t",
    },
    Case {
        what: "foreign key on delete",
        setup: "create table p (id integer primary key)",
        a: "create table t (p_id integer references p on delete cascade)",
        b: "create table t (p_id integer references p on delete restrict)",
        object: "table public.t",
    },
    Case {
        what: "foreign key deferrable",
        setup: "create table p (id integer primary key)",
        a: "create table t (p_id integer references p)",
        b: "create table t (p_id integer references p deferrable initially deferred)",
        object: "table public.t",
    },
    Case {
        what: "exclusion constraint",
        setup: "",
        a: "create table t (r int4range, constraint t_r_excl exclude using gist (r with &&))",
        b: "create table t (r int4range, constraint t_r_excl exclude using gist (r with =))",
        object: "table public.t",
    },
    Case {
        what: "index predicate",
        setup: "create table t (a integer)",
        a: "create index t_a_idx on t (a) where a > 0",
        b: "create index t_a_idx on t (a) where a > 1",
        object: "table public.t",
    },
    Case {
        what: "index method",
        setup: "create table t (a integer)",
        a: "create index t_a_idx on t using btree (a)",
        b: "create index t_a_idx on t using hash (a)",
        object: "table public.t",
    },
    Case {
        what: "index uniqueness",
        setup: "create table t (a integer)",
        a: "create index t_a_idx on t (a)",
        b: "create unique index t_a_idx on t (a)",
        object: "table public.t",
    },
    Case {
        what: "index include",
        setup: "create table t (a integer, b integer)",
        a: "create index t_a_idx on t (a)",
        b: "create index t_a_idx on t (a) include (b)",
        object: "table public.t",
    },
    Case {
        what: "trigger timing",
        setup: "create table t (a integer); \
                create function f() returns trigger language plpgsql as $$ begin return new; end $$",
        a: "create trigger t_f before insert on t for each row execute function f()",
        b: "create trigger t_f after insert on t for each row execute function f()",
        object: "table public.t",
    },
    Case {
        what: "trigger disabled",
        setup: "create table t (a integer); \
                create function f() returns trigger language plpgsql as $$ begin return new; end $$; \
                create trigger t_f before insert on t for each row execute function f()",
        a: "",
        b: "alter table t disable trigger t_f",
        object: "table public.t",
    },
    Case {
        what: "row level security enabled",
        setup: "create table t (a integer)",
        a: "",
        b: "alter table t enable row level security",
        object: "table public.t",
    },
    Case {
        what: "row level security forced",
        setup: "create table t (a integer); alter table t enable row level security",
        a: "",
        b: "alter table t force row level security",
        object: "table public.t",
    },
    Case {
        what: "policy using",
        setup: "create table t (a integer)",
        a: "create policy t_p on t using (a > 0)",
        b: "create policy t_p on t using (a > 1)",
        object: "table public.t",
    },
    Case {
        what: "policy roles",
        setup: "create table t (a integer)",
        a: "create policy t_p on t to schema_reader using (true)",
        b: "create policy t_p on t to schema_writer using (true)",
        object: "table public.t",
    },
    Case {
        what: "policy restrictive",
        setup: "create table t (a integer)",
        a: "create policy t_p on t using (true)",
        b: "create policy t_p on t as restrictive using (true)",
        object: "table public.t",
    },
    Case {
        what: "table grant",
        setup: "create table t (a integer)",
        a: "grant select on t to schema_reader",
        b: "grant select, update on t to schema_reader",
        object: "table public.t",
    },
    Case {
        what: "grant option",
        setup: "create table t (a integer)",
        a: "grant select on t to schema_reader",
        b: "grant select on t to schema_reader with grant option",
        object: "table public.t",
    },
    Case {
        what: "owner privilege revoked",
        setup: "create table t (a integer)",
        a: "",
        b: "revoke truncate on t from current_user",
        object: "table public.t",
    },
    Case {
        what: "column grant",
        setup: "create table t (a integer, b integer)",
        a: "grant update (a) on t to schema_writer",
        b: "grant update (b) on t to schema_writer",
        object: "table public.t",
    },
    Case {
        what: "sequence increment",
        setup: "",
        a: "create sequence s increment by 1",
        b: "create sequence s increment by 2",
        object: "sequence public.s",
    },
    Case {
        what: "sequence owned by",
        setup: "create table t (a integer); create sequence s",
        a: "",
        b: "alter sequence s owned by t.a",
        object: "sequence public.s",
    },
    Case {
        what: "sequence grant",
        setup: "create sequence s",
        a: "",
        b: "grant usage on sequence s to schema_writer",
        object: "sequence public.s",
    },
    Case {
        what: "view definition",
        setup: "create table t (a integer)",
        a: "create view v as select a from t where a > 0",
        b: "create view v as select a from t where a > 1",
        object: "view public.v",
    },
    Case {
        what: "view option",
        setup: "create table t (a integer)",
        a: "create view v as select a from t",
        b: "create view v with (security_barrier = true) as select a from t",
        object: "view public.v",
    },
    Case {
        what: "view column comment",
        setup: "create table t (a integer); create view v as select a from t",
        a: "",
        b: "comment on column v.a is 'eh'",
        object: "view public.v",
    },
    Case {
        what: "materialized view definition",
        setup: "create table t (a integer)",
        a: "create materialized view mv as select a from t",
        b: "create materialized view mv as select a + 1 as a from t",
        object: "materialized view public.mv",
    },
    Case {
        what: "materialized view index",
        setup: "create table t (a integer); create materialized view mv as select a from t",
        a: "",
        b: "create index mv_a_idx on mv (a)",
        object: "materialized view public.mv",
    },
    Case {
        what: "function body",
        setup: "",
        a: "create function f() returns integer language sql as $$ select 1 $$",
        b: "create function f() returns integer language sql as $$ select 2 $$",
        object: "function public.f()",
    },
    Case {
        what: "function volatility",
        setup: "",
        a: "create function f() returns integer language sql as $$ select 1 $$",
        b: "create function f() returns integer language sql stable as $$ select 1 $$",
        object: "function public.f()",
    },
    Case {
        what: "function argument default",
        setup: "",
        a: "create function f(a integer default 1) returns integer language sql as $$ select a $$",
        b: "create function f(a integer default 2) returns integer language sql as $$ select a $$",
        object: "function public.f(a integer)",
    },
    Case {
        what: "function security and settings",
        setup: "",
        a: "create function f() returns integer language sql security definer as $$ select 1 $$",
        b: "create function f() returns integer language sql security definer \
            set search_path = pg_catalog as $$ select 1 $$",
        object: "function public.f()",
    },
    Case {
        what: "function grant",
        setup: "create function f() returns integer language sql as $$ select 1 $$",
        a: "",
        b: "revoke execute on function f() from public",
        object: "function public.f()",
    },
    Case {
        what: "function comment",
        setup: "create function f() returns integer language sql as $$ select 1 $$",
        a: "comment on function f() is 'one'",
        b: "comment on function f() is 'uno'",
        object: "function public.f()",
    },
    Case {
        what: "SQL-standard function body",
        setup: "",
        a: "create function f(a integer) returns integer language sql return a + 1",
        b: "create function f(a integer) returns integer language sql return a + 2",
        object: "function public.f(a integer)",
    },
    Case {
        what: "procedure body",
        setup: "create table t (a integer)",
        a: "create procedure p() language sql as $$ delete from t $$",
        b: "create procedure p() language sql as $$ truncate t $$",
        object: "procedure public.p()",
    },
];

/// (b) A one-detail difference of each kind shows in the diff, in a hunk
/// that names the object, and `changed_objects` names the object.
#[tokio::test]
async fn every_kind_of_difference_shows() {
    let mut failures = Vec::new();
    // Cases run concurrently on this thread: the server does the work.
    let local = tokio::task::LocalSet::new();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, case) in CASES.iter().enumerate() {
        tasks.spawn_local_on(
            async move {
                let a = snapshot_of(&format!("{};\n{};", case.setup, case.a)).await;
                let b = snapshot_of(&format!("{};\n{};", case.setup, case.b)).await;
                (i, a, b)
            },
            &local,
        );
    }
    let mut results = Vec::new();
    local
        .run_until(async {
            while let Some(joined) = tasks.join_next().await {
                results.push(joined.expect("case task"));
            }
        })
        .await;
    results.sort_by_key(|(i, _, _)| *i);
    for (i, a, b) in results {
        let case = &CASES[i];
        let diff = unified_diff(&a.render(), &b.render(), "a", "b");
        let changed: Vec<String> = changed_objects(&a, &b)
            .iter()
            .map(|c| c.key.to_string())
            .collect();
        // `public.f` of `function public.f(a integer)`.
        let name = case.object.split('(').next().unwrap_or_default();
        let name = name.rsplit(' ').next().unwrap_or_default();
        let hunks_named = diff
            .lines()
            .filter(|l| l.starts_with("@@"))
            .all(|l| l.contains(name));
        if diff.is_empty() {
            failures.push(format!("{}: no diff", case.what));
        } else if !hunks_named {
            failures.push(format!(
                "{}: diff does not name {}:\n{diff}",
                case.what, case.object
            ));
        }
        if changed != [case.object] {
            failures.push(format!(
                "{}: changed objects {changed:?}, expected [{:?}]\n{diff}",
                case.what, case.object
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One schema, built statement by statement in one order...
const ORDER_A: &str = "
create type mood as enum ('happy', 'sad');
alter type mood add value 'meh' before 'sad';
create schema s;
create table s.parent (id integer primary key, code text);
create table s.child (id integer, dropped integer, parent_id integer, mood mood, note text);
alter table s.child drop column dropped;
alter table s.child alter column id set not null;
alter table s.child add constraint child_pkey primary key (id);
alter table s.child add constraint child_parent_fkey foreign key (parent_id) references s.parent (id);
create index child_note_idx on s.child (note);
create index child_mood_idx on s.child (mood);
grant select on s.child to schema_reader;
grant insert on s.child to schema_reader;
grant select on s.child to schema_writer;
grant update (note) on s.child to schema_writer;
grant update (mood) on s.child to schema_writer;
create function s.f() returns integer language sql as $$ select 1 $$;
create function s.g() returns integer language sql as $$ select 2 $$;
create policy p2 on s.child using (true);
create policy p1 on s.child for select to schema_writer, schema_reader using (id > 0);
alter table s.child enable row level security;
comment on table s.child is 'kid';
create sequence s.seq as integer;
create table s.t (id integer not null default nextval('s.seq'));
alter sequence s.seq owned by s.t.id;
create view s.v as select id from s.child;
revoke execute on function s.g() from public;
grant execute on function s.g() to schema_reader;
";

/// ... and in another, with inline clauses where `ORDER_A` altered.
const ORDER_B: &str = "
create schema s;
create function s.g() returns integer language sql as $$ select 2 $$;
revoke all on function s.g() from public;
grant all on function s.g() to schema_reader;
create function s.f() returns integer language sql as $$ select 1 $$;
create type mood as enum ('happy', 'meh', 'sad');
create table s.parent (code text, id integer, primary key (id));
alter table s.parent drop column code;
alter table s.parent add column code text;
create table s.child (
  id integer not null constraint child_pkey primary key,
  parent_id integer constraint child_parent_fkey references s.parent,
  mood mood,
  note text
);
alter table s.child enable row level security;
create policy p1 on s.child for select to schema_reader, schema_writer using (id > 0);
create policy p2 on s.child using (true);
create index child_mood_idx on s.child (mood);
create index child_note_idx on s.child (note);
grant update (mood, note) on s.child to schema_writer;
grant select, insert on s.child to schema_reader;
grant select on s.child to schema_writer;
comment on table s.child is 'kid';
create view s.v as select id from s.child;
create table s.t (id serial);
alter sequence s.t_id_seq rename to seq;
";

/// (c) The same end result by different statement orders (and a dropped
/// column, a recreated column, inline versus added constraints, `serial`
/// versus an explicit sequence) renders byte for byte the same.
#[tokio::test]
async fn statement_order_does_not_matter() {
    let a = snapshot_of(ORDER_A).await.render();
    let b = snapshot_of(ORDER_B).await.render();
    assert!(a.contains("table s.child"), "{a}");
    assert_eq!(a, b, "{}", unified_diff(&a, &b, "order a", "order b"));
}

/// Databases that differ only in column order render differently by
/// position and the same by name.
#[tokio::test]
async fn column_order_can_be_ignored() {
    let a = snapshot_of("create table t (a integer, b text); create type c as (x integer, y text)")
        .await;
    let b = snapshot_of("create table t (b text, a integer); create type c as (y text, x integer)")
        .await;
    assert_ne!(a.render(), b.render());
    let by_name = RenderOptions {
        column_order: ColumnOrder::Name,
    };
    assert_eq!(a.render_with(&by_name), b.render_with(&by_name));
}

/// `changed_objects` tells added, removed and changed objects apart, in
/// key order.
#[tokio::test]
async fn changed_objects_lists_each_kind_of_change() {
    let a = snapshot_of("create table kept (a integer); create table gone (a integer)").await;
    let b = snapshot_of("create table kept (a bigint); create view born as select 1 as one").await;
    let changes: Vec<(String, Change)> = changed_objects(&a, &b)
        .into_iter()
        .map(|c| (c.key.to_string(), c.change))
        .collect();
    assert_eq!(
        changes,
        [
            ("table public.gone".to_string(), Change::Removed),
            ("table public.kept".to_string(), Change::Changed),
            ("view public.born".to_string(), Change::Added),
        ]
    );
    assert!(changed_objects(&a, &a).is_empty());
}

/// The session's settings do not leak into the text (search_path decides
/// qualification; datestyle, time zone and float digits decide how
/// constants print), and `capture` leaves them as they were.
#[tokio::test]
async fn session_settings_do_not_change_the_text() {
    let mut conn = fresh_database().await;
    apply_fixture_chain(&mut conn).await;
    let plain = capture(&mut conn).await.render();
    run(
        &mut conn,
        "set search_path = app, public; set datestyle = 'German, DMY'; set timezone = 'Asia/Kolkata'; \
         set extra_float_digits = 3; set intervalstyle = 'sql_standard'; set quote_all_identifiers = on",
    )
    .await;
    let hostile = capture(&mut conn).await.render();
    assert_eq!(
        plain,
        hostile,
        "{}",
        unified_diff(&plain, &hostile, "plain", "hostile")
    );
    let (search_path,): (String,) = sqlx::query_as("show search_path")
        .fetch_one(&mut conn)
        .await
        .expect("show search_path");
    assert_eq!(search_path, "app, public");
}

/// Inside the caller's transaction, capture sees its uncommitted DDL and
/// leaves the transaction usable.
#[tokio::test]
async fn capture_inside_a_transaction_sees_its_changes() {
    let mut conn = fresh_database().await;
    let mut tx = conn.begin().await.expect("begin");
    run(&mut tx, "create table pending (a integer)").await;
    let snapshot = SchemaSnapshot::capture(&mut tx).await.expect("capture");
    assert!(snapshot.render().contains("table public.pending"));
    run(&mut tx, "insert into pending values (1)").await;
    tx.rollback().await.expect("rollback");
    assert_eq!(capture(&mut conn).await.render(), "schema public\n");
}

/// The harness's bookkeeping schema, temporary objects and objects an
/// extension owns are not the migrations' schema.
#[tokio::test]
async fn bookkeeping_and_extension_objects_are_left_out() {
    let snapshot = snapshot_of(
        "create schema pgharness; create table pgharness.applied (version text primary key); \
         create temporary table scratch (a integer); \
         create extension citext; create extension pgcrypto",
    )
    .await;
    assert_eq!(
        snapshot.render(),
        "schema public\n\n\
         extension citext version 1.6 schema public\n\n\
         extension pgcrypto version 1.3 schema public\n"
    );
}

/// `capture` runs on spawned tasks (a compile-time check).
#[allow(dead_code)]
fn capture_future_is_send(conn: &'static mut PgConnection) {
    tokio::spawn(async move { SchemaSnapshot::capture(conn).await.map(|_| ()) });
}
