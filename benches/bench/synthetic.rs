//! A synthetic migration chain of any length, in the sqlx layout with
//! downs: tables with foreign keys, indexes, added columns with checks,
//! enums, functions, triggers, views, partial unique indexes, sequences,
//! materialized views — what a real chain accumulates. Every down undoes
//! exactly its up, so `roundtrip` holds on the whole chain.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// One generated migration's files.
pub struct Files {
    pub up: PathBuf,
    pub down: PathBuf,
}

/// Writes a chain of `count` migrations into `dir`; returns the files in
/// order.
pub fn write_chain(dir: &Path, count: usize) -> Result<Vec<Files>> {
    let mut tables: Vec<usize> = Vec::new();
    let mut enums: Vec<usize> = Vec::new();
    let mut files = Vec::with_capacity(count);
    for k in 1..=count {
        // A new table every few steps (and first), so that later steps
        // have something to work on.
        let kind = if tables.is_empty() { 0 } else { (k - 1) % 10 };
        // The table a step works on: spread over the existing ones.
        let t = if tables.is_empty() {
            0
        } else {
            tables[(k * 7) % tables.len()]
        };
        let (name, up, down) = match kind {
            0 | 5 => {
                let parent = tables.last().copied();
                tables.push(k);
                ("create_table".to_string(), create_table(k, parent, None), format!("drop table item_{k};\n"))
            }
            1 => (
                format!("index_item_{t}"),
                format!("create index item_{t}_name_{k}_idx on item_{t} (name, created_at);\n"),
                format!("drop index item_{t}_name_{k}_idx;\n"),
            ),
            2 => (
                format!("add_note_to_item_{t}"),
                format!(
                    "alter table item_{t} add column note_{k} text;\n\
                     alter table item_{t} add constraint item_{t}_note_{k}_length\n  \
                     check (char_length(note_{k}) <= 500);\n\
                     comment on column item_{t}.note_{k} is 'free text, at most 500 characters';\n"
                ),
                format!("alter table item_{t} drop column note_{k};\n"),
            ),
            3 => {
                enums.push(k);
                (
                    "create_state_enum".to_string(),
                    format!(
                        "create type state_{k} as enum ('draft', 'open', 'review', 'closed');\n"
                    ),
                    format!("drop type state_{k};\n"),
                )
            }
            4 => (
                format!("total_function_item_{t}"),
                format!(
                    "create function item_{t}_total_{k}(p_status text) returns numeric\n\
                     language sql stable as $$\n  \
                     select coalesce(sum(amount), 0) from item_{t} where status = p_status\n\
                     $$;\n"
                ),
                format!("drop function item_{t}_total_{k}(text);\n"),
            ),
            6 => (
                format!("trim_trigger_item_{t}"),
                format!(
                    "create function trim_name_{k}() returns trigger\n\
                     language plpgsql as $$\n\
                     begin\n  new.name := btrim(new.name);\n  return new;\nend $$;\n\n\
                     create trigger item_{t}_trim_{k}\n  before insert or update on item_{t}\n  \
                     for each row execute function trim_name_{k}();\n"
                ),
                format!("drop trigger item_{t}_trim_{k} on item_{t};\ndrop function trim_name_{k}();\n"),
            ),
            7 => (
                format!("active_view_item_{t}"),
                format!(
                    "create view item_{t}_active_{k} as\n  \
                     select id, name, amount, created_at from item_{t} where status = 'active';\n\
                     comment on view item_{t}_active_{k} is 'active rows of item_{t}';\n"
                ),
                format!("drop view item_{t}_active_{k};\n"),
            ),
            8 => match enums.last().copied() {
                Some(e) => {
                    let parent = tables.last().copied();
                    tables.push(k);
                    (
                        "create_table_with_state".to_string(),
                        create_table(k, parent, Some(e)),
                        format!("drop table item_{k};\n"),
                    )
                }
                None => (
                    format!("unique_name_item_{t}"),
                    format!(
                        "create unique index item_{t}_live_name_{k}_key on item_{t} (name)\n  \
                         where status <> 'archived';\n"
                    ),
                    format!("drop index item_{t}_live_name_{k}_key;\n"),
                ),
            },
            _ => (
                format!("counts_item_{t}"),
                format!(
                    "create sequence ticket_{k}_seq start 1000;\n\
                     create materialized view item_{t}_counts_{k} as\n  \
                     select status, count(*) as n, sum(amount) as total from item_{t} group by status;\n\
                     create unique index item_{t}_counts_{k}_status on item_{t}_counts_{k} (status);\n"
                ),
                format!(
                    "drop materialized view item_{t}_counts_{k};\ndrop sequence ticket_{k}_seq;\n"
                ),
            ),
        };
        let stem = format!("{k:04}_{name}");
        let up_path = dir.join(format!("{stem}.up.sql"));
        let down_path = dir.join(format!("{stem}.down.sql"));
        std::fs::write(&up_path, up).with_context(|| format!("writing {}", up_path.display()))?;
        std::fs::write(&down_path, down)
            .with_context(|| format!("writing {}", down_path.display()))?;
        files.push(Files {
            up: up_path,
            down: down_path,
        });
    }
    Ok(files)
}

fn create_table(k: usize, parent: Option<usize>, state: Option<usize>) -> String {
    let mut sql = String::new();
    let _ = writeln!(sql, "create table item_{k} (");
    let _ = writeln!(
        sql,
        "  id          bigint generated always as identity primary key,"
    );
    if let Some(p) = parent {
        let _ = writeln!(
            sql,
            "  parent_id   bigint references item_{p} (id) on delete cascade,"
        );
    }
    if let Some(e) = state {
        let _ = writeln!(sql, "  state       state_{e} not null default 'draft',");
    }
    let _ = writeln!(sql, "  name        text not null,");
    let _ = writeln!(
        sql,
        "  status      text not null default 'new' check (status in ('new', 'active', 'archived')),"
    );
    let _ = writeln!(sql, "  amount      numeric(12, 2) not null default 0,");
    let _ = writeln!(sql, "  created_at  timestamptz not null default now()");
    let _ = writeln!(sql, ");");
    if parent.is_some() {
        let _ = writeln!(
            sql,
            "create index item_{k}_parent_id_idx on item_{k} (parent_id);"
        );
    }
    let _ = writeln!(sql, "comment on table item_{k} is 'synthetic table {k}';");
    sql
}
