//! Values of the types built from other values or with a syntax of their
//! own: ranges and multiranges, geometric types, composites, and the
//! extension types real schemas use (`ltree`, `hstore`, pgvector's
//! `vector`), plus `tsquery`, `macaddr8`, `oid` and `pg_lsn`. Each is
//! written in PostgreSQL's text input form.

use fake::faker::lorem::en::Word;
use fake::Fake;

use super::expr::{order, Restriction};
use super::realistic::{generate_value, GenCtx, Semantic, ValueSpec};
use super::types::{Base, ColumnType, Geometry};
use super::value::{date_from_days, days_of, micros_of, ts_from_micros, Value};

/// A value of `base` when it is one of this module's types.
pub(crate) fn value(base: &Base, ctx: &mut GenCtx<'_>) -> Option<Value> {
    let text = match base {
        Base::Range { sub } => range(sub, ctx)?,
        Base::MultiRange { sub } => {
            // Disjoint spans in order: each starts after the last ended.
            let n = 1 + ctx.rng.index(3);
            let mut spans: Vec<(Value, Value)> = (0..n).filter_map(|_| bounds(sub, ctx)).collect();
            spans.sort_by(|a, b| order(&a.0, &b.0).unwrap_or(std::cmp::Ordering::Equal));
            let mut kept: Vec<(Value, Value)> = Vec::new();
            for s in spans {
                let after = kept
                    .last()
                    .is_none_or(|l| order(&s.0, &l.1) == Some(std::cmp::Ordering::Greater));
                if after {
                    kept.push(s);
                }
            }
            let parts: Vec<String> = kept.iter().map(|(a, b)| span(a, b)).collect();
            format!("{{{}}}", parts.join(","))
        }
        Base::Geometric(g) => geometry(*g, ctx),
        Base::MacAddr8 => {
            let b: Vec<String> = (0..8)
                .map(|_| format!("{:02x}", ctx.rng.below(256)))
                .collect();
            b.join(":")
        }
        Base::TsQuery => {
            let a: String = Word().fake_with_rng(ctx.rng);
            let b: String = Word().fake_with_rng(ctx.rng);
            let op = if ctx.rng.chance(0.5) { "&" } else { "|" };
            format!("'{}' {op} '{}'", a.replace('\'', ""), b.replace('\'', ""))
        }
        Base::Oid => (1 + ctx.rng.below(100_000)).to_string(),
        Base::PgLsn => format!("{:X}/{:X}", ctx.rng.below(16), ctx.rng.below(1 << 32)),
        Base::LTree => {
            let n = 1 + ctx.rng.index(4);
            let labels: Vec<String> = (0..n).map(|_| label(ctx)).collect();
            labels.join(".")
        }
        Base::HStore => {
            let n = ctx.rng.index(4);
            let pairs: Vec<String> = (0..n)
                .map(|i| format!("\"{}{i}\"=>\"{}\"", label(ctx), label(ctx)))
                .collect();
            pairs.join(", ")
        }
        Base::Vector { dims } => {
            let n = dims.unwrap_or(3).max(1);
            let items: Vec<String> = (0..n)
                .map(|_| format!("{:.3}", ctx.rng.unit() * 2.0 - 1.0))
                .collect();
            format!("[{}]", items.join(","))
        }
        Base::Composite { fields } => {
            let mut parts = Vec::with_capacity(fields.len());
            for (_, base, dims) in fields {
                let v = plain(base, *dims, ctx)?;
                let mut text = String::new();
                parts.push(if v.write_pg_text(&mut text) {
                    quote_field(&text)
                } else {
                    String::new()
                });
            }
            format!("({})", parts.join(","))
        }
        _ => return None,
    };
    Some(Value::Literal(text))
}

/// A value of a plain type (an element of a range, a composite's field).
fn plain(base: &Base, dims: usize, ctx: &mut GenCtx<'_>) -> Option<Value> {
    let ty = ColumnType::of_base(base.clone(), dims);
    let restriction = Restriction::default();
    let spec = ValueSpec {
        ty: &ty,
        semantic: Semantic::Generic,
        restriction: &restriction,
    };
    generate_value(&spec, ctx, None)
}

/// A short, non-empty span of `sub`: short, and for numbers anywhere in a
/// wide window, so that rows under an exclusion constraint (`during with
/// &&`) seldom overlap.
fn bounds(sub: &Base, ctx: &mut GenCtx<'_>) -> Option<(Value, Value)> {
    let width = |ctx: &mut GenCtx<'_>| 1 + ctx.rng.range_i64(0, 49);
    match sub {
        Base::Int(_) => {
            let lo = ctx.rng.range_i64(0, 10_000_000);
            return Some((Value::Int(lo), Value::Int(lo + width(ctx))));
        }
        Base::Numeric { .. } | Base::Float(_) => {
            let lo = ctx.rng.range_i64(0, 10_000_000);
            return Some((
                Value::Float(lo as f64),
                Value::Float((lo + width(ctx)) as f64),
            ));
        }
        _ => {}
    }
    let lo = plain(sub, 0, ctx)?;
    let hi = match &lo {
        Value::Date(d) => Value::Date(date_from_days(days_of(*d) + 1 + ctx.rng.range_i64(0, 13))?),
        Value::Timestamp(t) => {
            let later = micros_of(t.and_utc()) + minutes(ctx);
            Value::Timestamp(ts_from_micros(later)?.naive_utc())
        }
        Value::TimestampTz(t) => Value::TimestampTz(ts_from_micros(micros_of(*t) + minutes(ctx))?),
        _ => return None,
    };
    Some((lo, hi))
}

/// Half an hour to eight and a half hours, in microseconds.
fn minutes(ctx: &mut GenCtx<'_>) -> i64 {
    (30 + ctx.rng.range_i64(0, 480)) * 60_000_000
}

fn range(sub: &Base, ctx: &mut GenCtx<'_>) -> Option<String> {
    let (lo, hi) = bounds(sub, ctx)?;
    Some(span(&lo, &hi))
}

/// `[lo,hi)` with each bound quoted.
fn span(lo: &Value, hi: &Value) -> String {
    let text = |v: &Value| {
        let mut out = String::new();
        v.write_pg_text(&mut out);
        quote_field(&out)
    };
    format!("[{},{})", text(lo), text(hi))
}

/// A field of a composite or a range bound: quoted when it holds anything
/// the record/range syntax reads specially.
fn quote_field(text: &str) -> String {
    let special = text.is_empty()
        || text.chars().any(|c| {
            matches!(c, '"' | '\\' | '(' | ')' | '[' | ']' | ',' | '{' | '}') || c.is_whitespace()
        });
    if !special {
        return text.to_string();
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// An ltree/hstore label: lowercase letters.
fn label(ctx: &mut GenCtx<'_>) -> String {
    let w: String = Word().fake_with_rng(ctx.rng);
    let w: String = w.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if w.is_empty() {
        "node".to_string()
    } else {
        w.to_ascii_lowercase()
    }
}

fn geometry(g: Geometry, ctx: &mut GenCtx<'_>) -> String {
    let mut coord = || (ctx.rng.range_i64(-1000, 1000) as f64) / 10.0;
    let (x1, y1, x2, y2) = (coord(), coord(), coord(), coord());
    let (x3, y3) = (coord(), coord());
    match g {
        Geometry::Point => format!("({x1},{y1})"),
        // a x + b y + c = 0, with a and b not both zero.
        Geometry::Line => format!("{{{},{y1},{x2}}}", if x1 == 0.0 { 1.0 } else { x1 }),
        Geometry::Lseg => format!("[({x1},{y1}),({x2},{y2})]"),
        Geometry::Box => format!("({x1},{y1}),({x2},{y2})"),
        Geometry::Path => format!("[({x1},{y1}),({x2},{y2}),({x3},{y3})]"),
        Geometry::Polygon => format!("(({x1},{y1}),({x2},{y2}),({x3},{y3}))"),
        Geometry::Circle => format!("<({x1},{y1}),{}>", 1.0 + x2.abs()),
    }
}
