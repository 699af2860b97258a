//! The `pgharness` binary: parses the command line and hands over to
//! `pgharness::cli`. Exit status: 0 all properties hold, 1 one fails,
//! 2 invalid input, 3 no usable Postgres, 130/143/129 stopped by
//! SIGINT/SIGTERM/SIGHUP (after cleaning up).

use clap::Parser;
use tracing_subscriber::fmt::{format::Writer, FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use pgharness::cli::{self, Cli, Format};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(usage_error(e)),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Color codes as --color says (auto: for a person at a terminal,
        // never in a pipe, never under NO_COLOR).
        .with_ansi(cli.color_stderr())
        .event_format(LogLine)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PGHARNESS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(cli.log_filter())),
        )
        .init();
    // One thread drives everything: the work is the server's (a profile of
    // `check` puts over 80% of the CPU in postgres), and a current-thread
    // runtime wakes a waiting query without a hop between threads.
    let runtime = match tokio::runtime::Builder::new_current_thread()
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
    let handles_interrupt = cli.handles_interrupt();
    // The one runtime: everything below runs on it.
    let code = runtime.block_on(async move {
        let interrupted = async {
            if handles_interrupt {
                return std::future::pending().await;
            }
            cli::termination_signal().await
        };
        let code = tokio::select! {
            result = cli::run(cli) => match result {
                Ok(code) => code,
                Err(error) => {
                    let code = error.exit_code();
                    let message = error.to_string();
                    if format == Format::Json {
                        let value = serde_json::json!({"error": {"message": message, "exit": code}});
                        cli::write_stdout(&format!("{value}\n"));
                    }
                    cli::write_stderr_line(&format!("pgharness: error: {message}"));
                    code
                }
            },
            code = interrupted => {
                // The command's future is dropped: its servers hand what
                // they hold to cleanup, done here, on this runtime.
                pgharness::server::cleanup::finish().await;
                cli::write_stderr_line("pgharness: interrupted; cleaned up");
                code
            }
        };
        pgharness::server::cleanup::finish().await;
        code
    });
    drop(runtime);
    std::process::exit(code);
}

/// Prints help or version as asked, or a command-line mistake as one line
/// (what clap says, without its usage block); the exit status.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            cli::write_stderr_line(
                "pgharness: error: a command is required: list, check, snapshot or seed (see pgharness --help)",
            );
            2
        }
        _ => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid command line")
                .trim_start_matches("error: ")
                .trim_end_matches(':')
                .to_string();
            // What clap puts on the following lines (the missing argument,
            // the valid values) belongs to the message.
            let detail: Vec<&str> = text
                .lines()
                .skip_while(|l| !l.starts_with("error:"))
                .skip(1)
                .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                .map(str::trim)
                .collect();
            let mut line = format!("pgharness: error: {first}");
            if !detail.is_empty() {
                line.push_str(": ");
                line.push_str(&detail.join(", "));
            }
            line.push_str(" (see pgharness --help)");
            cli::write_stderr_line(&line);
            2
        }
    }
}

/// Log lines as `pgharness: message`, `pgharness: warning: message`.
struct LogLine;

impl<S, N> FormatEvent<S, N> for LogLine
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = *event.metadata().level();
        let label = match level {
            tracing::Level::ERROR => "error: ",
            tracing::Level::WARN => "warning: ",
            tracing::Level::INFO => "",
            _ => "debug: ",
        };
        write!(writer, "pgharness: {label}")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
