//! Small pieces of SQL text handling the renderer and the capture need:
//! identifier quoting, string literals, and the keyword-case normalization
//! applied to the server's deparsed expressions.

/// Keywords PostgreSQL's `quote_ident` quotes: every keyword that is not
/// `UNRESERVED` (`select word from pg_get_keywords() where catcode <> 'U'`,
/// PostgreSQL 15). Sorted, for binary search.
const QUOTED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// Quotes `name` the way PostgreSQL's `quote_ident` does, so that names in
/// the renderer's own text look like the names inside the server's
/// deparsed definitions.
pub(crate) fn quote_ident(name: &str) -> String {
    let mut chars = name.chars();
    let plain = match chars.next() {
        Some(first) => {
            (first.is_ascii_lowercase() || first == '_')
                && chars
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        }
        None => false,
    };
    if plain && QUOTED_KEYWORDS.binary_search(&name).is_err() {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A SQL string literal for `text`. Control characters use an `E''`
/// literal so that a rendered object never spans lines it does not own.
pub(crate) fn literal(text: &str) -> String {
    let needs_escape = text.chars().any(|c| c == '\\' || c.is_control());
    if !needs_escape {
        return format!("'{}'", text.replace('\'', "''"));
    }
    let mut out = String::from("E'");
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Lowercases the keywords in SQL text deparsed by the server
/// (`pg_get_constraintdef`, `pg_get_expr`, ...), leaving string literals and
/// quoted identifiers alone.
///
/// This is safe because the deparser quotes every identifier that is not
/// entirely lowercase: outside quotes, an uppercase letter can only belong
/// to a keyword (or an `E`/`B`/`X` literal prefix, which SQL reads in either
/// case). The deparser never emits comments or dollar quotes.
pub(crate) fn lowercase_keywords(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) => {
                // A doubled quote closes and reopens: same result as keeping
                // the quote state, so no lookahead is needed.
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c.to_ascii_lowercase());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_sorted_for_binary_search() {
        assert!(QUOTED_KEYWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn quote_ident_matches_postgres() {
        assert_eq!(quote_ident("goal"), "goal");
        assert_eq!(quote_ident("goal_2$"), "goal_2$");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("Goal"), "\"Goal\"");
        assert_eq!(quote_ident("2goal"), "\"2goal\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident(""), "\"\"");
    }

    #[test]
    fn literal_escapes() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\nb\\"), "E'a\\nb\\\\'");
    }

    #[test]
    fn lowercase_keeps_quoted_text() {
        assert_eq!(
            lowercase_keywords("CHECK ((\"Kind\" <> 'NONE''S'::text) AND x IS NOT NULL)"),
            "check ((\"Kind\" <> 'NONE''S'::text) and x is not null)"
        );
        assert_eq!(
            lowercase_keywords("DEFAULT E'A\\\\'::text"),
            "default e'A\\\\'::text"
        );
    }
}
