//! The real-world conformance suite: public migration chains vendored under
//! `tests/realworld/`, each with the findings psql shows on a plain server
//! (`psql-truth.tsv`, made by `tests/realworld/verify.py`). pgharness must
//! report exactly those: no miss, no false alarm.
//!
//! `cargo test` runs a fast subset; `cargo xtask realworld` runs every
//! chain (the ignored tests below) and prints the table the README shows,
//! and runs each chain's idempotency with generated data on every
//! migration: data goes in everywhere except where the list below explains
//! why not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use pgharness::config::Config;

mod common;

fn realworld() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/realworld")
}

/// Every vendored chain, smallest first.
const CHAINS: &[&str] = &[
    "nextjs-subscription-payments",
    "conductor",
    "kestra",
    "docsrs",
    "harbor",
    "measure",
    "graph-node",
    "zksync-era",
];

/// The chains `cargo test` runs (a few seconds each in a debug build).
const FAST: &[&str] = &["nextjs-subscription-payments", "kestra", "docsrs"];

/// One row of `psql-truth.tsv`, by column name.
type Row = BTreeMap<String, String>;

fn truth(chain: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(realworld().join(chain).join("psql-truth.tsv"))
        .unwrap_or_else(|e| panic!("{chain}: psql-truth.tsv: {e}"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn col<'a>(row: &'a Row, key: &str) -> &'a str {
    row.get(key).map_or("-", String::as_str)
}

/// (property, migration version or `chain`) -> whether psql shows a finding
/// there; idempotency findings are counted, as a chain not written to be
/// re-run reports them as one number.
struct Expected {
    findings: BTreeMap<(String, String), bool>,
    reruns_failing: usize,
}

fn expected(rows: &[Row]) -> Expected {
    let mut findings = BTreeMap::new();
    let mut reruns_failing = 0;
    for row in rows {
        let version = col(row, "version").to_string();
        if version == "chain" {
            let fail = col(row, "up") == "fail"
                || col(row, "down") == "fail"
                || col(row, "down_restores") == "no"
                || col(row, "reup") == "fail"
                || col(row, "reup_same") == "no";
            if col(row, "down") != "none" && col(row, "up") != "-" {
                findings.insert(("roundtrip".into(), version), fail);
            }
            continue;
        }
        let up = col(row, "up");
        findings.insert(("apply".into(), version.clone()), up == "fail");
        if up != "ok" {
            continue;
        }
        let rerun_miss = col(row, "rerun") == "fail" || col(row, "rerun_same") == "no";
        if rerun_miss {
            reruns_failing += 1;
        }
        findings.insert(("idempotency".into(), version.clone()), rerun_miss);
        if col(row, "down") != "none" {
            let fail = col(row, "down") == "fail"
                || col(row, "down_restores") == "no"
                || col(row, "reup") == "fail"
                || col(row, "reup_same") == "no";
            findings.insert(("roundtrip".into(), version), fail);
        }
    }
    Expected {
        findings,
        reruns_failing,
    }
}

/// What one chain's comparison found.
struct Outcome {
    chain: String,
    migrations: usize,
    seconds: f64,
    findings: usize,
    expected: usize,
    misses: Vec<String>,
    false_alarms: Vec<String>,
}

fn check_chain(chain: &str) -> Outcome {
    let dir = realworld().join(chain);
    let config_path = dir.join("pgharness.toml");
    let config = Config::load(&config_path).unwrap();
    let discovered = config.migrations.discover().unwrap();
    let version_of: BTreeMap<String, String> = discovered
        .migrations
        .iter()
        .map(|m| (m.id(), m.version.clone()))
        .collect();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["-c", config_path.to_str().unwrap(), "--format", "json"])
        .args([
            "check",
            "--only",
            "apply,idempotency,roundtrip",
            "--seed",
            "1",
        ])
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{chain}: no JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let rows = truth(chain);
    let want = expected(&rows);
    // What pgharness reported, on the same keys.
    let mut got: BTreeMap<(String, String), bool> = BTreeMap::new();
    let mut rerun_summary: Option<usize> = None;
    for r in report["results"].as_array().unwrap() {
        let property = r["property"].as_str().unwrap().to_string();
        let target = r["target"].as_str().unwrap();
        let status = r["status"].as_str().unwrap();
        if property == "idempotency" && target == "chain" {
            let message = r["message"].as_str().unwrap_or("");
            rerun_summary = message
                .strip_prefix("not required: ")
                .and_then(|m| m.split(' ').next())
                .and_then(|n| n.parse().ok());
            continue;
        }
        let version = if target == "chain" {
            "chain".to_string()
        } else {
            version_of
                .get(target)
                .cloned()
                .unwrap_or_else(|| target.to_string())
        };
        if status == "skip" {
            continue;
        }
        let entry = got.entry((property, version)).or_insert(false);
        *entry |= status == "fail";
    }
    let mut misses = Vec::new();
    let mut false_alarms = Vec::new();
    for (key, &finding) in &want.findings {
        if key.0 == "idempotency" && rerun_summary.is_some() {
            continue;
        }
        match got.get(key) {
            Some(&reported) if reported == finding => {}
            Some(&reported) if reported => false_alarms.push(format!("{} {}", key.0, key.1)),
            Some(_) => misses.push(format!("{} {}", key.0, key.1)),
            None if finding => misses.push(format!("{} {} (no result)", key.0, key.1)),
            None => {}
        }
    }
    for key in got.keys() {
        if !want.findings.contains_key(key) && got[key] {
            false_alarms.push(format!("{} {} (psql has no such check)", key.0, key.1));
        }
    }
    if let Some(n) = rerun_summary {
        match n.cmp(&want.reruns_failing) {
            std::cmp::Ordering::Equal => {}
            std::cmp::Ordering::Greater => false_alarms.push(format!(
                "idempotency: {n} migrations not re-runnable, psql shows {}",
                want.reruns_failing
            )),
            std::cmp::Ordering::Less => misses.push(format!(
                "idempotency: {n} migrations not re-runnable, psql shows {}",
                want.reruns_failing
            )),
        }
    }
    let expected_count = want.findings.values().filter(|f| **f).count();
    let findings = got.values().filter(|f| **f).count() + rerun_summary.unwrap_or(0);
    Outcome {
        chain: chain.to_string(),
        migrations: discovered.migrations.len(),
        seconds,
        findings,
        expected: expected_count,
        misses,
        false_alarms,
    }
}

fn assert_conforms(outcomes: &[Outcome]) {
    println!("| chain | migrations | wall time | findings | expected | misses | false alarms |");
    println!("|---|---|---|---|---|---|---|");
    for o in outcomes {
        println!(
            "| {} | {} | {:.1} s | {} | {} | {} | {} |",
            o.chain,
            o.migrations,
            o.seconds,
            o.findings,
            o.expected,
            o.misses.len(),
            o.false_alarms.len()
        );
    }
    let mut problems = String::new();
    for o in outcomes {
        for m in &o.misses {
            problems.push_str(&format!("{}: missed {m}\n", o.chain));
        }
        for f in &o.false_alarms {
            problems.push_str(&format!("{}: false alarm {f}\n", o.chain));
        }
    }
    assert!(problems.is_empty(), "{problems}");
}

#[test]
fn fast_real_chains_match_psql() {
    let outcomes: Vec<Outcome> = FAST.iter().map(|c| check_chain(c)).collect();
    assert_conforms(&outcomes);
}

/// Migrations whose idempotency-with-data may report "data not checked"
/// (whether it does depends on the seed: a nullable column drawn without
/// NULLs lets a SET NOT NULL pass), and why the generator is not to blame:
/// (chain, migration, reason).
const DATA_NOT_CHECKED: &[(&str, &str, &str)] = &[
    (
        "graph-node",
        "20210114193022_deployment_schemas_network_not_null",
        "SET NOT NULL on a column the chain left nullable: the up fails on rows holding NULL (a real risk, not a generator gap)",
    ),
    (
        "graph-node",
        "20210126204036_ethereum_networks_net_ident_not_null",
        "SET NOT NULL on a nullable column, as above",
    ),
    (
        "graph-node",
        "2022030907000_call_cache_block_number_idx",
        "builds DDL from data: ethereum_networks.namespace must name an existing schema, which no CHECK says",
    ),
    (
        "harbor",
        "0110_2.8.0_schema",
        "casts replication_policy.filters (text) to jsonb: the column holds JSON by convention, which no CHECK says",
    ),
    (
        "zksync-era",
        "20220711132020_save_initial_bootloader_content",
        "SET NOT NULL on a nullable column, as above",
    ),
    (
        "zksync-era",
        "20220801131413_add_paymaster_data",
        "SET NOT NULL on a nullable column, as above",
    ),
    (
        "zksync-era",
        "20230117123627_add_queue_capacity_and_free_slots_in_gpu_prover_queue",
        "SET NOT NULL on a nullable column, as above",
    ),
];

/// The migrations of `chain` whose idempotency ran without data ("data not
/// checked"), with idempotency held on every migration.
fn migrations_without_data(chain: &str) -> Vec<String> {
    let dir = realworld().join(chain);
    let text = std::fs::read_to_string(dir.join("pgharness.toml")).unwrap();
    // The chain's config, its directory made absolute, idempotency held.
    let mut config = String::new();
    for line in text.lines() {
        match line.trim().strip_prefix("dir = \"") {
            Some(rest) => config.push_str(&format!("dir = \"{}/{rest}", dir.display())),
            None => config.push_str(line),
        }
        config.push('\n');
    }
    config.push_str("\n[idempotency]\nenabled = true\n");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("pgharness.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["-c", path.to_str().unwrap(), "--format", "json"])
        .args(["check", "--only", "idempotency", "--seed", "1"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{chain}: no JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.contains("data not checked"))
        })
        .map(|r| r["target"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `cargo xtask realworld`: idempotency with generated data on every
/// migration of every chain; the data loads everywhere but where
/// [`DATA_NOT_CHECKED`] explains why it may not.
#[test]
#[ignore = "slow: run by `cargo xtask realworld`"]
fn real_chains_get_generated_data_on_every_migration() {
    let only = std::env::var("PGHARNESS_REALWORLD").ok();
    let mut problems = Vec::new();
    for chain in CHAINS.iter().filter(|c| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|x| x == **c))
    }) {
        let got = migrations_without_data(chain);
        let explained: Vec<&str> = DATA_NOT_CHECKED
            .iter()
            .filter(|(c, _, _)| c == chain)
            .map(|(_, m, _)| *m)
            .collect();
        println!(
            "{chain}: {} migrations without data ({} explained)",
            got.len(),
            explained.len()
        );
        for m in &got {
            if !explained.contains(&m.as_str()) {
                problems.push(format!("{chain}: {m}: data not checked, not explained"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `cargo xtask realworld`: every vendored chain.
#[test]
#[ignore = "slow: run by `cargo xtask realworld`"]
fn all_real_chains_match_psql() {
    let only = std::env::var("PGHARNESS_REALWORLD").ok();
    let outcomes: Vec<Outcome> = CHAINS
        .iter()
        .filter(|c| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|x| x == **c))
        })
        .map(|c| check_chain(c))
        .collect();
    assert_conforms(&outcomes);
}

/// A chain that fails mid-way on PG15 (harbor without the table its 0030
/// alters): the failing migration at file:line:col, the rest not reached,
/// and every other property still run on the prefix that applied.
#[test]
fn a_property_on_a_real_chain_gets_its_tables_and_their_parents_only() {
    // docs.rs: builds belong to releases, releases to crates (and maybe a
    // repository); owners and keywords are nobody's parents here.
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("pgharness.toml");
    std::fs::write(
        &config,
        format!(
            "[migrations]\ndir = \"{}\"\nlayout = \"sqlx\"\n\n[properties]\ndir = \"{}\"\n",
            realworld().join("docsrs/migrations").display(),
            tmp.path().join("properties").display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(tmp.path().join("properties")).unwrap();
    std::fs::write(
        tmp.path().join("properties/builds.toml"),
        "name = \"a build's release and crate come with it, nothing else\"\n\n[data]\nrows = { builds = 4 }\n\n[[check]]\nexpect = \"hold\"\nfor_each = \"select b.id from builds b join releases r on r.id = b.rid join crates c on c.id = r.crate_id\"\nsql = \"select (select count(*) from owners) + (select count(*) from keywords) + (select count(*) from owner_rels) = 0\"\n",
    )
    .unwrap();
    let report = common::json_run(
        &config,
        &["check", "--only", "property:builds", "--cases", "16"],
        0,
    );
    let result = &report["results"][0];
    assert_eq!(result["status"], "pass", "{result}");
    let message = result["message"].as_str().unwrap();
    assert!(!message.contains("exercised in check 1: 0"), "{message}");
}

#[test]
fn a_real_chain_that_fails_midway_gets_a_full_report() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("pgharness.toml");
    std::fs::write(
        &config,
        format!(
            "[migrations]\ndir = \"{}\"\nlayout = \"sqlx\"\n",
            realworld().join("harbor/migrations").display()
        ),
    )
    .unwrap();
    let report = common::json_run(&config, &["check"], 1);
    let results = report["results"].as_array().unwrap();
    let find = |property: &str, target_prefix: &str| {
        results
            .iter()
            .find(|r| {
                r["property"] == property
                    && r["target"].as_str().unwrap().starts_with(target_prefix)
            })
            .unwrap_or_else(|| panic!("no {property} result for {target_prefix}"))
    };
    let failing = find("apply", "0030_");
    assert_eq!(failing["status"], "fail");
    assert!(failing["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("0030_2.0.0_schema.up.sql"));
    assert_eq!(failing["location"]["sqlstate"], "42P01");
    assert_eq!(find("apply", "0015_")["status"], "pass");
    let later = find("apply", "0031_");
    assert_eq!(later["status"], "skip");
    assert!(later["message"].as_str().unwrap().contains("not reached"));
    // The prefix was still checked: idempotency ran on the 9 that applied (summed up, as
    // harbor is not written to be re-run everywhere) and fidelity and the
    // chain round trip say why they could not run.
    let idempotency = find("idempotency", "chain");
    assert!(
        idempotency["message"]
            .as_str()
            .unwrap()
            .contains("of 9 migrations"),
        "{idempotency}"
    );
    assert!(find("fidelity", "chain")["message"]
        .as_str()
        .unwrap()
        .contains("does not reach head"));
}
