//! `cargo xtask realworld [CHAIN,...]`: the real-world conformance suite on
//! every vendored chain (`tests/realworld/`), release-built; prints the
//! table of chains, wall times, findings, expected findings, misses and
//! false alarms. Fails on any miss or false alarm. Also runs the other slow
//! suites that need a release build: idempotency with data on every real
//! migration, and `check --partition` on a 300-migration chain.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

pub fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: cargo xtask realworld [CHAIN,...]\n\n\
             Runs `pgharness check --only apply,idempotency,roundtrip` on every chain\n\
             vendored under tests/realworld/ (or the ones named) and compares each\n\
             finding with the chain's psql-verified truth (psql-truth.tsv); then\n\
             runs idempotency with generated data on every migration of each chain,\n\
             and checks that 4 shards of a 300-migration chain merge into its whole check."
        );
        return Ok(());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the xtask crate is not inside the workspace")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "test",
            "--release",
            "--package",
            "pgharness",
            "--test",
            "realworld",
            "--test",
            "partition",
        ])
        .args([
            "--",
            "--ignored",
            "--nocapture",
            "all_real_chains_match_psql",
            "real_chains_get_generated_data_on_every_migration",
            "four_shards_of_a_300_migration_chain_merge_into_its_whole_check",
        ]);
    if let Some(only) = args.first() {
        command.env("PGHARNESS_REALWORLD", only);
    }
    let status = command.status().context("running cargo test")?;
    if !status.success() {
        bail!("the real-world suite found misses or false alarms ({status})");
    }
    Ok(())
}
