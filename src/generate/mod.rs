//! Seed data generation from the introspected schema: realistic,
//! foreign-key-consistent, constraint-respecting rows for any schema,
//! deterministic for a seed, loaded with COPY.
//!
//! ```no_run
//! # async fn f(mut conn: sqlx::PgConnection) -> Result<(), Box<dyn std::error::Error>> {
//! use pgharness::generate::{generate, Profile};
//! use pgharness::schema::SchemaSnapshot;
//! let schema = SchemaSnapshot::capture(&mut conn).await?;
//! let profile = Profile::load("seeds/dev.toml".as_ref())?;
//! let data = generate(&schema, &profile, 42)?;
//! let stats = data.load(&mut conn).await?;          // COPY into the database
//! std::fs::write("seed.sql", data.to_copy_sql())?;   // or a psql script
//! # let _ = stats; Ok(()) }
//! ```
//!
//! The flow: [`Profile`] (a `seeds/*.toml` file) + [`SchemaSnapshot`] ->
//! a plan (tables in dependency order, each column's source of values and
//! the restrictions its checks impose, unique keys, foreign keys) -> rows
//! ([`Dataset`]) -> COPY into a database, or a psql script.
//!
//! What the generator respects:
//! - **Types**: integers, numerics with precision and scale, floats, money,
//!   text with `varchar(n)`/`char(n)` lengths, `citext`, booleans, dates,
//!   times, timestamps (with and without time zone), intervals, uuids, json
//!   and jsonb, bytea, inet/cidr/macaddr, bit strings, xml, tsvector,
//!   enums (their labels), domains (followed to their base type, with their
//!   `CHECK`s and `NOT NULL`), ranges and multiranges (short spans, so that
//!   exclusion constraints seldom reject them), geometric types,
//!   composites (field by field), `tsquery`, `macaddr8`, `oid`, `pg_lsn`,
//!   the extension types `citext`, `ltree`, `hstore` and pgvector's
//!   `vector`, and one-dimensional arrays of these. A type with no
//!   generator of its own takes text forms its input function accepts,
//!   found by asking the server ([`generate_on`]); failing that, NULL when
//!   nullable, its default when it has one, else an error asking for a
//!   profile rule.
//! - **Realism** by column name (and table name): emails, names, usernames,
//!   titles, sentences, URLs, phone numbers, addresses, companies, money
//!   amounts, coordinates, codes, ... from `fake`; timestamps in the two
//!   years before the profile's `now` (fixed, so output depends on the seed
//!   only), `updated_at`/`deleted_at`/... after the row's `created_at`,
//!   `end`/`due` dates after `start` dates, a child's `created_at` after
//!   its parent's; a row's email, name and username belong to one person.
//! - **Generated columns** are never written; **identity and serial**
//!   columns get explicit ids (COPY writes identity columns, even
//!   `GENERATED ALWAYS`, like `OVERRIDING SYSTEM VALUE`) and their
//!   sequences are advanced with `setval` after each table. A table that
//!   triggers write into (an audit log) keeps its ids from its sequence
//!   unless a foreign key points at them, and is loaded first.
//! - **Foreign keys**: parents before children; children pick existing
//!   parents (uniformly or skewed, `per_parent` ranges); composite keys;
//!   self references form a forest (a row's parent is an earlier row);
//!   when a row has two paths to the same ancestor (a task's cycle and its
//!   goal's cycle), it picks parents that agree. Cycles between tables are
//!   closed by a deferrable link (values written, checked at commit) or a
//!   nullable one (written NULL, set by one UPDATE after the loads);
//!   cycles of NOT NULL, non-deferrable links are an error naming them.
//! - **Unique keys** (primary keys, unique constraints, unique indexes,
//!   with `NULLS NOT DISTINCT`, partial-index predicates and `lower(...)`
//!   style expressions): few-valued columns take values still free;
//!   combinatorial limits (`UNIQUE (cycle_id, kind)` with a 6-label enum:
//!   at most 6 per cycle) are computed up front and reported (or capped
//!   with `on_limit = "cap"`).
//! - **CHECK constraints** are parsed and evaluated on every row with SQL's
//!   three-valued logic: comparisons with constants and between columns,
//!   `BETWEEN`, `IN` / `= ANY (ARRAY[...])`, `<> ALL`, `LIKE`, length
//!   functions, `lower`/`upper`/`btrim`, `jsonb_typeof(x) = 'object'`,
//!   `IS [NOT] NULL`, `num_nonnulls`, `coalesce`, arithmetic, casts, date
//!   arithmetic, regular expressions (`~`, `~*`, `!~`, in the syntax Rust's
//!   engine shares), `AND`/`OR`/`NOT`. Simple forms also steer generation
//!   (ranges, allowed values, lengths, JSON kinds and keys, `upper(x) = x`,
//!   `x % k = 0`, `date_trunc`); strings for a regex check are generated
//!   from the pattern (proptest's regex strategy). **PostgreSQL is the
//!   oracle** for the rest: a check the evaluator cannot decide (a user
//!   function, `CASE`, an unknown function, PostgreSQL-only regex syntax)
//!   and every regex check are evaluated by the server on the candidate
//!   rows, a batch of 1,000 per query, and rejected rows are left out with
//!   their dependents ([`Dataset::accepted_by`]; [`generate_on`] makes up
//!   for them and names the check when too few pass). Checks reading a
//!   column the server computes (a profile `sql` or `default` rule) are
//!   trusted, as are those listed in `assume_checks`.
//! - **Rows already in the database** (inserted by an earlier migration or
//!   a trigger) keep their keys ([`Existing`]): serial and identity columns
//!   start after the largest value in use, and the server rejects
//!   candidates whose unique keys, or exclusion constraints, collide with
//!   them. Exclusion constraints are also checked among the candidates.
//! - **Partitioned tables** are loaded through the parent; for range and
//!   list partitioning on one column without a default partition, each
//!   row's key falls inside one of the partitions (hash partitions take
//!   any row; expression keys and sub-partition bounds are not read).
//! - **Triggers** fire normally during the load (nothing is disabled); the
//!   load runs in one transaction as the connection's user (row-level
//!   security does not apply to table owners and superusers). Large loads
//!   check foreign keys once per constraint after the COPYs rather than
//!   once per row ([`ForeignKeyChecks`]).
//!
//! Property tests use [`dataset_strategy`]: the same generator, with row
//! counts, style (realistic or simplest values) and boundary values
//! (empty strings, maximal lengths, ends of ranges, NULLs) drawn by
//! proptest, so that a failing case shrinks toward fewer rows and simpler
//! values and every shrunk case is still a valid data set.

mod build;
mod dataset;
mod error;
mod existing;
mod expr;
mod fallback;
mod json_paths;
mod oracle;
mod pattern;
mod plan;
pub(crate) mod profile;
mod prune;
mod realistic;
mod rng;
mod script;
mod strategy;
mod stream;
mod structured;
mod types;
mod value;

use crate::schema::SchemaSnapshot;

pub use dataset::{Dataset, ForeignKeyChecks, LoadOptions, LoadStats, TableData};
pub use error::{GenerateError, RulesSection};
pub use existing::Existing;
pub use fallback::with_values_for_unknown_types;
pub use oracle::Rejected;
pub use profile::{
    ColumnProfile, ColumnRule, Distribution, OnLimit, PerParent, Profile, Scalar, TableProfile,
    Unlisted,
};
pub use script::schema_script;
pub use strategy::{dataset_strategy, dataset_strategy_with, StrategyOptions};
pub use stream::STREAM_FROM_ROWS;
pub use value::{Units, Value};

use build::{build, BuildOptions};
use realistic::Style;

/// Generates the data set `profile` describes for `schema`, from `seed`.
///
/// Same schema, profile and seed: the same data set, byte for byte.
/// Errors name the profile's file and line for anything it names that the
/// schema lacks, and the constraint for anything the generator cannot
/// satisfy.
pub fn generate(
    schema: &SchemaSnapshot,
    profile: &Profile,
    seed: u64,
) -> Result<Dataset, GenerateError> {
    let plan = bounded_plan(schema, profile)?;
    build(&plan, seed, &seed_options(profile))
}

/// The plan for `profile`, refused when it asks for more rows than are
/// generated at once.
fn bounded_plan(schema: &SchemaSnapshot, profile: &Profile) -> Result<plan::Plan, GenerateError> {
    let plan = plan::plan(schema, profile)?;
    all_within_memory(&plan, profile)?;
    Ok(plan)
}

/// [`within_memory`] for every table of `plan`.
fn all_within_memory(plan: &plan::Plan, profile: &Profile) -> Result<(), GenerateError> {
    within_memory(
        profile,
        most_rows_per_table(plan)
            .iter()
            .fold(0usize, |sum, m| sum.saturating_add(*m)),
        "in all (rows and per_parent over every table)",
    )
}

/// Refuses a profile asking for more than [`MAX_ROWS_IN_MEMORY`] rows held
/// in memory at once (`which`: the tables counted).
fn within_memory(profile: &Profile, most: usize, which: &str) -> Result<(), GenerateError> {
    if most > MAX_ROWS_IN_MEMORY {
        return Err(GenerateError::Profile {
            file: profile.path.clone(),
            line: 1,
            message: format!(
                "the profile asks for up to {most} rows {which}; at most {MAX_ROWS_IN_MEMORY} are generated at once"
            ),
        });
    }
    Ok(())
}

/// [`generate`] for the database `conn` is connected to: keys already in
/// use there are left alone ([`Existing`]), and the server decides the
/// checks the generator cannot ([`Dataset::accepted_by`]): rows it rejects
/// are left out, and a table
/// that lost rows is generated again with more (up to three rounds) and
/// cut back to the count asked for, so that `rows = N` still means N where
/// the server accepts enough. Returns what the server rejected.
pub async fn generate_on(
    conn: &mut sqlx::PgConnection,
    schema: &SchemaSnapshot,
    profile: &Profile,
    seed: u64,
) -> Result<(Dataset, Rejected), GenerateError> {
    let prepared = Prepared::read(conn, schema, profile).await?;
    generate_prepared(conn, &prepared, seed).await
}

/// What generating for a database reads from it first.
struct Prepared {
    /// Keys in use, rows present.
    existing: Existing,
    /// The profile, with values for types the generator cannot make.
    profile: Profile,
    /// The schema, serials starting after the keys in use.
    schema: SchemaSnapshot,
    /// The plan for them (made once, whichever way the data set is built).
    plan: plan::Plan,
}

impl Prepared {
    async fn read(
        conn: &mut sqlx::PgConnection,
        schema: &SchemaSnapshot,
        profile: &Profile,
    ) -> Result<Prepared, GenerateError> {
        let existing = Existing::read(conn, schema).await?;
        let profile = with_values_for_unknown_types(conn, schema, profile).await?;
        let schema = existing.schema_for_generation(schema);
        let plan = plan::plan(&schema, &profile)?;
        Ok(Prepared {
            existing,
            profile,
            schema,
            plan,
        })
    }

    /// The data set with its largest tables left to stream (see
    /// [`STREAM_FROM_ROWS`]); `None` when no table can, when their
    /// ancestors outnumber them (held twice while they stream, they would
    /// cost more memory than streaming saves), or when the tables built in
    /// memory need the server's verdict.
    fn streaming(&self, seed: u64) -> Result<Option<stream::Streaming>, GenerateError> {
        let plan = &self.plan;
        let most = most_rows_per_table(plan);
        let streamed =
            stream::streamable(plan, &self.schema, &self.existing, &most, STREAM_FROM_ROWS);
        if !streamed.contains(&true) || !stream::saves_memory(plan, &most, &streamed) {
            return Ok(None);
        }
        let in_memory = most
            .iter()
            .zip(&streamed)
            .filter(|(_, s)| !**s)
            .fold(0usize, |sum, (m, _)| sum.saturating_add(*m));
        within_memory(
            &self.profile,
            in_memory,
            "in tables held in memory (tables others point at, and those that cannot stream)",
        )?;
        let streaming =
            stream::build_streaming(plan, seed, &seed_options(&self.profile), &streamed)?;
        if streaming
            .head
            .needs_the_server(&self.schema, &self.existing)
        {
            return Ok(None);
        }
        Ok(Some(streaming))
    }
}

/// [`generate_on`] and [`Dataset::load_with_options`] in one: a table of
/// [`STREAM_FROM_ROWS`] rows or more that no foreign key points at is
/// generated while it loads, so the whole data set is never in memory
/// (its parents are). The rows are those of [`generate_on`] for the seed.
/// Where a streamed table turns out to need the server's verdict on a
/// check, the load is rolled back and the data set is built in memory.
pub async fn generate_and_load(
    conn: &mut sqlx::PgConnection,
    schema: &SchemaSnapshot,
    profile: &Profile,
    seed: u64,
    options: &LoadOptions,
) -> Result<LoadStats, GenerateError> {
    let prepared = Prepared::read(conn, schema, profile).await?;
    if let Some(streaming) = prepared.streaming(seed)? {
        let mut feed = streaming.generator.spawn();
        if let Some(stats) = streaming
            .head
            .load_streamed(conn, options, Some(&mut feed))
            .await?
        {
            return Ok(stats);
        }
        tracing::debug!("a streamed table needs the server's verdict: building it in memory");
    }
    let (data, _) = generate_prepared(conn, &prepared, seed).await?;
    data.load_with_options(conn, options).await
}

/// Why [`write_seed_script`] failed.
pub(crate) enum ScriptError {
    Generate(GenerateError),
    Io(std::io::Error),
}

/// [`generate_on`] written as a psql script ([`Dataset::write_copy_sql`])
/// to `file` after `prefix`, the largest tables streamed as in
/// [`generate_and_load`]. Returns rows per table (`schema.table`) and the
/// tables streamed.
pub(crate) async fn write_seed_script(
    conn: &mut sqlx::PgConnection,
    schema: &SchemaSnapshot,
    profile: &Profile,
    seed: u64,
    prefix: &str,
    file: &mut std::fs::File,
) -> Result<(Vec<(String, usize)>, Vec<String>), ScriptError> {
    use std::io::{Seek as _, Write as _};
    let prepared = Prepared::read(conn, schema, profile)
        .await
        .map_err(ScriptError::Generate)?;
    let write = |file: &mut std::fs::File,
                 data: &Dataset,
                 generator: Option<&mut stream::Generator>|
     -> std::io::Result<dataset::Streamed> {
        file.set_len(0)?;
        file.rewind()?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut *file);
        w.write_all(prefix.as_bytes())?;
        let end = data.write_script(&mut w, generator)?;
        w.flush()?;
        Ok(end)
    };
    if let Some(mut streaming) = prepared.streaming(seed).map_err(ScriptError::Generate)? {
        let generator = &mut streaming.generator;
        // A streamed table's count is what it is asked for: the script
        // falls back to the in-memory build where a row is capped away.
        let streams = generator.streams();
        let tables = &streaming.head.tables;
        let counts: Vec<(String, usize)> = tables
            .iter()
            .map(TableData::key)
            .zip(streaming.head.counts(Some(streams)))
            .collect();
        let streamed: Vec<String> = (0..tables.len())
            .filter(|i| streams.is_streamed(*i))
            .map(|i| tables[i].key())
            .collect();
        match write(file, &streaming.head, Some(generator)).map_err(ScriptError::Io)? {
            dataset::Streamed::Complete => return Ok((counts, streamed)),
            dataset::Streamed::Failed(e) => return Err(ScriptError::Generate(e)),
            dataset::Streamed::NeedsServer => {
                tracing::debug!(
                    "a streamed table needs the server's verdict: building it in memory"
                );
            }
        }
    }
    let (data, _) = generate_prepared(conn, &prepared, seed)
        .await
        .map_err(ScriptError::Generate)?;
    write(file, &data, None).map_err(ScriptError::Io)?;
    Ok((data.row_counts().into_iter().collect(), Vec::new()))
}

/// [`generate_on`] after [`Prepared::read`].
async fn generate_prepared(
    conn: &mut sqlx::PgConnection,
    prepared: &Prepared,
    seed: u64,
) -> Result<(Dataset, Rejected), GenerateError> {
    let existing = &prepared.existing;
    let profile = &prepared.profile;
    let schema = &prepared.schema;
    all_within_memory(&prepared.plan, profile)?;
    let mut plan = prepared.plan.clone();
    let mut data = build(&plan, seed, &seed_options(profile))?;
    if !data.needs_the_server(schema, existing) {
        return Ok((data, Rejected::default()));
    }
    let wanted: Vec<Option<usize>> = plan.tables.iter().map(|t| t.rows).collect();
    let mut rejected = Rejected::default();
    for round in 0..ROUNDS {
        let (accepted, r) = data.accepted_by(conn, schema, existing).await?;
        rejected.add(r);
        let mut short = false;
        for (ti, t) in plan.tables.iter_mut().enumerate() {
            let (Some(want), Some(tried)) = (wanted[ti], t.rows) else {
                continue;
            };
            let got = accepted.tables[ti].rows.len();
            if got < want && round + 1 < ROUNDS {
                short = true;
                let scaled = tried as f64 * want as f64 / got.max(1) as f64 * 1.2 + 2.0;
                t.rows = Some((scaled as usize).min(want.saturating_mul(50)));
            }
        }
        if !short {
            data = accepted.cut_to(&wanted, schema);
            break;
        }
        data = build(&plan, seed, &seed_options(profile))?;
    }
    // A table left short: the server rejected too many of its rows.
    if profile.on_limit == OnLimit::Error {
        for (ti, t) in data.tables.iter().enumerate() {
            let Some(asked) = wanted[ti].filter(|w| t.rows.len() < *w) else {
                continue;
            };
            let name = t.name.to_string();
            let worst = rejected
                .by_constraint
                .iter()
                .filter(|(table, _, _)| *table == name)
                .max_by_key(|(_, _, n)| *n);
            if let Some((_, constraint, _)) = worst {
                let tp = &plan.tables[ti];
                let (definition, columns) = match tp.checks.iter().find(|c| &c.name == constraint) {
                    Some(c) => (c.definition.clone(), plan::column_list(c, &tp.columns)),
                    None => key_definition(schema, &t.name, constraint),
                };
                return Err(GenerateError::ServerRejected {
                    table: name,
                    section: RulesSection::Profile,
                    constraint: constraint.clone(),
                    definition,
                    columns,
                    asked,
                    accepted: t.rows.len(),
                    tried: tp.rows.unwrap_or(asked),
                });
            }
        }
    }
    Ok((data, rejected))
}

/// A unique key's or exclusion constraint's definition and its columns
/// (as `a`, `b`), for messages.
fn key_definition(
    schema: &SchemaSnapshot,
    table: &crate::schema::QualifiedName,
    name: &str,
) -> (String, String) {
    let listed = |columns: &[String]| {
        let names: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
        if names.is_empty() {
            "its columns".to_string()
        } else {
            names.join(", ")
        }
    };
    let Some(t) = schema.tables.get(table) else {
        return (String::new(), "its columns".to_string());
    };
    if let Some(c) = t.constraints.iter().find(|c| c.name == name) {
        return (c.definition.clone(), listed(&c.columns));
    }
    if let Some(i) = t.indexes.iter().find(|i| i.name == name) {
        let mut definition = format!("unique ({})", i.key_columns.join(", "));
        if let Some(p) = &i.predicate {
            definition.push_str(&format!(" where {p}"));
        }
        return (definition, listed(&i.key_columns));
    }
    (String::new(), "its columns".to_string())
}

/// Generate-and-ask rounds of [`generate_on`].
const ROUNDS: usize = 3;

fn seed_options(profile: &Profile) -> BuildOptions {
    BuildOptions {
        rows: None,
        style: Style {
            realistic: true,
            boundary: 0.0,
        },
        on_limit: profile.on_limit,
    }
}

/// The most rows one data set may hold in memory: a profile beyond this
/// must be an error, not an allocation failure. Tables streamed while they
/// load ([`generate_and_load`]) do not count.
pub const MAX_ROWS_IN_MEMORY: usize = 20_000_000;

/// The most rows each table of `plan` can get: `rows`, or `per_parent`'s
/// max times what its parent can have (saturating; cycles count as
/// unbounded).
fn most_rows_per_table(plan: &plan::Plan) -> Vec<usize> {
    let n = plan.tables.len();
    let mut most: Vec<Option<usize>> = plan.tables.iter().map(|t| t.rows).collect();
    for _ in 0..=n {
        let mut changed = false;
        for (ti, t) in plan.tables.iter().enumerate() {
            if most[ti].is_some() {
                continue;
            }
            if let Some((fk, _, max)) = t.per_parent {
                let parent = t.fks.get(fk).map(|f| f.parent);
                if let Some(Some(p)) = parent.map(|p| most[p]) {
                    most[ti] = Some(p.saturating_mul(max));
                    changed = true;
                }
            } else {
                most[ti] = Some(0);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    most.iter().map(|m| m.unwrap_or(usize::MAX)).collect()
}

/// The seed to use when none is given: the profile's, else a fixed one.
pub fn default_seed(profile: &Profile) -> u64 {
    profile.seed.unwrap_or(1)
}
