//! The one text rendering of a [`SchemaSnapshot`]: a block per object,
//! objects ordered by kind then name, blocks separated by a blank line.
//!
//! The text is for people reviewing a diff, not for `psql`: it reads like
//! SQL, but only as far as that helps reading.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::model::*;
use super::sql_text::{literal, quote_ident};

/// The kinds of objects, in the order the rendering lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A schema.
    Schema,
    /// An extension.
    Extension,
    /// An enum, domain, composite or range type.
    Type,
    /// A sequence.
    Sequence,
    /// A table (ordinary, unlogged, partitioned or partition).
    Table,
    /// A view.
    View,
    /// A materialized view.
    MaterializedView,
    /// A function.
    Function,
    /// A procedure.
    Procedure,
}

impl ObjectKind {
    /// The kind as the rendering spells it, e.g. `materialized view`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Schema => "schema",
            ObjectKind::Extension => "extension",
            ObjectKind::Type => "type",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::MaterializedView => "materialized view",
            ObjectKind::Function => "function",
            ObjectKind::Procedure => "procedure",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names one object of a snapshot: its kind and its name as rendered
/// (`public.goal`, or `public.f(a integer)` for a routine).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    /// What kind of object.
    pub kind: ObjectKind,
    /// Its (qualified, quoted where needed) name.
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// The order columns (and composite type attributes) are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColumnOrder {
    /// Physical order, as `select *` returns them.
    #[default]
    Position,
    /// By name: two renderings that differ only in column order are equal.
    Name,
}

/// Options of [`SchemaSnapshot::render_with`](super::SchemaSnapshot::render_with).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// How columns are ordered.
    pub column_order: ColumnOrder,
}

/// One rendered block per object.
pub(super) fn objects(
    snapshot: &SchemaSnapshot,
    opts: &RenderOptions,
) -> BTreeMap<ObjectKey, String> {
    let mut out = BTreeMap::new();
    let mut add = |kind: ObjectKind, name: String, block: Block| {
        out.insert(ObjectKey { kind, name }, block.finish());
    };
    for (name, schema) in &snapshot.schemas {
        add(
            ObjectKind::Schema,
            quote_ident(name),
            render_schema(name, schema),
        );
    }
    for (name, extension) in &snapshot.extensions {
        add(
            ObjectKind::Extension,
            quote_ident(name),
            render_extension(name, extension),
        );
    }
    for (name, typ) in &snapshot.types {
        add(
            ObjectKind::Type,
            name.to_string(),
            render_type(name, typ, opts),
        );
    }
    for (name, sequence) in &snapshot.sequences {
        add(
            ObjectKind::Sequence,
            name.to_string(),
            render_sequence(name, sequence),
        );
    }
    for (name, table) in &snapshot.tables {
        add(
            ObjectKind::Table,
            name.to_string(),
            render_table(name, table, opts),
        );
    }
    for (name, view) in &snapshot.views {
        let kind = if view.materialized {
            ObjectKind::MaterializedView
        } else {
            ObjectKind::View
        };
        add(kind, name.to_string(), render_view(kind, name, view, opts));
    }
    for (key, routine) in &snapshot.routines {
        let kind = match routine.kind {
            RoutineKind::Function => ObjectKind::Function,
            RoutineKind::Procedure => ObjectKind::Procedure,
        };
        add(kind, key.to_string(), render_routine(kind, key, routine));
    }
    out
}

/// The whole rendering: the blocks in key order, a blank line between.
pub(super) fn render(snapshot: &SchemaSnapshot, opts: &RenderOptions) -> String {
    let blocks: Vec<String> = objects(snapshot, opts).into_values().collect();
    let mut text = blocks.join("\n\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// The lines of one object's block. Text from the server may span lines
/// (pretty-printed `CASE`, view queries); its continuation lines are
/// indented under the line they continue, so the block stays one block.
struct Block {
    lines: Vec<String>,
}

impl Block {
    fn new(header: String) -> Block {
        let mut block = Block { lines: Vec::new() };
        block.line(0, &header);
        block
    }

    fn line(&mut self, depth: usize, text: &str) {
        let indent = "  ".repeat(depth);
        for (i, part) in text.split('\n').enumerate() {
            let extra = if i == 0 { "" } else { "    " };
            self.lines
                .push(format!("{indent}{extra}{part}").trim_end().to_string());
        }
    }

    /// Lines kept exactly as they are (function bodies), indented.
    fn verbatim(&mut self, depth: usize, text: &str) {
        let indent = "  ".repeat(depth);
        let lines: Vec<&str> = text.lines().collect();
        let first = lines.iter().position(|l| !l.trim().is_empty());
        let last = lines.iter().rposition(|l| !l.trim().is_empty());
        if let (Some(first), Some(last)) = (first, last) {
            for line in &lines[first..=last] {
                self.lines
                    .push(format!("{indent}{line}").trim_end().to_string());
            }
        }
    }

    /// Lines with their common leading whitespace removed, indented:
    /// `pg_get_viewdef` puts its clauses on a one-space margin.
    fn dedented(&mut self, depth: usize, text: &str) {
        let margin = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start_matches(' ').len())
            .min()
            .unwrap_or(0);
        let dedented: Vec<&str> = text
            .lines()
            .map(|l| l.get(margin..).unwrap_or(""))
            .collect();
        self.verbatim(depth, &dedented.join("\n"));
    }

    fn comment(&mut self, depth: usize, comment: &Option<String>) {
        if let Some(text) = comment {
            self.line(depth, &format!("comment {}", literal(text)));
        }
    }

    fn privileges(
        &mut self,
        depth: usize,
        privileges: &[Privilege],
        on: &str,
        column: Option<&str>,
    ) {
        for privilege in privileges {
            self.line(depth, &privilege_line(privilege, on, column));
        }
    }

    fn finish(self) -> String {
        self.lines.join("\n")
    }
}

fn grantee(grantee: &Grantee) -> String {
    match grantee {
        Grantee::Public => "PUBLIC".to_string(),
        Grantee::Owner => "OWNER".to_string(),
        Grantee::Role(name) => quote_ident(name),
    }
}

/// `grant select, insert on table public.goal to app_user`; for a column,
/// `grant update (title) on table public.goal to app_user`.
fn privilege_line(privilege: &Privilege, on: &str, column: Option<&str>) -> String {
    let names: Vec<String> = privilege
        .privileges
        .iter()
        .map(|p| match column {
            Some(column) => format!("{p} ({})", quote_ident(column)),
            None => p.clone(),
        })
        .collect();
    let (verb, preposition) = match privilege.action {
        PrivilegeAction::Grant => ("grant", "to"),
        PrivilegeAction::Revoke => ("revoke", "from"),
    };
    let mut line = format!(
        "{verb} {} on {on} {preposition} {}",
        names.join(", "),
        grantee(&privilege.grantee)
    );
    if privilege.grantable {
        line.push_str(" with grant option");
    }
    if let Some(grantor) = &privilege.grantor {
        line.push_str(&format!(" granted by {}", quote_ident(grantor)));
    }
    line
}

fn render_schema(name: &str, schema: &Schema) -> Block {
    let mut block = Block::new(format!("schema {}", quote_ident(name)));
    block.comment(1, &schema.comment);
    block.privileges(
        1,
        &schema.privileges,
        &format!("schema {}", quote_ident(name)),
        None,
    );
    block
}

fn render_extension(name: &str, extension: &Extension) -> Block {
    let mut block = Block::new(format!(
        "extension {} version {} schema {}",
        quote_ident(name),
        extension.version,
        quote_ident(&extension.schema)
    ));
    block.comment(1, &extension.comment);
    block
}

/// `pg_get_viewdef`'s ` SELECT a,\n    b\n   FROM ...` with the top-level
/// select list sorted (one item a line, as Postgres prints it).
fn sort_select_list(definition: &str) -> String {
    let lines: Vec<&str> = definition.lines().collect();
    let Some(first) = lines.first() else {
        return definition.to_string();
    };
    let trimmed = first.trim_start();
    if !trimmed
        .get(..7)
        .is_some_and(|w| w.eq_ignore_ascii_case("select "))
    {
        return definition.to_string();
    }
    let keyword = &trimmed[..6];
    let head = &trimmed[7..];
    let end = lines
        .iter()
        .position(|l| {
            l.trim_start()
                .get(..5)
                .is_some_and(|w| w.eq_ignore_ascii_case("from "))
        })
        .unwrap_or(lines.len());
    let mut items: Vec<String> = std::iter::once(head)
        .chain(lines[1..end].iter().map(|l| l.trim()))
        .map(|item| item.trim_end_matches(',').to_string())
        .collect();
    items.sort();
    let mut out = format!(" {keyword} {}", items.join(",\n    "));
    for line in &lines[end..] {
        out.push('\n');
        out.push_str(line);
    }
    out
}

fn ordered<T>(items: &[T], order: ColumnOrder, name: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut items: Vec<&T> = items.iter().collect();
    if order == ColumnOrder::Name {
        items.sort_by(|a, b| name(a).cmp(name(b)));
    }
    items
}

fn render_type(name: &QualifiedName, typ: &TypeDef, opts: &RenderOptions) -> Block {
    let mut block;
    match &typ.kind {
        TypeKind::Enum { labels } => {
            let labels: Vec<String> = labels.iter().map(|l| literal(l)).collect();
            block = Block::new(format!("type {name} enum ({})", labels.join(", ")));
            block.comment(1, &typ.comment);
        }
        TypeKind::Domain {
            base_type,
            collation,
            not_null,
            default,
            constraints,
        } => {
            let mut header = format!("type {name} domain {base_type}");
            if let Some(collation) = collation {
                header.push_str(&format!(" collate {collation}"));
            }
            if *not_null {
                header.push_str(" not null");
            }
            if let Some(default) = default {
                header.push_str(&format!(" default {default}"));
            }
            block = Block::new(header);
            block.comment(1, &typ.comment);
            for constraint in constraints {
                block.line(
                    1,
                    &format!(
                        "constraint {} {}",
                        quote_ident(&constraint.name),
                        constraint.definition
                    ),
                );
                block.comment(2, &constraint.comment);
            }
        }
        TypeKind::Composite { attributes } => {
            block = Block::new(format!("type {name} composite"));
            block.comment(1, &typ.comment);
            for attribute in ordered(attributes, opts.column_order, |a| &a.name) {
                let mut line = format!("{} {}", quote_ident(&attribute.name), attribute.data_type);
                if let Some(collation) = &attribute.collation {
                    line.push_str(&format!(" collate {collation}"));
                }
                block.line(1, &line);
                block.comment(2, &attribute.comment);
            }
        }
        TypeKind::Range { subtype } => {
            block = Block::new(format!("type {name} range (subtype {subtype})"));
            block.comment(1, &typ.comment);
        }
    }
    block.privileges(1, &typ.privileges, &format!("type {name}"), None);
    block
}

fn sequence_options(options: &SequenceOptions) -> String {
    format!(
        "as {} start {} increment {} minvalue {} maxvalue {} cache {}{}",
        options.data_type,
        options.start,
        options.increment,
        options.min,
        options.max,
        options.cache,
        if options.cycle { " cycle" } else { " no cycle" }
    )
}

fn render_sequence(name: &QualifiedName, sequence: &Sequence) -> Block {
    let mut block = Block::new(format!(
        "sequence {name} {}",
        sequence_options(&sequence.options)
    ));
    if let Some(owner) = &sequence.owned_by {
        block.line(
            1,
            &format!("owned by {}.{}", owner.table, quote_ident(&owner.column)),
        );
    }
    block.comment(1, &sequence.comment);
    block.privileges(1, &sequence.privileges, &format!("sequence {name}"), None);
    block
}

/// The options of an identity column's sequence that `GENERATED ... AS
/// IDENTITY` would not pick by itself (it picks the column's type).
fn identity_options(table: &QualifiedName, column: &str, identity: &Identity) -> Vec<String> {
    let o = &identity.options;
    let (type_min, type_max) = match o.data_type.as_str() {
        "smallint" => (i64::from(i16::MIN), i64::from(i16::MAX)),
        "integer" => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    };
    let (min, max) = if o.increment > 0 {
        (1, type_max)
    } else {
        (type_min, -1)
    };
    let start = if o.increment > 0 { o.min } else { o.max };
    let mut out = Vec::new();
    let default_name = QualifiedName::new(
        table.schema.clone(),
        format!("{}_{}_seq", table.name, column),
    );
    if identity.sequence != default_name {
        out.push(format!("sequence name {}", identity.sequence));
    }
    if o.start != start {
        out.push(format!("start {}", o.start));
    }
    if o.increment != 1 {
        out.push(format!("increment {}", o.increment));
    }
    if o.min != min {
        out.push(format!("minvalue {}", o.min));
    }
    if o.max != max {
        out.push(format!("maxvalue {}", o.max));
    }
    if o.cache != 1 {
        out.push(format!("cache {}", o.cache));
    }
    if o.cycle {
        out.push("cycle".to_string());
    }
    out
}

fn column_line(table: &QualifiedName, column: &Column) -> String {
    let mut line = format!("{} {}", quote_ident(&column.name), column.data_type);
    if let Some(collation) = &column.collation {
        line.push_str(&format!(" collate {collation}"));
    }
    if column.not_null {
        line.push_str(" not null");
    }
    if let Some(default) = &column.default {
        line.push_str(&format!(" default {default}"));
    }
    if let Some(expression) = &column.generated {
        line.push_str(&format!(" generated always as ({expression}) stored"));
    }
    if let Some(identity) = &column.identity {
        line.push_str(match identity.kind {
            IdentityKind::Always => " generated always as identity",
            IdentityKind::ByDefault => " generated by default as identity",
        });
        let options = identity_options(table, &column.name, identity);
        if !options.is_empty() {
            line.push_str(&format!(" ({})", options.join(" ")));
        }
    }
    line
}

fn render_indexes(block: &mut Block, indexes: &[Index]) {
    for index in indexes {
        let unique = if index.unique { "unique " } else { "" };
        let mut line = format!(
            "{unique}index {} {}",
            quote_ident(&index.name),
            index.definition
        );
        if !index.valid {
            line.push_str(" (invalid)");
        }
        block.line(1, &line);
        block.comment(2, &index.comment);
    }
}

fn render_triggers(block: &mut Block, triggers: &[Trigger]) {
    for trigger in triggers {
        let constraint = if trigger.constraint_trigger {
            "constraint "
        } else {
            ""
        };
        block.line(
            1,
            &format!(
                "{constraint}trigger {} {}",
                quote_ident(&trigger.name),
                trigger.definition
            ),
        );
        match trigger.enabled {
            TriggerEnabled::Origin => {}
            TriggerEnabled::Always => block.line(2, "enabled always"),
            TriggerEnabled::Replica => block.line(2, "enabled replica"),
            TriggerEnabled::Disabled => block.line(2, "disabled"),
        }
        block.comment(2, &trigger.comment);
    }
}

fn render_table(name: &QualifiedName, table: &Table, opts: &RenderOptions) -> Block {
    let mut header = String::new();
    if table.persistence == Persistence::Unlogged {
        header.push_str("unlogged ");
    }
    header.push_str(&format!("table {name}"));
    if let Some(of_type) = &table.of_type {
        header.push_str(&format!(" of {of_type}"));
    }
    if let Some(partition) = &table.partition_of {
        header.push_str(&format!(
            " partition of {} {}",
            partition.parent, partition.bound
        ));
    }
    if let Some(key) = &table.partition_key {
        header.push_str(&format!(" partition by {key}"));
    }
    let mut block = Block::new(header);
    if !table.inherits.is_empty() {
        let parents: Vec<String> = table.inherits.iter().map(|p| p.to_string()).collect();
        block.line(1, &format!("inherits {}", parents.join(", ")));
    }
    if !table.options.is_empty() {
        block.line(1, &format!("with ({})", table.options.join(", ")));
    }
    match &table.replica_identity {
        ReplicaIdentity::Default => {}
        ReplicaIdentity::Nothing => block.line(1, "replica identity nothing"),
        ReplicaIdentity::Full => block.line(1, "replica identity full"),
        ReplicaIdentity::Index(index) => block.line(
            1,
            &format!("replica identity using index {}", quote_ident(index)),
        ),
    }
    block.comment(1, &table.comment);
    let columns = ordered(&table.columns, opts.column_order, |c| &c.name);
    for column in &columns {
        block.line(1, &column_line(name, column));
        block.comment(2, &column.comment);
    }
    for constraint in &table.constraints {
        block.line(
            1,
            &format!(
                "constraint {} {}",
                quote_ident(&constraint.name),
                constraint.definition
            ),
        );
        block.comment(2, &constraint.comment);
    }
    render_indexes(&mut block, &table.indexes);
    render_triggers(&mut block, &table.triggers);
    if table.row_security {
        block.line(1, "enable row level security");
    }
    if table.force_row_security {
        block.line(1, "force row level security");
    }
    for policy in &table.policies {
        render_policy(&mut block, policy);
    }
    let on = format!("table {name}");
    block.privileges(1, &table.privileges, &on, None);
    for column in &columns {
        block.privileges(1, &column.privileges, &on, Some(&column.name));
    }
    block
}

/// A policy's expressions go on lines of their own: they are often long,
/// and a change to one then shows as that one line.
fn render_policy(block: &mut Block, policy: &Policy) {
    let mut line = format!("policy {}", quote_ident(&policy.name));
    if !policy.permissive {
        line.push_str(" as restrictive");
    }
    line.push_str(match policy.command {
        PolicyCommand::All => " for all",
        PolicyCommand::Select => " for select",
        PolicyCommand::Insert => " for insert",
        PolicyCommand::Update => " for update",
        PolicyCommand::Delete => " for delete",
    });
    let roles: Vec<String> = policy.roles.iter().map(grantee).collect();
    line.push_str(&format!(" to {}", roles.join(", ")));
    block.line(1, &line);
    if let Some(using) = &policy.using {
        block.line(2, &format!("using ({using})"));
    }
    if let Some(check) = &policy.with_check {
        block.line(2, &format!("with check ({check})"));
    }
    block.comment(2, &policy.comment);
}

fn render_view(kind: ObjectKind, name: &QualifiedName, view: &View, opts: &RenderOptions) -> Block {
    let mut block = Block::new(format!("{kind} {name}"));
    if !view.options.is_empty() {
        block.line(1, &format!("with ({})", view.options.join(", ")));
    }
    block.comment(1, &view.comment);
    block.line(1, "as");
    if opts.column_order == ColumnOrder::Name {
        // A select list that only follows its table's column order is
        // column order too: compare it as a set.
        block.dedented(2, &sort_select_list(&view.definition));
    } else {
        block.dedented(2, &view.definition);
    }
    let columns = ordered(&view.columns, opts.column_order, |c| &c.name);
    for column in &columns {
        if column.comment.is_some() {
            block.line(1, &format!("column {}", quote_ident(&column.name)));
            block.comment(2, &column.comment);
        }
    }
    render_indexes(&mut block, &view.indexes);
    render_triggers(&mut block, &view.triggers);
    let on = format!("table {name}");
    block.privileges(1, &view.privileges, &on, None);
    for column in &columns {
        block.privileges(1, &column.privileges, &on, Some(&column.name));
    }
    block
}

fn render_routine(kind: ObjectKind, key: &RoutineKey, routine: &Routine) -> Block {
    let mut header = format!("{kind} {}({})", key.name, routine.arguments);
    if let Some(result) = &routine.result {
        header.push_str(&format!(" returns {result}"));
    }
    header.push_str(&format!(" language {}", quote_ident(&routine.language)));
    if routine.kind == RoutineKind::Function {
        header.push_str(match routine.volatility {
            Volatility::Immutable => " immutable",
            Volatility::Stable => " stable",
            Volatility::Volatile => " volatile",
        });
        if routine.strict {
            header.push_str(" strict");
        }
    }
    if routine.security_definer {
        header.push_str(" security definer");
    }
    if routine.kind == RoutineKind::Function {
        if routine.leakproof {
            header.push_str(" leakproof");
        }
        header.push_str(match routine.parallel {
            Parallel::Safe => " parallel safe",
            Parallel::Restricted => " parallel restricted",
            Parallel::Unsafe => "",
        });
        // The defaults CREATE FUNCTION picks: 1 for C and internal
        // functions, 100 otherwise; 1000 rows for set-returning ones.
        let default_cost = if matches!(routine.language.as_str(), "c" | "internal") {
            "1"
        } else {
            "100"
        };
        if routine.cost != default_cost {
            header.push_str(&format!(" cost {}", routine.cost));
        }
        if routine.rows != "0" && routine.rows != "1000" {
            header.push_str(&format!(" rows {}", routine.rows));
        }
    }
    for setting in &routine.config {
        header.push_str(&format!(" set {setting}"));
    }
    let mut block = Block::new(header);
    block.comment(1, &routine.comment);
    block.privileges(1, &routine.privileges, &key_for_grant(kind, key), None);
    if let Some(library) = &routine.library {
        block.line(
            1,
            &format!("as {}, {}", literal(library), literal(&routine.body)),
        );
    } else if routine.sql_body {
        block.verbatim(1, &routine.body);
    } else {
        block.line(1, "as $$");
        block.verbatim(2, &routine.body);
        block.line(1, "$$");
    }
    block
}

fn key_for_grant(kind: ObjectKind, key: &RoutineKey) -> String {
    format!("{kind} {key}")
}
