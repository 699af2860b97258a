//! What can go wrong while generating or loading seed data.

use std::path::PathBuf;

/// A seed profile, a schema the generator cannot fill, or a failed load.
///
/// [`GenerateError::is_input_error`] tells the invalid-input class (exit
/// status 2: the profile, or a schema construct that needs a profile rule)
/// from a failed load (the server rejected the data or went away).
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The profile file cannot be read.
    #[error("{}: cannot read the seed profile: {source}", .file.display())]
    ProfileIo {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The profile is not valid (syntax, unknown key, bad value).
    #[error("{}:{line}: {message}", .file.display())]
    Profile {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The profile names a table the schema does not have.
    #[error("{}:{line}: the schema has no table `{table}`{hint}", .file.display())]
    UnknownTable {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The name as written.
        table: String,
        /// `; did you mean ...?` or the list of tables.
        hint: String,
    },
    /// The profile names a column (or foreign key, or check) the table does
    /// not have.
    #[error("{}:{line}: table {table} has no {what} `{name}`{hint}", .file.display())]
    UnknownColumn {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The table.
        table: String,
        /// `column`, `foreign key` or `check constraint`.
        what: &'static str,
        /// The name as written.
        name: String,
        /// What exists.
        hint: String,
    },
    /// A value from the profile does not fit its column.
    #[error("{}:{line}: column {table}.{column}: {message}", .file.display())]
    BadValue {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// The constraints allow fewer rows than the profile asks for.
    #[error("table {table}: {message}")]
    Limit {
        /// The table.
        table: String,
        /// The constraint that limits it.
        constraint: String,
        /// The numbers and what to change.
        message: String,
    },
    /// Foreign keys form a cycle with no nullable or deferrable link.
    #[error(
        "the foreign keys {cycle} form a cycle that cannot be loaded: every link is NOT NULL and none is \
         DEFERRABLE, so no row can go first. Make one of these foreign keys DEFERRABLE, or one of its \
         columns nullable, or give the tables 0 rows in the profile"
    )]
    Cycle {
        /// The cycle: `a -(a_b_fkey)-> b -(b_a_fkey)-> a`.
        cycle: String,
    },
    /// A `CHECK` the generator cannot evaluate, on a table it must fill.
    #[error(
        "table {table}: CHECK constraint {constraint} `{definition}` is beyond what the generator can \
         evaluate ({reason}), so it cannot show that generated rows satisfy it. Give {columns} values \
         that satisfy it ([{section}.\"{table}\".columns.<column>] with `values`, `range`, \
         `fake` or `sql`) and list it in `assume_checks = [\"{constraint}\"]` under [{section}.\"{table}\"]"
    )]
    UnsupportedCheck {
        /// The table.
        table: String,
        /// Where the per-table rules go.
        section: RulesSection,
        /// The constraint.
        constraint: String,
        /// Its definition.
        definition: String,
        /// What the evaluator did not understand.
        reason: String,
        /// The columns it reads.
        columns: String,
    },
    /// No value satisfying a `CHECK` was found for a column.
    #[error(
        "table {table}: no row satisfying CHECK constraint {constraint} `{definition}` found in {attempts} \
         attempts. Give {columns} a rule ([{section}.\"{table}\".columns.<column>] with `values` \
         or `range`) that satisfies it"
    )]
    CheckUnsatisfied {
        /// The table.
        table: String,
        /// Where the per-table rules go.
        section: RulesSection,
        /// The constraint.
        constraint: String,
        /// Its definition.
        definition: String,
        /// The columns it reads.
        columns: String,
        /// How many rows were tried.
        attempts: usize,
    },
    /// The server rejected too many generated rows under a check only it
    /// can decide.
    #[error(
        "table {table}: PostgreSQL accepted {accepted} of {tried} generated rows under constraint \
         {constraint} `{definition}` ({asked} asked for). Give {columns} a rule \
         ([{section}.\"{table}\".columns.<column>] with `values` or `range`) that satisfies it"
    )]
    ServerRejected {
        /// The table.
        table: String,
        /// Where the per-table rules go.
        section: RulesSection,
        /// The check, exclusion constraint or unique key that rejected the
        /// most rows.
        constraint: String,
        /// Its definition.
        definition: String,
        /// The columns it reads.
        columns: String,
        /// Rows asked for, accepted, and generated in all.
        asked: usize,
        accepted: usize,
        tried: usize,
    },
    /// A column whose type the generator has no values for, and which
    /// must be written (NOT NULL, no default).
    #[error(
        "column {table}.{column}: no generator for type `{data_type}` (NOT NULL, no default). Give it \
         a rule: [{section}.\"{table}\".columns.{column}] with `values = [...]` (text forms of \
         the type) or `sql = \"...\"`"
    )]
    UnsupportedType {
        /// The table.
        table: String,
        /// Where the per-table rules go.
        section: RulesSection,
        /// The column.
        column: String,
        /// Its type.
        data_type: String,
    },
    /// Loading into the database failed.
    #[error("loading the seed data failed at {step}: {source}")]
    Load {
        /// What was running (`COPY public.goal`, `setval`, ...).
        step: String,
        /// The server's error.
        source: sqlx::Error,
    },
}

/// Where per-table generator rules are written: a seed profile's
/// `[tables.<name>]` or a property file's `[data.tables.<name>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RulesSection {
    /// `tables` (a seed profile).
    #[default]
    Profile,
    /// `data.tables` (a property file).
    PropertyFile,
}

impl std::fmt::Display for RulesSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RulesSection::Profile => "tables",
            RulesSection::PropertyFile => "data.tables",
        })
    }
}

impl GenerateError {
    /// The error with its hints naming `section` as where the per-table
    /// rules go (the profile's own: a property file keeps them under
    /// `data.tables`).
    pub(crate) fn under(mut self, section: RulesSection) -> GenerateError {
        if let GenerateError::UnsupportedCheck { section: s, .. }
        | GenerateError::CheckUnsatisfied { section: s, .. }
        | GenerateError::ServerRejected { section: s, .. }
        | GenerateError::UnsupportedType { section: s, .. } = &mut self
        {
            *s = section;
        }
        self
    }

    /// Whether this is invalid input (exit status 2): the profile, or a
    /// schema the profile must help the generator with. False for a failed
    /// load.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, GenerateError::Load { .. })
    }
}
