//! The typed configuration every part of the harness takes, and the
//! `pgharness.toml` file format it is read from.
//!
//! Only this module and `cli` know about files and flags; the engine below
//! receives a [`Config`] value and never reads argv or the environment
//! (the environment is read here, once, for the documented variables).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::chain::LayoutChoice;

/// The backend that provides throwaway servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// `url` if a URL is given, else `docker` if usable, else `local`.
    #[default]
    Auto,
    /// A private cluster made with the machine's `initdb`.
    Local,
    /// A container through testcontainers.
    Docker,
    /// An existing server given by an admin URL.
    Url,
}

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "local" => Ok(BackendChoice::Local),
            "docker" => Ok(BackendChoice::Docker),
            "url" => Ok(BackendChoice::Url),
            other => Err(format!(
                "unknown backend `{other}` (expected auto, local, docker or url)"
            )),
        }
    }
}

/// Everything the harness needs to know, with every default filled in and
/// every path resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file this came from, if any (for messages).
    pub file: Option<PathBuf>,
    /// The migration chain.
    pub migrations: MigrationsConfig,
    /// The server to run against.
    pub server: ServerConfig,
    /// Constraint property files.
    pub properties: PropertiesConfig,
    /// Seed profiles.
    pub seeds_dir: PathBuf,
    /// Approved schema snapshots.
    pub snapshots_dir: PathBuf,
    /// The idempotency property's settings.
    pub idempotency: IdempotencyConfig,
    /// The round-trip property's settings.
    pub roundtrip: RoundtripConfig,
    /// `impact`'s scale and thresholds.
    pub impact: ImpactConfig,
}

/// Where the chain is and how it is laid out.
#[derive(Debug, Clone)]
pub struct MigrationsConfig {
    /// The chain's directory.
    pub dir: PathBuf,
    /// Its layout, or auto-detection.
    pub layout: LayoutChoice,
    /// Globs (relative to `dir`) of entries the chain's tool is configured
    /// to skip.
    pub ignore: Vec<String>,
}

impl MigrationsConfig {
    /// Discovers the chain this configuration names.
    pub fn discover(&self) -> Result<crate::chain::Chain, crate::chain::ChainError> {
        crate::chain::discover_ignoring(&self.dir, self.layout, &self.ignore)
    }
}

/// How to get a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Which backend.
    pub backend: BackendChoice,
    /// Container image for the docker backend.
    pub image: String,
    /// SQL run before any migration in every database the chain is applied
    /// to (roles, extensions, schemas the target platform provides).
    pub bootstrap: String,
    /// Admin URL of an existing server (url backend).
    pub database_url: Option<String>,
    /// Statement timeout for migrations and checks, in seconds.
    pub statement_timeout_secs: u64,
    /// url backend: run migrations as the admin user itself instead of a
    /// per-run role without rights beyond its own databases (server-wide
    /// changes are then reported, not prevented).
    pub superuser: bool,
    /// PostgreSQL majors to check on, each on a server of its own
    /// (`server.versions`, `--pg`); empty: the one server the backend gives.
    pub versions: Vec<u32>,
    /// The major this server must be (one version of a matrix); `None`:
    /// any.
    pub major: Option<u32>,
}

impl ServerConfig {
    /// This configuration for one major of a matrix: the docker image of
    /// that major (`{major}` in `server.image` replaced; the default image
    /// becomes `postgres:<major>-alpine`).
    pub fn for_major(&self, major: u32) -> Result<ServerConfig, String> {
        let image = if self.image.contains("{major}") {
            self.image.replace("{major}", &major.to_string())
        } else if self.image == DEFAULT_IMAGE {
            format!("postgres:{major}-alpine")
        } else {
            match self.backend {
                BackendChoice::Docker | BackendChoice::Auto => {
                    return Err(format!(
                        "server.image `{}` names one version; write `{{major}}` where the major goes (e.g. `postgres:{{major}}-alpine`) to check on several",
                        self.image
                    ))
                }
                _ => self.image.clone(),
            }
        };
        Ok(ServerConfig {
            image,
            major: Some(major),
            versions: Vec::new(),
            ..self.clone()
        })
    }
}

/// Reads a list of PostgreSQL majors (`["15", "17"]`, `[15, 17]`, or
/// `15,17` from the command line).
pub fn parse_versions(items: &[String]) -> Result<Vec<u32>, String> {
    let mut majors = Vec::new();
    for item in items {
        let major: u32 = item
            .trim()
            .parse()
            .ok()
            .filter(|m| (10..100).contains(m))
            .ok_or_else(|| format!("`{item}` is not a PostgreSQL major version (10, ..., 18)"))?;
        if !majors.contains(&major) {
            majors.push(major);
        }
    }
    Ok(majors)
}

/// Reads a text file the user gave (config, profile, property file); a
/// FIFO, socket or device is refused instead of opened (reading one would
/// block or never end).
pub fn read_text_file(path: &Path) -> std::io::Result<String> {
    ensure_regular_file(path)?;
    std::fs::read_to_string(path)
}

/// `Ok` when `path` is a regular file (after symlinks); an
/// `InvalidInput` error saying what it is otherwise.
pub fn ensure_regular_file(path: &Path) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, what))
}

/// The longest statement timeout Postgres takes (`INT_MAX` milliseconds),
/// in seconds.
pub const MAX_STATEMENT_TIMEOUT_SECS: u64 = 2_147_483;

/// A statement timeout in seconds, within what Postgres takes.
pub fn check_timeout(secs: u64) -> Result<u64, String> {
    if secs == 0 || secs > MAX_STATEMENT_TIMEOUT_SECS {
        return Err(format!(
            "{secs} is out of range: give 1 to {MAX_STATEMENT_TIMEOUT_SECS} seconds"
        ));
    }
    Ok(secs)
}

/// Constraint property settings.
#[derive(Debug, Clone)]
pub struct PropertiesConfig {
    /// Directory of `*.toml` property files.
    pub dir: PathBuf,
    /// Generated cases per property.
    pub cases: u32,
}

/// Whether the chain is held to re-runnability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdempotencyMode {
    /// Held to it when the chain shows it is meant to be re-runnable (its
    /// up scripts guard their statements); otherwise one summary line.
    #[default]
    Auto,
    /// Every migration must be re-runnable.
    Required,
    /// The chain is declared not idempotent: one skip.
    Off,
}

/// Idempotency property settings.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyConfig {
    /// `auto` (default), `true` or `false`.
    pub enabled: IdempotencyMode,
    /// Migrations declared not idempotent (version, name or id).
    pub skip: Vec<String>,
}

/// Round-trip property settings.
#[derive(Debug, Clone, Default)]
pub struct RoundtripConfig {
    /// A difference in column order alone fails the property.
    pub strict_column_order: bool,
    /// A migration without a down script fails instead of being skipped.
    pub require_down: bool,
}

/// `impact`'s settings (`[impact]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImpactConfig {
    /// The seed profile that gives the data its scale (`--profile`
    /// overrides it).
    pub profile: Option<PathBuf>,
    /// Rows in every table when there is no profile.
    pub rows: usize,
    /// A lock that blocks reads or writes of a table with rows, held longer
    /// than this many milliseconds (to the end of its transaction), is a
    /// finding.
    pub max_lock_ms: u64,
    /// Findings at or above this severity make the run exit 1.
    pub fail_on: FailOn,
    /// Rules applied nowhere (a statement ignores one with a
    /// `-- pgharness: ignore <rule>` comment).
    pub ignore: Vec<String>,
}

impl Default for ImpactConfig {
    fn default() -> ImpactConfig {
        ImpactConfig {
            profile: None,
            rows: 10_000,
            max_lock_ms: 200,
            fail_on: FailOn::Error,
            ignore: Vec::new(),
        }
    }
}

/// Which findings of `impact` fail a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
    /// None: the report only.
    Never,
}

impl FailOn {
    /// `warning`, `error` or `never`, as `impact.fail_on` writes it.
    pub fn name(self) -> &'static str {
        match self {
            FailOn::Warning => "warning",
            FailOn::Error => "error",
            FailOn::Never => "never",
        }
    }
}

impl FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "warning" => Ok(FailOn::Warning),
            "error" => Ok(FailOn::Error),
            "never" => Ok(FailOn::Never),
            other => Err(format!("expected warning, error or never, found `{other}`")),
        }
    }
}

/// The names of `impact`'s rules, as `[impact] ignore` and ignore comments
/// write them.
pub const IMPACT_RULES: [&str; 6] = [
    "rewrite",
    "blocking_index",
    "validated_under_lock",
    "long_lock",
    "no_lock_timeout",
    "fails_on_data",
];

/// A configuration file that cannot be used. Messages name the file and,
/// where it applies, the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    migrations: FileMigrations,
    #[serde(default)]
    server: FileServer,
    #[serde(default)]
    properties: FileProperties,
    #[serde(default)]
    seeds: FileDir,
    #[serde(default)]
    snapshots: FileDir,
    #[serde(default)]
    idempotency: FileIdempotency,
    #[serde(default)]
    roundtrip: FileRoundtrip,
    #[serde(default)]
    impact: FileImpact,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileImpact {
    profile: Option<PathBuf>,
    rows: Option<usize>,
    max_lock_ms: Option<u64>,
    fail_on: Option<String>,
    ignore: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileMigrations {
    dir: Option<PathBuf>,
    layout: Option<String>,
    ignore: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileServer {
    backend: Option<String>,
    image: Option<String>,
    bootstrap: Option<String>,
    database_url: Option<String>,
    statement_timeout: Option<u64>,
    superuser: Option<bool>,
    versions: Option<Vec<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileProperties {
    dir: Option<PathBuf>,
    cases: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileDir {
    dir: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileIdempotency {
    enabled: Option<toml::Value>,
    skip: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileRoundtrip {
    strict_column_order: Option<bool>,
    require_down: Option<bool>,
}

/// The default image of the docker backend.
pub const DEFAULT_IMAGE: &str = "postgres:16-alpine";

/// Default statement timeout: generous, only there to turn a hang into an
/// error.
pub const DEFAULT_STATEMENT_TIMEOUT_SECS: u64 = 300;

impl Config {
    /// The configuration with every default, relative to `root`.
    pub fn defaults(root: &Path) -> Config {
        Self::from_file_config(FileConfig::default(), root, None)
            .unwrap_or_else(|_| unreachable!("defaults are valid"))
    }

    /// Reads `path`. Relative paths inside are relative to the file's
    /// directory. The environment variables `PGHARNESS_IMAGE` and
    /// `PGHARNESS_DATABASE_URL` override the file's image and URL (flags, in
    /// `cli`, override both).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_text_file(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| {
            let (line, col) = e
                .span()
                .map_or((1, 1), |span| crate::statement::line_col(text, span.start));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                col,
                message: e.message().trim().to_string(),
            }
        })?;
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self::from_file_config(file, root, Some(path))
    }

    fn from_file_config(
        file: FileConfig,
        root: &Path,
        path: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.map_or_else(|| PathBuf::from("<defaults>"), Path::to_path_buf),
            message,
        };
        let resolve = |p: Option<PathBuf>, default: &str| {
            let p = p.unwrap_or_else(|| PathBuf::from(default));
            if p.is_absolute() || root == Path::new(".") {
                p
            } else {
                root.join(p)
            }
        };
        let layout = match file.migrations.layout {
            Some(l) => l
                .parse()
                .map_err(|m: String| invalid(format!("migrations.layout: {m}")))?,
            None => LayoutChoice::Auto,
        };
        let backend = match file.server.backend {
            Some(b) => b
                .parse()
                .map_err(|m: String| invalid(format!("server.backend: {m}")))?,
            None => BackendChoice::Auto,
        };
        let cases = file.properties.cases.unwrap_or(64);
        if cases == 0 {
            return Err(invalid("properties.cases must be at least 1".into()));
        }
        Ok(Config {
            file: path.map(Path::to_path_buf),
            migrations: MigrationsConfig {
                dir: resolve(file.migrations.dir, "migrations"),
                layout,
                ignore: file.migrations.ignore.unwrap_or_default(),
            },
            server: ServerConfig {
                backend,
                image: std::env::var("PGHARNESS_IMAGE")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .or(file.server.image)
                    .unwrap_or_else(|| DEFAULT_IMAGE.to_string()),
                bootstrap: file.server.bootstrap.unwrap_or_default(),
                database_url: std::env::var("PGHARNESS_DATABASE_URL")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .or(file.server.database_url),
                statement_timeout_secs: match file.server.statement_timeout {
                    Some(secs) => check_timeout(secs)
                        .map_err(|m| invalid(format!("server.statement_timeout: {m}")))?,
                    None => DEFAULT_STATEMENT_TIMEOUT_SECS,
                },
                superuser: file.server.superuser.unwrap_or(false),
                versions: match file.server.versions {
                    Some(list) => {
                        let items: Vec<String> = list
                            .iter()
                            .map(|v| match v {
                                toml::Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect();
                        parse_versions(&items)
                            .map_err(|m| invalid(format!("server.versions: {m}")))?
                    }
                    None => Vec::new(),
                },
                major: None,
            },
            properties: PropertiesConfig {
                dir: resolve(file.properties.dir, "properties"),
                cases,
            },
            seeds_dir: resolve(file.seeds.dir, "seeds"),
            snapshots_dir: resolve(file.snapshots.dir, "snapshots"),
            idempotency: IdempotencyConfig {
                enabled: match file.idempotency.enabled {
                    None => IdempotencyMode::Auto,
                    Some(toml::Value::Boolean(true)) => IdempotencyMode::Required,
                    Some(toml::Value::Boolean(false)) => IdempotencyMode::Off,
                    Some(toml::Value::String(s)) if s == "auto" => IdempotencyMode::Auto,
                    Some(other) => {
                        return Err(invalid(format!(
                            "idempotency.enabled: expected \"auto\", true or false, found {other}"
                        )))
                    }
                },
                skip: file.idempotency.skip.unwrap_or_default(),
            },
            roundtrip: RoundtripConfig {
                strict_column_order: file.roundtrip.strict_column_order.unwrap_or(false),
                require_down: file.roundtrip.require_down.unwrap_or(false),
            },
            impact: {
                let defaults = ImpactConfig::default();
                let impact = file.impact;
                if impact.rows == Some(0) {
                    return Err(invalid("impact.rows: give at least 1".into()));
                }
                let fail_on = match impact.fail_on.as_deref() {
                    None => defaults.fail_on,
                    Some(level) => level
                        .parse()
                        .map_err(|m| invalid(format!("impact.fail_on: {m}")))?,
                };
                let ignore = impact.ignore.unwrap_or_default();
                if let Some(unknown) = ignore.iter().find(|r| !IMPACT_RULES.contains(&r.as_str())) {
                    return Err(invalid(format!(
                        "impact.ignore: no rule `{unknown}` (rules: {})",
                        IMPACT_RULES.join(", ")
                    )));
                }
                ImpactConfig {
                    profile: impact.profile.map(|p| resolve(Some(p), "")),
                    rows: impact.rows.unwrap_or(defaults.rows),
                    max_lock_ms: impact.max_lock_ms.unwrap_or(defaults.max_lock_ms),
                    fail_on,
                    ignore,
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let err = Config::parse(
            "[migrations]\ndir = \"m\"\nlayuot = \"sqlx\"\n",
            Path::new("p.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("p.toml:3:1: unknown field `layuot`"),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_are_errors() {
        let err = Config::parse("[properties]\ncases = \"many\"\n", Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.toml:2:9: invalid type"), "{err}");
    }

    #[test]
    fn paths_are_relative_to_the_file() {
        let c = Config::parse(
            "[migrations]\ndir = \"db\"\n",
            Path::new("proj/pgharness.toml"),
        )
        .unwrap();
        assert_eq!(c.migrations.dir, PathBuf::from("proj/db"));
        assert_eq!(c.snapshots_dir, PathBuf::from("proj/snapshots"));
    }
}
