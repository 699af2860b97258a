//! `cargo xtask seed [--profile dev|ci|PATH] [--seed N] [--out FILE.sql | --serve | --database-url URL [--reset]]`:
//! seed data for the sample project, through `pgharness seed` (one home for
//! the workflow and its safety rules).
//!
//! A profile name `NAME` means `seeds/NAME.toml`; without a target the data
//! goes to `target/seed-NAME.sql`, a psql script that builds the schema
//! through the chain and loads the data with COPY.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Runs `cargo xtask seed`.
pub fn run(args: &[String]) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the workspace root")?;
    let mut profile = "dev".to_string();
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--profile" | "-p" => match it.next() {
                Some(p) => profile = p.clone(),
                None => bail!("--profile needs a value"),
            },
            "--help" | "-h" => {
                println!("usage: cargo xtask seed [--profile dev|ci|PATH] [--seed N] [--out FILE.sql | --serve | --database-url URL [--reset]]");
                return Ok(());
            }
            other => rest.push(other.to_string()),
        }
    }
    let path = if profile.ends_with(".toml") || profile.contains('/') {
        profile.clone()
    } else {
        format!("seeds/{profile}.toml")
    };
    let has_target = rest
        .iter()
        .any(|a| matches!(a.as_str(), "--out" | "--serve" | "--database-url"));
    if !has_target {
        let name = Path::new(&path)
            .file_stem()
            .map_or("seed".into(), |s| s.to_string_lossy().into_owned());
        rest.push("--out".into());
        rest.push(format!("target/seed-{name}.sql"));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "--bin",
            "pgharness",
            "--",
            "-c",
            "pgharness.toml",
            "seed",
            "--profile",
            &path,
        ])
        .args(&rest)
        .status()
        .context("running pgharness seed")?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}
