//! The generator on the CHECK and type shapes real chains use: for each,
//! a table with that shape gets exactly the rows asked for, and Postgres
//! accepts and loads every one (the server decides what the generator's
//! evaluator cannot). Shapes are taken from the vendored real-world chains
//! and from common open-source schemas (named in each case).

use pgharness::generate::{generate_on, Profile};
use pgharness::schema::SchemaSnapshot;

/// (shape, DDL creating table `t`, and what it needs first).
const SHAPES: &[(&str, &str)] = &[
    // Regular expressions.
    ("email regex", "create table t (id int primary key, email text not null check (email ~ '^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$'))"),
    ("case-insensitive regex", "create table t (id int primary key, code varchar(8) not null check (code ~* '^[a-z]{3}-\\d{4}$'))"),
    ("negated regex", "create table t (id int primary key, name text not null check (name !~ '\\s'))"),
    ("slug regex and lower", "create table t (id int primary key, slug text not null unique check (slug = lower(slug) and slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'))"),
    ("hex colour", "create table t (id int primary key, colour char(7) not null check (colour ~ '^#[0-9a-fA-F]{6}$'))"),
    ("digits with length", "create table t (id int primary key, code text not null check (length(code) = 6 and code ~ '^[0-9]+$'))"),
    ("word boundary (PostgreSQL-only syntax)", "create table t (id int primary key, title text not null check (title ~ '\\m[A-Z]'))"),
    // Functions the evaluator does not know.
    ("position", "create table t (id int primary key, email text not null check (position('@' in email) > 1))"),
    ("char_length of trim", "create table t (id int primary key, name text not null check (char_length(trim(name)) > 0))"),
    ("upper and length", "create table t (id int primary key, country text not null check (upper(country) = country and length(country) = 2))"),
    ("octet_length", "create table t (id int primary key, data bytea not null check (octet_length(data) <= 64))"),
    ("array_length", "create table t (id int primary key, tags text[] not null check (array_length(tags, 1) between 1 and 10))"),
    ("cardinality", "create table t (id int primary key, tags text[] not null check (cardinality(tags) <= 3))"),
    ("jsonb key exists", "create table t (id int primary key, data jsonb not null check (jsonb_typeof(data) = 'object' and data ? 'id'))"),
    ("jsonb array length", "create table t (id int primary key, items jsonb not null check (jsonb_typeof(items) = 'array' and jsonb_array_length(items) <= 5))"),
    ("date_trunc", "create table t (id int primary key, day timestamp not null check (date_trunc('day', day) = day))"),
    ("now()", "create table t (id int primary key, created_at timestamptz not null check (created_at <= now()))"),
    ("modulo", "create table t (id int primary key, minutes int not null check (minutes % 15 = 0 and minutes > 0))"),
    ("CASE", "create table t (id int primary key, kind text not null check (kind in ('fixed', 'percent')), amount numeric(10,2), check (case when kind = 'fixed' then amount is not null else amount is null end))"),
    ("user function", "create function is_even(n int) returns boolean language sql immutable as 'select n % 2 = 0'; create table t (id int primary key, n int not null check (is_even(n)))"),
    ("plpgsql function", "create function tidy(s text) returns boolean language plpgsql immutable as $$ begin return s = btrim(s) and s <> ''; end $$; create table t (id int primary key, label text not null check (tidy(label)))"),
    ("multi-column coalesce", "create table t (id int primary key, a int, b int, check (coalesce(a, 0) + coalesce(b, 0) > 0))"),
    ("num_nonnulls exclusive arc", "create table t (id int primary key, user_id int, team_id int, check (num_nonnulls(user_id, team_id) = 1))"),
    ("a check that raises for some values", "create table t (id int primary key, n int not null check (n between 1 and 9), check (100 / (n - 5) > 0))"),
    ("interval", "create table t (id int primary key, duration interval not null check (duration > interval '0'))"),
    ("inet family", "create table t (id int primary key, ip inet not null check (family(ip) = 4))"),
    // Domains.
    ("domain with regex", "create domain us_zip as text check (value ~ '^\\d{5}(-\\d{4})?$'); create table t (id int primary key, zip us_zip not null)"),
    ("domain with function", "create domain short_name as text check (char_length(btrim(value)) between 1 and 20); create table t (id int primary key, name short_name not null)"),
    ("domain over domain", "create domain pos as numeric(12,2) check (value > 0); create domain price as pos check (value < 10000); create table t (id int primary key, p price not null)"),
    // Keys.
    ("partial unique index", "create table t (id int primary key, email text not null, deleted_at timestamptz); create unique index on t (email) where deleted_at is null"),
    ("expression unique index", "create table t (id int primary key, email text not null); create unique index on t (lower(email))"),
    ("exclusion on ranges", "create extension if not exists btree_gist; create table t (id int primary key, room int not null check (room between 1 and 3), during tsrange not null, exclude using gist (room with =, during with &&))"),
    // Types.
    ("int4range", "create table t (id int primary key, span int4range not null check (not isempty(span)))"),
    ("daterange and tstzrange", "create table t (id int primary key, valid daterange not null, at tstzrange)"),
    ("numrange and int8range", "create table t (id int primary key, a numrange not null, b int8range not null)"),
    ("multirange", "create table t (id int primary key, m int4multirange not null, d datemultirange not null)"),
    ("geometric", "create table t (id int primary key, p point not null, b box not null, c circle not null, l lseg not null, g polygon not null, w path not null, n line not null)"),
    ("network and bits", "create table t (id int primary key, ip inet not null, net cidr not null, mac macaddr not null, mac8 macaddr8 not null, flags bit(8) not null, mask varbit(16) not null)"),
    ("text search", "create table t (id int primary key, doc tsvector not null, q tsquery not null)"),
    ("money, xml, uuid", "create table t (id uuid primary key default gen_random_uuid(), price money not null, body xml not null)"),
    ("citext unique", "create extension if not exists citext; create table t (id int primary key, email citext not null unique)"),
    ("ltree", "create extension if not exists ltree; create table t (id int primary key, path ltree not null check (nlevel(path) >= 1))"),
    ("hstore", "create extension if not exists hstore; create table t (id int primary key, attrs hstore not null)"),
    ("pg_trgm-indexed text", "create extension if not exists pg_trgm; create table t (id int primary key, name text not null); create index on t using gin (name gin_trgm_ops)"),
    ("composite", "create type address as (street text, zip int, tags text[]); create table t (id int primary key, home address not null)"),
    ("user range type", "create type floatrange as range (subtype = float8); create table t (id int primary key, r floatrange not null)"),
    ("array of enum", "create type mood as enum ('ok', 'sad'); create table t (id int primary key, moods mood[] not null check (cardinality(moods) > 0))"),
    ("types only the server reads (cube, seg)", "create extension if not exists cube; create extension if not exists seg; create table t (id int primary key, c cube not null, s seg not null)"),
    ("oid, pg_lsn, time with time zone", "create table t (id int primary key, o oid not null, lsn pg_lsn not null, at timetz not null)"),
];

const ROWS: usize = 40;

#[tokio::test]
async fn every_shape_gets_its_rows_and_postgres_loads_them(
) -> Result<(), Box<dyn std::error::Error>> {
    let server = pgharness::testing::shared_server().await?;
    let mut failures = Vec::new();
    for (shape, ddl) in SHAPES {
        let db = server.create_database().await?;
        let mut conn = db.connect().await?;
        sqlx::raw_sql(ddl).execute(&mut conn).await?;
        let schema = SchemaSnapshot::capture(&mut conn).await?;
        let profile = Profile::with_rows([("t", ROWS)]);
        let outcome = async {
            let (data, _) = generate_on(&mut conn, &schema, &profile, 11)
                .await
                .map_err(|e| e.to_string())?;
            data.load(&mut conn).await.map_err(|e| e.to_string())?;
            let n: i64 = sqlx::query_scalar("select count(*) from t")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            if n as usize != ROWS {
                return Err(format!("{n} rows loaded, {ROWS} asked for"));
            }
            Ok::<(), String>(())
        }
        .await;
        if let Err(e) = outcome {
            failures.push(format!("{shape}: {e}"));
        }
    }
    assert!(SHAPES.len() >= 40);
    assert!(
        failures.is_empty(),
        "{} of {} shapes failed:\n{}",
        failures.len(),
        SHAPES.len(),
        failures.join("\n")
    );
    Ok(())
}
