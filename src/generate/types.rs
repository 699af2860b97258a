//! Column types as the generator sees them: `format_type` text resolved
//! against the snapshot's enums and domains.

use crate::schema::{QualifiedName, SchemaSnapshot, TypeKind};

use super::expr::{parse_expr, Expr};

/// The scalar kind of a column (of each element, for arrays).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Base {
    Bool,
    /// `smallint` (16), `integer` (32), `bigint` (64).
    Int(u8),
    /// `real` (32), `double precision` (64).
    Float(u8),
    Numeric {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    Money,
    Text {
        max_chars: Option<usize>,
        /// `character(n)`: blank-padded.
        fixed: bool,
        /// `citext`: unique keys compare case-insensitively.
        case_insensitive: bool,
    },
    Bytea,
    Uuid,
    Json {
        binary: bool,
    },
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Inet,
    Cidr,
    MacAddr,
    Bit {
        len: Option<usize>,
        varying: bool,
    },
    Xml,
    TsVector,
    Enum {
        labels: Vec<String>,
    },
    /// A range of `sub` (`int4range`, `tstzrange`, a `CREATE TYPE ... AS
    /// RANGE`): short, non-empty spans.
    Range {
        sub: Box<Base>,
    },
    /// A multirange of `sub`: one to three disjoint spans.
    MultiRange {
        sub: Box<Base>,
    },
    /// A geometric type.
    Geometric(Geometry),
    /// `macaddr8`.
    MacAddr8,
    /// `tsquery`.
    TsQuery,
    /// `oid` and the `reg*` types' numeric form.
    Oid,
    /// `pg_lsn`.
    PgLsn,
    /// The `ltree` extension's label paths.
    LTree,
    /// The `hstore` extension's key/value sets.
    HStore,
    /// pgvector's `vector(n)`.
    Vector {
        dims: Option<usize>,
    },
    /// A composite type: its attributes (name, base, array dimensions).
    Composite {
        fields: Vec<(String, Base, usize)>,
    },
    /// A type the generator has no values for.
    Unsupported,
}

/// The geometric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Geometry {
    Point,
    Line,
    Lseg,
    Box,
    Path,
    Polygon,
    Circle,
}

/// A `CHECK` of a domain the column's type goes through.
#[derive(Debug, Clone)]
pub(crate) struct DomainCheck {
    /// `schema.domain.constraint`, for messages.
    pub name: String,
    /// The definition as the server deparses it.
    pub definition: String,
    /// The parsed expression (`value` stands for the value), if it parsed.
    pub expr: Option<Expr>,
    /// Whether it applies to each element of an array column (a domain
    /// used as an array's element type).
    pub per_element: bool,
}

/// A column's type, resolved.
#[derive(Debug, Clone)]
pub(crate) struct ColumnType {
    /// The scalar kind.
    pub base: Base,
    /// Array dimensions (0: not an array).
    pub dims: usize,
    /// The type as written in the catalog (`format_type`).
    pub display: String,
    /// Checks of the domains on the way to the base type.
    pub domain_checks: Vec<DomainCheck>,
    /// A domain on the way says `NOT NULL`.
    pub domain_not_null: bool,
    /// The type values are stored as: the domain's base type for a domain
    /// (a cast to it never runs the domain's checks), else `display`.
    pub storage: String,
}

impl ColumnType {
    /// Resolves `data_type` (as `format_type` prints it) against `schema`.
    pub(crate) fn resolve(data_type: &str, schema: &SchemaSnapshot) -> ColumnType {
        let mut ty = ColumnType {
            base: Base::Unsupported,
            dims: 0,
            display: data_type.to_string(),
            domain_checks: Vec::new(),
            domain_not_null: false,
            storage: data_type.to_string(),
        };
        resolve_into(data_type, schema, &mut ty, 0);
        ty
    }

    /// A plain type of `base` (a range's element, a composite's field).
    pub(crate) fn of_base(base: Base, dims: usize) -> ColumnType {
        ColumnType {
            base,
            dims,
            display: String::new(),
            domain_checks: Vec::new(),
            domain_not_null: false,
            storage: String::new(),
        }
    }

    /// The largest number of characters a text value may have.
    pub(crate) fn max_chars(&self) -> Option<usize> {
        match &self.base {
            Base::Text { max_chars, .. } => *max_chars,
            _ => None,
        }
    }
}

fn resolve_into(data_type: &str, schema: &SchemaSnapshot, ty: &mut ColumnType, depth: usize) {
    let mut text = data_type.trim();
    let mut dims = 0;
    while let Some(rest) = text.strip_suffix("[]") {
        dims += 1;
        text = rest.trim_end();
    }
    let outer_dims = ty.dims;
    ty.dims += dims;
    if let Some(base) = builtin(text) {
        ty.base = base;
        return;
    }
    let Some(name) = parse_qualified(text) else {
        ty.base = Base::Unsupported;
        return;
    };
    let Some(def) = schema.types.get(&name) else {
        // Extension types, by name.
        let (plain, args) = split_modifier(&name.name);
        ty.base = match plain.as_str() {
            "citext" => Base::Text {
                max_chars: None,
                fixed: false,
                case_insensitive: true,
            },
            "ltree" => Base::LTree,
            "hstore" => Base::HStore,
            "vector" => Base::Vector {
                dims: args.first().map(|n| *n as usize),
            },
            _ => Base::Unsupported,
        };
        return;
    };
    match &def.kind {
        TypeKind::Enum { labels } => {
            ty.base = Base::Enum {
                labels: labels.clone(),
            }
        }
        TypeKind::Domain {
            base_type,
            not_null,
            constraints,
            ..
        } => {
            if depth > 16 {
                ty.base = Base::Unsupported;
                return;
            }
            // A domain used as an array's element: its checks hold per element.
            let per_element = outer_dims + dims > 0;
            if *not_null && !per_element {
                ty.domain_not_null = true;
            }
            for c in constraints {
                let body = c
                    .definition
                    .trim()
                    .strip_prefix("check")
                    .map(str::trim)
                    .unwrap_or(c.definition.as_str());
                ty.domain_checks.push(DomainCheck {
                    name: format!("{name}.{}", c.name),
                    definition: c.definition.clone(),
                    expr: parse_expr(body).ok(),
                    per_element,
                });
            }
            // The innermost domain's base type wins (set before recursing).
            ty.storage = format!("{}{}", base_type.trim(), "[]".repeat(ty.dims));
            resolve_into(base_type, schema, ty, depth + 1);
        }
        TypeKind::Range { subtype } => {
            let sub = ColumnType::resolve(subtype, schema);
            ty.base = match sub.base {
                Base::Unsupported | Base::Composite { .. } => Base::Unsupported,
                _ if sub.dims > 0 || depth > 16 => Base::Unsupported,
                base => Base::Range {
                    sub: Box::new(base),
                },
            };
        }
        TypeKind::Composite { attributes } => {
            if depth > 16 {
                ty.base = Base::Unsupported;
                return;
            }
            let mut fields = Vec::new();
            for a in attributes {
                let mut field = ColumnType::resolve("", schema);
                resolve_into(&a.data_type, schema, &mut field, depth + 1);
                fields.push((a.name.clone(), field.base, field.dims));
            }
            ty.base = Base::Composite { fields };
        }
    }
}

/// Splits an SQL type name with an optional modifier: `numeric(12,2)` ->
/// (`numeric`, [12, 2]).
fn split_modifier(text: &str) -> (String, Vec<u32>) {
    let Some(open) = text.find('(') else {
        return (text.to_string(), Vec::new());
    };
    let close = text[open..]
        .find(')')
        .map(|c| open + c)
        .unwrap_or(text.len());
    let args = text[open + 1..close]
        .split(',')
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    // `timestamp(3) with time zone`: the words after the modifier belong
    // to the name.
    let name = format!(
        "{}{}",
        text[..open].trim_end(),
        &text[(close + 1).min(text.len())..]
    );
    (name.trim().to_string(), args)
}

fn builtin(text: &str) -> Option<Base> {
    let (name, args) = split_modifier(text);
    let first = args.first().copied();
    let base = match name.as_str() {
        "boolean" => Base::Bool,
        "smallint" => Base::Int(16),
        "integer" => Base::Int(32),
        "bigint" => Base::Int(64),
        "real" => Base::Float(32),
        "double precision" => Base::Float(64),
        "numeric" => Base::Numeric {
            precision: first,
            scale: if first.is_some() {
                Some(args.get(1).copied().unwrap_or(0))
            } else {
                None
            },
        },
        "money" => Base::Money,
        "text" | "name" => Base::Text {
            max_chars: if name == "name" { Some(63) } else { None },
            fixed: false,
            case_insensitive: false,
        },
        "character varying" => Base::Text {
            max_chars: first.map(|n| n as usize),
            fixed: false,
            case_insensitive: false,
        },
        "character" | "bpchar" => Base::Text {
            max_chars: Some(first.unwrap_or(1) as usize),
            fixed: true,
            case_insensitive: false,
        },
        "\"char\"" => Base::Text {
            max_chars: Some(1),
            fixed: true,
            case_insensitive: false,
        },
        "bytea" => Base::Bytea,
        "uuid" => Base::Uuid,
        "json" => Base::Json { binary: false },
        "jsonb" => Base::Json { binary: true },
        "date" => Base::Date,
        "time without time zone" | "time" => Base::Time,
        "time with time zone" => Base::TimeTz,
        "timestamp without time zone" | "timestamp" => Base::Timestamp,
        "timestamp with time zone" => Base::TimestampTz,
        n if n.starts_with("interval") => Base::Interval,
        "inet" => Base::Inet,
        "cidr" => Base::Cidr,
        "macaddr" => Base::MacAddr,
        "bit" => Base::Bit {
            len: Some(first.unwrap_or(1) as usize),
            varying: false,
        },
        "bit varying" => Base::Bit {
            len: first.map(|n| n as usize),
            varying: true,
        },
        "xml" => Base::Xml,
        "tsvector" => Base::TsVector,
        "tsquery" => Base::TsQuery,
        "macaddr8" => Base::MacAddr8,
        "oid" => Base::Oid,
        "pg_lsn" => Base::PgLsn,
        "point" => Base::Geometric(Geometry::Point),
        "line" => Base::Geometric(Geometry::Line),
        "lseg" => Base::Geometric(Geometry::Lseg),
        "box" => Base::Geometric(Geometry::Box),
        "path" => Base::Geometric(Geometry::Path),
        "polygon" => Base::Geometric(Geometry::Polygon),
        "circle" => Base::Geometric(Geometry::Circle),
        n => {
            let range = |sub: &str| builtin(sub).map(Box::new);
            let sub = match n.strip_suffix("multirange").or(n.strip_suffix("range")) {
                Some("int4") => range("integer"),
                Some("int8") => range("bigint"),
                Some("num") => range("numeric"),
                Some("date") => range("date"),
                Some("ts") => range("timestamp without time zone"),
                Some("tstz") => range("timestamp with time zone"),
                _ => None,
            }?;
            if n.ends_with("multirange") {
                Base::MultiRange { sub }
            } else {
                Base::Range { sub }
            }
        }
    };
    Some(base)
}

/// Parses `schema.name` (parts possibly double-quoted) as `format_type`
/// prints a user type; an unqualified name is taken to be in `public`.
pub(crate) fn parse_qualified(text: &str) -> Option<QualifiedName> {
    let mut parts = Vec::new();
    let mut chars = text.chars().peekable();
    let mut current = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        current.push('"');
                    }
                    Some('"') | None => break,
                    Some(other) => current.push(other),
                }
            },
            '.' => parts.push(std::mem::take(&mut current)),
            c if c.is_whitespace() || c == '(' => return None,
            c => current.push(c),
        }
    }
    parts.push(current);
    match parts.as_slice() {
        [name] if !name.is_empty() => Some(QualifiedName::new("public", name.clone())),
        [schema, name] if !name.is_empty() => {
            Some(QualifiedName::new(schema.clone(), name.clone()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_and_modifiers() {
        let s = SchemaSnapshot::default();
        let t = ColumnType::resolve("character varying(80)", &s);
        assert_eq!(
            t.base,
            Base::Text {
                max_chars: Some(80),
                fixed: false,
                case_insensitive: false
            }
        );
        let t = ColumnType::resolve("numeric(12,2)[]", &s);
        assert_eq!(
            t.base,
            Base::Numeric {
                precision: Some(12),
                scale: Some(2)
            }
        );
        assert_eq!(t.dims, 1);
        let t = ColumnType::resolve("timestamp(3) with time zone", &s);
        assert_eq!(t.base, Base::TimestampTz);
        assert_eq!(
            ColumnType::resolve("public.nope", &s).base,
            Base::Unsupported
        );
        assert_eq!(
            parse_qualified("\"My Schema\".\"t\"\"x\""),
            Some(QualifiedName::new("My Schema", "t\"x"))
        );
    }
}
