//! Tables made while they load. A table no foreign key points at (often
//! the largest: messages, events, line items) is generated a chunk at a
//! time straight into its COPY, on a thread of its own, so a data set of
//! millions of rows never sits in memory whole and generating overlaps
//! the server's work. Its parents are built first, as always, and the
//! rows are the same as [`super::generate`]'s for the same seed: the same
//! per-table random streams, the same order.

use std::collections::VecDeque;

use crate::schema::{ConstraintKind, QualifiedName, SchemaSnapshot};

use super::build::{
    assemble, build_parts, written_columns, BuildOptions, Built, ParentCache, SequenceMax,
    TableBuilder,
};
use super::dataset::{copy_row, Dataset};
use super::existing::Existing;
use super::plan::{Deferral, Plan};
use super::rng::SeedRng;
use super::value::Value;
use super::GenerateError;

/// A table is made while it loads from this many rows on (at most, as the
/// profile asks); smaller ones are built in memory like every other.
pub const STREAM_FROM_ROWS: usize = 50_000;

/// COPY text is handed over in pieces of about this size.
const PIECE: usize = 1 << 20;

/// Pieces made ahead of the load: the memory a stream holds.
const AHEAD: usize = 4;

/// Which tables of `plan` can be made while they load: nothing points at
/// them, they point at no row of their own, no cycle of foreign keys is
/// closed after the build (it may remove rows of any table), the server
/// need not decide anything about them before the load (no check only it
/// can evaluate, no rows in the table already, no exclusion constraint),
/// and they may get at least `from_rows` rows.
pub(crate) fn streamable(
    plan: &Plan,
    schema: &SchemaSnapshot,
    existing: &Existing,
    most: &[usize],
    from_rows: usize,
) -> Vec<bool> {
    let cycles = plan
        .tables
        .iter()
        .any(|t| t.fks.iter().any(|f| f.deferral != Deferral::None));
    plan.tables
        .iter()
        .enumerate()
        .map(|(ti, t)| {
            let pointed_at = plan
                .tables
                .iter()
                .any(|c| c.fks.iter().any(|f| f.parent == ti));
            let exclusion = schema.tables.get(&t.name).is_some_and(|def| {
                def.constraints
                    .iter()
                    .any(|c| c.kind == ConstraintKind::Exclusion)
            });
            let server_checks = t
                .checks
                .iter()
                .any(|c| !c.trusted && c.server_decides && c.server_sql.is_some());
            !cycles
                && !pointed_at
                && !t.fks.iter().any(|f| f.self_ref)
                && !exclusion
                && !server_checks
                && !existing.has_rows(&t.name)
                && most.get(ti).is_some_and(|m| *m >= from_rows.max(1))
        })
        .collect()
}

/// The tables the `streamed` ones point at, directly or through others.
fn ancestors(plan: &Plan, streamed: &[bool]) -> Vec<bool> {
    let mut ancestor = vec![false; plan.tables.len()];
    let mut below: Vec<usize> = (0..plan.tables.len())
        .filter(|ti| streamed.get(*ti) == Some(&true))
        .collect();
    while let Some(ti) = below.pop() {
        for fk in &plan.tables[ti].fks {
            if !ancestor[fk.parent] {
                ancestor[fk.parent] = true;
                below.push(fk.parent);
            }
        }
    }
    ancestor
}

/// Whether streaming saves memory: the streamed tables may get more rows
/// (`most`, per table) than their ancestors, whose rows are held twice
/// while they stream (once for the load, once for the generator).
pub(crate) fn saves_memory(plan: &Plan, most: &[usize], streamed: &[bool]) -> bool {
    let sum = |pick: &[bool]| {
        most.iter()
            .zip(pick)
            .filter(|(_, p)| **p)
            .fold(0usize, |s, (m, _)| s.saturating_add(*m))
    };
    sum(streamed) > sum(&ancestors(plan, streamed))
}

/// A data set whose `streamed` tables are made while they load: `head`
/// holds every table (the streamed ones without rows), `generator` makes
/// the rest.
pub(crate) struct Streaming {
    pub head: Dataset,
    pub generator: Generator,
}

/// Builds the tables not streamed, and readies the streamed ones.
pub(crate) fn build_streaming(
    plan: &Plan,
    seed: u64,
    opts: &BuildOptions,
    streamed: &[bool],
) -> Result<Streaming, GenerateError> {
    let parts =
        build_parts(plan, seed, opts, streamed).map_err(|e| e.under(plan.profile_section))?;
    let mut built = parts.built;
    // The load gets the rows; the generator keeps a copy of the streamed
    // tables' ancestors' (their foreign keys read them), and nothing of the
    // other tables.
    let ancestor = ancestors(plan, streamed);
    let for_load: Vec<Built> = built
        .iter_mut()
        .enumerate()
        .map(|(ti, b)| {
            if ancestor[ti] {
                b.rows_copy()
            } else {
                b.take_all()
            }
        })
        .collect();
    let head = assemble(plan, seed, for_load);
    let mut queue = VecDeque::new();
    for (ti, t) in plan.tables.iter().enumerate() {
        if streamed.get(ti) != Some(&true) {
            continue;
        }
        let rng = SeedRng::derive(seed, &t.name.to_string());
        let builder = TableBuilder::start(plan, ti, parts.requested[ti], &built, rng, opts)
            .map_err(|e| e.under(plan.profile_section))?;
        queue.push_back((ti, builder));
    }
    let mut expected = vec![0; plan.tables.len()];
    for (ti, b) in &queue {
        expected[*ti] = b.as_ref().map_or(0, TableBuilder::expected_rows);
    }
    Ok(Streaming {
        head,
        generator: Generator {
            plan: plan.clone(),
            built,
            cache: parts.cache,
            opts: opts.clone(),
            streams: Streams {
                streamed: streamed.to_vec(),
                expected,
            },
            queue,
            current: None,
        },
    })
}

/// What the generator hands the load, in plan order.
#[derive(Debug)]
pub(crate) enum Piece {
    /// COPY text of `rows` more rows of `table`.
    Copy {
        table: usize,
        text: String,
        rows: usize,
    },
    /// `table` is done: its rows and the sequences to advance.
    Done {
        table: usize,
        rows: usize,
        sequences: Vec<(QualifiedName, i64)>,
    },
    /// A check of `table` the generator could not decide for some row: the
    /// server must decide it, which a stream cannot wait for; the caller
    /// builds the data set in memory instead.
    NeedsServer { table: usize },
    /// Generating failed.
    Failed(GenerateError),
}

/// Which tables stream and the rows each is asked for (fewer where
/// capped): what the load and the script need before the rows come.
#[derive(Debug, Clone)]
pub(crate) struct Streams {
    streamed: Vec<bool>,
    expected: Vec<usize>,
}

impl Streams {
    /// Whether table `ti` (plan order) is made while it loads.
    pub(crate) fn is_streamed(&self, ti: usize) -> bool {
        self.streamed.get(ti) == Some(&true)
    }

    /// The rows streamed table `ti` is asked for.
    pub(crate) fn expected_rows_of(&self, ti: usize) -> usize {
        self.expected.get(ti).copied().unwrap_or(0)
    }
}

/// Makes the streamed tables' rows, piece by piece, in plan order.
pub(crate) struct Generator {
    plan: Plan,
    built: Vec<Built>,
    cache: ParentCache,
    opts: BuildOptions,
    streams: Streams,
    queue: VecDeque<(usize, Option<TableBuilder>)>,
    current: Option<Current>,
}

/// The table being made.
struct Current {
    ti: usize,
    builder: Option<TableBuilder>,
    written: Vec<usize>,
    sequences: SequenceMax,
    rows: usize,
}

impl Generator {
    pub(crate) fn streams(&self) -> &Streams {
        &self.streams
    }

    /// The next piece; `None` after the last table's `Done`.
    pub(crate) fn next_piece(&mut self) -> Option<Piece> {
        let mut current = match self.current.take() {
            Some(c) => c,
            None => {
                let (ti, builder) = self.queue.pop_front()?;
                let t = &self.plan.tables[ti];
                let written = written_columns(t);
                Current {
                    ti,
                    sequences: SequenceMax::new(t, &written),
                    written,
                    builder,
                    rows: 0,
                }
            }
        };
        let table = current.ti;
        let Some(builder) = current.builder.as_mut() else {
            return Some(Piece::Done {
                table,
                rows: 0,
                sequences: Vec::new(),
            });
        };
        let mut text = String::with_capacity(PIECE + 64 * 1024);
        let mut scratch = String::new();
        let mut batch: Vec<Vec<Value>> = Vec::new();
        let mut rows = 0;
        while text.len() < PIECE {
            batch.clear();
            let made = match builder.fill(
                &self.plan,
                &self.built,
                &mut self.cache,
                &self.opts,
                &mut batch,
                None,
                256,
            ) {
                Ok(n) => n,
                Err(e) => return Some(Piece::Failed(e.under(self.plan.profile_section))),
            };
            if made == 0 {
                break;
            }
            if !builder.undecided().is_empty() {
                return Some(Piece::NeedsServer { table });
            }
            // The written columns, straight from the built rows (a
            // streamed table has no column a fix-up sets later).
            for r in &batch {
                current.sequences.observe(r);
                copy_row(
                    current.written.iter().map(|i| &r[*i]),
                    &mut text,
                    &mut scratch,
                );
            }
            rows += made;
        }
        if rows > 0 {
            current.rows += rows;
            self.current = Some(current);
            return Some(Piece::Copy { table, text, rows });
        }
        let builder = current.builder.take()?;
        if let Err(e) = builder.finish(&self.opts) {
            return Some(Piece::Failed(e.under(self.plan.profile_section)));
        }
        Some(Piece::Done {
            table,
            rows: current.rows,
            sequences: current.sequences.finish(),
        })
    }

    /// Runs the generator on a thread of its own, a few pieces ahead of
    /// the load. The thread ends after the last piece, or at the next
    /// piece once the feed is dropped.
    pub(crate) fn spawn(mut self) -> Feed {
        let (tx, rx) = tokio::sync::mpsc::channel(AHEAD);
        let streams = self.streams.clone();
        std::thread::spawn(move || {
            while let Some(piece) = self.next_piece() {
                let last = matches!(piece, Piece::NeedsServer { .. } | Piece::Failed(_));
                if tx.blocking_send(piece).is_err() || last {
                    break;
                }
            }
        });
        Feed { rx, streams }
    }
}

/// The load's end of a generator running on its own thread.
pub(crate) struct Feed {
    rx: tokio::sync::mpsc::Receiver<Piece>,
    streams: Streams,
}

impl Feed {
    pub(crate) fn streams(&self) -> &Streams {
        &self.streams
    }

    /// The next piece (a failure when the generator's thread is gone).
    pub(crate) async fn next(&mut self) -> Piece {
        self.rx.recv().await.unwrap_or_else(|| {
            Piece::Failed(GenerateError::Load {
                step: "generating rows (the generator's thread stopped)".into(),
                source: sqlx::Error::WorkerCrashed,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::path::Path;

    use crate::generate::{generate_on, write_seed_script, Profile, ScriptError};
    use crate::schema::SchemaSnapshot;

    /// Two tables stream; the first gets no rows (its parent gets none, and
    /// the profile caps): its stream still ends, and the second's rows
    /// follow, the script the same bytes as the data set built in memory.
    #[tokio::test]
    async fn a_streamed_table_that_gets_no_rows_ends_its_stream() {
        let server = crate::testing::shared_server().await.unwrap();
        let db = server.create_database().await.unwrap();
        let mut conn = db.connect().await.unwrap();
        sqlx::raw_sql(
            "create table author (id int primary key, name text not null);
             create table ghost (id int primary key);
             create table a_haunting (id int primary key, ghost_id int not null references ghost (id));
             create table note (id int primary key, author_id int not null references author (id));",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let schema = SchemaSnapshot::capture(&mut conn).await.unwrap();
        let profile = Profile::parse(
            "on_limit = \"cap\"\n\
             [tables.author]\nrows = 100\n\
             [tables.ghost]\nrows = 0\n\
             [tables.a_haunting]\nrows = 60000\n\
             [tables.note]\nper_parent = { author_id = [600, 600] }\n",
            Path::new("haunted.toml"),
        )
        .unwrap();
        let (data, _) = generate_on(&mut conn, &schema, &profile, 1).await.unwrap();
        let mut file = tempfile::tempfile().unwrap();
        let written =
            write_seed_script(&mut conn, &schema, &profile, 1, "-- prefix\n", &mut file).await;
        let (counts, streamed) = match written {
            Ok(w) => w,
            Err(ScriptError::Io(e)) => panic!("{e}"),
            Err(ScriptError::Generate(e)) => panic!("{e}"),
        };
        assert_eq!(streamed, ["public.a_haunting", "public.note"]);
        assert!(
            counts.contains(&("public.note".to_string(), 60_000)),
            "{counts:?}"
        );
        assert!(
            counts.contains(&("public.a_haunting".to_string(), 0)),
            "{counts:?}"
        );
        let mut script = String::new();
        use std::io::Seek as _;
        file.rewind().unwrap();
        file.read_to_string(&mut script).unwrap();
        assert_eq!(script, format!("-- prefix\n{}", data.to_copy_sql()));
        let _ = sqlx::Connection::close(conn).await;
        server.drop_database(db.name()).await.unwrap();
    }
}
