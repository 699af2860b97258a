//! Seed generation against real PostgreSQL: the sample's profiles load
//! (with COPY and as a psql script), output is deterministic, random
//! schemas are filled without a constraint violation, and profile mistakes
//! name their file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pgharness::generate::{
    dataset_strategy, generate, generate_and_load, generate_on, schema_script, GenerateError,
    LoadOptions, OnLimit, Profile,
};
use pgharness::schema::SchemaSnapshot;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sqlx::{Connection, PgConnection};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn sample_head() -> Result<(PgConnection, SchemaSnapshot), Box<dyn std::error::Error>> {
    let harness = pgharness::testing::harness(root().join("pgharness.toml")).await?;
    let db = harness.database_at(None).await?;
    let mut conn = db.connect().await?;
    let schema = SchemaSnapshot::capture(&mut conn).await?;
    Ok((conn, schema))
}

async fn count(conn: &mut PgConnection, table: &str) -> Result<usize, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(conn)
        .await?;
    Ok(n as usize)
}

/// Rows the profile asks for with `rows = N`.
fn profile_rows(profile: &Profile) -> BTreeMap<String, usize> {
    profile
        .tables
        .iter()
        .filter_map(|t| t.rows.map(|r| (format!("public.{}", t.name), r)))
        .collect()
}

#[tokio::test]
async fn ci_profile_loads_into_the_sample_schema_with_the_profiles_counts() -> TestResult {
    let (mut conn, schema) = sample_head().await?;
    let profile = Profile::load(&root().join("seeds/ci.toml"))?;
    let data = generate(&schema, &profile, 7)?;
    let stats = data.load(&mut conn).await?;
    assert_eq!(stats.total_rows, data.total_rows());

    let counts = data.row_counts();
    // `rows = N` tables have exactly N rows.
    for (table, rows) in profile_rows(&profile) {
        assert_eq!(counts[&table], rows, "{table}");
    }
    // `per_parent` tables stay in their ranges.
    let cycles = counts["public.cycle"];
    assert_eq!(
        counts["public.weekly_plan"],
        12 * cycles,
        "12 weeks per cycle"
    );
    assert!((cycles..=3 * cycles).contains(&counts["public.goal"]));
    // What is in the database is what was generated; the audit trigger adds
    // one row per goal and weekly plan to the generated audit rows.
    for (table, n) in &counts {
        let expected = if table == "public.audit_log" {
            n + counts["public.goal"] + counts["public.weekly_plan"]
        } else {
            *n
        };
        assert_eq!(count(&mut conn, table).await?, expected, "{table}");
    }
    // Sequences continue after the generated ids: the app can insert.
    sqlx::query("insert into goal (cycle_id, kind, title) select id, 'career', 'next' from cycle where id not in (select cycle_id from goal where kind = 'career') limit 1")
        .execute(&mut conn)
        .await?;
    sqlx::query("insert into app_users (display_name) values ('new user')")
        .execute(&mut conn)
        .await?;
    // Foreign keys that share an ancestor agree: a task's goal is in the
    // task's cycle, a plan item's task in its week's cycle.
    let mismatched: i64 = sqlx::query_scalar(
        "select (select count(*) from task t join goal g on g.id = t.goal_id where g.cycle_id <> t.cycle_id)
              + (select count(*) from plan_item p join weekly_plan w on w.id = p.weekly_plan_id
                   join task t on t.id = p.task_id where t.cycle_id <> w.cycle_id)",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!(mismatched, 0);
    // created_at <= updated_at everywhere they are both generated.
    let disorder: i64 = sqlx::query_scalar(
        "select (select count(*) from app_users where created_at > updated_at)
              + (select count(*) from cycle where created_at > updated_at)
              + (select count(*) from task where created_at > updated_at)",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!(disorder, 0);
    Ok(())
}

#[tokio::test]
async fn dev_profile_as_a_psql_script_loads_into_an_empty_database() -> TestResult {
    let (_conn, schema) = sample_head().await?;
    let harness = pgharness::testing::harness(root().join("pgharness.toml")).await?;
    let profile = Profile::load(&root().join("seeds/dev.toml"))?;
    let data = generate(&schema, &profile, 42)?;
    let counts = data.row_counts();
    assert!(counts["public.app_users"] >= 10 && counts["public.app_users"] < 100);
    assert!(counts["public.cycle"] >= 100, "{counts:?}");
    assert!(counts["public.task"] >= 1000, "{counts:?}");
    assert!(counts["public.chat_message"] >= 1000, "{counts:?}");

    let script = format!(
        "{}\n{}",
        schema_script(harness.chain(), &harness.config().server.bootstrap),
        data.to_copy_sql()
    );
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("seed.sql");
    std::fs::write(&file, &script)?;
    let db = harness.server().create_database().await?;
    let out = Command::new("psql")
        .arg(db.url())
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&file)
        .output()?;
    assert!(
        out.status.success(),
        "psql failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let mut conn = db.connect().await?;
    for (table, n) in &counts {
        if table != "public.audit_log" {
            assert_eq!(count(&mut conn, table).await?, *n, "{table}");
        }
    }
    assert_eq!(
        count(&mut conn, "public.audit_log").await?,
        counts["public.goal"] + counts["public.weekly_plan"],
        "one audit row per inserted goal and weekly plan"
    );
    Ok(())
}

#[tokio::test]
async fn same_seed_same_bytes_other_seed_other_bytes() -> TestResult {
    let (_conn, schema) = sample_head().await?;
    // A second capture, from another database at the same version.
    let (_conn2, schema2) = sample_head().await?;
    let profile = Profile::load(&root().join("seeds/ci.toml"))?;
    let a = generate(&schema, &profile, 11)?.to_copy_sql();
    let b = generate(&schema2, &profile, 11)?.to_copy_sql();
    assert!(
        a == b,
        "same schema, profile and seed gave different output"
    );
    let c = generate(&schema, &profile, 12)?.to_copy_sql();
    assert_ne!(a, c);
    assert!(a.contains("seed 11"), "the seed is printed in the output");
    Ok(())
}

#[tokio::test]
async fn profile_errors_name_the_file_the_line_and_the_name() -> TestResult {
    let (_conn, schema) = sample_head().await?;
    let dir = tempfile::tempdir()?;

    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "default_rows = 1\n\n[tables.goals]\nrows = 3\n")?;
    let err = generate(&schema, &Profile::load(&file)?, 1).unwrap_err();
    assert!(matches!(err, GenerateError::UnknownTable { .. }), "{err:?}");
    assert!(err.is_input_error());
    let msg = err.to_string();
    assert!(msg.contains(&format!("{}:3:", file.display())), "{msg}");
    assert!(
        msg.contains("`goals`") && msg.contains("did you mean `goal`"),
        "{msg}"
    );

    let file = dir.path().join("column.toml");
    std::fs::write(&file, "[tables.goal]\nrows = 3\n\n[tables.goal.columns.kind]\nvalues = [\"career\"]\n\n[tables.goal.columns.titel]\nfake = \"sentence\"\n")?;
    let err = generate(&schema, &Profile::load(&file)?, 1).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&format!("{}:7:", file.display())), "{msg}");
    assert!(
        msg.contains("`titel`") && msg.contains("public.goal"),
        "{msg}"
    );

    let file = dir.path().join("label.toml");
    std::fs::write(
        &file,
        "[tables.goal.columns.kind]\nvalues = [\"carreer\"]\n",
    )?;
    let msg = generate(&schema, &Profile::load(&file)?, 1)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(":1:") && msg.contains("carreer") && msg.contains("goal_kind"),
        "{msg}"
    );

    let file = dir.path().join("key.toml");
    std::fs::write(&file, "seed = 1\n[tables.goal]\nrowz = 3\n")?;
    let msg = Profile::load(&file).unwrap_err().to_string();
    assert!(
        msg.contains(&format!("{}:3:", file.display())) && msg.contains("rowz"),
        "{msg}"
    );
    Ok(())
}

#[tokio::test]
async fn combinatorial_limits_are_reported_or_capped() -> TestResult {
    let (_conn, schema) = sample_head().await?;
    let mut profile = Profile::parse(
        "default_rows = 0\n[tables.app_users]\nrows = 2\n[tables.cycle]\nrows = 3\n[tables.goal]\nper_parent = { cycle_id = [7, 7] }\n",
        Path::new("limits.toml"),
    )?;
    let msg = generate(&schema, &profile, 1).unwrap_err().to_string();
    assert!(
        msg.contains("goal_one_kind_per_cycle") && msg.contains("at most 6"),
        "{msg}"
    );
    profile.set_rows("goal", 19);
    let msg = generate(&schema, &profile, 1).unwrap_err().to_string();
    assert!(msg.contains("at most 18"), "{msg}");
    profile.set_rows("weekly_plan", 40);
    profile.set_rows("goal", 0);
    let msg = generate(&schema, &profile, 1).unwrap_err().to_string();
    assert!(
        msg.contains("weekly_plan_one_per_week") && msg.contains("at most 36"),
        "{msg}"
    );
    profile.on_limit = OnLimit::Cap;
    let data = generate(&schema, &profile, 1)?;
    assert_eq!(data.row_counts()["public.weekly_plan"], 36);
    Ok(())
}

/// Runs `ddl` in a fresh empty database; returns a connection and its
/// schema.
async fn custom_schema(
    ddl: &str,
) -> Result<(PgConnection, SchemaSnapshot), Box<dyn std::error::Error>> {
    let server = pgharness::testing::shared_server().await?;
    let db = server.create_database().await?;
    let mut conn = db.connect().await?;
    sqlx::raw_sql(ddl).execute(&mut conn).await?;
    let schema = SchemaSnapshot::capture(&mut conn).await?;
    Ok((conn, schema))
}

#[tokio::test]
async fn cycles_load_through_nulls_or_deferral_and_not_null_cycles_are_named() -> TestResult {
    // Nullable link: NULL first, then an UPDATE. Deferrable NOT NULL link:
    // values written, checked at commit. Identity GENERATED ALWAYS columns
    // are written by COPY.
    let (mut conn, schema) = custom_schema(
        "create table a (id int generated always as identity primary key, b_id int not null, name text not null);
         create table b (id int generated always as identity primary key, a_id int, label varchar(4) not null unique);
         create table c (id bigserial primary key, d_id int not null);
         create table d (id int primary key, c_id bigint not null references c deferrable initially deferred);
         alter table a add foreign key (b_id) references b;
         alter table b add foreign key (a_id) references a;
         alter table c add foreign key (d_id) references d;",
    )
    .await?;
    let profile = Profile::with_rows([("a", 20), ("b", 15), ("c", 10), ("d", 10)]);
    let data = generate(&schema, &profile, 3)?;
    data.load(&mut conn).await?;
    let linked: i64 = sqlx::query_scalar("select count(*) from b where a_id is not null")
        .fetch_one(&mut conn)
        .await?;
    assert!(linked > 0, "the UPDATE set the nullable link");
    assert_eq!(count(&mut conn, "a").await?, 20);
    let next: i32 =
        sqlx::query_scalar("insert into a (b_id, name) select id, 'x' from b limit 1 returning id")
            .fetch_one(&mut conn)
            .await?;
    assert_eq!(
        next, 21,
        "the identity sequence was advanced past the generated ids"
    );

    let (_conn, schema) = custom_schema(
        "create table p (id int primary key, q_id int not null);
         create table q (id int primary key, p_id int not null references p);
         alter table p add constraint p_q_fkey foreign key (q_id) references q;",
    )
    .await?;
    let err = generate(&schema, &Profile::with_rows([("p", 2), ("q", 2)]), 1).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, GenerateError::Cycle { .. }), "{msg}");
    assert!(
        msg.contains("p_q_fkey") && msg.contains("q_p_id_fkey") && msg.contains("DEFERRABLE"),
        "{msg}"
    );

    // Nullable links whose CHECK needs one of them set (an exclusive arc)
    // cannot be written NULL first: the cycle cannot be loaded. Capped, no
    // row of either table (never a NULL in the NOT NULL link); else named.
    // (A random schema found this: t0 got a row with a NULL in t0.f1.)
    let (mut conn, schema) = custom_schema(
        "create table t0 (id int primary key, f1 int not null);
         create table t1 (id int primary key, f0 int references t0, f1 int references t0,
                          constraint exclusive_arc check (num_nonnulls(f0, f1) = 1));
         alter table t0 add foreign key (f1) references t1;",
    )
    .await?;
    let mut profile = Profile::with_rows([("t0", 3), ("t1", 3)]);
    let msg = generate(&schema, &profile, 1).unwrap_err().to_string();
    assert!(
        msg.contains("exclusive_arc") && msg.contains("cycle") && msg.contains("DEFERRABLE"),
        "{msg}"
    );
    profile.on_limit = OnLimit::Cap;
    let data = generate(&schema, &profile, 1)?;
    assert_eq!(data.row_counts()["public.t0"], 0);
    assert_eq!(data.row_counts()["public.t1"], 0);
    data.load(&mut conn).await?;
    Ok(())
}

#[tokio::test]
async fn the_server_decides_what_the_generator_cannot_and_names_the_check_it_cannot_meet(
) -> TestResult {
    let (mut conn, schema) = custom_schema(
        "create function valid_handle(h text) returns boolean language plpgsql immutable
           as $$ begin return h like '@%' and length(h) > 2; end $$;
         create table account (
           id int primary key,
           handle text not null constraint account_handle_format check (valid_handle(handle)),
           code text not null check (code ~ '^[A-Z]{2}-[0-9]{3}$'),
           tier text not null check (tier in ('free', 'pro')),
           starts_on date not null, ends_on date not null, check (ends_on >= starts_on));",
    )
    .await?;
    // The user function rejects every generated handle: an error naming
    // the check, its column and what to write.
    let err = generate_on(
        &mut conn,
        &schema,
        &Profile::with_rows([("account", 20)]),
        1,
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, GenerateError::ServerRejected { .. }), "{msg}");
    assert!(
        msg.contains("account_handle_format")
            && msg.contains("`handle`")
            && msg.contains("PostgreSQL accepted 0 of")
            && msg.contains("[tables.\"public.account\".columns.<column>]"),
        "{msg}"
    );

    // Values that pass: the server accepts them, the regex column is
    // generated from its pattern, and the rows load.
    let profile = Profile::parse(
        "[tables.account]\nrows = 20\n\
         [tables.account.columns.handle]\nvalues = [\"@ann\", \"@bob\", \"@cy\"]\n",
        Path::new("vouch.toml"),
    )?;
    let (data, rejected) = generate_on(&mut conn, &schema, &profile, 1).await?;
    assert_eq!(rejected.rows(), 0, "{rejected:?}");
    assert!(rejected.round_trips >= 1, "the server was asked");
    data.load(&mut conn).await?;
    assert_eq!(count(&mut conn, "account").await?, 20);
    let bad: i64 =
        sqlx::query_scalar("select count(*) from account where code !~ '^[A-Z]{2}-[0-9]{3}$'")
            .fetch_one(&mut conn)
            .await?;
    assert_eq!(bad, 0);
    Ok(())
}

#[tokio::test]
async fn dataset_strategy_cases_load_into_the_sample_schema() -> TestResult {
    let (mut conn, schema) = sample_head().await?;
    let profile = Profile::with_rows([
        ("app_users", 4),
        ("vision", 4),
        ("cycle", 5),
        ("goal", 10),
        ("weekly_plan", 12),
        ("task", 12),
        ("plan_item", 8),
        ("audit_log", 4),
        ("chat_session", 4),
        ("chat_message", 8),
    ]);
    let strategy = dataset_strategy(&schema, &profile)?;
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let mut seen_boundary = false;
    for _ in 0..12 {
        let tree = strategy.new_tree(&mut runner).map_err(|e| e.to_string())?;
        let data = tree.current();
        let text = data.to_inserts();
        seen_boundary |= text.contains("''") || text.contains("O''Brien");
        // Each case in a transaction that is rolled back (the load nests a
        // savepoint in it).
        let mut tx = conn.begin().await?;
        data.load(&mut tx)
            .await
            .map_err(|e| format!("{e}\n{text}"))?;
        tx.rollback().await?;
        for (table, n) in data.row_counts() {
            assert!(
                n <= profile
                    .table(table.trim_start_matches("public."))
                    .and_then(|t| t.rows)
                    .unwrap_or(0),
                "{table}"
            );
        }
    }
    assert!(seen_boundary, "boundary values were mixed in");
    Ok(())
}

// ---------------------------------------------------------------- random schemas

/// Column types of random schemas, with checks that fit them. `{c}` is the
/// column; a check starting with `!` is one the generator cannot evaluate.
const TYPES: &[(&str, &[&str])] = &[
    (
        "integer",
        &[
            "{c} > 0",
            "{c} between -5 and 5",
            "{c} in (1, 2, 3)",
            "{c} is null or {c} >= 10",
        ],
    ),
    ("bigint", &["{c} >= 0"]),
    ("smallint", &["{c} between 1 and 12"]),
    ("numeric(6,2)", &["{c} >= 0", "{c} < 100", "{c} <> 0"]),
    ("real", &["{c} >= 0"]),
    ("double precision", &[]),
    (
        "text",
        &["length({c}) <= 5", "{c} <> ''", "!{c} ~ '^[a-z]+$'"],
    ),
    (
        "varchar(3)",
        &["{c} in ('a', 'bb', 'ccc')", "upper({c}) <> 'X'"],
    ),
    ("char(2)", &[]),
    ("boolean", &["{c} is not null"]),
    ("date", &["{c} > '2000-01-01'", "{c} < date '2100-01-01'"]),
    ("timestamptz", &["{c} < '2030-01-01'"]),
    ("timestamp", &[]),
    ("time", &[]),
    ("interval", &[]),
    ("uuid", &[]),
    (
        "jsonb",
        &[
            "jsonb_typeof({c}) = 'object'",
            "jsonb_typeof({c}) = 'array'",
        ],
    ),
    ("json", &[]),
    ("bytea", &["octet_length({c}) < 100"]),
    ("inet", &[]),
    ("mood", &["{c} <> 'sad'"]),
    ("posint", &["{c} < 1000"]),
    ("text[]", &["cardinality({c}) <= 3"]),
    ("integer[]", &[]),
    ("varchar(1)", &[]),
    ("short_text", &[]),
];

#[derive(Debug, Clone)]
struct ColSpec {
    ty: usize,
    not_null: bool,
    check: Option<usize>,
    unique: bool,
}

#[derive(Debug, Clone)]
enum Pk {
    Identity { always: bool },
    Serial,
    Uuid,
    Natural,
    Composite,
}

#[derive(Debug, Clone)]
struct FkSpec {
    /// Index of the referenced table, possibly this one (self reference) or
    /// a later one (a cycle).
    target: usize,
    not_null: bool,
    deferrable: bool,
}

#[derive(Debug, Clone)]
struct TableSpec {
    pk: Pk,
    cols: Vec<ColSpec>,
    fks: Vec<FkSpec>,
    /// A unique key over (first FK column, first extra column).
    unique_with_fk: bool,
    /// `check (c0 <= c1)` between the first two columns when comparable.
    pair_check: bool,
    generated: bool,
    /// A unique index on `lower(c0)` (text) or a partial unique index.
    unique_index: bool,
    /// An AFTER INSERT trigger writing to the `log` table.
    audited: bool,
}

fn col_spec() -> impl Strategy<Value = ColSpec> {
    (
        0..TYPES.len(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        0usize..4,
    )
        .prop_map(|(ty, not_null, has_check, unique, k)| {
            let checks = TYPES[ty].1;
            ColSpec {
                ty,
                not_null,
                check: if has_check && !checks.is_empty() {
                    Some(k % checks.len())
                } else {
                    None
                },
                unique: unique && !matches!(TYPES[ty].0, "json" | "boolean"),
            }
        })
}

fn table_spec(n_tables: usize) -> impl Strategy<Value = TableSpec> {
    let pk = prop_oneof![
        any::<bool>().prop_map(|always| Pk::Identity { always }),
        Just(Pk::Serial),
        Just(Pk::Uuid),
        Just(Pk::Natural),
        Just(Pk::Composite),
    ];
    let fk = (
        0..n_tables,
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(target, not_null, deferrable)| FkSpec {
            target,
            not_null,
            deferrable,
        });
    (
        pk,
        prop::collection::vec(col_spec(), 1..5),
        prop::collection::vec(fk, 0..3),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(pk, cols, fks, unique_with_fk, pair_check, generated, unique_index, audited)| {
                TableSpec {
                    pk,
                    cols,
                    fks,
                    unique_with_fk,
                    pair_check,
                    generated,
                    unique_index,
                    audited,
                }
            },
        )
}

fn schema_spec() -> impl Strategy<Value = (Vec<TableSpec>, Vec<usize>)> {
    (1usize..5).prop_flat_map(|n| {
        (
            prop::collection::vec(table_spec(n), n),
            prop::collection::vec(0usize..8, n),
        )
    })
}

/// The DDL of a random schema, and whether it has a check the generator
/// cannot evaluate / a cycle of NOT NULL, non-deferrable foreign keys.
fn ddl(tables: &[TableSpec]) -> String {
    let mut out = String::from(
        "create type mood as enum ('sad', 'ok', 'happy');\ncreate domain posint as integer check (value > 0);\n\
         create domain short_text as text check (length(value) between 1 and 8);\n\
         create table log (id bigserial primary key, tbl text not null, at timestamptz not null default now());\n\
         create function log_insert() returns trigger language plpgsql as $$ begin \
           insert into log (tbl) values (tg_table_name); return null; end $$;\n",
    );
    let mut extra = String::new();
    let mut alters = String::new();
    for (i, t) in tables.iter().enumerate() {
        let mut cols: Vec<String> = Vec::new();
        let mut cons: Vec<String> = Vec::new();
        match t.pk {
            Pk::Identity { always } => cols.push(format!(
                "id int generated {} as identity primary key",
                if always { "always" } else { "by default" }
            )),
            Pk::Serial => cols.push("id serial primary key".into()),
            Pk::Uuid => cols.push("id uuid primary key".into()),
            Pk::Natural => cols.push("id varchar(12) primary key".into()),
            Pk::Composite => {
                cols.push("k1 int not null".into());
                cols.push("k2 text not null".into());
                cons.push("primary key (k1, k2)".into());
            }
        }
        for (j, c) in t.cols.iter().enumerate() {
            let (ty, checks) = TYPES[c.ty];
            let mut def = format!("c{j} {ty}{}", if c.not_null { " not null" } else { "" });
            if c.unique {
                def.push_str(" unique");
            }
            if let Some(k) = c.check {
                let check = checks[k]
                    .trim_start_matches('!')
                    .replace("{c}", &format!("c{j}"));
                def.push_str(&format!(" constraint t{i}_c{j}_check check ({check})"));
            }
            cols.push(def);
        }
        if t.pair_check
            && t.cols.len() >= 2
            && TYPES[t.cols[0].ty].0 == TYPES[t.cols[1].ty].0
            && matches!(
                TYPES[t.cols[0].ty].0,
                "integer" | "bigint" | "date" | "numeric(6,2)" | "timestamptz"
            )
        {
            cons.push("check (c0 <= c1)".into());
        }
        if t.generated && matches!(t.pk, Pk::Identity { .. } | Pk::Serial) {
            cols.push("twice bigint generated always as (id * 2) stored".into());
        }
        for (k, fk) in t.fks.iter().enumerate() {
            let target = &tables[fk.target];
            let null = if fk.not_null { " not null" } else { "" };
            let (fk_cols, ref_cols) = match target.pk {
                Pk::Composite => {
                    cols.push(format!("f{k}a int{null}"));
                    cols.push(format!("f{k}b text{null}"));
                    (format!("f{k}a, f{k}b"), "k1, k2".to_string())
                }
                Pk::Uuid => {
                    cols.push(format!("f{k} uuid{null}"));
                    (format!("f{k}"), "id".into())
                }
                Pk::Natural => {
                    cols.push(format!("f{k} varchar(12){null}"));
                    (format!("f{k}"), "id".into())
                }
                _ => {
                    cols.push(format!("f{k} int{null}"));
                    (format!("f{k}"), "id".into())
                }
            };
            let deferrable = if fk.deferrable {
                " deferrable initially deferred"
            } else {
                ""
            };
            alters.push_str(&format!(
                "alter table t{i} add constraint t{i}_f{k}_fkey foreign key ({fk_cols}) references t{} ({ref_cols}){deferrable};\n",
                fk.target
            ));
        }
        if t.unique_with_fk && !t.fks.is_empty() && !matches!(TYPES[t.cols[0].ty].0, "json") {
            let first = if matches!(tables[t.fks[0].target].pk, Pk::Composite) {
                "f0a"
            } else {
                "f0"
            };
            cons.push(format!("constraint t{i}_fk_unique unique ({first}, c0)"));
        }
        if t.fks.len() >= 2
            && !t.fks[0].not_null
            && !t.fks[1].not_null
            && !matches!(tables[t.fks[0].target].pk, Pk::Composite)
            && !matches!(tables[t.fks[1].target].pk, Pk::Composite)
        {
            cons.push("constraint exclusive_arc check (num_nonnulls(f0, f1) = 1)".into());
        }
        if t.unique_index {
            if matches!(TYPES[t.cols[0].ty].0, "text" | "varchar(3)") {
                extra.push_str(&format!(
                    "create unique index t{i}_lower on t{i} (lower(c0));\n"
                ));
            } else if !matches!(TYPES[t.cols[0].ty].0, "json") {
                extra.push_str(&format!(
                    "create unique index t{i}_partial on t{i} (c0) where c0 is not null;\n"
                ));
            }
        }
        if t.audited {
            extra.push_str(&format!(
                "create trigger t{i}_log after insert on t{i} for each row execute function log_insert();\n"
            ));
        }
        cols.extend(cons);
        out.push_str(&format!(
            "create table t{i} (\n  {}\n);\n",
            cols.join(",\n  ")
        ));
    }
    out.push_str(&alters);
    out.push_str(&extra);
    out
}

fn has_unsupported_check(tables: &[TableSpec]) -> bool {
    tables.iter().any(|t| {
        t.cols
            .iter()
            .any(|c| c.check.is_some_and(|k| TYPES[c.ty].1[k].starts_with('!')))
    })
}

/// Whether some cycle of foreign keys between different tables has only
/// NOT NULL, non-deferrable links.
fn has_hard_cycle(tables: &[TableSpec]) -> bool {
    let n = tables.len();
    let mut reach = vec![vec![false; n]; n];
    for (i, t) in tables.iter().enumerate() {
        for fk in &t.fks {
            if fk.target != i && fk.not_null && !fk.deferrable {
                reach[i][fk.target] = true;
            }
        }
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                if reach[i][k] && reach[k][j] {
                    reach[i][j] = true;
                }
            }
        }
    }
    (0..n).any(|i| reach[i][i])
}

#[test]
fn random_schemas_are_filled_without_constraint_violations() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt
        .block_on(pgharness::testing::shared_server())
        .expect("a server");
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let filled = std::cell::Cell::new(0);
    let result = runner.run(
        &(schema_spec(), any::<u64>(), any::<bool>()),
        |((tables, rows), seed, boundary)| {
            let ddl = ddl(&tables);
            rt.block_on(async {
                let db = server
                    .create_database()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut conn = db
                    .connect()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                sqlx::raw_sql(&ddl)
                    .execute(&mut conn)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("{e}\n{ddl}")))?;
                let schema = SchemaSnapshot::capture(&mut conn)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut profile = Profile::with_rows(
                    rows.iter()
                        .enumerate()
                        .map(|(i, n)| (["t0", "t1", "t2", "t3"][i], *n)),
                );
                profile.set_rows("log", 3);
                profile.on_limit = OnLimit::Cap;
                // Realistic values, or a proptest case with boundary values.
                let outcome = if boundary {
                    dataset_strategy(&schema, &profile).map(|strategy| {
                        let mut runner = TestRunner::new_with_rng(
                            Config::default(),
                            proptest::test_runner::TestRng::from_seed(
                                proptest::test_runner::RngAlgorithm::ChaCha,
                                &[seed as u8; 32],
                            ),
                        );
                        strategy
                            .new_tree(&mut runner)
                            .expect("a data set")
                            .current()
                    })
                } else {
                    generate(&schema, &profile, seed)
                };
                let result = match outcome {
                    // Foreign keys checked row by row, or after the load.
                    Ok(data) => match data
                        .load_with_options(
                            &mut conn,
                            &pgharness::generate::LoadOptions {
                                progress: false,
                                foreign_keys: if seed % 2 == 0 {
                                    pgharness::generate::ForeignKeyChecks::PerRow
                                } else {
                                    pgharness::generate::ForeignKeyChecks::AfterLoad
                                },
                            },
                        )
                        .await
                    {
                        Ok(_) => {
                            for (table, n) in data.row_counts() {
                                if table == "public.log" {
                                    continue;
                                }
                                let got = count(&mut conn, &table)
                                    .await
                                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                                prop_assert_eq!(got, n, "{}", table);
                            }
                            filled.set(filled.get() + 1);
                            Ok(())
                        }
                        Err(e) => Err(TestCaseError::fail(format!(
                            "load failed: {e}\n{ddl}\n{}",
                            data.to_inserts()
                        ))),
                    },
                    Err(GenerateError::UnsupportedCheck { ref constraint, .. })
                        if has_unsupported_check(&tables) =>
                    {
                        prop_assert!(constraint.starts_with('t'), "{}", constraint);
                        Ok(())
                    }
                    Err(GenerateError::Cycle { .. }) if has_hard_cycle(&tables) => Ok(()),
                    Err(e) => Err(TestCaseError::fail(format!("{e}\n{ddl}"))),
                };
                let _ = conn.close().await;
                let _ = server.drop_database(db.name()).await;
                result
            })
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        filled.get() >= 8,
        "most random schemas should be fillable, {} were",
        filled.get()
    );
}

#[tokio::test]
async fn foreign_keys_checked_after_the_load_leave_the_schema_as_it_was() -> TestResult {
    use pgharness::generate::{ForeignKeyChecks, LoadOptions};
    let (mut conn, _) = sample_head().await?;
    sqlx::raw_sql("comment on constraint goal_cycle_id_fkey on goal is 'goals belong to a cycle'")
        .execute(&mut conn)
        .await?;
    let before = SchemaSnapshot::capture(&mut conn).await?;
    let profile = Profile::load(&root().join("seeds/ci.toml"))?;
    let data = generate(&before, &profile, 5)?;
    let options = LoadOptions {
        progress: false,
        foreign_keys: ForeignKeyChecks::AfterLoad,
    };
    data.load_with_options(&mut conn, &options).await?;
    let after = SchemaSnapshot::capture(&mut conn).await?;
    assert_eq!(before.render(), after.render());
    assert_eq!(
        count(&mut conn, "task").await?,
        data.row_counts()["public.task"]
    );
    // The re-added constraints are live.
    let err =
        sqlx::query("insert into goal (cycle_id, kind, title) values (-1, 'career', 'orphan')")
            .execute(&mut conn)
            .await
            .unwrap_err();
    assert!(err.to_string().contains("goal_cycle_id_fkey"), "{err}");
    Ok(())
}

#[tokio::test]
async fn sql_and_default_rules_are_left_to_the_server() -> TestResult {
    let ddl = "create table member (
                 id bigint generated always as identity primary key,
                 name text not null,
                 email text not null unique,
                 joined timestamptz not null default '2020-02-02 00:00:00+00');";
    let (mut conn, schema) = custom_schema(ddl).await?;
    let profile = Profile::parse(
        "[tables.member]\nrows = 25\n\
         [tables.member.columns.email]\nsql = \"'m' || id || '@example.com'\"\n\
         [tables.member.columns.joined]\ndefault = true\n",
        Path::new("server.toml"),
    )?;
    let data = generate(&schema, &profile, 9)?;
    // Through COPY into a staging table and INSERT ... SELECT.
    data.load(&mut conn).await?;
    let (n, distinct, defaults): (i64, i64, i64) = sqlx::query_as(
        "select count(*), count(distinct email), count(*) filter (where joined = '2020-02-02 00:00:00+00')
           from member where email = 'm' || id || '@example.com'",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!((n, distinct, defaults), (25, 25, 25));
    // And through psql.
    let server = pgharness::testing::shared_server().await?;
    let db = server.create_database().await?;
    let mut conn2 = db.connect().await?;
    sqlx::raw_sql(ddl).execute(&mut conn2).await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("data.sql");
    std::fs::write(&file, data.to_copy_sql())?;
    let out = Command::new("psql")
        .arg(db.url())
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&file)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&mut conn2, "member").await?, 25);
    Ok(())
}

#[tokio::test]
async fn partitioned_tables_get_rows_inside_their_partitions() -> TestResult {
    let (mut conn, schema) = custom_schema(
        "create table event (id bigint not null, happened_on date not null, kind text not null,
                             primary key (id, happened_on)) partition by range (happened_on);
         create table event_2023 partition of event for values from ('2023-01-01') to ('2024-01-01');
         create table event_2024 partition of event for values from ('2024-01-01') to ('2024-07-01');
         create table region_sales (region text not null, amount numeric(10,2) not null check (amount > 0))
           partition by list (region);
         create table sales_eu partition of region_sales for values in ('de', 'fr');
         create table sales_us partition of region_sales for values in ('us');",
    )
    .await?;
    let data = generate(
        &schema,
        &Profile::with_rows([("event", 40), ("region_sales", 30)]),
        4,
    )?;
    assert!(
        data.table("event_2023").is_none(),
        "partitions are loaded through their parent"
    );
    data.load(&mut conn).await?;
    assert_eq!(count(&mut conn, "event").await?, 40);
    assert_eq!(count(&mut conn, "region_sales").await?, 30);
    let both: i64 = sqlx::query_scalar(
        "select (select count(*) from event_2023) * (select count(*) from event_2024)",
    )
    .fetch_one(&mut conn)
    .await?;
    assert!(both > 0, "rows in every partition");
    Ok(())
}

#[tokio::test]
async fn json_documents_hold_what_generated_columns_read() -> TestResult {
    // Kestra's shapes (tests/realworld/kestra): NOT NULL columns computed
    // from keys and paths of a JSON document, of several types.
    let ddl = "create type state as enum ('CREATED', 'RUNNING', 'SUCCESS');
               create function parse_iso8601_datetime(text) returns timestamptz
                 language sql immutable as $$ select $1::timestamptz $$;
               create function state_fromtext(text) returns state
                 language sql immutable as $$ select $1::state $$;
               create table flows (
                 key varchar(250) not null primary key,
                 value jsonb not null,
                 deleted bool not null generated always as (cast(value ->> 'deleted' as bool)) stored,
                 id varchar(100) not null generated always as (value ->> 'id') stored,
                 namespace varchar(150) not null generated always as (value #>> '{source, namespace}') stored,
                 task_run_id varchar(150) not null generated always as (value -> 'taskRun' ->> 'id') stored,
                 revision int not null generated always as (cast(value ->> 'revision' as int)) stored,
                 state state not null generated always as (state_fromtext(value #>> '{state, current}')) stored,
                 updated timestamptz not null generated always as (parse_iso8601_datetime(value ->> 'updated')) stored,
                 unique (namespace, id));";
    let (mut conn, schema) = custom_schema(ddl).await?;
    let profile = Profile::parse("[tables.flows]\nrows = 40\n", Path::new("x.toml"))?;
    let data = generate(&schema, &profile, 5)?;
    data.load(&mut conn).await?;
    let (n, states): (i64, i64) = sqlx::query_as(
        "select count(*), count(distinct state) from flows where revision between 0 and 1000",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!(n, 40);
    assert!(states >= 2, "{states}");
    // The strategy's simplest and boundary values keep them too.
    let strategy = pgharness::generate::dataset_strategy(&schema, &profile)?;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..16 {
        let case = strategy.new_tree(&mut runner).expect("a case").current();
        sqlx::raw_sql(&format!("begin; {} rollback;", case.to_inserts()))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn rows_already_in_the_database_keep_their_keys() -> TestResult {
    // Rows an earlier migration inserted: ids through the sequence and one
    // given explicitly, unique names, a booking an exclusion constraint
    // guards, and a trigger-inserted row's table.
    let (mut conn, schema) = custom_schema(
        "create extension if not exists btree_gist;
         create table role (id serial primary key, name text not null unique check (name in ('admin', 'user', 'guest', 'owner')));
         insert into role (name) values ('admin'), ('user');
         insert into role (id, name) values (10, 'guest');
         create table booking (id int generated always as identity primary key, room int not null check (room = 1),
           during tsrange not null, exclude using gist (room with =, during with &&));
         insert into booking (room, during) values (1, '[2020-01-01, 2030-01-01)');
         create table slot (id int primary key, room int not null check (room between 1 and 2),
           during int4range not null, exclude using gist (room with =, during with &&));",
    )
    .await?;
    // Every new booking overlaps the existing decade-long one: none can be
    // added, and the error names the constraint that refused them.
    let err = generate_on(
        &mut conn,
        &schema,
        &Profile::with_rows([("role", 0), ("booking", 3), ("slot", 0)]),
        5,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("PostgreSQL accepted 0 of")
            && err.contains("booking_room_during_excl")
            && err.contains("exclude using gist (room with =, during with &&)"),
        "{err}"
    );
    let profile = Profile::with_rows([("role", 1), ("booking", 0), ("slot", 30)]);
    let (data, rejected) = generate_on(&mut conn, &schema, &profile, 5).await?;
    data.load(&mut conn).await?;
    // The new row takes a free name (candidates with a taken one were
    // rejected) and an id after the largest in use.
    let owner: i32 = sqlx::query_scalar("select id from role where name = 'owner'")
        .fetch_one(&mut conn)
        .await?;
    assert!(owner > 10, "{owner}");
    assert_eq!(count(&mut conn, "role").await?, 4);
    assert_eq!(count(&mut conn, "booking").await?, 1, "{rejected:?}");
    // Slots collide among themselves only: all 30 are there (overlapping
    // candidates were rejected and made up for).
    assert_eq!(count(&mut conn, "slot").await?, 30);
    Ok(())
}

/// Each table's rows (in key order) and its sequence's position, as one
/// digest per table: two loads made the same data when these are equal.
async fn table_digests(
    conn: &mut PgConnection,
    tables: &[&str],
) -> Result<Vec<(String, i64, Option<String>)>, sqlx::Error> {
    let mut out = Vec::new();
    for t in tables {
        let (n, digest): (i64, Option<String>) = sqlx::query_as(&format!(
            "select count(*), md5(string_agg(t::text, ',' order by t.id)) from {t} t"
        ))
        .fetch_one(&mut *conn)
        .await?;
        out.push((t.to_string(), n, digest));
    }
    Ok(out)
}

#[tokio::test]
async fn a_large_table_nothing_points_at_is_generated_while_it_loads_with_the_same_rows(
) -> TestResult {
    // The largest table (chat_message: up to 500 x 4 x 80 rows) is one
    // nothing points at.
    let profile = Profile::parse(
        "seed = 3\ndefault_rows = 0\n\
         [tables.app_users]\nrows = 500\n\
         [tables.chat_session]\nper_parent = { user_id = [2, 4] }\n\
         [tables.chat_message]\nper_parent = { session_id = [70, 80] }\n",
        Path::new("large-sink.toml"),
    )?;
    let tables = ["app_users", "chat_session", "chat_message"];
    // Built in memory, then loaded.
    let (mut whole, schema) = sample_head().await?;
    let (data, _) = generate_on(&mut whole, &schema, &profile, 3).await?;
    let loaded = data.load(&mut whole).await?;
    assert!(loaded.streamed.is_empty());
    // Generated while it loads. Its plain index (commented here) is built
    // after the rows; one with a statistics target of its own is kept.
    let (mut streamed, _) = sample_head().await?;
    sqlx::raw_sql(
        "comment on index chat_message_session_id_created_at_idx is 'reading order';
         create index chat_message_role_idx on chat_message (lower(content));
         alter index chat_message_role_idx alter column 1 set statistics 500;",
    )
    .execute(&mut streamed)
    .await?;
    let schema = SchemaSnapshot::capture(&mut streamed).await?;
    let oids = "select array_agg(oid::int8 order by relname) from pg_class
                 where relname in ('chat_message_session_id_created_at_idx', 'chat_message_role_idx')";
    let oids_before: Vec<i64> = sqlx::query_scalar(oids).fetch_one(&mut streamed).await?;
    let stats =
        generate_and_load(&mut streamed, &schema, &profile, 3, &LoadOptions::default()).await?;
    assert_eq!(stats.streamed, ["public.chat_message"]);
    let oids_after: Vec<i64> = sqlx::query_scalar(oids).fetch_one(&mut streamed).await?;
    assert_eq!(
        oids_before[0], oids_after[0],
        "the index with a statistics target was kept"
    );
    assert_ne!(
        oids_before[1], oids_after[1],
        "the plain index was built after the rows"
    );
    let after = SchemaSnapshot::capture(&mut streamed).await?;
    assert_eq!(schema.render(), after.render(), "the schema changed");
    let messages = stats
        .rows
        .iter()
        .find(|(t, _)| t == "public.chat_message")
        .map_or(0, |(_, n)| *n);
    assert!(
        messages >= pgharness::generate::STREAM_FROM_ROWS / 2,
        "{messages} messages: the stream must carry many COPY pieces"
    );
    assert_eq!(stats.total_rows, loaded.total_rows);
    let a = table_digests(&mut whole, &tables).await?;
    let b = table_digests(&mut streamed, &tables).await?;
    assert_eq!(a, b, "the streamed load wrote other rows");
    // The identity's sequence moved past the streamed ids.
    let next: i64 = sqlx::query_scalar(
        "select nextval(pg_get_serial_sequence('chat_message', 'id')) - max(id) from chat_message",
    )
    .fetch_one(&mut streamed)
    .await?;
    assert_eq!(next, 1);

    // The same as a psql script: the same bytes as the data set built in
    // memory, after the schema.
    let harness = pgharness::testing::harness(root().join("pgharness.toml")).await?;
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("seed.sql");
    let report = pgharness::seed::to_file(&harness, &profile, Some(3), &out).await?;
    assert_eq!(report.streamed, ["public.chat_message"]);
    let script = std::fs::read_to_string(&out)?;
    assert!(
        script.ends_with(&data.to_copy_sql()),
        "the streamed script's data differs from the data set's"
    );
    assert_eq!(report.total_rows(), loaded.total_rows);
    Ok(())
}

#[tokio::test]
async fn a_streamed_table_whose_check_only_the_server_decides_is_built_in_memory() -> TestResult {
    // The generator cannot evaluate `even_length`: the server must decide
    // it for every row, which a stream cannot wait for.
    let (mut conn, schema) = custom_schema(
        "create function even_length(t text) returns boolean language sql immutable
           as $$ select length(t) % 2 = 0 $$;
         create table author (id int primary key, name text not null);
         create table note (
           id bigint generated by default as identity primary key,
           author_id int not null references author (id),
           body text not null constraint note_body_even check (even_length(body)));",
    )
    .await?;
    let profile = Profile::parse(
        "[tables.author]\nrows = 1000\n\
         [tables.note]\nper_parent = { author_id = [60, 60] }\n",
        Path::new("notes.toml"),
    )?;
    let stats = generate_and_load(&mut conn, &schema, &profile, 1, &LoadOptions::default()).await?;
    assert!(stats.streamed.is_empty(), "{:?}", stats.streamed);
    let notes = count(&mut conn, "note").await?;
    assert!(notes > 1000, "{notes} notes: the server accepted some");
    let odd: i64 = sqlx::query_scalar("select count(*) from note where length(body) % 2 = 1")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(odd, 0);
    Ok(())
}
