//! Row 6c: generating for checks only the server can decide. One table
//! with a regex email, a regex code, a plpgsql validation function, a
//! domain with a regex, and an exclusion constraint over integer ranges;
//! pgharness' `generate_on` (introspected schema, candidates decided by the
//! server in batches, short rounds made up, COPY) against what a person
//! would write by hand: one `INSERT ... SELECT` over `generate_series`
//! whose expressions satisfy each check, run with `psql -c` (the floor: no
//! variety, no realism). Reported: rows/s and the server round trips the
//! generator spent per 1,000 rows.

use std::time::Instant;

use anyhow::{Context, Result};
use pgharness::generate::{generate_on, Profile};
use pgharness::schema::SchemaSnapshot;

use crate::process::{run_ok, Endpoint};
use crate::report::{Figure, Row, Unit};
use crate::Bench;

const SCHEMA: &str = "
create extension if not exists btree_gist;
create function tidy(s text) returns boolean language plpgsql immutable
  as $$ begin return s = btrim(s) and s <> ''; end $$;
create domain us_zip as text check (value ~ '^\\d{5}(-\\d{4})?$');
create table shape (
  id int primary key,
  email text not null check (email ~ '^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$'),
  code varchar(8) not null check (code ~* '^[a-z]{3}-\\d{4}$'),
  label text not null check (tidy(label)),
  zip us_zip not null,
  room int not null check (room between 1 and 50),
  span int4range not null,
  exclude using gist (room with =, span with &&)
);";

/// What a person would write: each expression satisfies its check.
const BY_HAND: &str = "insert into shape
  select i, 'user' || i || '@example.com', 'abc-' || lpad((i % 10000)::text, 4, '0'),
         'label ' || i, lpad((i % 100000)::text, 5, '0'), 1 + i % 50,
         int4range(i * 10, i * 10 + 5)
    from generate_series(1, {rows}) as i;";

pub async fn measure(bench: &Bench) -> Row {
    let mut row = Row::new(
        "6c",
        "generation for server-decided checks (regex, plpgsql function, domain, exclusion), rows/s",
        "psql -c: one hand-written INSERT ... SELECT generate_series satisfying each check",
        "— (reported: rows/s, server round trips per 1,000 rows)",
    );
    if let Err(e) = measure_into(bench, &mut row).await {
        row.error(format!("{e:#}"));
    }
    row
}

async fn measure_into(bench: &Bench, row: &mut Row) -> Result<()> {
    let rows = bench.options.pick(2_000, 20_000);
    let runs = bench.options.pick(2, 4);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut round_trips = 0;
    let mut rejected = 0;
    for _ in 0..runs {
        let (rate, trips, rej) = generate_once(bench, rows).await?;
        ours.push(rate);
        round_trips = trips;
        rejected = rej;
        theirs.push(by_hand_once(bench, rows).await?);
    }
    row.figures(
        Figure::of(Unit::RowsPerSec, ours),
        Figure::of(Unit::RowsPerSec, theirs),
    );
    let per_thousand = round_trips as f64 * 1000.0 / rows as f64;
    row.note(format!(
        "{rows} rows per run; the generator asked the server {round_trips} times ({per_thousand:.1} round trips per 1,000 rows, batches of 1,000 rows per query) and it rejected {rejected} candidates; pgharness' time covers introspection, generation, the server's verdicts and COPY"
    ));
    row.details = serde_json::json!({
        "rows": rows,
        "round_trips": round_trips,
        "round_trips_per_1000_rows": per_thousand,
        "rejected": rejected,
    });
    Ok(())
}

/// A database with the shape table.
async fn shape_database(bench: &Bench) -> Result<pgharness::server::Database> {
    let db = bench.server.create_database().await?;
    let mut conn = db.connect().await?;
    sqlx::raw_sql(SCHEMA)
        .execute(&mut conn)
        .await
        .context("creating the shape table")?;
    Ok(db)
}

/// rows/s, round trips, rejected candidates.
async fn generate_once(bench: &Bench, rows: usize) -> Result<(f64, usize, usize)> {
    let db = shape_database(bench).await?;
    let result = async {
        let mut conn = db.connect().await?;
        let started = Instant::now();
        let schema = SchemaSnapshot::capture(&mut conn).await?;
        let profile = Profile::with_rows([("shape", rows)]);
        let (data, rejected) = generate_on(&mut conn, &schema, &profile, 3)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        data.load(&mut conn)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let elapsed = started.elapsed().as_secs_f64();
        let n: i64 = sqlx::query_scalar("select count(*) from shape")
            .fetch_one(&mut conn)
            .await?;
        anyhow::ensure!(n as usize == rows, "{n} rows loaded, {rows} asked for");
        Ok::<_, anyhow::Error>((rows as f64 / elapsed, rejected.round_trips, rejected.rows()))
    }
    .await;
    bench.server.drop_database(db.name()).await?;
    result
}

async fn by_hand_once(bench: &Bench, rows: usize) -> Result<f64> {
    let db = shape_database(bench).await?;
    let sql = BY_HAND.replace("{rows}", &rows.to_string());
    let cmd = Endpoint::of(&db).psql_command(&bench.psql, db.name(), &sql);
    let result = run_ok(cmd, "psql -c <INSERT ... SELECT>").await;
    bench.server.drop_database(db.name()).await?;
    Ok(rows as f64 / result?.wall.as_secs_f64())
}
