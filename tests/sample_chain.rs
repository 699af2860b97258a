//! The bundled sample project (a 12-week-year planner): its chain applies,
//! its rules hold when checked by hand in SQL, its rename step keeps data,
//! and its downs undo everything.

use std::path::Path;

use pgharness::Harness;
use sqlx::postgres::PgConnection;
use sqlx::Connection;

async fn harness() -> std::sync::Arc<Harness> {
    pgharness::testing::harness(Path::new(env!("CARGO_MANIFEST_DIR")).join("pgharness.toml"))
        .await
        .unwrap()
}

/// Runs `sql` and returns the SQLSTATE it failed with, or `None`.
async fn sqlstate_of(conn: &mut PgConnection, sql: &str) -> Option<String> {
    match sqlx::raw_sql(sql).execute(&mut *conn).await {
        Ok(_) => None,
        Err(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()),
        Err(e) => panic!("{sql}: {e}"),
    }
}

const SETUP: &str = "
insert into app_users (id, email, display_name) values (1, 'ann@example.com', 'Ann'), (2, null, 'Legacy Ben');
insert into cycle (id, owner_id, title, start_date, plan_locked_at) values
  (10, 1, 'locked', date '2024-01-01', timestamptz '2024-01-08 09:00+00'),
  (20, 1, 'unlocked', date '2024-04-01', null),
  (30, 2, 'bens', date '2024-01-01', null);
insert into weekly_plan (cycle_id, week_no, quota)
  select c, w, 5 from unnest(array[10, 20, 30]) c, generate_series(1, 12) w;
insert into goal (cycle_id, kind, title) values (10, 'career', 'Ship v1');
";

#[tokio::test]
async fn the_rules_hold_at_head() {
    let harness = harness().await;
    let db = harness.database_at(None).await.unwrap();
    let mut conn = db.connect().await.unwrap();
    sqlx::raw_sql(SETUP).execute(&mut conn).await.unwrap();

    // At most one goal of each kind per cycle.
    assert_eq!(
        sqlstate_of(
            &mut conn,
            "insert into goal (cycle_id, kind, title) values (10, 'career', 'Second')"
        )
        .await
        .as_deref(),
        Some("23505")
    );
    // Another kind in the same cycle is fine.
    assert_eq!(
        sqlstate_of(
            &mut conn,
            "insert into goal (cycle_id, kind, title) values (10, 'health', 'Run')"
        )
        .await,
        None
    );
    // The week lock: week 7 of a locked cycle is refused with PH001 ...
    let err = sqlx::raw_sql(
        "update weekly_plan set quota = quota + 1 where cycle_id = 10 and week_no = 7",
    )
    .execute(&mut conn)
    .await
    .unwrap_err();
    let db_err = err.as_database_error().unwrap();
    assert_eq!(db_err.code().as_deref(), Some("PH001"));
    assert!(
        db_err.message().contains("week 7 of cycle 10 is locked"),
        "{}",
        db_err.message()
    );
    // ... and so is week 12, but week 6 of the same cycle and week 7 of an
    // unlocked cycle stay editable.
    assert_eq!(
        sqlstate_of(
            &mut conn,
            "update weekly_plan set quota = 0 where cycle_id = 10 and week_no = 12"
        )
        .await
        .as_deref(),
        Some("PH001")
    );
    assert_eq!(
        sqlstate_of(
            &mut conn,
            "update weekly_plan set quota = quota + 1 where cycle_id = 10 and week_no = 6"
        )
        .await,
        None
    );
    assert_eq!(
        sqlstate_of(
            &mut conn,
            "update weekly_plan set quota = quota + 1 where cycle_id = 20 and week_no = 7"
        )
        .await,
        None
    );
    let quotas: Vec<(i32, i32, i32)> =
        sqlx::query_as("select cycle_id::int, week_no::int, quota::int from weekly_plan where (cycle_id, week_no) in ((10, 6), (10, 7), (20, 7)) order by 1, 2")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(quotas, vec![(10, 6, 6), (10, 7, 5), (20, 7, 6)]);
    // Audit values must be JSON objects.
    assert_eq!(
        sqlstate_of(&mut conn, "insert into audit_log (entity, entity_id, action, before) values ('goal', 1, 'update', '[1]'::jsonb)").await.as_deref(),
        Some("23514")
    );
    // The audit trigger wrote objects for the changes above.
    let kinds: Vec<String> =
        sqlx::query_scalar("select distinct jsonb_typeof(coalesce(after, before)) from audit_log")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(kinds, vec!["object".to_string()]);
    // Row-level security: a user sees only their own cycles.
    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql("set local role app_user; select set_config('app.user_id', '2', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let visible: Vec<i64> = sqlx::query_scalar("select id from cycle order by id")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, vec![30]);
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn the_rename_step_keeps_every_row() {
    let harness = harness().await;
    let before_rename = harness.chain().position("0013_app_users").unwrap();
    let db = harness.database_at_level(before_rename).await.unwrap();
    let mut conn = db.connect().await.unwrap();
    sqlx::raw_sql(
        "insert into users (email, display_name) values ('alice@example.com', 'Alice'), (null, 'Legacy Larry'), ('bob@example.com', 'Bob'), (null, 'Legacy Lena');
         insert into vision (user_id, statement) select id, 'vision of ' || display_name from users;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let users_query =
        "select id, coalesce(email, '<null>'), display_name, created_at::text from {t} order by id";
    let users_before: Vec<(i64, String, String, String)> =
        sqlx::query_as(&users_query.replace("{t}", "users"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let visions_before: Vec<(i64, i64, String)> =
        sqlx::query_as("select id, user_id, statement from vision order by id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(users_before.len(), 4);
    for index in before_rename..harness.chain().migrations.len() {
        harness.apply_up(&mut conn, index).await.unwrap();
    }
    let users_after: Vec<(i64, String, String, String)> =
        sqlx::query_as(&users_query.replace("{t}", "app_users"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let visions_after: Vec<(i64, i64, String)> =
        sqlx::query_as("select id, owner_user_id, statement from vision order by id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(users_after, users_before);
    assert_eq!(visions_after, visions_before);
    let legacy: Option<String> = sqlx::query_scalar("select to_regclass('public.users')::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(legacy, None, "the legacy table should be gone");
}

/// Everything a migration can leave in the app's schema, by kind.
const LEFTOVERS: &str = "
select 'table ' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'public'
union all
select 'type ' || t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
  where n.nspname = 'public' and t.typtype in ('e', 'd', 'c', 'r') and t.typrelid = 0
union all
select 'function ' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = 'public'
union all
select 'policy ' || polname from pg_policy
union all
select 'trigger ' || tgname from pg_trigger where not tgisinternal
union all
select 'acl ' || nspname || ' ' || coalesce(nspacl::text, '') from pg_namespace where nspname = 'public'
order by 1";

#[tokio::test]
async fn all_downs_in_reverse_leave_the_database_as_empty_as_it_started() {
    let harness = harness().await;
    let empty = harness.fresh_database().await.unwrap();
    let mut conn = empty.connect().await.unwrap();
    let expected: Vec<String> = sqlx::query_scalar(LEFTOVERS)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let db = harness.database_at(None).await.unwrap();
    let mut conn = db.connect().await.unwrap();
    let at_head: Vec<String> = sqlx::query_scalar(LEFTOVERS)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(
        at_head.len() > 40,
        "the chain should create plenty: {at_head:?}"
    );
    for index in (0..harness.chain().migrations.len()).rev() {
        assert!(
            harness.apply_down(&mut conn, index).await.unwrap(),
            "migration {index} has no down"
        );
    }
    let left: Vec<String> = sqlx::query_scalar(LEFTOVERS)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, expected);
}
