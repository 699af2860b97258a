//! Clones made ahead (the idea of IntegreSQL): on the shared local server,
//! a few copies of each template a test process hands out wait, named
//! `pgharness_pool_<template's key and level>_<random>`; a test claims one
//! by renaming it to its own name (one statement on a connection kept
//! open, about a millisecond), and a background thread of the process
//! that claimed makes a replacement. Every process of the project draws
//! from the same clones: the renaming is what decides who gets which.
//!
//! The thread and the connections are synchronous ([`super::exit_client`]):
//! they belong to no async runtime, so they outlive each test's runtime.
//! A `CREATE DATABASE` still running when the process exits is finished by
//! the server and becomes a clone like any other.

use std::sync::{mpsc, Mutex};

use super::exit_client::{Client, Target};

/// How many clones of a template wait.
const READY: usize = 4;

/// The clones of one server (see the module doc).
pub(crate) struct Clones {
    target: Target,
    /// ` strategy = file_copy` where the server has it (15+).
    strategy: &'static str,
    /// The connection claims run on.
    claimer: Mutex<Option<Client>>,
    /// The thread that makes replacements and drops passed tests'
    /// databases.
    filler: Mutex<Option<mpsc::Sender<Job>>>,
    /// Databases the thread has sent a `DROP` for (the server finishes it
    /// even if this process ends first): nothing left to drop at exit.
    dropped: std::sync::Arc<Mutex<Vec<String>>>,
}

/// Work for the filler thread.
enum Job {
    /// Make clones of this template until enough wait.
    Fill(String),
    /// Drop this database (a passed test's).
    Drop(String),
}

impl std::fmt::Debug for Clones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clones").finish_non_exhaustive()
    }
}

/// The name prefix of `template`'s clones: only shared templates
/// (`pgharness_tpl_...`, `pgharness_app_...`, the same in every process)
/// have clones.
fn prefix(template: &str) -> Option<String> {
    let rest = template.strip_prefix(super::DATABASE_PREFIX)?;
    let (kind, key) = rest.split_once('_')?;
    let kind = match kind {
        "tpl" => 't',
        "app" => 'a',
        _ => return None,
    };
    Some(format!("{}pool_{kind}{key}_", super::DATABASE_PREFIX))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Clones {
    /// Clones on the server `target` reaches (its admin database).
    pub(crate) fn new(target: Target, major_version: u32) -> Clones {
        Clones {
            target,
            strategy: if major_version >= 15 {
                " strategy = file_copy"
            } else {
                ""
            },
            claimer: Mutex::new(None),
            filler: Mutex::new(None),
            dropped: std::sync::Arc::default(),
        }
    }

    /// Takes a waiting clone of `template` and renames it `name`; whether
    /// there was one. Either way, a replacement is made in the background.
    pub(crate) fn claim(&self, template: &str, name: &str) -> bool {
        let Some(prefix) = prefix(template) else {
            return false;
        };
        // One statement: take the first waiting clone (a concurrent claim of
        // the same one waits for the other's rename, then finds it gone),
        // and give it the template's database settings, which `CREATE
        // DATABASE ... TEMPLATE` does not copy (each value set and stored
        // `FROM CURRENT`, so a list such as a search_path is kept as is).
        let sql = format!(
            "do $pgharness$ declare n text; s record; kv text; begin
               for n in select datname from pg_database
                         where starts_with(datname, {prefix}) order by datname loop
                 begin
                   execute format('alter database %I rename to %I', n, {name});
                   for s in select r.rolname, c.setconfig from pg_db_role_setting c
                              join pg_database d on d.oid = c.setdatabase
                              left join pg_roles r on r.oid = c.setrole
                             where d.datname = {template} loop
                     foreach kv in array s.setconfig loop
                       perform set_config(split_part(kv, '=', 1), substr(kv, strpos(kv, '=') + 1), true);
                       if s.rolname is null then
                         execute format('alter database %I set %I from current', {name}, split_part(kv, '=', 1));
                       else
                         execute format('alter role %I in database %I set %I from current', s.rolname, {name}, split_part(kv, '=', 1));
                       end if;
                     end loop;
                   end loop;
                   return;
                 exception when invalid_catalog_name or object_in_use then null;
                 end;
               end loop;
               raise exception 'no clone ready';
             end $pgharness$",
            prefix = literal(&prefix),
            name = literal(name),
            template = literal(template),
        );
        let claimed = {
            let mut guard = self.claimer.lock().unwrap_or_else(|e| e.into_inner());
            if guard.is_none() {
                *guard = Client::connect(&self.target).ok();
            }
            match guard.as_mut().map(|c| c.execute(&sql)) {
                Some(Ok(())) => true,
                Some(Err(e)) => {
                    if !e.contains("no clone ready") {
                        tracing::debug!("claiming a clone: {e}");

                        // The connection may be gone: a new one next time.
                        *guard = None;
                    }
                    false
                }
                None => false,
            }
        };
        self.refill(template);
        claimed
    }

    /// Asks the filler thread to top up `template`'s clones.
    pub(crate) fn refill(&self, template: &str) {
        self.send(Job::Fill(template.to_string()));
    }

    /// Drops database `name` in the background; whether the thread took
    /// it (if the process ends first, its exit cleanup drops it).
    pub(crate) fn drop_later(&self, name: &str) -> bool {
        self.send(Job::Drop(name.to_string()))
    }

    /// Whether the thread has dropped (or is dropping) `name`.
    pub(crate) fn has_dropped(&self, name: &str) -> bool {
        self.dropped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|n| n == name)
    }

    fn send(&self, job: Job) -> bool {
        let mut guard = self.filler.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let (tx, rx) = mpsc::channel::<Job>();
            let target = self.target.clone();
            let strategy = self.strategy;
            let dropped = self.dropped.clone();
            let spawned = std::thread::Builder::new()
                .name("pgharness-clones".into())
                .spawn(move || fill(&target, strategy, &rx, &dropped));
            if spawned.is_err() {
                return false;
            }
            *guard = Some(tx);
        }
        guard.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }
}

/// The filler thread: drops what it is given, and for each template asked
/// for, makes clones until [`READY`] wait. One process fills a template at
/// a time (an advisory lock); the others skip it.
fn fill(target: &Target, strategy: &str, jobs: &mpsc::Receiver<Job>, dropped: &Mutex<Vec<String>>) {
    let mut client: Option<Client> = None;
    while let Ok(job) = jobs.recv() {
        // Requests that piled up while a batch was made need no batch each;
        // drops go first (a test is waiting for nothing, but disk is).
        let mut drops = Vec::new();
        let mut wanted = Vec::new();
        for job in std::iter::once(job).chain(jobs.try_iter()) {
            match job {
                Job::Drop(name) => drops.push(name),
                Job::Fill(template) if !wanted.contains(&template) => wanted.push(template),
                Job::Fill(_) => {}
            }
        }
        for name in drops {
            if client.is_none() {
                client = Client::connect(target).ok();
            }
            let Some(c) = client.as_mut() else { continue };
            let sql = format!(
                "drop database if exists {} with (force)",
                super::quote_ident(&name)
            );
            // Noted just before it is sent: once sent, the server finishes
            // it even if this process ends first.
            dropped
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(name.clone());
            if let Err(e) = c.execute(&sql) {
                tracing::debug!("dropping {name}: {e}");
                dropped
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|n| n != &name);
                client = None;
            }
        }
        for template in wanted {
            if client.is_none() {
                client = Client::connect(target).ok();
            }
            let Some(c) = client.as_mut() else { continue };
            if let Err(e) = top_up(c, &template, strategy) {
                tracing::debug!("making clones of {template}: {e}");
                client = None;
            }
        }
    }
}

fn top_up(client: &mut Client, template: &str, strategy: &str) -> Result<(), String> {
    let Some(prefix) = prefix(template) else {
        return Ok(());
    };
    let lock = format!("hashtext({})", literal(&prefix));
    let mine = client.query_first(&format!("select pg_try_advisory_lock({lock})"))?;
    if mine.as_deref() != Some("t") {
        return Ok(());
    }
    let result = (|| {
        let count = client
            .query_first(&format!(
                "select count(*) from pg_database where starts_with(datname, {})",
                literal(&prefix)
            ))?
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(READY);
        for _ in count..READY {
            let name = format!("{prefix}{}", super::local::random_hex(4));
            client.execute(&format!(
                "create database {} template {}{strategy}",
                super::quote_ident(&name),
                super::quote_ident(template)
            ))?;
        }
        Ok(())
    })();
    let _ = client.execute(&format!("select pg_advisory_unlock({lock})"));
    result
}
