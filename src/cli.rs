//! The command line: turns flags and `pgharness.toml` into a typed
//! [`Config`], runs the command, and maps the outcome to an exit status.
//! Nothing below this module reads argv or the environment.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::chain::{Chain, LayoutChoice};
use crate::config::{BackendChoice, Config};
use crate::generate::Profile;
use crate::properties::fidelity::SnapshotFile;
use crate::properties::partition::{Partition, Timings};
use crate::properties::{check, CheckOptions, FileSelection, PropertyKind};
use crate::report::Report;
use crate::schema::{colorize_diff, unified_diff};
use crate::seed;
use crate::server::{mask_url, Server};
use crate::{Error, Harness};

/// Writes `text` to stdout. A closed stdout (`pgharness list | head`) is
/// not worth a panic: what the reader no longer wants is dropped.
pub fn write_stdout(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Writes a line to stderr, ignoring a closed stderr (see [`write_stdout`]).
pub fn write_stderr_line(text: &str) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

macro_rules! errln {
    ($($arg:tt)*) => { write_stderr_line(&format!($($arg)*)) };
}

macro_rules! out {
    ($($arg:tt)*) => { write_stdout(&format!($($arg)*)) };
}

macro_rules! outln {
    ($($arg:tt)*) => { write_stdout(&format!("{}\n", format_args!($($arg)*))) };
}

/// When to color output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set (to anything but empty).
    Auto,
    /// Always (a CI log that renders ANSI colors).
    Always,
    /// Never.
    Never,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Human,
    /// One JSON object on stdout.
    Json,
    /// GitHub Actions workflow commands: an annotation per failure on its
    /// file and line (`check`; other commands print as `human`).
    Github,
    /// JUnit XML, the Surefire/Jenkins schema (`check`; other commands
    /// print as `human`).
    Junit,
    /// GitHub-flavoured Markdown for a pull-request comment (`impact`;
    /// `check` refuses it, other commands print as `human`).
    Markdown,
}

/// pgharness: fixtures, seeds and property tests for PostgreSQL migration chains.
#[derive(Debug, Parser)]
#[command(name = "pgharness", version, about)]
pub struct Cli {
    /// Config file (default: ./pgharness.toml if present).
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The chain directory (overrides the config).
    #[arg(long, global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// auto|sqlx|diesel|dbmate|flyway|supabase.
    #[arg(long, global = true, value_name = "NAME")]
    pub layout: Option<String>,
    /// auto|local|docker|url.
    #[arg(long, global = true, value_name = "NAME")]
    pub backend: Option<String>,
    /// Admin URL of an existing server (backend url; also PGHARNESS_DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Statement timeout in seconds for migrations and checks.
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// PostgreSQL majors to check on, each on a server of its own
    /// (`15,17,18`; also `server.versions`).
    #[arg(long, global = true, value_delimiter = ',', value_name = "MAJORS")]
    pub pg: Vec<String>,
    /// human|json|github|junit|markdown.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub format: Format,
    /// auto|always|never: color codes in the output (auto: on a terminal,
    /// unless NO_COLOR is set).
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// More log lines on stderr (-v pgharness' debug lines, -vv every
    /// library's).
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only warnings and errors on stderr.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the chain as discovered.
    List,
    /// Run properties; exit 1 when one fails.
    Check {
        /// Run only these properties (comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "LIST")]
        only: Vec<String>,
        /// Skip these properties (comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "LIST")]
        skip: Vec<String>,
        /// Restrict per-migration properties to this migration.
        #[arg(long, value_name = "VERSION")]
        migration: Option<String>,
        /// Generated cases per constraint property.
        #[arg(long, value_name = "N")]
        cases: Option<u32>,
        /// Seed for generated data.
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Run only share k of n of the work (a CI matrix of n jobs covers
        /// it all; `report merge` joins their JSON reports).
        #[arg(long, value_name = "K/N")]
        partition: Option<Partition>,
        /// An earlier run's JSON report, to balance the shares by its
        /// durations.
        #[arg(long, value_name = "REPORT.json", requires = "partition")]
        timings: Option<PathBuf>,
    },
    /// Print the normalized schema snapshot.
    Schema {
        /// The version to show (default: head).
        #[arg(long, value_name = "VERSION")]
        at: Option<String>,
    },
    /// Generate realistic seed data for the head schema: write it as a
    /// psql script (--out), load it into a database (--database-url), or
    /// serve it from a throwaway server until Ctrl-C (--serve).
    Seed {
        /// The seed profile (seeds/*.toml).
        #[arg(long, value_name = "FILE")]
        profile: PathBuf,
        /// Seed of the generator (default: the profile's, else 1).
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Write a psql script (schema through the chain, then the data).
        #[arg(long, value_name = "FILE.sql", conflicts_with = "serve")]
        out: Option<PathBuf>,
        /// Start a throwaway server, seed it, print its URL, wait for Ctrl-C.
        #[arg(long)]
        serve: bool,
        /// With --database-url: undo this chain's migrations first (only
        /// when the database is exactly at the chain's head).
        #[arg(long)]
        reset: bool,
    },
    /// Compare the head schema with the approved snapshot; exit 1 on a
    /// difference.
    Snapshot {
        /// Write the head schema as the approved snapshot.
        #[arg(long)]
        accept: bool,
    },
    /// Per-statement locks, rewrites and durations of each migration, on
    /// a database at its previous version seeded to a profile's scale;
    /// exit 1 on a finding at or above `impact.fail_on`.
    Impact {
        /// The seed profile giving the data's scale (default:
        /// `impact.profile`, else `impact.rows` rows in every table).
        #[arg(long, value_name = "FILE")]
        profile: Option<PathBuf>,
        /// Only this migration (version, name or `<version>_<name>`).
        #[arg(long, value_name = "VERSION")]
        migration: Option<String>,
        /// Seed of the generator (default: the profile's, else 1).
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// warning|error|never: findings at or above it fail the run
        /// (default: `impact.fail_on`, else error).
        #[arg(long, value_name = "SEVERITY")]
        fail_on: Option<String>,
    },
    /// Work with check reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Print a completion script for a shell (`pgharness completions bash >
    /// ~/.local/share/bash-completion/completions/pgharness`).
    Completions {
        /// bash|zsh|fish|elvish|powershell.
        shell: clap_complete::Shell,
    },
}

/// `report` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join the JSON reports of `check --partition k/n` shards into the
    /// report of the whole check (printed in --format); exit 1 when a
    /// property fails.
    Merge {
        /// The shards' `check --format json` reports.
        #[arg(required = true, value_name = "REPORT.json")]
        files: Vec<PathBuf>,
    },
}

impl Cli {
    /// Whether output to stdout gets color codes.
    pub fn color_stdout(&self) -> bool {
        self.colors(std::io::stdout().is_terminal())
    }

    /// Whether output to stderr (logs) gets color codes.
    pub fn color_stderr(&self) -> bool {
        self.colors(std::io::stderr().is_terminal())
    }

    /// The log filter `-v`/`-q` ask for (`PGHARNESS_LOG` overrides it).
    pub fn log_filter(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "warn,sqlx=error",
            (false, 0) => "info,sqlx=error",
            (false, 1) => "info,pgharness=debug,sqlx=error",
            (false, _) => "debug",
        }
    }

    fn colors(&self, terminal: bool) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }

    /// Whether the command itself waits for Ctrl-C (`seed --serve`), so the
    /// binary must not treat Ctrl-C as an interruption.
    pub fn handles_interrupt(&self) -> bool {
        matches!(self.command, Command::Seed { serve: true, .. })
    }

    /// The config: the file (given, or ./pgharness.toml if present, else
    /// defaults), then the flags on top.
    pub fn config(&self) -> Result<Config, Error> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None if Path::new("pgharness.toml").is_file() => {
                Config::load(Path::new("pgharness.toml"))?
            }
            None => Config::defaults(Path::new(".")),
        };
        if let Some(dir) = &self.migrations {
            config.migrations.dir = dir.clone();
        }
        if let Some(layout) = &self.layout {
            config.migrations.layout = layout
                .parse::<LayoutChoice>()
                .map_err(|m| Error::Input(format!("--layout: {m}")))?;
        }
        if let Some(backend) = &self.backend {
            config.server.backend = backend
                .parse::<BackendChoice>()
                .map_err(|m| Error::Input(format!("--backend: {m}")))?;
        }
        if let Some(url) = &self.database_url {
            config.server.database_url = Some(url.clone());
        }
        if let Some(secs) = self.timeout {
            config.server.statement_timeout_secs = crate::config::check_timeout(secs)
                .map_err(|m| Error::Input(format!("--timeout: {m}")))?;
        }
        if !self.pg.is_empty() {
            config.server.versions = crate::config::parse_versions(&self.pg)
                .map_err(|m| Error::Input(format!("--pg: {m}")))?;
        }
        Ok(config)
    }

    /// The global options as typed, to prefix "rerun" commands with. The
    /// URL is masked.
    fn rerun_prefix(&self) -> String {
        let mut parts = vec!["pgharness".to_string()];
        if let Some(c) = &self.config {
            parts.push(format!("-c {}", c.display()));
        }
        if let Some(m) = &self.migrations {
            parts.push(format!("--migrations {}", m.display()));
        }
        if let Some(l) = &self.layout {
            parts.push(format!("--layout {l}"));
        }
        if let Some(b) = &self.backend {
            parts.push(format!("--backend {b}"));
        }
        if let Some(u) = &self.database_url {
            parts.push(format!("--database-url '{}'", mask_url(u)));
        }
        parts.join(" ")
    }
}

/// Runs the parsed command line; returns the exit status.
pub async fn run(cli: Cli) -> Result<i32, Error> {
    if let Command::Completions { shell } = &cli.command {
        let mut script = Vec::new();
        clap_complete::generate(
            *shell,
            &mut <Cli as clap::CommandFactory>::command(),
            "pgharness",
            &mut script,
        );
        out!("{}", String::from_utf8_lossy(&script));
        return Ok(0);
    }
    let config = cli.config()?;
    tracing::debug!(
        "the chain in {}, properties in {}",
        config.migrations.dir.display(),
        config.properties.dir.display()
    );
    match &cli.command {
        Command::List => {
            let chain = config.migrations.discover()?;
            print_list(&chain, cli.format);
            Ok(0)
        }
        Command::Check {
            only,
            skip,
            migration,
            cases,
            seed,
            partition,
            timings,
        } => {
            if cli.format == Format::Markdown {
                return Err(Error::Input(
                    "--format markdown is for `impact`; check prints human, json, junit or github"
                        .into(),
                ));
            }
            // `impact` is asked for by name only: it seeds data at scale.
            let impact_asked = only.iter().any(|n| n.trim() == "impact");
            let only: Vec<String> = only
                .iter()
                .filter(|n| n.trim() != "impact")
                .cloned()
                .collect();
            let skip: Vec<String> = skip
                .iter()
                .filter(|n| n.trim() != "impact")
                .cloned()
                .collect();
            if impact_asked && (partition.is_some() || !config.server.versions.is_empty()) {
                return Err(Error::Input(
                    "check --only impact runs on one server, unpartitioned: leave out --partition and --pg".into(),
                ));
            }
            if impact_asked && only.is_empty() {
                return check_impact_only(&cli, config, migration.clone(), *seed).await;
            }
            let (properties, files) = select_properties(&only, &skip)?;
            if *cases == Some(0) {
                return Err(Error::Input(
                    "--cases 0: give at least 1 (a property checked on no data proves nothing)"
                        .into(),
                ));
            }
            if properties.contains(&PropertyKind::Properties) && !only.is_empty() {
                let dir = &config.properties.dir;
                if !dir.is_dir() {
                    return Err(Error::Input(format!(
                        "{}: the properties directory does not exist (properties.dir)",
                        dir.display()
                    )));
                }
            }
            let options = CheckOptions {
                properties,
                migration: migration.clone(),
                cases: cases.unwrap_or(config.properties.cases),
                seed: *seed,
                files,
                partition: *partition,
                timings: match timings {
                    Some(path) => Timings::load(path)?,
                    None => Timings::default(),
                },
            };
            if !config.server.versions.is_empty() {
                let report = check_on_versions(&cli, config, &options).await?;
                return Ok(print_report(&cli, &report));
            }
            let config_impact = config.impact.clone();
            // Read before the server starts: a bad profile is exit 2 at once.
            let impact_planned = match impact_asked {
                true => Some(impact_options(&config_impact, migration.clone(), *seed)?),
                false => None,
            };
            let harness = start(config).await?;
            // A line of progress for a person at a terminal.
            let display = (std::io::stderr().is_terminal() && !cli.quiet).then(|| {
                crate::progress::Display::start(
                    harness.progress().clone(),
                    harness.chain().migrations.len(),
                )
            });
            let mut outcome = check(&harness, &options).await;
            if let Some(display) = display {
                display.finish();
            }
            if let Some(impact_options) = &impact_planned {
                if let Ok(found) = outcome.as_mut() {
                    let started = std::time::Instant::now();
                    let impact = impact_results(&harness, &config_impact, impact_options).await;
                    match impact {
                        Ok(results) => {
                            found.results.extend(results);
                            found.elapsed += started.elapsed();
                        }
                        Err(e) => outcome = Err(e),
                    }
                }
            }
            harness.server().shutdown().await;
            let report = Report::new(
                harness.chain(),
                harness.server(),
                outcome?,
                &cli.rerun_prefix(),
            );
            Ok(print_report(&cli, &report))
        }
        Command::Impact {
            profile,
            migration,
            seed,
            fail_on,
        } => {
            run_impact(
                &cli,
                config,
                profile.as_deref(),
                migration.clone(),
                *seed,
                fail_on.as_deref(),
            )
            .await
        }
        Command::Seed {
            profile,
            seed,
            out,
            serve,
            reset,
        } => run_seed(&cli, config, profile, *seed, out.as_deref(), *serve, *reset).await,
        Command::Schema { at } => {
            let harness = start(config).await?;
            let result = harness.schema_at(at.as_deref()).await;
            harness.server().shutdown().await;
            let snapshot = result?;
            match cli.format {
                Format::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&snapshot).unwrap_or_default()
                ),
                Format::Human | Format::Github | Format::Junit | Format::Markdown => {
                    out!("{}", snapshot.render())
                }
            }
            Ok(0)
        }
        Command::Snapshot { accept } => {
            if !config.server.versions.is_empty() {
                if !*accept {
                    return Err(Error::Input(
                        "snapshot --pg: compare with `pgharness check --pg ... --only fidelity`; `snapshot --accept --pg ...` writes the approved snapshot of each version".into(),
                    ));
                }
                return accept_on_versions(&cli, config).await;
            }
            let harness = start(config).await?;
            let result = harness.schema_at(None).await.map(|s| s.render());
            harness.server().shutdown().await;
            let actual = result?;
            let file = SnapshotFile::head(&harness);
            if *accept {
                file.accept(&actual, &harness.chain().dir)?;
                errln!("pgharness: wrote {}", file.path.display());
                if cli.format == Format::Json {
                    outln!("{}", snapshot_json(&file.path, "accepted", None));
                }
                return Ok(0);
            }
            let approved = file.read()?;
            let diff = unified_diff(
                approved.as_deref().unwrap_or(""),
                &actual,
                &file.path.display().to_string(),
                "head schema",
            );
            if approved.as_deref().map(str::trim_end) == Some(actual.trim_end()) {
                file.remove_stale_pending();
                match cli.format {
                    Format::Json => outln!("{}", snapshot_json(&file.path, "matches", None)),
                    _ => outln!("{} matches the head schema", file.path.display()),
                }
                return Ok(0);
            }
            match cli.format {
                Format::Json => {
                    let status = if approved.is_some() {
                        "differs"
                    } else {
                        "missing"
                    };
                    outln!("{}", snapshot_json(&file.path, status, Some(&diff)));
                }
                _ if cli.color_stdout() => out!("{}", colorize_diff(&diff)),
                _ => out!("{diff}"),
            }
            let what = match approved {
                Some(_) => format!("the head schema differs from {}", file.path.display()),
                None => format!("no approved snapshot at {}", file.path.display()),
            };
            if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0") {
                errln!("pgharness: {what} (CI: nothing written)");
            } else {
                file.write_pending(&actual, &harness.chain().dir)?;
                errln!(
                    "pgharness: {what}; wrote {} (accept with `pgharness snapshot --accept` or `cargo insta review`)",
                    file.pending_path().display()
                );
            }
            Ok(1)
        }
        // Printed above, before the config is read.
        Command::Completions { .. } => Ok(0),
        Command::Report {
            command: ReportCommand::Merge { files },
        } => {
            let mut shards = Vec::new();
            for path in files {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::Input(format!("{}: cannot read: {e}", path.display())))?;
                let report: Report = serde_json::from_str(&text).map_err(|e| {
                    Error::Input(format!(
                        "{}:{}: not a pgharness JSON report: {e}",
                        path.display(),
                        e.line()
                    ))
                })?;
                shards.push((path.display().to_string(), report));
            }
            // The chain orders per-migration results, when it is here.
            let chain = config.migrations.discover().ok();
            let report = Report::merge(shards, chain.as_ref()).map_err(Error::Input)?;
            Ok(print_report(&cli, &report))
        }
    }
}

/// `seed`: exactly one of --out, --database-url, --serve.
/// `check --only impact`: each migration's impact as a check result.
async fn check_impact_only(
    cli: &Cli,
    config: Config,
    migration: Option<String>,
    seed: Option<u64>,
) -> Result<i32, Error> {
    let started = std::time::Instant::now();
    let impact = config.impact.clone();
    let options = impact_options(&impact, migration, seed)?;
    let harness = start(config).await?;
    let results = impact_results(&harness, &impact, &options).await;
    harness.server().shutdown().await;
    let outcome = crate::properties::CheckOutcome {
        results: results?,
        elapsed: started.elapsed(),
        cases: 0,
        schedules: 0,
        case_time: std::time::Duration::ZERO,
        schedule_time: std::time::Duration::ZERO,
        seed: seed.unwrap_or(0),
    };
    let report = Report::new(
        harness.chain(),
        harness.server(),
        outcome,
        &cli.rerun_prefix(),
    );
    Ok(print_report(cli, &report))
}

/// What `impact` is asked, with the configured profile read (a bad one is
/// an error before any server starts).
fn impact_options(
    config: &crate::config::ImpactConfig,
    migration: Option<String>,
    seed: Option<u64>,
) -> Result<crate::impact::ImpactOptions, Error> {
    let profile = match &config.profile {
        Some(path) => Some(Profile::load(path).map_err(|e| Error::Generate(Box::new(e)))?),
        None => None,
    };
    Ok(crate::impact::ImpactOptions {
        profile,
        migration,
        seed,
    })
}

/// Runs `impact` as `options` says; one check result per migration.
async fn impact_results(
    harness: &Harness,
    config: &crate::config::ImpactConfig,
    options: &crate::impact::ImpactOptions,
) -> Result<Vec<crate::properties::PropertyResult>, Error> {
    let report = crate::impact::run(harness, config, options).await?;
    Ok(report
        .migrations
        .iter()
        .map(|m| m.to_result(config))
        .collect())
}

async fn run_impact(
    cli: &Cli,
    mut config: Config,
    profile: Option<&Path>,
    migration: Option<String>,
    seed: Option<u64>,
    fail_on: Option<&str>,
) -> Result<i32, Error> {
    if !config.server.versions.is_empty() {
        return Err(Error::Input(
            "impact --pg: impact runs on one server; give one version with --backend and PGHARNESS_PG_BIN, or run it once per version".into(),
        ));
    }
    if let Some(level) = fail_on {
        config.impact.fail_on = level
            .parse()
            .map_err(|m| Error::Input(format!("--fail-on: {m}")))?;
    }
    if let Some(path) = profile {
        config.impact.profile = Some(path.to_path_buf());
    }
    let options = impact_options(&config.impact, migration, seed)?;
    let impact_config = config.impact.clone();
    let harness = start(config).await?;
    let result = crate::impact::run(&harness, &impact_config, &options).await;
    harness.server().shutdown().await;
    let report = result?;
    match cli.format {
        Format::Json => outln!("{}", report.to_json()),
        Format::Markdown => out!("{}", crate::impact::Markdown(&report)),
        Format::Human | Format::Github | Format::Junit => {
            out!("{}", report.to_human(cli.color_stdout()))
        }
    }
    Ok(if report.summary.failed { 1 } else { 0 })
}

async fn run_seed(
    cli: &Cli,
    config: Config,
    profile: &Path,
    seed: Option<u64>,
    out: Option<&Path>,
    serve: bool,
    reset: bool,
) -> Result<i32, Error> {
    let targets = [out.is_some(), cli.database_url.is_some(), serve]
        .iter()
        .filter(|t| **t)
        .count();
    if targets != 1 {
        return Err(Error::Input(
            "seed needs exactly one of --out FILE.sql, --database-url URL, --serve".to_string(),
        ));
    }
    if reset && cli.database_url.is_none() {
        return Err(Error::Input("--reset goes with --database-url".to_string()));
    }
    let profile = Profile::load(profile).map_err(|e| Error::Generate(Box::new(e)))?;
    if let Some(out) = out {
        seed::check_out_path(out)?;
    }
    if let Some(url) = &cli.database_url {
        let chain = config.migrations.discover()?;
        // --reset compares the database with a fresh head, made on a
        // throwaway server; a plain seed needs no other server.
        let reference = if reset {
            Some(start(throwaway_config(&config)).await?)
        } else {
            None
        };
        let result =
            seed::into_database(&config, &chain, &profile, seed, url, reference.as_ref()).await;
        if let Some(reference) = &reference {
            reference.server().shutdown().await;
        }
        let report = result?;
        errln!(
            "pgharness: seeded {} with {} rows (seed {}, {:.0} rows/s)",
            mask_url(url),
            report.total_rows(),
            report.seed,
            report.rows_per_second.unwrap_or(0.0)
        );
        if cli.format == Format::Json {
            outln!("{}", seed_json(&report, "database", &mask_url(url)));
        }
        return Ok(0);
    }
    let harness = start(throwaway_config(&config)).await?;
    let result = async {
        if let Some(out) = out {
            let report = seed::to_file(&harness, &profile, seed, out).await?;
            errln!(
                "pgharness: wrote {} ({} rows, seed {}); load it with: psql -v ON_ERROR_STOP=1 -f {} <empty database>",
                out.display(),
                report.total_rows(),
                report.seed,
                out.display()
            );
            if cli.format == Format::Json {
                outln!("{}", seed_json(&report, "out", &out.display().to_string()));
            }
            return Ok(0);
        }
        let (url, report) = seed::into_fresh_database(&harness, &profile, seed).await?;
        errln!(
            "pgharness: seeded {} rows (seed {}, {:.0} rows/s); serving until Ctrl-C",
            report.total_rows(),
            report.seed,
            report.rows_per_second.unwrap_or(0.0)
        );
        match cli.format {
            Format::Json => outln!("{}", seed_json(&report, "url", &url)),
            _ => outln!("{url}"),
        }
        let signal = termination_signal().await;
        errln!("pgharness: stopping the server");
        // Ctrl-C is how serving is meant to end; another signal says so.
        Ok(if signal == 130 { 0 } else { signal })
    }
    .await;
    harness.server().shutdown().await;
    result
}

/// Prints a check report in the chosen format; the exit status it means.
fn print_report(cli: &Cli, report: &Report) -> i32 {
    match cli.format {
        Format::Json => outln!("{}", report.to_json()),
        Format::Github => out!("{}", report.to_github()),
        Format::Junit => out!("{}", report.to_junit()),
        Format::Human | Format::Markdown => out!("{}", report.to_human(cli.color_stdout())),
    }
    if report.passed() {
        0
    } else {
        1
    }
}

/// `seed --format json`: the seed, rows per table, and where the data
/// went (`out`, `database` or `url`, as `key`).
fn seed_json(report: &seed::SeedReport, key: &str, place: &str) -> String {
    let rows: serde_json::Map<String, serde_json::Value> = report
        .rows
        .iter()
        .map(|(t, n)| (t.clone(), serde_json::json!(n)))
        .collect();
    let mut value = serde_json::json!({
        "seed": report.seed,
        "rows": rows,
        "total_rows": report.total_rows(),
        "rows_per_second": report.rows_per_second,
        "streamed": report.streamed,
    });
    value[key] = serde_json::json!(place);
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// `snapshot --format json`: the file, what was found, and the diff.
fn snapshot_json(file: &Path, status: &str, diff: Option<&str>) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "snapshot": file.display().to_string(),
        "status": status,
        "diff": diff,
    }))
    .unwrap_or_default()
}

/// Waits for SIGINT, SIGTERM or SIGHUP and gives the exit status for it
/// (128 + the signal's number: 130, 143, 129). A signal that cannot be
/// listened for is not waited on.
pub async fn termination_signal() -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let wait = |kind: SignalKind, code: i32| async move {
        match signal(kind) {
            Ok(mut s) => {
                s.recv().await;
                code
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        code = wait(SignalKind::interrupt(), 130) => code,
        code = wait(SignalKind::terminate(), 143) => code,
        code = wait(SignalKind::hangup(), 129) => code,
    }
}

/// The config for a throwaway server: never the URL the user gave (for
/// `seed` that is a target, not a server to make databases on).
fn throwaway_config(config: &Config) -> Config {
    let mut config = config.clone();
    config.server.database_url = None;
    if config.server.backend == BackendChoice::Url {
        config.server.backend = BackendChoice::Auto;
    }
    config
}

/// Discovers the chain and starts a server for it.
/// `snapshot --accept --pg ...`: `schema.snap` from the lowest major, and
/// `schema.pg<major>.snap` for a major that renders the schema differently
/// from the file it would otherwise be checked against (the next lower
/// major's); such a file that no longer differs is removed.
async fn accept_on_versions(cli: &Cli, config: Config) -> Result<i32, Error> {
    let mut majors = config.server.versions.clone();
    majors.sort_unstable();
    let dir = config.snapshots_dir.clone();
    let mut previous: Option<String> = None;
    let mut written = Vec::new();
    for major in majors {
        let mut config = config.clone();
        config.server = config
            .server
            .for_major(major)
            .map_err(|m| Error::Input(format!("PostgreSQL {major}: {m}")))?;
        let harness = start(config).await?;
        let result = harness.schema_at(None).await.map(|s| s.render());
        harness.server().shutdown().await;
        let render = result?;
        let file = match &previous {
            None => SnapshotFile::at(dir.join(crate::properties::fidelity::HEAD_SNAPSHOT)),
            Some(_) => SnapshotFile::at(SnapshotFile::for_major(&dir, major)),
        };
        if previous.as_deref() == Some(render.as_str()) {
            if file.path.is_file() {
                std::fs::remove_file(&file.path).map_err(|e| {
                    Error::Input(format!("{}: cannot remove: {e}", file.path.display()))
                })?;
                errln!(
                    "pgharness: removed {} (PostgreSQL {major} renders the schema as the major before it)",
                    file.path.display()
                );
            }
            continue;
        }
        file.accept(&render, &harness.chain().dir)?;
        errln!("pgharness: wrote {}", file.path.display());
        written.push(file.path.clone());
        previous = Some(render);
    }
    if cli.format == Format::Json {
        for path in written {
            outln!("{}", snapshot_json(&path, "accepted", None));
        }
    }
    Ok(0)
}

/// `check` on each PostgreSQL major of `server.versions`, each on a server
/// of its own, as many at once as there are cores; one report.
async fn check_on_versions(
    cli: &Cli,
    config: Config,
    options: &CheckOptions,
) -> Result<Report, Error> {
    if config.server.backend == BackendChoice::Url && config.server.versions.len() > 1 {
        return Err(Error::Input(
            "--pg with several versions needs a server per version: the url backend has one (use the local or docker backend)".into(),
        ));
    }
    let at_once = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(config.server.versions.len());
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(at_once));
    let runs = config.server.versions.iter().map(|&major| {
        let permits = permits.clone();
        let config = config.clone();
        async move {
            let _permit = permits.acquire().await;
            let mut config = config;
            config.server = config
                .server
                .for_major(major)
                .map_err(|m| Error::Input(format!("PostgreSQL {major}: {m}")))?;
            let harness = start(config).await.map_err(|e| match e {
                Error::Server(e) => {
                    Error::Server(crate::server::ServerError::Unavailable(format!(
                        "PostgreSQL {major}: {}",
                        e.to_string().trim_start_matches("no usable PostgreSQL: ")
                    )))
                }
                other => other,
            })?;
            let outcome = check(&harness, options).await;
            harness.server().shutdown().await;
            Ok::<_, Error>(Report::new(
                harness.chain(),
                harness.server(),
                outcome?,
                &format!("{} --pg {major}", cli.rerun_prefix()),
            ))
        }
    });
    let reports = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Report::matrix(reports).ok_or_else(|| Error::Input("--pg: no version given".into()))
}

async fn start(config: Config) -> Result<Harness, Error> {
    let chain = config.migrations.discover()?;
    // What looks like a migration but is not one is said once, not skipped
    // in silence (`list` shows it too).
    for skipped in &chain.ignored {
        tracing::info!(
            "not a migration: {}: {}",
            skipped.path.display(),
            skipped.reason
        );
    }
    let server = std::sync::Arc::new(Server::start(&config.server).await?);
    Ok(Harness::with_server(config, chain, server))
}

/// The properties `--only`/`--skip` choose, and the property files named
/// as `property:<name>` (a file's stem).
fn select_properties(
    only: &[String],
    skip: &[String],
) -> Result<(Vec<PropertyKind>, FileSelection), Error> {
    let parse = |names: &[String]| -> Result<(Vec<PropertyKind>, Vec<String>), Error> {
        let mut kinds = Vec::new();
        let mut files = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            match name.strip_prefix("property:") {
                Some("") => {
                    return Err(Error::Input(
                        "`property:` needs a property file's name, e.g. property:week_lock".into(),
                    ))
                }
                Some(stem) => files.push(stem.to_string()),
                None => kinds.push(name.parse::<PropertyKind>().map_err(Error::Input)?),
            }
        }
        Ok((kinds, files))
    };
    let (mut only_kinds, only_files) = parse(only)?;
    let (skip_kinds, skip_files) = parse(skip)?;
    if !only_files.is_empty() {
        only_kinds.push(PropertyKind::Properties);
    }
    let mut chosen: Vec<PropertyKind> = if only_kinds.is_empty() {
        PropertyKind::ALL.to_vec()
    } else {
        only_kinds
    };
    chosen.retain(|p| !skip_kinds.contains(p));
    chosen.sort();
    chosen.dedup();
    if chosen.is_empty() {
        return Err(Error::Input(
            "--only/--skip leave no property to check".into(),
        ));
    }
    Ok((
        chosen,
        FileSelection {
            only: only_files,
            skip: skip_files,
        },
    ))
}

fn print_list(chain: &Chain, format: Format) {
    match format {
        Format::Json => {
            let migrations: Vec<serde_json::Value> = chain
                .migrations
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "version": m.version,
                        "name": m.name,
                        "id": m.id(),
                        "up": m.up.path.display().to_string(),
                        "down": m.down.as_ref().map(|d| d.path.display().to_string()),
                        "transaction": m.up.transaction,
                    })
                })
                .collect();
            let value = serde_json::json!({
                "chain": {
                    "dir": chain.dir.display().to_string(),
                    "layout": chain.layout.name(),
                    "migrations": chain.migrations.len(),
                },
                "migrations": migrations,
                "ignored": chain.ignored.iter().map(|i| serde_json::json!({
                    "path": i.path.display().to_string(),
                    "reason": i.reason,
                })).collect::<Vec<_>>(),
            });
            outln!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        }
        Format::Human | Format::Github | Format::Junit | Format::Markdown => {
            outln!(
                "{} ({}, {} migrations)",
                chain.dir.display(),
                chain.layout,
                chain.migrations.len()
            );
            let width = chain
                .migrations
                .iter()
                .map(|m| m.id().len())
                .max()
                .unwrap_or(0);
            for m in &chain.migrations {
                let down = if m.down.is_some() {
                    "up+down"
                } else {
                    "up     "
                };
                let tx = if m.up.transaction {
                    ""
                } else {
                    "  no-transaction"
                };
                outln!("  {:width$}  {down}  {}{tx}", m.id(), m.up.path.display());
            }
            for i in &chain.ignored {
                outln!("  not a migration: {} ({})", i.path.display(), i.reason);
            }
        }
    }
}
