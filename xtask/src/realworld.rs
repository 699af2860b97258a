//! `cargo xtask realworld [CHAIN,...]`: the real-world conformance suite on
//! every vendored chain (`tests/realworld/`), release-built; prints the
//! table of chains, wall times, findings, expected findings, misses and
//! false alarms. Fails on any miss or false alarm.

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
             runs idempotency with generated data on every migration of each chain."
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
        ])
        .args([
            "--",
            "--ignored",
            "--nocapture",
            "all_real_chains_match_psql",
            "real_chains_get_generated_data_on_every_migration",
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
