//! Row 6: seed loading. 6a (the target): the library's seeding path in
//! process, introspection + generation + COPY of `seeds/dev.toml` into a
//! database at head, rows/s. 6b: the release binary's
//! `seed --database-url <empty database>`, rows counted in the database
//! afterwards, divided by the whole command's wall time. Baseline: `pgbench -i -s 10` (`-s 2` with --quick) on the same
//! server: 100,000 x scale rows (plus branches and tellers), wall time of
//! the whole initialisation (tables, COPY, vacuum, primary keys).

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use pgharness::generate::{default_seed, generate, Profile};
use pgharness::schema::SchemaSnapshot;
use sqlx::Row as _;

use crate::process::{run, run_ok, Endpoint, Finished};
use crate::report::{Figure, Row, Unit, Verdict};
use crate::Bench;

pub async fn measure(bench: &Bench) -> Vec<Row> {
    let scale = bench.options.pick(2, 10);
    let baseline = format!("pgbench -i -s {scale}");
    let mut library = Row::new(
        "6a",
        "seed generation into a database, rows/s (seeds/dev.toml: introspect + generate + COPY)",
        &baseline,
        ">= 50% of pgbench -i rows/s",
    );
    let mut command = Row::new(
        "6b",
        "`pgharness seed --database-url` command, rows/s (seeds/dev.toml, whole command)",
        &baseline,
        "— (the target is on 6a)",
    );
    if let Err(e) = measure_into(bench, scale, &mut library, &mut command).await {
        for row in [&mut library, &mut command] {
            if row.verdict != Verdict::Pending && row.pgharness.is_none() {
                row.error(format!("{e:#}"));
            }
        }
    }
    vec![library, command]
}

async fn measure_into(
    bench: &Bench,
    scale: u32,
    library: &mut Row,
    command: &mut Row,
) -> Result<()> {
    let runs = bench.options.pick(2, 4);
    let path = bench.config.seeds_dir.join("dev.toml");
    let pending = seed_unavailable(bench, &path).await;
    let profile = match &pending {
        None => Some(Profile::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?),
        Some(_) => None,
    };
    let mut ours = Vec::new();
    let mut whole = Vec::new();
    let mut command_rss = Vec::new();
    let mut load_only = Vec::new();
    let mut rows_loaded = 0;
    let mut base = Vec::new();
    let mut phases: Vec<[Duration; 3]> = Vec::new();
    let mut psql_copy = Vec::new();
    let mut psql_copy_bare = Vec::new();
    let scratch = tempfile::tempdir().context("creating a temp dir")?;
    for _ in 0..runs {
        if let Some(profile) = &profile {
            let seeded = generate_once(bench, profile).await?;
            rows_loaded = seeded.rows;
            ours.push(seeded.rate());
            phases.push([seeded.introspect, seeded.generate, seeded.load]);
            let script = scratch.path().join("seed.sql");
            std::fs::write(&script, &seeded.script).context("writing the COPY script")?;
            psql_copy
                .push(seeded.rows as f64 / psql_copy_once(bench, &script).await?.as_secs_f64());
            // The same, with triggers and foreign-key checks off: what the
            // schema itself costs per row.
            let bare = scratch.path().join("seed-replica.sql");
            std::fs::write(
                &bare,
                format!("set session_replication_role = replica;\n{}", seeded.script),
            )
            .context("writing the COPY script")?;
            psql_copy_bare
                .push(seeded.rows as f64 / psql_copy_once(bench, &bare).await?.as_secs_f64());
            let (rate, loader, peak) = command_once(bench, &path).await?;
            whole.push(rate);
            command_rss.push(peak);
            load_only.extend(loader);
        }
        base.push(pgbench_once(bench, scale).await?);
    }
    let baseline = Figure::of(Unit::RowsPerSec, base);
    let pgbench_note = format!(
        "pgbench -i -s {scale}: {} rows; wall time of the whole init (create tables, client-side COPY, vacuum, primary keys)",
        pgbench_rows(scale)
    );
    if let Some(why) = pending {
        for row in [library, command] {
            row.baseline = baseline.clone();
            row.pending(why.clone());
            row.note(pgbench_note.clone());
        }
        return Ok(());
    }
    library.figures(Figure::of(Unit::RowsPerSec, ours), baseline.clone());
    let ratio = library.ratio.unwrap_or(0.0);
    library.judge(ratio >= 0.5);
    library.note(format!(
        "{rows_loaded} rows per run; in-process through the library (`SchemaSnapshot::capture`, `generate::generate`, `Dataset::load`) on a database at head"
    ));
    let phase = |i: usize| {
        let d: Vec<Duration> = phases.iter().map(|p| p[i]).collect();
        Figure::of_durations(&d).map_or("—".into(), |f| f.display())
    };
    library.note(format!(
        "where the time goes: introspection {}, generation {}, COPY {}",
        phase(0),
        phase(1),
        phase(2)
    ));
    let psql_copy = Figure::of(Unit::RowsPerSec, psql_copy);
    let psql_copy_bare = Figure::of(Unit::RowsPerSec, psql_copy_bare);
    library.note(format!(
        "the same data set as a COPY script (`Dataset::to_copy_sql`) through `psql -f`: {}; with triggers and foreign-key checks off (session_replication_role = replica): {} — pgbench's tables have no triggers, foreign keys or indexes while loading",
        psql_copy.as_ref().map_or("—".into(), Figure::display),
        psql_copy_bare.as_ref().map_or("—".into(), Figure::display)
    ));
    library.details = serde_json::json!({
        "rows": rows_loaded,
        "psql_copy_script": psql_copy,
        "psql_copy_script_triggers_off": psql_copy_bare,
    });
    library.note(pgbench_note);
    command.figures(Figure::of(Unit::RowsPerSec, whole), baseline);
    command.verdict = Verdict::Info;
    command.note(crate::report::peak_rss(
        crate::report::PGHARNESS,
        command_rss,
    ));
    let load_only = Figure::of(Unit::RowsPerSec, load_only);
    command.note(format!(
        "rows / wall time of `pgharness seed --backend local --profile seeds/dev.toml --database-url <empty db>`: process start, a throwaway server for the chain, the chain applied to the target, introspection, generation, COPY; the load alone (as the command reports it) {}",
        load_only.as_ref().map_or("—".into(), Figure::display)
    ));
    Ok(())
}

/// Why seeding cannot be measured yet, if it cannot.
async fn seed_unavailable(bench: &Bench, profile: &std::path::Path) -> Option<String> {
    let help = run(bench.pgharness(&bench.root, &["seed", "--help"])).await;
    let has_command = matches!(&help, Ok(done) if done.code == 0);
    match (has_command, profile.is_file()) {
        (true, true) => None,
        (false, true) => {
            Some("generator not available (`pgharness seed` is not a command yet)".into())
        }
        (true, false) => Some(format!(
            "generator not available (no profile {})",
            profile.display()
        )),
        (false, false) => Some(format!(
            "generator not available (`pgharness seed` is not a command yet, no profile {})",
            profile.display()
        )),
    }
}

/// One in-process seeding, phase by phase.
struct Seeded {
    rows: u64,
    introspect: Duration,
    generate: Duration,
    load: Duration,
    /// The same data set as a psql COPY script (`Dataset::to_copy_sql`).
    script: String,
}

impl Seeded {
    fn rate(&self) -> f64 {
        self.rows as f64 / (self.introspect + self.generate + self.load).as_secs_f64()
    }
}

/// Introspects, generates and loads into a database at head, in process.
async fn generate_once(bench: &Bench, profile: &Profile) -> Result<Seeded> {
    let db = bench.harness.database_at(None).await?;
    let result = async {
        let mut conn = bench.harness.connect(&db).await?;
        let t = Instant::now();
        let schema = SchemaSnapshot::capture(&mut conn).await?;
        let introspect = t.elapsed();
        let t = Instant::now();
        let data = generate(&schema, profile, default_seed(profile))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let generate = t.elapsed();
        let t = Instant::now();
        let stats = data
            .load_with(&mut conn, false)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let load = t.elapsed();
        let _ = sqlx::Connection::close(conn).await;
        Ok::<_, anyhow::Error>(Seeded {
            rows: stats.total_rows as u64,
            introspect,
            generate,
            load,
            script: data.to_copy_sql(),
        })
    }
    .await;
    bench.harness.drop_database(&db).await?;
    result
}

/// Loads a COPY script with psql into a database at head; the time.
async fn psql_copy_once(bench: &Bench, script: &std::path::Path) -> Result<Duration> {
    let db = bench.harness.database_at(None).await?;
    let cmd = Endpoint::of(&db).psql_file(&bench.psql, db.name(), script);
    let result = run_ok(cmd, "psql -f <COPY script>").await;
    bench.harness.drop_database(&db).await?;
    Ok(result?.wall)
}

/// Runs the `seed` command into an empty database; returns (rows/s of the
/// whole command, the load rate it reported, its peak RSS in MiB).
async fn command_once(bench: &Bench, profile: &std::path::Path) -> Result<(f64, Option<f64>, f64)> {
    let (done, rows) = seed_into_empty(bench, &[], &profile.display().to_string()).await?;
    // "pgharness: seeded … with N rows (seed S, R rows/s)"
    let reported = done
        .stderr
        .lines()
        .find(|l| l.contains("rows/s"))
        .and_then(|l| l.rsplit_once(", "))
        .and_then(|(_, r)| r.split_whitespace().next())
        .and_then(|r| r.parse::<f64>().ok());
    Ok((
        rows as f64 / done.wall.as_secs_f64(),
        reported,
        done.max_rss_kib as f64 / 1024.0,
    ))
}

/// `pgharness <global> seed --backend local --profile <profile>
/// --database-url <an empty database>`, the database dropped after: the
/// finished command and the rows the database held (an error when it
/// failed or loaded none).
pub async fn seed_into_empty(
    bench: &Bench,
    global: &[&str],
    profile: &str,
) -> Result<(Finished, u64)> {
    let db = bench.server.create_database().await?;
    let result = async {
        let url = db.url();
        let mut args = global.to_vec();
        args.extend([
            "seed",
            "--backend",
            "local",
            "--profile",
            profile,
            "--database-url",
            &url,
        ]);
        let done = run(bench.pgharness(&bench.root, &args)).await?;
        if done.code != 0 {
            bail!(
                "pgharness seed exited {}:\n    {}",
                done.code,
                done.stderr_tail()
            );
        }
        let rows = count_rows(&db).await?;
        if rows == 0 {
            bail!("pgharness seed exited 0 but the database holds no rows");
        }
        Ok((done, rows))
    }
    .await;
    bench.server.drop_database(db.name()).await?;
    result
}

/// Rows in every user table of the database.
async fn count_rows(db: &pgharness::server::Database) -> Result<u64> {
    let mut conn = db.connect().await?;
    let tables = sqlx::query(
        "select format('%I.%I', n.nspname, c.relname)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p') and not c.relispartition
            and n.nspname not in ('pg_catalog', 'information_schema')
            and n.nspname not like 'pg_toast%'",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut total = 0u64;
    for t in tables {
        let name: String = t.try_get(0)?;
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {name}"))
            .fetch_one(&mut conn)
            .await
            .with_context(|| format!("counting {name}"))?;
        total += n as u64;
    }
    Ok(total)
}

fn pgbench_rows(scale: u32) -> u64 {
    u64::from(scale) * (100_000 + 10 + 1)
}

async fn pgbench_once(bench: &Bench, scale: u32) -> Result<f64> {
    let db = bench.server.create_database().await?;
    let cmd = Endpoint::of(&db).pgbench_init(&bench.pgbench, db.name(), scale);
    let result = run_ok(cmd, "pgbench -i").await;
    bench.server.drop_database(db.name()).await?;
    Ok(pgbench_rows(scale) as f64 / result?.wall.as_secs_f64())
}
