//! `cargo xtask <command>`: project automation (image, seed, bench, realworld).

mod bench;
mod image;
mod realworld;
mod seed;

use anyhow::{bail, Result};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "bench" => bench::run(&rest),
        "image" => image::run(&rest),
        "seed" => seed::run(&rest),
        "realworld" => realworld::run(&rest),
        "" | "help" | "--help" | "-h" => {
            println!("usage: cargo xtask <image|seed|bench|realworld> [options]");
            Ok(())
        }
        other => {
            bail!("unknown xtask command `{other}` (expected image, seed, bench or realworld)")
        }
    }
}
