//! One generated value, and its renderings: PostgreSQL's text input form
//! (what `COPY ... FROM stdin` reads) and an SQL literal (for `INSERT`).

use std::fmt::Write as _;

use sqlx::types::chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// A value of one column of one generated row.
///
/// Typed where the generator has to reason about it (compare it with a
/// `CHECK`'s constant, order two timestamps, keep a key unique); everything
/// else is [`Value::Literal`], already in PostgreSQL's text input form.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// `boolean`.
    Bool(bool),
    /// Any integer type.
    Int(i64),
    /// `real`, `double precision`.
    Float(f64),
    /// An exact decimal (`numeric`, `money`): `units / 10^scale`.
    Decimal {
        /// The value times `10^scale`.
        units: Units,
        /// Digits after the decimal point.
        scale: u32,
    },
    /// Text types and enum labels.
    Text(String),
    /// `date`.
    Date(NaiveDate),
    /// `time`.
    Time(NaiveTime),
    /// `timestamp` (without time zone).
    Timestamp(NaiveDateTime),
    /// `timestamptz`, in UTC.
    TimestampTz(DateTime<Utc>),
    /// `json`, `jsonb` (boxed: a document is rare, and a [`Value`] stays
    /// 32 bytes; millions of them make a data set).
    Json(Box<serde_json::Value>),
    /// `bytea`.
    Bytes(Vec<u8>),
    /// An array (one dimension per nesting level).
    Array(Vec<Value>),
    /// Any other value in PostgreSQL's text input form (`uuid`, `inet`,
    /// `interval`, a value from a profile for a type the generator does
    /// not model, ...).
    Literal(String),
}

/// An `i128` kept as two 64-bit halves: aligned to 8 bytes, so that a
/// [`Value`] stays 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Units([u64; 2]);

impl Units {
    /// The number.
    pub fn get(self) -> i128 {
        (((self.0[0] as u128) << 64) | self.0[1] as u128) as i128
    }
}

impl From<i128> for Units {
    fn from(v: i128) -> Units {
        let u = v as u128;
        Units([(u >> 64) as u64, u as u64])
    }
}

impl std::fmt::Debug for Units {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl Value {
    /// Whether this is SQL `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// PostgreSQL's text form of the value (`None` for `NULL`): what the
    /// server's input function for the column's type reads.
    pub fn to_pg_text(&self) -> Option<String> {
        let mut out = String::new();
        if self.write_pg_text(&mut out) {
            Some(out)
        } else {
            None
        }
    }

    /// Appends the text form to `out`; false (and nothing written) for NULL.
    pub(crate) fn write_pg_text(&self, out: &mut String) -> bool {
        match self {
            Value::Null => return false,
            Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => write_float(*f, out),
            Value::Decimal { units, scale } => write_decimal(units.get(), *scale, out),
            Value::Text(s) | Value::Literal(s) => out.push_str(s),
            Value::Date(d) => write_date(*d, out),
            Value::Time(t) => write_time(*t, out),
            Value::Timestamp(ts) => {
                write_date(ts.date(), out);
                out.push(' ');
                write_time(ts.time(), out);
            }
            Value::TimestampTz(ts) => {
                let naive = ts.naive_utc();
                write_date(naive.date(), out);
                out.push(' ');
                write_time(naive.time(), out);
                out.push_str("+00");
            }
            Value::Json(j) => out.push_str(&j.to_string()),
            Value::Bytes(b) => {
                out.push_str("\\x");
                for byte in b {
                    let _ = write!(out, "{byte:02x}");
                }
            }
            Value::Array(items) => write_array(items, out),
        }
        true
    }

    /// The value as an SQL literal: `NULL`, `42`, `true`, or a quoted
    /// string the column's type reads.
    pub fn to_sql_literal(&self) -> String {
        match self {
            Value::Null => "NULL".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Decimal { .. } => self.to_pg_text().unwrap_or_default(),
            Value::Float(f) if f.is_finite() => self.to_pg_text().unwrap_or_default(),
            other => sql_string(&other.to_pg_text().unwrap_or_default()),
        }
    }

    /// A number as `f64`, for comparisons and bounds.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal { units, scale } => Some(units.get() as f64 / 10f64.powi(*scale as i32)),
            _ => None,
        }
    }
}

/// An SQL string literal (`E'...'` when it holds a backslash or a control
/// character, so that the statement stays on its lines).
pub(crate) fn sql_string(text: &str) -> String {
    crate::schema::sql_literal(text)
}

/// Appends one field of `COPY ... FROM stdin` text format.
pub(crate) fn write_copy_field(value: &Value, scratch: &mut String, out: &mut String) {
    scratch.clear();
    if !value.write_pg_text(scratch) {
        out.push_str("\\N");
        return;
    }
    for c in scratch.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

fn write_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let _ = write!(out, "{f}");
    }
}

fn write_decimal(units: i128, scale: u32, out: &mut String) {
    if units < 0 {
        out.push('-');
    }
    let digits = units.unsigned_abs().to_string();
    let scale = scale as usize;
    if scale == 0 {
        out.push_str(&digits);
        return;
    }
    if digits.len() <= scale {
        out.push_str("0.");
        out.push_str(&"0".repeat(scale - digits.len()));
        out.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
}

fn write_date(d: NaiveDate, out: &mut String) {
    let _ = write!(out, "{}", d.format("%Y-%m-%d"));
}

fn write_time(t: NaiveTime, out: &mut String) {
    let _ = write!(out, "{}", t.format("%H:%M:%S"));
    let frac = t.format("%.6f").to_string();
    if frac != ".000000" {
        out.push_str(&frac);
    }
}

/// Days since 1970-01-01 (`sqlx` re-exports no `Datelike`/`Duration`, so
/// date arithmetic goes through the epoch).
pub(crate) fn days_of(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp().div_euclid(86_400))
        .unwrap_or(0)
}

/// The date `days` after 1970-01-01.
pub(crate) fn date_from_days(days: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(days.checked_mul(86_400)?, 0).map(|t| t.date_naive())
}

/// Microseconds since the epoch.
pub(crate) fn micros_of(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The instant `micros` after the epoch.
pub(crate) fn ts_from_micros(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(micros)
}

fn write_array(items: &[Value], out: &mut String) {
    out.push('{');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            Value::Null => out.push_str("NULL"),
            Value::Array(inner) => write_array(inner, out),
            other => {
                let text = other.to_pg_text().unwrap_or_default();
                let needs_quotes = text.is_empty()
                    || text.eq_ignore_ascii_case("null")
                    || text
                        .chars()
                        .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
                if needs_quotes {
                    out.push('"');
                    for c in text.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                } else {
                    out.push_str(&text);
                }
            }
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_32_bytes_and_units_keep_every_i128() {
        // Millions of values make a data set: a larger variant costs as much
        // memory per cell as it adds (boxed when rare, as JSON is).
        assert_eq!(std::mem::size_of::<Value>(), 32);
        for n in [0, -1, 1, i128::MIN, i128::MAX, -(1 << 70), 1 << 100] {
            assert_eq!(Units::from(n).get(), n);
        }
    }

    #[test]
    fn text_forms() {
        assert_eq!(
            Value::Decimal {
                units: (-5).into(),
                scale: 2
            }
            .to_pg_text()
            .as_deref(),
            Some("-0.05")
        );
        assert_eq!(
            Value::Decimal {
                units: 12345.into(),
                scale: 2
            }
            .to_pg_text()
            .as_deref(),
            Some("123.45")
        );
        assert_eq!(
            Value::Bytes(vec![1, 255]).to_pg_text().as_deref(),
            Some("\\x01ff")
        );
        let arr = Value::Array(vec![
            Value::Text("a b".into()),
            Value::Null,
            Value::Text("".into()),
            Value::Text("x\"y".into()),
        ]);
        assert_eq!(
            arr.to_pg_text().as_deref(),
            Some("{\"a b\",NULL,\"\",\"x\\\"y\"}")
        );
        let mut out = String::new();
        write_copy_field(
            &Value::Text("a\tb\\c\n".into()),
            &mut String::new(),
            &mut out,
        );
        assert_eq!(out, "a\\tb\\\\c\\n");
        assert_eq!(Value::Text("it's".into()).to_sql_literal(), "'it''s'");
        assert_eq!(Value::Text("a\nb".into()).to_sql_literal(), "E'a\\nb'");
    }
}
