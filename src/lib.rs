//! pgharness: a fixture, seed and property-test harness for PostgreSQL
//! migration chains. See `ARCHITECTURE.md` for the map of the code.
//!
//! Modules follow the flow of the data: [`config`] -> [`server`] ->
//! [`chain`] -> [`apply`] -> [`schema`] -> ... -> [`report`]; a module uses
//! the ones before it, never the ones after.

pub mod apply;
pub mod chain;
pub mod cli;
pub mod config;
pub mod generate;
pub mod harness;
pub mod impact;
pub mod progress;
pub mod properties;
pub mod report;
pub mod schema;
pub mod seed;
pub mod server;
pub mod statement;
pub mod testing;

pub use harness::Harness;

/// `#[pgharness::test]`: a test with a fresh database of the chain (see
/// [`testing`]).
pub use pgharness_macros::test;

/// What the code `#[pgharness::test]` generates uses.
#[doc(hidden)]
pub mod __private {
    pub use tokio;
}

/// Every error the library returns, with the exit status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is unusable (exit 2).
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The chain directory is unusable (exit 2).
    #[error(transparent)]
    Chain(#[from] chain::ChainError),
    /// No usable server, or the server failed (exit 3).
    #[error(transparent)]
    Server(#[from] server::ServerError),
    /// A migration failed to apply (exit 1).
    #[error("migration {migration} failed: {error}")]
    Migration {
        migration: String,
        error: Box<apply::ApplyError>,
    },
    /// The bootstrap SQL failed (exit 2: it is configuration).
    #[error("bootstrap SQL failed: {0}")]
    Bootstrap(Box<apply::ApplyError>),
    /// A version that is not in the chain (exit 2).
    #[error(
        "no migration `{0}` in the chain (give a version, a name, `<version>_<name>` or `head`)"
    )]
    UnknownVersion(String),
    /// Reading the schema failed (exit 3: the server misbehaved).
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    /// Seed generation failed: a profile or schema problem (exit 2) or a
    /// load the server refused (exit 1).
    #[error(transparent)]
    Generate(Box<generate::GenerateError>),
    /// Other invalid input: a file and what is wrong with it (exit 2).
    #[error("{0}")]
    Input(String),
}

impl Error {
    /// The process exit status for this error (DESIGN.md, "Command line
    /// contract").
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Migration { .. } => 1,
            Error::Config(_)
            | Error::Chain(_)
            | Error::Bootstrap(_)
            | Error::UnknownVersion(_)
            | Error::Input(_) => 2,
            Error::Server(server::ServerError::BadUrl(_)) => 2,
            Error::Generate(e) if e.is_input_error() => 2,
            Error::Generate(_) => 1,
            Error::Server(_) | Error::Schema(_) => 3,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(source: sqlx::Error) -> Self {
        Error::Server(server::ServerError::Sql {
            what: "query".into(),
            source,
        })
    }
}
