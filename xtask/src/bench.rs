//! `cargo xtask bench [--quick] [--rows 1,3,7] [--out FILE]`: the
//! performance targets of DESIGN.md, each next to its baseline, measured
//! in one run.
//!
//! The measuring code is the bench target `benches/bench/` of the
//! pgharness crate, run through `cargo bench`: the library and the
//! `pgharness` binary it runs as a subprocess are built optimized (the
//! `bench` profile, i.e. release), whatever profile this xtask was built
//! with. It prints a Markdown table and writes `target/bench.json`.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

pub fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: cargo xtask bench [--quick] [--rows 1,3,7] [--out FILE]\n\n\
             Builds pgharness optimized and measures every performance target of\n\
             DESIGN.md next to its baseline (psql, pgbench, initdb + pg_ctl, a\n\
             replayed chain) in the same run. Prints a table; writes target/bench.json.\n\
             --quick: fewer iterations and smaller sizes (a few minutes on 2 cores)."
        );
        return Ok(());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the xtask crate is not inside the workspace")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["bench", "--package", "pgharness", "--bench", "bench", "--"])
        .args(args)
        .status()
        .context("running cargo bench")?;
    if !status.success() {
        bail!("the bench failed ({status})");
    }
    Ok(())
}
