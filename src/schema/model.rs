//! The typed model of a database schema, as read from the system catalogs.
//!
//! Everything here is plain data with no OIDs and no owner names, so two
//! databases with the same schema produce equal values. Expression text
//! (defaults, constraint and index definitions, view queries, ...) is the
//! server's own deparsed text, read with `search_path` set to `pg_catalog`
//! (so every user object is schema-qualified) and with keywords lowercased.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use super::sql_text::quote_ident;

/// A schema-qualified name, e.g. `public.goal`.
///
/// Ordered by schema then name; displayed (and serialized) as SQL, with
/// each part quoted when PostgreSQL would quote it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QualifiedName {
    /// The schema the object lives in.
    pub schema: String,
    /// The object's own name.
    pub name: String,
}

impl QualifiedName {
    /// A qualified name from its two parts (unquoted).
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}",
            quote_ident(&self.schema),
            quote_ident(&self.name)
        )
    }
}

// A string, so that maps keyed by it serialize as JSON objects.
impl Serialize for QualifiedName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What identifies a function or procedure: its name and the types of its
/// input arguments (overloads share a name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoutineKey {
    /// The routine's qualified name.
    pub name: QualifiedName,
    /// `pg_get_function_identity_arguments`, e.g. `a integer, b text`.
    pub identity_arguments: String,
}

impl fmt::Display for RoutineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name, self.identity_arguments)
    }
}

impl Serialize for RoutineKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The schema of one database: every object a migration can create, keyed
/// by name. Build it with [`SchemaSnapshot::capture`](super::SchemaSnapshot::capture).
///
/// Excluded: system schemas, the harness's own `pgharness` schema, objects
/// that belong to an extension (the extension stands for them), the
/// `plpgsql` extension every database has, OIDs and owner names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchemaSnapshot {
    /// Schemas by name.
    pub schemas: BTreeMap<String, Schema>,
    /// Installed extensions by name.
    pub extensions: BTreeMap<String, Extension>,
    /// Enum, domain, composite and range types.
    pub types: BTreeMap<QualifiedName, TypeDef>,
    /// Sequences, except those behind identity columns (see [`Column::identity`]).
    pub sequences: BTreeMap<QualifiedName, Sequence>,
    /// Ordinary, partitioned and unlogged tables.
    pub tables: BTreeMap<QualifiedName, Table>,
    /// Views and materialized views.
    pub views: BTreeMap<QualifiedName, View>,
    /// Functions and procedures.
    pub routines: BTreeMap<RoutineKey, Routine>,
}

/// A schema (namespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schema {
    /// `COMMENT ON SCHEMA`; the stock comment of `public` is left out.
    pub comment: Option<String>,
    /// Privileges that differ from a fresh database's.
    pub privileges: Vec<Privilege>,
}

/// An installed extension. Its member objects are not listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    /// The installed version, e.g. `1.6`.
    pub version: String,
    /// The schema its objects were installed into.
    pub schema: String,
    /// A comment other than the one the extension's control file sets.
    pub comment: Option<String>,
}

/// A user-defined type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeDef {
    /// What kind of type, with its definition.
    pub kind: TypeKind,
    /// `COMMENT ON TYPE`/`DOMAIN`.
    pub comment: Option<String>,
    /// Privileges that differ from the default (`USAGE` to `PUBLIC`).
    pub privileges: Vec<Privilege>,
}

/// The definition of a user-defined type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TypeKind {
    /// `CREATE TYPE ... AS ENUM`.
    Enum {
        /// Labels in their sort order.
        labels: Vec<String>,
    },
    /// `CREATE DOMAIN`.
    Domain {
        /// The underlying type with modifiers, e.g. `numeric(12,2)`.
        base_type: String,
        /// The collation when it differs from the base type's.
        collation: Option<String>,
        /// `NOT NULL`.
        not_null: bool,
        /// The default expression.
        default: Option<String>,
        /// `CHECK` constraints, by name.
        constraints: Vec<DomainConstraint>,
    },
    /// `CREATE TYPE ... AS (...)`.
    Composite {
        /// Attributes in declaration order.
        attributes: Vec<Attribute>,
    },
    /// `CREATE TYPE ... AS RANGE`.
    Range {
        /// The element type.
        subtype: String,
    },
}

/// A `CHECK` constraint of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainConstraint {
    /// The constraint's name.
    pub name: String,
    /// `pg_get_constraintdef`, e.g. `check (value > 0)`.
    pub definition: String,
    /// `COMMENT ON CONSTRAINT ... ON DOMAIN`.
    pub comment: Option<String>,
}

/// An attribute of a composite type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribute {
    /// The attribute's name.
    pub name: String,
    /// Its type with modifiers.
    pub data_type: String,
    /// The collation when it differs from the type's default.
    pub collation: Option<String>,
    /// `COMMENT ON COLUMN type.attribute`.
    pub comment: Option<String>,
}

/// The options of a sequence (standalone or behind an identity column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SequenceOptions {
    /// `smallint`, `integer` or `bigint`.
    pub data_type: String,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min: i64,
    /// `MAXVALUE`.
    pub max: i64,
    /// `CACHE`.
    pub cache: i64,
    /// `CYCLE`.
    pub cycle: bool,
}

/// A sequence. Its current value is data, not schema, and is not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sequence {
    /// Type, bounds, step, cache, cycling.
    pub options: SequenceOptions,
    /// `OWNED BY table.column`.
    pub owned_by: Option<ColumnRef>,
    /// `COMMENT ON SEQUENCE`.
    pub comment: Option<String>,
    /// Privileges that differ from the default (owner only).
    pub privileges: Vec<Privilege>,
}

/// A column of a table, e.g. a sequence's owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnRef {
    /// The table.
    pub table: QualifiedName,
    /// The column's name.
    pub column: String,
}

/// Whether a table's changes are WAL-logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Persistence {
    /// An ordinary table.
    Permanent,
    /// `CREATE UNLOGGED TABLE`.
    Unlogged,
}

/// A table: ordinary, unlogged, partitioned, or a partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Logged or unlogged.
    pub persistence: Persistence,
    /// For a partitioned table, `pg_get_partkeydef`, e.g. `range (starts_on)`.
    pub partition_key: Option<String>,
    /// For a partition, its parent and bound.
    pub partition_of: Option<PartitionOf>,
    /// `INHERITS (...)` parents, in order (not for partitions).
    pub inherits: Vec<QualifiedName>,
    /// `CREATE TABLE ... OF type`: the composite type.
    pub of_type: Option<String>,
    /// Storage parameters (`WITH (fillfactor=70)`), sorted.
    pub options: Vec<String>,
    /// `REPLICA IDENTITY` (logical replication).
    pub replica_identity: ReplicaIdentity,
    /// Columns in their physical (`attnum`) order.
    pub columns: Vec<Column>,
    /// Constraints declared on this table (not those a partition inherits
    /// from its parent), sorted by name.
    pub constraints: Vec<Constraint>,
    /// Indexes that do not back a constraint, sorted by name.
    pub indexes: Vec<Index>,
    /// User triggers (not internal ones, not clones on partitions), sorted by name.
    pub triggers: Vec<Trigger>,
    /// `ENABLE ROW LEVEL SECURITY`.
    pub row_security: bool,
    /// `FORCE ROW LEVEL SECURITY`.
    pub force_row_security: bool,
    /// Row-level security policies, sorted by name.
    pub policies: Vec<Policy>,
    /// Table-level privileges that differ from the default (owner only).
    pub privileges: Vec<Privilege>,
    /// `COMMENT ON TABLE`.
    pub comment: Option<String>,
}

/// What logical replication logs to identify a changed row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaIdentity {
    /// The primary key, if any.
    Default,
    /// `REPLICA IDENTITY NOTHING`.
    Nothing,
    /// `REPLICA IDENTITY FULL`: the whole row.
    Full,
    /// `REPLICA IDENTITY USING INDEX`: that index.
    Index(String),
}

/// Where a partition sits in its partitioned table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionOf {
    /// The partitioned table.
    pub parent: QualifiedName,
    /// The bound, e.g. `for values from ('2024-01-01') to ('2025-01-01')`.
    pub bound: String,
}

/// `GENERATED ... AS IDENTITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// `GENERATED ALWAYS AS IDENTITY`.
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`.
    ByDefault,
}

/// An identity column's kind and its implicit sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Always or by default.
    pub kind: IdentityKind,
    /// The implicit sequence's name.
    pub sequence: QualifiedName,
    /// The implicit sequence's options.
    pub options: SequenceOptions,
}

/// A column of a table or view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// `format_type`, e.g. `character varying(80)` or `public.goal_kind`.
    pub data_type: String,
    /// `COLLATE`, when it differs from the type's default.
    pub collation: Option<String>,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The default expression (not for generated columns).
    pub default: Option<String>,
    /// `GENERATED ... AS IDENTITY`.
    pub identity: Option<Identity>,
    /// `GENERATED ALWAYS AS (expression) STORED`: the expression.
    pub generated: Option<String>,
    /// `COMMENT ON COLUMN`.
    pub comment: Option<String>,
    /// Column privileges (`GRANT UPDATE (col) ...`).
    pub privileges: Vec<Privilege>,
}

/// The kind of a table constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    /// `PRIMARY KEY`.
    PrimaryKey,
    /// `UNIQUE`.
    Unique,
    /// `FOREIGN KEY`.
    ForeignKey,
    /// `CHECK`.
    Check,
    /// `EXCLUDE`.
    Exclusion,
}

/// What a foreign key does when the referenced row changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignKeyAction {
    /// `NO ACTION` (the default).
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

/// How a multi-column foreign key treats nulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignKeyMatch {
    /// `MATCH SIMPLE` (the default).
    Simple,
    /// `MATCH FULL`.
    Full,
    /// `MATCH PARTIAL`.
    Partial,
}

/// The referenced side of a foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKey {
    /// The referenced table.
    pub table: QualifiedName,
    /// The referenced columns, paired with [`Constraint::columns`].
    pub columns: Vec<String>,
    /// `ON UPDATE`.
    pub on_update: ForeignKeyAction,
    /// `ON DELETE`.
    pub on_delete: ForeignKeyAction,
    /// `MATCH`.
    pub match_type: ForeignKeyMatch,
}

/// A table constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    /// The constraint's name (what a down migration must restore).
    pub name: String,
    /// Primary key, unique, foreign key, check or exclusion.
    pub kind: ConstraintKind,
    /// The constrained columns, in key order (empty for most checks).
    pub columns: Vec<String>,
    /// For a foreign key, what it references.
    pub references: Option<ForeignKey>,
    /// `DEFERRABLE`.
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    pub initially_deferred: bool,
    /// `pg_get_constraintdef`: the complete definition, rendered as is.
    pub definition: String,
    /// `COMMENT ON CONSTRAINT`.
    pub comment: Option<String>,
}

/// An index that does not back a constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Index {
    /// The index's name.
    pub name: String,
    /// `CREATE UNIQUE INDEX`.
    pub unique: bool,
    /// The access method, e.g. `btree`.
    pub method: String,
    /// Key columns and expressions, in order.
    pub key_columns: Vec<String>,
    /// `INCLUDE (...)` columns.
    pub include_columns: Vec<String>,
    /// The partial-index predicate.
    pub predicate: Option<String>,
    /// False when a `CREATE INDEX CONCURRENTLY` failed and left it unusable.
    pub valid: bool,
    /// `pg_get_indexdef` from `using` on, e.g. `using btree (lower(title)) where (done = false)`.
    pub definition: String,
    /// `COMMENT ON INDEX`.
    pub comment: Option<String>,
}

/// When a trigger fires relative to the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerTiming {
    /// `BEFORE`.
    Before,
    /// `AFTER`.
    After,
    /// `INSTEAD OF` (views).
    InsteadOf,
}

/// An event a trigger fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerEvent {
    /// `INSERT`.
    Insert,
    /// `UPDATE` (possibly `OF` some columns).
    Update,
    /// `DELETE`.
    Delete,
    /// `TRUNCATE`.
    Truncate,
}

/// Which sessions a trigger fires in (`ALTER TABLE ... ENABLE/DISABLE TRIGGER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerEnabled {
    /// The default: fires unless `session_replication_role` is `replica`.
    Origin,
    /// `ENABLE ALWAYS TRIGGER`.
    Always,
    /// `ENABLE REPLICA TRIGGER`.
    Replica,
    /// `DISABLE TRIGGER`.
    Disabled,
}

/// A user trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trigger {
    /// The trigger's name.
    pub name: String,
    /// Before, after or instead of.
    pub timing: TriggerTiming,
    /// The events it fires on, in a fixed order.
    pub events: Vec<TriggerEvent>,
    /// `UPDATE OF` columns.
    pub columns: Vec<String>,
    /// `FOR EACH ROW` (else `FOR EACH STATEMENT`).
    pub for_each_row: bool,
    /// `CREATE CONSTRAINT TRIGGER`.
    pub constraint_trigger: bool,
    /// The trigger function.
    pub function: QualifiedName,
    /// Whether and when it fires.
    pub enabled: TriggerEnabled,
    /// `pg_get_triggerdef` without `create trigger <name>` and `on <table>`,
    /// e.g. `before update for each row execute function public.touch()`.
    pub definition: String,
    /// `COMMENT ON TRIGGER`.
    pub comment: Option<String>,
}

/// The command a policy applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyCommand {
    /// `FOR ALL`.
    All,
    /// `FOR SELECT`.
    Select,
    /// `FOR INSERT`.
    Insert,
    /// `FOR UPDATE`.
    Update,
    /// `FOR DELETE`.
    Delete,
}

/// A row-level security policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The policy's name.
    pub name: String,
    /// The command it applies to.
    pub command: PolicyCommand,
    /// `AS PERMISSIVE` (else `AS RESTRICTIVE`).
    pub permissive: bool,
    /// `TO` roles, sorted.
    pub roles: Vec<Grantee>,
    /// The `USING` expression.
    pub using: Option<String>,
    /// The `WITH CHECK` expression.
    pub with_check: Option<String>,
    /// `COMMENT ON POLICY`.
    pub comment: Option<String>,
}

/// A view or materialized view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    /// `CREATE MATERIALIZED VIEW`.
    pub materialized: bool,
    /// Options (`security_barrier`, `check_option`, ...), sorted.
    pub options: Vec<String>,
    /// `pg_get_viewdef`, pretty-printed.
    pub definition: String,
    /// The view's output columns.
    pub columns: Vec<Column>,
    /// Indexes (materialized views), sorted by name.
    pub indexes: Vec<Index>,
    /// `INSTEAD OF` and other triggers, sorted by name.
    pub triggers: Vec<Trigger>,
    /// Privileges that differ from the default (owner only).
    pub privileges: Vec<Privilege>,
    /// `COMMENT ON VIEW`.
    pub comment: Option<String>,
}

/// Function or procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutineKind {
    /// `CREATE FUNCTION`.
    Function,
    /// `CREATE PROCEDURE`.
    Procedure,
}

/// `VOLATILE`, `STABLE` or `IMMUTABLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Volatility {
    /// `IMMUTABLE`.
    Immutable,
    /// `STABLE`.
    Stable,
    /// `VOLATILE` (the default).
    Volatile,
}

/// `PARALLEL SAFE`, `RESTRICTED` or `UNSAFE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Parallel {
    /// `PARALLEL SAFE`.
    Safe,
    /// `PARALLEL RESTRICTED`.
    Restricted,
    /// `PARALLEL UNSAFE` (the default).
    Unsafe,
}

/// A function or procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routine {
    /// Function or procedure.
    pub kind: RoutineKind,
    /// `pg_get_function_arguments`: names, modes, types and defaults.
    pub arguments: String,
    /// `pg_get_function_result` (none for procedures).
    pub result: Option<String>,
    /// `LANGUAGE`.
    pub language: String,
    /// Volatility.
    pub volatility: Volatility,
    /// `STRICT`.
    pub strict: bool,
    /// `SECURITY DEFINER`.
    pub security_definer: bool,
    /// `LEAKPROOF`.
    pub leakproof: bool,
    /// Parallel safety.
    pub parallel: Parallel,
    /// `COST`, as text (a `real` in the catalog).
    pub cost: String,
    /// `ROWS` for set-returning functions, as text.
    pub rows: String,
    /// `SET` clauses (`search_path=pg_catalog`), sorted.
    pub config: Vec<String>,
    /// The source text (`prosrc`) as written, or the SQL-standard body
    /// (`begin atomic ... end` / `return ...`) as the server deparses it.
    pub body: String,
    /// Whether [`Routine::body`] is a SQL-standard body rather than a string.
    pub sql_body: bool,
    /// For `LANGUAGE c`, the library file.
    pub library: Option<String>,
    /// `COMMENT ON FUNCTION`/`PROCEDURE`.
    pub comment: Option<String>,
    /// Privileges that differ from the default (`EXECUTE` to `PUBLIC`).
    pub privileges: Vec<Privilege>,
}

/// Who receives a privilege or is named by a policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grantee {
    /// Every role (`PUBLIC`).
    Public,
    /// The object's owner, whoever that is: owner names are not schema.
    Owner,
    /// A role, by name.
    Role(String),
}

/// Whether a privilege line adds to or takes from the default privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivilegeAction {
    /// Held, but not by default.
    Grant,
    /// Held by default, but revoked.
    Revoke,
}

/// Privileges that differ from what a fresh object has by default, grouped
/// per grantee: the ACL minus `acldefault` is granted, `acldefault` minus
/// the ACL is revoked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Privilege {
    /// Grant or revoke.
    pub action: PrivilegeAction,
    /// Who.
    pub grantee: Grantee,
    /// `WITH GRANT OPTION`.
    pub grantable: bool,
    /// The grantor when it is not the owner.
    pub grantor: Option<String>,
    /// Privilege names in lowercase, in PostgreSQL's ACL order.
    pub privileges: Vec<String>,
}
