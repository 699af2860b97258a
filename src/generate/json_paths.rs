//! JSON documents that generated columns read: `namespace text NOT NULL
//! GENERATED ALWAYS AS (value ->> 'namespace') STORED` needs every
//! generated `value` to hold a `namespace` string, or the row does not
//! load. The paths come from the generated columns' expressions, the kind
//! of value from the generated column's type.

use serde_json::{json, Map, Value as Json};

use super::rng::SeedRng as Rng;
use super::types::{Base, ColumnType};

/// What a generated column makes of the text at a JSON path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonLeaf {
    Bool,
    Number,
    /// An ISO 8601 timestamp (the column is a date or timestamp).
    Timestamp,
    /// One of an enum's labels.
    Label(Vec<String>),
    /// A string of at most this many characters.
    Text(Option<usize>),
}

impl JsonLeaf {
    /// The leaf a generated column of type `ty` needs, when its expression
    /// is the path's text, cast or passed through a function (not a
    /// comparison or arithmetic, which could want another kind); `None`:
    /// the key is left out, as before (the column computes NULL).
    pub(crate) fn for_column(ty: &ColumnType, expr: &str) -> Option<JsonLeaf> {
        let outside = literals_removed(expr)
            .replace("->>", " ")
            .replace("#>>", " ")
            .replace("->", " ")
            .replace("#>", " ")
            .to_ascii_lowercase();
        if outside.contains(['=', '<', '>', '+', '*', '/', '|', '%'])
            || [" and ", " or ", " case ", " not "]
                .iter()
                .any(|w| outside.contains(w))
        {
            return None;
        }
        Some(match &ty.base {
            Base::Bool => JsonLeaf::Bool,
            Base::Int(_) | Base::Float(_) => JsonLeaf::Number,
            Base::Date | Base::Timestamp | Base::TimestampTz => JsonLeaf::Timestamp,
            Base::Enum { labels } if !labels.is_empty() => JsonLeaf::Label(labels.clone()),
            Base::Text { max_chars, .. } => JsonLeaf::Text(*max_chars),
            _ => return None,
        })
    }

    fn value(&self, rng: &mut Rng) -> Json {
        match self {
            JsonLeaf::Bool => json!(rng.chance(0.5)),
            JsonLeaf::Number => json!(rng.range_i64(0, 100)),
            JsonLeaf::Timestamp => json!(format!(
                "2024-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
                rng.range_i64(1, 12),
                rng.range_i64(1, 28),
                rng.range_i64(0, 23),
                rng.range_i64(0, 59),
                rng.range_i64(0, 59)
            )),
            JsonLeaf::Label(labels) => json!(labels[rng.index(labels.len())]),
            JsonLeaf::Text(max) => {
                // Distinct across rows: such columns are often keys.
                let text = format!("k{:08x}", rng.range_i64(0, i64::from(u32::MAX)));
                json!(match max {
                    Some(n) => text.chars().take((*n).max(1)).collect::<String>(),
                    None => text,
                })
            }
        }
    }
}

/// The `(json column, path)` pairs an expression reads as text: `c ->>
/// 'k'`, `c -> 'a' ->> 'b'`, `c #>> '{a, b}'`, in the form the server
/// deparses them (`((value -> 'a'::text) ->> 'b'::text)`).
pub(crate) fn text_paths(expr: &str) -> Vec<(String, Vec<String>)> {
    // Parentheses and casts to text go; names, operators and literals stay.
    let mut tokens = Vec::new();
    let mut raw = tokens_of(expr).into_iter().peekable();
    while let Some(t) = raw.next() {
        match t {
            Tok::Other(':') if matches!(raw.peek(), Some(Tok::Other(':'))) => {
                raw.next();
                if matches!(raw.peek(), Some(Tok::Ident(i)) if i == "text") {
                    raw.next();
                }
            }
            Tok::Other(_) => {}
            t => tokens.push(t),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Tok::Ident(column) = &tokens[i] else {
            i += 1;
            continue;
        };
        let mut path = Vec::new();
        let mut j = i + 1;
        let mut text = false;
        while let (Some(Tok::Op(op)), Some(Tok::Str(key))) = (tokens.get(j), tokens.get(j + 1)) {
            match op.as_str() {
                "->" | "->>" => path.push(key.clone()),
                _ => path.extend(
                    key.trim_matches(['{', '}'])
                        .split(',')
                        .map(|k| k.trim().trim_matches('"').to_string())
                        .filter(|k| !k.is_empty()),
                ),
            }
            text = op.ends_with(">>");
            j += 2;
            if text {
                break;
            }
        }
        if text && !path.is_empty() {
            out.push((column.trim_matches('"').to_string(), path));
        }
        i = j.max(i + 1);
    }
    out
}

#[derive(Debug)]
enum Tok {
    Ident(String),
    Op(String),
    Str(String),
    Other(char),
}

/// `expr` without its string literals (what is outside them).
fn literals_removed(expr: &str) -> String {
    tokens_of(expr)
        .into_iter()
        .map(|t| match t {
            Tok::Ident(i) => format!(" {i} "),
            Tok::Op(o) => format!(" {o} "),
            Tok::Str(_) => " '' ".to_string(),
            Tok::Other(c) => c.to_string(),
        })
        .collect()
}

fn tokens_of(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut text = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        text.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                text.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(text));
        } else if c == '"' || c.is_alphanumeric() || c == '_' {
            let start = i;
            if c == '"' {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$' | '.'))
                {
                    i += 1;
                }
            }
            out.push(Tok::Ident(
                chars[start..i.min(chars.len())].iter().collect(),
            ));
        } else if matches!(c, '-' | '#') && chars.get(i + 1) == Some(&'>') {
            let long = chars.get(i + 2) == Some(&'>');
            let op: String = chars[i..i + if long { 3 } else { 2 }].iter().collect();
            i += op.len();
            out.push(Tok::Op(op));
        } else {
            out.push(Tok::Other(c));
            i += 1;
        }
    }
    out
}

/// `doc` with a value at each path (objects made along the way; a document
/// that is not an object is left alone: a CHECK chose its kind).
pub(crate) fn fill(doc: Json, paths: &[(Vec<String>, JsonLeaf)], rng: &mut Rng) -> Json {
    let Json::Object(mut root) = doc else {
        return doc;
    };
    for (path, leaf) in paths {
        let mut node = &mut root;
        for (k, key) in path.iter().enumerate() {
            if k + 1 == path.len() {
                node.insert(key.clone(), leaf.value(rng));
                break;
            }
            let next = node
                .entry(key.clone())
                .or_insert_with(|| Json::Object(Map::new()));
            if !next.is_object() {
                *next = Json::Object(Map::new());
            }
            let Json::Object(inner) = next else { break };
            node = inner;
        }
    }
    Json::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_paths_the_server_deparses() {
        assert_eq!(
            text_paths("((value ->> 'deleted'::text))::boolean"),
            [("value".to_string(), vec!["deleted".to_string()])]
        );
        assert_eq!(
            text_paths("((value -> 'taskRun'::text) ->> 'id'::text)"),
            [(
                "value".to_string(),
                vec!["taskRun".to_string(), "id".to_string()]
            )]
        );
        assert_eq!(
            text_paths("(value #>> '{source,namespace}'::text[])"),
            [(
                "value".to_string(),
                vec!["source".to_string(), "namespace".to_string()]
            )]
        );
        assert_eq!(
            text_paths("parse_iso8601_datetime((value ->> 'timestamp'::text))"),
            [("value".to_string(), vec!["timestamp".to_string()])]
        );
        // Parentheses inside a key are the key's.
        assert_eq!(
            text_paths("(value ->> 'amount (usd)'::text)"),
            [("value".to_string(), vec!["amount (usd)".to_string()])]
        );
        // A JSON result (`->`) is not a text leaf.
        assert!(text_paths("(value -> 'a'::text)").is_empty());
        assert!(text_paths("(a + b)").is_empty());
    }

    #[test]
    fn fills_nested_paths_and_leaves_other_documents_alone() {
        let mut rng = Rng::new(1);
        let paths = vec![
            (vec!["deleted".to_string()], JsonLeaf::Bool),
            (
                vec!["taskRun".to_string(), "id".to_string()],
                JsonLeaf::Text(Some(5)),
            ),
        ];
        let doc = fill(json!({"taskRun": 3}), &paths, &mut rng);
        assert!(doc["deleted"].is_boolean());
        assert_eq!(doc["taskRun"]["id"].as_str().map(str::len), Some(5));
        assert_eq!(fill(json!([1]), &paths, &mut rng), json!([1]));
    }
}
