//! The `pgharness` binary: parses the command line and hands over to
//! `pgharness::cli`. Exit status: 0 all properties hold, 1 one fails,
//! 2 invalid input, 3 no usable Postgres, 130 interrupted.

use clap::Parser;

use pgharness::cli::{self, Cli, Format};

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PGHARNESS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pgharness: cannot start the async runtime: {e}");
            std::process::exit(3);
        }
    };
    let format = cli.format;
    let code = runtime.block_on(async move {
        let interrupted = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => 130,
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => 143,
            }
        };
        tokio::select! {
            // Dropping the command's future drops its servers, which stops
            // and deletes them before we exit.
            result = cli::run(cli) => match result {
                Ok(code) => code,
                Err(error) => {
                    let code = error.exit_code();
                    let message = error.to_string();
                    if format == Format::Json {
                        let value = serde_json::json!({"error": {"message": message, "exit": code}});
                        println!("{value}");
                    }
                    eprintln!("pgharness: error: {message}");
                    code
                }
            },
            code = interrupted => {
                eprintln!("pgharness: interrupted; cleaned up");
                code
            }
        }
    });
    drop(runtime);
    std::process::exit(code);
}
