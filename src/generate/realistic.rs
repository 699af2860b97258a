//! Values for one column: what a column holds is guessed from its name (and
//! its table's), its type, and what its `CHECK`s allow; `fake` supplies the
//! realism (names, emails, cities, sentences, ...).

use fake::faker::address::en::{
    CityName, CountryCode, CountryName, Latitude, Longitude, StateName, StreetName, TimeZone,
    ZipCode,
};
use fake::faker::barcode::en::Isbn;
use fake::faker::company::en::{Bs, Buzzword, CatchPhrase, CompanyName, Industry, Profession};
use fake::faker::creditcard::en::CreditCardNumber;
use fake::faker::currency::en::{CurrencyCode, CurrencyName};
use fake::faker::filesystem::en::{FileName, FilePath, MimeType, Semver};
use fake::faker::internet::en::{DomainSuffix, UserAgent};
use fake::faker::job::en::Title as JobTitle;
use fake::faker::lorem::en::{Paragraph, Sentence, Word, Words};
use fake::faker::name::en::{FirstName, LastName};
use fake::faker::phone_number::en::PhoneNumber;
use fake::Fake;
use sqlx::types::chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::expr::{order, JsonKind, Restriction};
use super::rng::SeedRng;
use super::types::{Base, ColumnType};
use super::value::{date_from_days, days_of, micros_of, ts_from_micros, Value};

/// What a column holds, as far as its name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Semantic {
    Email,
    FirstName,
    LastName,
    FullName,
    Username,
    Title,
    Sentence,
    Paragraph,
    Word,
    Words,
    Url,
    Domain,
    Phone,
    City,
    Country,
    CountryCode,
    Street,
    ZipCode,
    State,
    Company,
    JobTitle,
    Profession,
    Industry,
    CatchPhrase,
    Buzzword,
    Bs,
    CurrencyCode,
    CurrencyName,
    Money,
    Latitude,
    Longitude,
    Color,
    Slug,
    Code,
    Ip,
    UserAgent,
    Secret,
    Locale,
    TimeZone,
    Age,
    Year,
    Quantity,
    Percent,
    Rating,
    SortOrder,
    FileName,
    FilePath,
    MimeType,
    Semver,
    Isbn,
    LicencePlate,
    CreditCard,
    BirthDate,
    Created,
    Updated,
    /// A moment after the row's creation (`deleted_at`, `completed_at`, ...).
    Later,
    Start,
    End,
    Uuid,
    /// Nothing specific: the type decides.
    Generic,
}

/// The `fake` generators a profile may name (`fake = "city"`), with the
/// semantic each stands for. Names are matched case-insensitively and
/// without underscores, so `SafeEmail`, `safe_email` and `safeemail` are
/// one name.
pub(crate) const FAKE_NAMES: &[(&str, Semantic)] = &[
    ("email", Semantic::Email),
    ("safe_email", Semantic::Email),
    ("free_email", Semantic::Email),
    ("first_name", Semantic::FirstName),
    ("last_name", Semantic::LastName),
    ("name", Semantic::FullName),
    ("full_name", Semantic::FullName),
    ("username", Semantic::Username),
    ("title", Semantic::Title),
    ("sentence", Semantic::Sentence),
    ("paragraph", Semantic::Paragraph),
    ("word", Semantic::Word),
    ("words", Semantic::Words),
    ("url", Semantic::Url),
    ("domain", Semantic::Domain),
    ("phone_number", Semantic::Phone),
    ("cell_number", Semantic::Phone),
    ("city", Semantic::City),
    ("city_name", Semantic::City),
    ("country", Semantic::Country),
    ("country_name", Semantic::Country),
    ("country_code", Semantic::CountryCode),
    ("street", Semantic::Street),
    ("street_name", Semantic::Street),
    ("zip_code", Semantic::ZipCode),
    ("post_code", Semantic::ZipCode),
    ("state", Semantic::State),
    ("state_name", Semantic::State),
    ("company", Semantic::Company),
    ("company_name", Semantic::Company),
    ("job_title", Semantic::JobTitle),
    ("profession", Semantic::Profession),
    ("industry", Semantic::Industry),
    ("catch_phrase", Semantic::CatchPhrase),
    ("buzzword", Semantic::Buzzword),
    ("bs", Semantic::Bs),
    ("currency_code", Semantic::CurrencyCode),
    ("currency_name", Semantic::CurrencyName),
    ("money", Semantic::Money),
    ("price", Semantic::Money),
    ("latitude", Semantic::Latitude),
    ("longitude", Semantic::Longitude),
    ("hex_color", Semantic::Color),
    ("color", Semantic::Color),
    ("slug", Semantic::Slug),
    ("code", Semantic::Code),
    ("ip", Semantic::Ip),
    ("ipv4", Semantic::Ip),
    ("user_agent", Semantic::UserAgent),
    ("password", Semantic::Secret),
    ("token", Semantic::Secret),
    ("locale", Semantic::Locale),
    ("time_zone", Semantic::TimeZone),
    ("age", Semantic::Age),
    ("year", Semantic::Year),
    ("quantity", Semantic::Quantity),
    ("percent", Semantic::Percent),
    ("rating", Semantic::Rating),
    ("file_name", Semantic::FileName),
    ("file_path", Semantic::FilePath),
    ("mime_type", Semantic::MimeType),
    ("semver", Semantic::Semver),
    ("isbn", Semantic::Isbn),
    ("licence_plate", Semantic::LicencePlate),
    ("credit_card_number", Semantic::CreditCard),
    ("birth_date", Semantic::BirthDate),
    ("uuid", Semantic::Uuid),
];

/// The semantic a profile's `fake = "..."` names.
pub(crate) fn fake_by_name(name: &str) -> Option<Semantic> {
    let norm = |s: &str| s.to_lowercase().replace(['_', '-', ' '], "");
    let wanted = norm(name);
    FAKE_NAMES
        .iter()
        .find(|(n, _)| norm(n) == wanted)
        .map(|(_, s)| *s)
}

/// Guesses what a column holds from its name and its table's name.
pub(crate) fn semantic_for(table: &str, column: &str, ty: &ColumnType) -> Semantic {
    let c = column.to_lowercase();
    let words: Vec<&str> = c.split('_').collect();
    let has = |w: &str| words.contains(&w);
    let last = words.last().copied().unwrap_or("");
    let t = table.to_lowercase();
    let person_table = [
        "user",
        "users",
        "app_users",
        "person",
        "people",
        "customer",
        "customers",
        "employee",
        "employees",
        "member",
        "members",
        "account",
        "accounts",
        "author",
        "authors",
        "contact",
        "contacts",
        "profile",
        "profiles",
        "student",
        "students",
        "patient",
        "patients",
    ]
    .iter()
    .any(|p| t == *p || t.ends_with(&format!("_{p}")));
    let company_table = [
        "company",
        "companies",
        "organization",
        "organizations",
        "organisation",
        "org",
        "orgs",
        "vendor",
        "vendors",
        "supplier",
        "suppliers",
        "tenant",
        "tenants",
        "team",
        "teams",
    ]
    .iter()
    .any(|p| t == *p || t.ends_with(&format!("_{p}")));
    let is_text = matches!(ty.base, Base::Text { .. });
    let is_time = matches!(ty.base, Base::Timestamp | Base::TimestampTz | Base::Date);
    if is_time {
        if c.contains("birth") || c == "dob" {
            return Semantic::BirthDate;
        }
        if c.starts_with("created") || c.starts_with("inserted") || c == "ctime" || c == "since" {
            return Semantic::Created;
        }
        if c.starts_with("updated")
            || c.starts_with("modified")
            || c == "mtime"
            || c.starts_with("changed")
        {
            return Semantic::Updated;
        }
        if c.starts_with("start")
            || c.starts_with("begin")
            || c.starts_with("valid_from")
            || has("from")
        {
            return Semantic::Start;
        }
        if c.starts_with("end")
            || c.starts_with("finish")
            || c.starts_with("due")
            || c.starts_with("expire")
            || c.starts_with("valid_to")
            || c.starts_with("valid_until")
            || has("until")
            || has("to") && words.len() > 1
        {
            return Semantic::End;
        }
        // An event in the row's life (`locked_at`, `deleted_at`): after its
        // creation.
        if last == "at" && matches!(ty.base, Base::Timestamp | Base::TimestampTz) {
            return Semantic::Later;
        }
        if last == "at" || last == "on" || c.ends_with("_date") {
            let first = words.first().copied().unwrap_or("");
            if matches!(
                first,
                "deleted"
                    | "archived"
                    | "completed"
                    | "closed"
                    | "locked"
                    | "resolved"
                    | "cancelled"
                    | "canceled"
                    | "finished"
                    | "published"
                    | "shipped"
                    | "delivered"
                    | "paid"
                    | "confirmed"
                    | "verified"
                    | "approved"
                    | "sent"
                    | "read"
                    | "seen"
                    | "last"
                    | "accepted"
                    | "revoked"
            ) {
                return Semantic::Later;
            }
        }
        return Semantic::Generic;
    }
    if matches!(ty.base, Base::Uuid) {
        return Semantic::Uuid;
    }
    if matches!(ty.base, Base::Inet | Base::Cidr) {
        return Semantic::Ip;
    }
    let numeric = matches!(
        ty.base,
        Base::Int(_) | Base::Float(_) | Base::Numeric { .. } | Base::Money
    );
    if numeric {
        if matches!(ty.base, Base::Money)
            || [
                "price", "amount", "cost", "total", "balance", "salary", "fee", "subtotal", "tax",
                "revenue", "budget", "payment", "wage", "discount",
            ]
            .iter()
            .any(|w| has(w) || c.ends_with(w))
        {
            return Semantic::Money;
        }
        if has("lat") || has("latitude") {
            return Semantic::Latitude;
        }
        if has("lng") || has("lon") || has("longitude") {
            return Semantic::Longitude;
        }
        if has("age") {
            return Semantic::Age;
        }
        if has("year") {
            return Semantic::Year;
        }
        if has("percent") || has("pct") || has("percentage") || c.ends_with("ratio") {
            return Semantic::Percent;
        }
        if has("rating") || has("stars") || has("score") && c.len() < 8 {
            return Semantic::Rating;
        }
        if has("position")
            || has("rank")
            || has("sort")
            || has("order")
            || has("ordinal")
            || has("seq")
            || has("index")
        {
            return Semantic::SortOrder;
        }
        if has("count")
            || has("quantity")
            || has("qty")
            || has("units")
            || has("number")
            || has("num")
            || has("size")
        {
            return Semantic::Quantity;
        }
        return Semantic::Generic;
    }
    if !is_text {
        return Semantic::Generic;
    }
    if c.contains("email") || c == "mail" {
        return Semantic::Email;
    }
    if c == "first_name" || c == "firstname" || c == "given_name" || c == "forename" {
        return Semantic::FirstName;
    }
    if c == "last_name" || c == "lastname" || c == "surname" || c == "family_name" {
        return Semantic::LastName;
    }
    if c == "username"
        || c == "user_name"
        || c == "login"
        || c == "handle"
        || c == "nickname"
        || c == "screen_name"
    {
        return Semantic::Username;
    }
    if c == "full_name"
        || c == "display_name"
        || c == "fullname"
        || c == "author"
        || c == "contact_name"
        || c == "owner_name"
        || c == "customer_name"
        || (c == "name" && person_table)
    {
        return Semantic::FullName;
    }
    if c == "company"
        || c == "company_name"
        || c == "organization"
        || c == "organisation"
        || c == "employer"
        || (c == "name" && company_table)
    {
        return Semantic::Company;
    }
    if c.contains("url")
        || c.contains("website")
        || c.contains("homepage")
        || c == "link"
        || c.ends_with("_link")
        || c == "href"
    {
        return Semantic::Url;
    }
    if c.contains("domain") || c == "host" || c == "hostname" {
        return Semantic::Domain;
    }
    if c.contains("phone") || c.contains("mobile") || c == "tel" || c == "fax" {
        return Semantic::Phone;
    }
    if c == "city" || c.ends_with("_city") || c == "town" {
        return Semantic::City;
    }
    if c == "country_code"
        || c == "country_iso"
        || (c == "country" && ty.max_chars().is_some_and(|n| n <= 3))
    {
        return Semantic::CountryCode;
    }
    if c == "country" || c.ends_with("_country") {
        return Semantic::Country;
    }
    if c.contains("street") || c.contains("address") && !c.contains("ip") && !c.contains("mail") {
        return Semantic::Street;
    }
    if c.contains("zip") || c.contains("postal") || c.contains("postcode") {
        return Semantic::ZipCode;
    }
    if c == "state" || c == "region" || c == "province" {
        return Semantic::State;
    }
    if c == "job_title" || c == "position" || c == "occupation" {
        return Semantic::JobTitle;
    }
    if c == "profession" {
        return Semantic::Profession;
    }
    if c == "industry" || c == "sector" {
        return Semantic::Industry;
    }
    if c == "slogan" || c == "tagline" || c == "motto" {
        return Semantic::CatchPhrase;
    }
    if c == "currency" || c == "currency_code" {
        return Semantic::CurrencyCode;
    }
    if c.contains("color") || c.contains("colour") {
        return Semantic::Color;
    }
    if c.contains("slug") {
        return Semantic::Slug;
    }
    if c.contains("ip_addr") || c == "ip" || c.ends_with("_ip") {
        return Semantic::Ip;
    }
    if c.contains("user_agent") || c == "ua" {
        return Semantic::UserAgent;
    }
    if c.contains("password")
        || c.contains("secret")
        || c.contains("token")
        || c.contains("hash")
        || c.contains("api_key")
        || c.contains("digest")
        || c.contains("salt")
        || c.contains("nonce")
    {
        return Semantic::Secret;
    }
    if c == "locale" || c == "language" || c == "lang" {
        return Semantic::Locale;
    }
    if c == "timezone" || c == "time_zone" || c == "tz" {
        return Semantic::TimeZone;
    }
    if c.contains("file_name") || c == "filename" {
        return Semantic::FileName;
    }
    if c.contains("path") {
        return Semantic::FilePath;
    }
    if c.contains("mime") || c == "content_type" || c == "media_type" {
        return Semantic::MimeType;
    }
    if c == "version" || c.ends_with("_version") {
        return Semantic::Semver;
    }
    if c == "isbn" {
        return Semantic::Isbn;
    }
    if c.contains("plate") {
        return Semantic::LicencePlate;
    }
    if c.contains("card_number") || c == "pan" {
        return Semantic::CreditCard;
    }
    if c == "uuid" || c == "guid" || c.ends_with("_uuid") {
        return Semantic::Uuid;
    }
    if c == "code"
        || c.ends_with("_code")
        || c == "sku"
        || c.ends_with("_sku")
        || c == "reference"
        || c == "ref"
    {
        return Semantic::Code;
    }
    if c == "title"
        || c.ends_with("_title")
        || c == "subject"
        || c == "headline"
        || c == "label"
        || c == "caption"
    {
        return Semantic::Title;
    }
    if c == "name" || c.ends_with("_name") {
        return Semantic::Words;
    }
    if [
        "description",
        "body",
        "content",
        "text",
        "notes",
        "note",
        "bio",
        "about",
        "summary",
        "details",
        "comment",
        "comments",
        "message",
        "statement",
        "remarks",
        "abstract",
        "excerpt",
        "reason",
        "answer",
        "question",
        "feedback",
        "review",
        "instructions",
        "prompt",
        "reply",
        "response",
    ]
    .iter()
    .any(|w| c == *w || c.ends_with(&format!("_{w}")))
    {
        return if [
            "body",
            "content",
            "text",
            "bio",
            "about",
            "details",
            "abstract",
            "instructions",
            "response",
        ]
        .iter()
        .any(|w| c == *w || c.ends_with(&format!("_{w}")))
        {
            Semantic::Paragraph
        } else {
            Semantic::Sentence
        };
    }
    if [
        "status", "kind", "type", "category", "role", "tier", "plan", "level", "stage", "source",
        "channel", "tag",
    ]
    .iter()
    .any(|w| c == *w || c.ends_with(&format!("_{w}")))
    {
        return Semantic::Word;
    }
    Semantic::Generic
}

/// How values are chosen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// Realistic values (`fake`); false: the simplest values that fit
    /// (what a shrunk property case shows).
    pub realistic: bool,
    /// Share of boundary values: empty strings, maximal lengths, the ends
    /// of ranges, odd characters.
    pub boundary: f64,
}

/// A person behind a row, so that its name, username and email agree.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    first: String,
    last: String,
}

/// Per-row state of value generation.
pub(crate) struct GenCtx<'r> {
    pub rng: &'r mut SeedRng,
    /// "Now" for the generated data: timestamps fall before it.
    pub anchor: DateTime<Utc>,
    pub style: Style,
    /// The row's person, made on first use.
    pub person: Option<Person>,
}

impl GenCtx<'_> {
    fn person(&mut self) -> Person {
        if let Some(p) = &self.person {
            return p.clone();
        }
        let p = Person {
            first: FirstName().fake_with_rng::<String, _>(self.rng),
            last: LastName().fake_with_rng::<String, _>(self.rng),
        };
        self.person = Some(p.clone());
        p
    }
}

/// What a column needs to get a value.
#[derive(Debug, Clone)]
pub(crate) struct ValueSpec<'a> {
    pub ty: &'a ColumnType,
    pub semantic: Semantic,
    pub restriction: &'a Restriction,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A value for one column, or `None` when the type has no generator.
/// `not_before`: a value this one should not precede (`updated_at` after
/// `created_at`, `end_date` after `start_date`).
pub(crate) fn generate_value(
    spec: &ValueSpec<'_>,
    ctx: &mut GenCtx<'_>,
    not_before: Option<&Value>,
) -> Option<Value> {
    let r = spec.restriction;
    if let Some(allowed) = &r.allowed {
        let candidates: Vec<&Value> = allowed
            .iter()
            .filter(|v| {
                !r.excluded
                    .iter()
                    .any(|x| super::expr::equals(x, v) == Some(true))
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let i = if ctx.style.realistic {
            ctx.rng.index(candidates.len())
        } else {
            0
        };
        return Some(conform(candidates[i].clone(), spec.ty));
    }
    if spec.ty.dims > 0 {
        let n = if ctx.style.realistic {
            ctx.rng.range_i64(0, 4)
        } else {
            1
        } as usize;
        let n = if ctx.rng.chance(ctx.style.boundary) {
            0
        } else {
            n
        };
        let elem = Restriction::default();
        let elem_spec = ValueSpec {
            ty: spec.ty,
            semantic: if spec.semantic == Semantic::Generic {
                Semantic::Word
            } else {
                spec.semantic
            },
            restriction: &elem,
        };
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(scalar(&elem_spec, ctx, None)?);
        }
        return Some(Value::Array(items));
    }
    for _ in 0..8 {
        let v = scalar(spec, ctx, not_before)?;
        if r.admits(&v) {
            return Some(v);
        }
    }
    scalar(spec, ctx, not_before)
}

/// Turns a value from a list (a check's `IN`, a profile's `values`) into
/// the column type's form where the generator can.
pub(crate) fn conform(v: Value, ty: &ColumnType) -> Value {
    match (&ty.base, v) {
        (
            Base::Numeric { scale: Some(s), .. },
            v @ (Value::Int(_) | Value::Float(_) | Value::Decimal { .. }),
        ) => decimal_from_f64(v.as_f64().unwrap_or(0.0), *s),
        (Base::Float(_), Value::Int(i)) => Value::Float(i as f64),
        (_, v) => v,
    }
}

fn decimal_from_f64(f: f64, scale: u32) -> Value {
    let units = (f * 10f64.powi(scale as i32)).round() as i128;
    Value::Decimal {
        units: units.into(),
        scale,
    }
}

fn scalar(spec: &ValueSpec<'_>, ctx: &mut GenCtx<'_>, not_before: Option<&Value>) -> Option<Value> {
    if ctx.style.boundary > 0.0 && ctx.rng.chance(ctx.style.boundary) {
        if let Some(v) = boundary(spec, ctx) {
            if spec.restriction.admits(&v) {
                return Some(v);
            }
        }
    }
    let r = spec.restriction;
    Some(match &spec.ty.base {
        Base::Bool => {
            let p = match spec.semantic {
                _ if !ctx.style.realistic => 0.0,
                _ => 0.5,
            };
            Value::Bool(ctx.rng.chance(p))
        }
        Base::Int(bits) => {
            let (tmin, tmax) = match bits {
                16 => (i16::MIN as i64, i16::MAX as i64),
                32 => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            let (lo, hi) = int_bounds(r, tmin, tmax);
            let (slo, shi) = semantic_int_range(spec.semantic, ctx.anchor);
            let (lo2, hi2) = intersect((lo, hi), (slo, shi));
            let v = if !ctx.style.realistic {
                if lo <= 0 && hi >= 0 {
                    0.max(lo2.min(1))
                } else {
                    lo
                }
            } else {
                ctx.rng.range_i64(lo2, hi2)
            };
            Value::Int(match r.multiple_of {
                // The multiple at or above `v` (or below, at the top).
                Some(k) => {
                    let down = v - v.rem_euclid(k);
                    if down >= lo {
                        down
                    } else {
                        down.saturating_add(k)
                    }
                }
                None => v,
            })
        }
        Base::Float(_) => {
            let (lo, hi) = float_bounds(r);
            let (slo, shi) = semantic_float_range(spec.semantic);
            let (lo, hi) = (lo.max(slo).min(hi), hi.min(shi).max(lo.max(slo).min(hi)));
            if !ctx.style.realistic {
                Value::Float(if lo <= 0.0 && hi >= 0.0 { 0.0 } else { lo })
            } else {
                let x = lo + ctx.rng.unit() * (hi - lo);
                Value::Float((x * 10_000.0).round() / 10_000.0)
            }
        }
        Base::Numeric { precision, scale } => {
            let scale = scale.unwrap_or(2);
            let int_digits = precision
                .map(|p| p.saturating_sub(scale))
                .unwrap_or(12)
                .min(30);
            let limit = 10f64.powi(int_digits as i32) - 10f64.powi(-(scale as i32));
            let (mut lo, mut hi) = float_bounds(r);
            lo = lo.max(-limit);
            hi = hi.min(limit);
            let (slo, shi) = semantic_float_range(spec.semantic);
            let (a, b) = if slo.max(lo) <= shi.min(hi) {
                (slo.max(lo), shi.min(hi))
            } else {
                (lo, hi)
            };
            if !ctx.style.realistic {
                decimal_in(if a <= 0.0 && b >= 0.0 { 0.0 } else { a }, a, b, scale)
            } else {
                let x = a + ctx.rng.unit() * (b - a);
                decimal_in(x, a, b, scale)
            }
        }
        Base::Money => {
            let (lo, hi) = float_bounds(r);
            let (a, b) = (lo.max(0.0), hi.min(10_000.0));
            let x = if ctx.style.realistic {
                a + ctx.rng.unit() * (b - a)
            } else {
                a
            };
            decimal_in(x, a, b, 2)
        }
        Base::Text { max_chars, .. } => {
            let max = match (max_chars, r.max_len) {
                (Some(a), Some(b)) => Some((*a).min(b)),
                (a, b) => a.or(b),
            };
            let min = r.min_len.unwrap_or(0);
            let text = if ctx.style.realistic {
                realistic_text(spec.semantic, ctx, max)
            } else {
                "a".to_string()
            };
            let text = fit_text(text, min, max, ctx);
            let text = match r.upper {
                Some(true) => text.to_uppercase(),
                Some(false) => text.to_lowercase(),
                None => text,
            };
            // A realistic value that matches the column's patterns (an
            // email for an email regex) is kept; else one made from the
            // pattern.
            if r.patterns.is_empty() || r.admits(&Value::Text(text.clone())) {
                Value::Text(text)
            } else {
                Value::Text(from_patterns(r, min, max, ctx).unwrap_or(text))
            }
        }
        Base::Bytea => {
            let n = if ctx.style.realistic {
                ctx.rng.range_i64(4, 32) as usize
            } else {
                1
            };
            let mut bytes = vec![0u8; n];
            fake::rand::RngCore::fill_bytes(ctx.rng, &mut bytes);
            Value::Bytes(bytes)
        }
        Base::Uuid => Value::Literal(uuid(ctx)),
        Base::Json { .. } => {
            let mut doc = json(r.json_kind, ctx);
            if let serde_json::Value::Object(map) = &mut doc {
                for key in &r.json_keys {
                    if !map.contains_key(key) {
                        map.insert(key.clone(), serde_json::json!(ctx.rng.range_i64(1, 1000)));
                    }
                }
            }
            Value::Json(Box::new(doc))
        }
        Base::Date => {
            let (lo, hi) = time_window(spec.semantic, ctx.anchor, not_before);
            let (lo, hi) = restrict_micros(r, lo, hi);
            let micros = if ctx.style.realistic {
                ctx.rng.range_i64(lo, hi)
            } else {
                lo.max(hi.min(micros_of(ctx.anchor)))
            };
            Value::Date(date_from_days(micros.div_euclid(MICROS_PER_DAY))?)
        }
        Base::Timestamp | Base::TimestampTz => {
            let (lo, hi) = time_window(spec.semantic, ctx.anchor, not_before);
            let (lo, hi) = restrict_micros(r, lo, hi);
            let micros = if ctx.style.realistic {
                // Whole seconds: what an application usually stores.
                ctx.rng.range_i64(lo / 1_000_000, hi / 1_000_000) * 1_000_000
            } else {
                lo.max(hi.min(micros_of(ctx.anchor)))
            };
            let micros = match r.truncate_micros {
                Some(unit) => micros - micros.rem_euclid(unit),
                None => micros,
            };
            let ts = ts_from_micros(micros)?;
            if spec.ty.base == Base::Timestamp {
                Value::Timestamp(ts.naive_utc())
            } else {
                Value::TimestampTz(ts)
            }
        }
        Base::Time | Base::TimeTz => {
            let secs = if ctx.style.realistic {
                ctx.rng.range_i64(6 * 3600, 22 * 3600) / 60 * 60
            } else {
                0
            };
            if spec.ty.base == Base::Time {
                Value::Time(NaiveTime::from_num_seconds_from_midnight_opt(
                    secs as u32,
                    0,
                )?)
            } else {
                Value::Literal(format!("{:02}:{:02}:00+00", secs / 3600, secs / 60 % 60))
            }
        }
        Base::Interval => {
            if ctx.style.realistic {
                let minutes = ctx.rng.range_i64(5, 60 * 24 * 30);
                Value::Literal(format!(
                    "{} days {:02}:{:02}:00",
                    minutes / 1440,
                    minutes / 60 % 24,
                    minutes % 60
                ))
            } else {
                Value::Literal("00:00:00".into())
            }
        }
        Base::Inet => Value::Literal(ipv4(ctx)),
        Base::Cidr => Value::Literal(format!(
            "10.{}.{}.0/24",
            ctx.rng.below(256),
            ctx.rng.below(256)
        )),
        Base::MacAddr => {
            let b: Vec<String> = (0..6)
                .map(|_| format!("{:02x}", ctx.rng.below(256)))
                .collect();
            Value::Literal(b.join(":"))
        }
        Base::Bit { len, varying } => {
            let n = match (len, varying) {
                (Some(n), false) => *n,
                (Some(n), true) => ctx.rng.range_i64(1, *n as i64) as usize,
                (None, _) => 8,
            };
            Value::Literal(
                (0..n)
                    .map(|_| if ctx.rng.chance(0.5) { '1' } else { '0' })
                    .collect(),
            )
        }
        Base::Xml => Value::Literal(format!(
            "<note>{}</note>",
            Word().fake_with_rng::<String, _>(ctx.rng)
        )),
        Base::TsVector => Value::Literal(
            Words(2..5)
                .fake_with_rng::<Vec<String>, _>(ctx.rng)
                .join(" "),
        ),
        Base::Enum { labels } => {
            let ok: Vec<&String> = labels
                .iter()
                .filter(|l| r.admits(&Value::Text((*l).clone())))
                .collect();
            if ok.is_empty() {
                return None;
            }
            let i = if ctx.style.realistic {
                ctx.rng.index(ok.len())
            } else {
                0
            };
            Value::Text(ok[i].clone())
        }
        Base::Range { .. }
        | Base::MultiRange { .. }
        | Base::Geometric(_)
        | Base::MacAddr8
        | Base::TsQuery
        | Base::Oid
        | Base::PgLsn
        | Base::LTree
        | Base::HStore
        | Base::Vector { .. }
        | Base::Composite { .. } => super::structured::value(&spec.ty.base, ctx)?,
        Base::Unsupported => return None,
    })
}

/// A string matching the column's patterns within its lengths, when the
/// first pattern can be generated from and a few draws give one.
fn from_patterns(
    r: &Restriction,
    min: usize,
    max: Option<usize>,
    ctx: &mut GenCtx<'_>,
) -> Option<String> {
    let first = r.patterns.first()?;
    for _ in 0..16 {
        let text = first.sample(ctx.rng)?;
        let n = text.chars().count();
        if n >= min && max.is_none_or(|m| n <= m) && r.admits(&Value::Text(text.clone())) {
            return Some(text);
        }
    }
    None
}

/// A value for an integer column whose realistic range is used up by a
/// unique key (a plain `bigint primary key` at a million rows): drawn from
/// the positive values its type and checks allow. `None` for other
/// columns, and for checks it would have to follow further (`% k`).
pub(crate) fn wide_int(c: &super::plan::ColPlan, rng: &mut SeedRng) -> Option<Value> {
    let Base::Int(bits) = c.ty.base else {
        return None;
    };
    if c.restriction.multiple_of.is_some() {
        return None;
    }
    let tmax = match bits {
        16 => i16::MAX as i64,
        32 => i32::MAX as i64,
        _ => 1_000_000_000_000,
    };
    let (lo, hi) = intersect(int_bounds(&c.restriction, 1, tmax), (1, tmax));
    let v = Value::Int(rng.range_i64(lo, hi));
    c.restriction.admits(&v).then_some(v)
}

fn intersect(a: (i64, i64), b: (i64, i64)) -> (i64, i64) {
    let lo = a.0.max(b.0);
    let hi = a.1.min(b.1);
    if lo <= hi {
        (lo, hi)
    } else {
        a
    }
}

fn int_bounds(r: &Restriction, tmin: i64, tmax: i64) -> (i64, i64) {
    let mut lo = tmin;
    let mut hi = tmax;
    if let Some((v, inc)) = &r.min {
        if let Some(f) = v.as_f64() {
            let b = if *inc { f.ceil() } else { f.floor() + 1.0 };
            lo = lo.max(b.clamp(tmin as f64, tmax as f64) as i64);
        }
    }
    if let Some((v, inc)) = &r.max {
        if let Some(f) = v.as_f64() {
            let b = if *inc { f.floor() } else { f.ceil() - 1.0 };
            hi = hi.min(b.clamp(tmin as f64, tmax as f64) as i64);
        }
    }
    (lo, hi)
}

fn float_bounds(r: &Restriction) -> (f64, f64) {
    let mut lo = f64::MIN / 4.0;
    let mut hi = f64::MAX / 4.0;
    if let Some((v, inc)) = &r.min {
        if let Some(f) = v.as_f64() {
            lo = if *inc { f } else { f + f.abs().max(1.0) * 1e-6 };
        }
    }
    if let Some((v, inc)) = &r.max {
        if let Some(f) = v.as_f64() {
            hi = if *inc { f } else { f - f.abs().max(1.0) * 1e-6 };
        }
    }
    (lo, hi)
}

/// A decimal with `scale` digits near `x`, kept inside `[lo, hi]`.
fn decimal_in(x: f64, lo: f64, hi: f64, scale: u32) -> Value {
    let step = 10f64.powi(-(scale as i32));
    let mut v = (x / step).round() * step;
    if v < lo {
        v = (lo / step).ceil() * step;
    }
    if v > hi {
        v = (hi / step).floor() * step;
    }
    decimal_from_f64(v, scale)
}

fn semantic_int_range(s: Semantic, anchor: DateTime<Utc>) -> (i64, i64) {
    let year = anchor
        .format("%Y")
        .to_string()
        .parse::<i64>()
        .unwrap_or(2025);
    match s {
        Semantic::Age => (18, 90),
        Semantic::Year => (year - 30, year),
        Semantic::Quantity => (1, 100),
        Semantic::Percent => (0, 100),
        Semantic::Rating => (1, 5),
        Semantic::SortOrder => (0, 1000),
        Semantic::Money => (1, 100_000),
        _ => (0, 10_000),
    }
}

fn semantic_float_range(s: Semantic) -> (f64, f64) {
    match s {
        Semantic::Latitude => (-90.0, 90.0),
        Semantic::Longitude => (-180.0, 180.0),
        Semantic::Percent => (0.0, 100.0),
        Semantic::Rating => (1.0, 5.0),
        Semantic::Money => (1.0, 5_000.0),
        Semantic::Age => (18.0, 90.0),
        Semantic::Quantity => (1.0, 100.0),
        _ => (0.0, 1_000.0),
    }
}

/// The window (microseconds since the epoch) a date or timestamp falls in.
fn time_window(s: Semantic, anchor: DateTime<Utc>, not_before: Option<&Value>) -> (i64, i64) {
    let now = micros_of(anchor);
    let day = MICROS_PER_DAY;
    let after = not_before.and_then(|v| match v {
        Value::TimestampTz(t) => Some(micros_of(*t)),
        Value::Timestamp(t) => Some(micros_of(t.and_utc())),
        Value::Date(d) => Some(days_of(*d) * day),
        _ => None,
    });
    let (lo, hi) = match s {
        Semantic::BirthDate => (now - 80 * 365 * day, now - 18 * 365 * day),
        Semantic::Start => (now - 2 * 365 * day, now + 60 * day),
        Semantic::End => (now - 365 * day, now + 180 * day),
        _ => (now - 2 * 365 * day, now),
    };
    match after {
        // Shortly after the earlier value: updates within weeks, ends within
        // months.
        Some(a) => {
            let span = match s {
                Semantic::End => 180 * day,
                _ => 60 * day,
            };
            let hi2 = (a + span).min(hi.max(a));
            (a, hi2.max(a))
        }
        None => (lo, hi),
    }
}

fn restrict_micros(r: &Restriction, lo: i64, hi: i64) -> (i64, i64) {
    let as_micros = |v: &Value| -> Option<i64> {
        match v {
            Value::TimestampTz(t) => Some(micros_of(*t)),
            Value::Timestamp(t) => Some(micros_of(t.and_utc())),
            Value::Date(d) => Some(days_of(*d) * MICROS_PER_DAY),
            Value::Text(t) => {
                match super::expr::cast(Value::Text(t.clone()), "timestamp with time zone") {
                    super::expr::Eval::V(Value::TimestampTz(ts)) => Some(micros_of(ts)),
                    _ => None,
                }
            }
            _ => None,
        }
    };
    let mut a = lo;
    let mut b = hi;
    if let Some(m) = r
        .min
        .as_ref()
        .and_then(|(v, inc)| as_micros(v).map(|m| if *inc { m } else { m + MICROS_PER_DAY }))
    {
        a = a.max(m);
        if b < a {
            b = a + 30 * MICROS_PER_DAY;
        }
    }
    if let Some(m) = r
        .max
        .as_ref()
        .and_then(|(v, inc)| as_micros(v).map(|m| if *inc { m } else { m - MICROS_PER_DAY }))
    {
        b = b.min(m);
        if a > b {
            a = b - 30 * MICROS_PER_DAY;
        }
    }
    (a, b.max(a))
}

fn uuid(ctx: &mut GenCtx<'_>) -> String {
    let hi = ctx.rng.next();
    let lo = ctx.rng.next();
    // Version 4, RFC 4122 variant.
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

fn ipv4(ctx: &mut GenCtx<'_>) -> String {
    format!(
        "{}.{}.{}.{}",
        ctx.rng.range_i64(1, 223),
        ctx.rng.below(256),
        ctx.rng.below(256),
        ctx.rng.range_i64(1, 254)
    )
}

fn json(kind: Option<JsonKind>, ctx: &mut GenCtx<'_>) -> serde_json::Value {
    use serde_json::json;
    if !ctx.style.realistic {
        return match kind {
            Some(JsonKind::Array) => json!([]),
            Some(JsonKind::String) => json!(""),
            Some(JsonKind::Number) => json!(0),
            Some(JsonKind::Boolean) => json!(false),
            _ => json!({}),
        };
    }
    match kind {
        Some(JsonKind::Array) => {
            let n = ctx.rng.range_i64(0, 4);
            serde_json::Value::Array(
                (0..n)
                    .map(|_| json!(Word().fake_with_rng::<String, _>(ctx.rng)))
                    .collect(),
            )
        }
        Some(JsonKind::String) => json!(Word().fake_with_rng::<String, _>(ctx.rng)),
        Some(JsonKind::Number) => json!(ctx.rng.range_i64(0, 1000)),
        Some(JsonKind::Boolean) => json!(ctx.rng.chance(0.5)),
        Some(JsonKind::Object) | None => {
            let mut map = serde_json::Map::new();
            let keys = [
                "source", "theme", "count", "tags", "enabled", "note", "version", "priority",
            ];
            let n = ctx.rng.range_i64(1, 4) as usize;
            let mut picked: Vec<&str> = keys.to_vec();
            ctx.rng.shuffle(&mut picked);
            picked.truncate(n);
            picked.sort_unstable();
            for k in picked {
                let v = match k {
                    "source" => json!(["web", "ios", "android", "import", "api"][ctx.rng.index(5)]),
                    "theme" => json!(["light", "dark", "system"][ctx.rng.index(3)]),
                    "count" | "priority" | "version" => json!(ctx.rng.range_i64(0, 20)),
                    "tags" => {
                        let words: Vec<String> = Words(1..4).fake_with_rng(ctx.rng);
                        json!(words)
                    }
                    "enabled" => json!(ctx.rng.chance(0.7)),
                    _ => json!(Sentence(3..8).fake_with_rng::<String, _>(ctx.rng)),
                };
                map.insert(k.to_string(), v);
            }
            serde_json::Value::Object(map)
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn realistic_text(s: Semantic, ctx: &mut GenCtx<'_>, max: Option<usize>) -> String {
    let short = max.is_some_and(|m| m < 12);
    match s {
        Semantic::Email => {
            let p = ctx.person();
            let user = format!("{}.{}", ascii_lower(&p.first), ascii_lower(&p.last));
            let domain = ["example.com", "example.org", "example.net"][ctx.rng.index(3)];
            format!("{user}@{domain}")
        }
        Semantic::FirstName => ctx.person().first,
        Semantic::LastName => ctx.person().last,
        Semantic::FullName => {
            let p = ctx.person();
            format!("{} {}", p.first, p.last)
        }
        Semantic::Username => {
            let p = ctx.person();
            if ctx.rng.chance(0.5) {
                format!("{}{}", ascii_lower(&p.first), ctx.rng.range_i64(1, 99))
            } else {
                format!("{}_{}", ascii_lower(&p.first), ascii_lower(&p.last))
            }
        }
        Semantic::Title => {
            let s: String = Sentence(2..6).fake_with_rng(ctx.rng);
            capitalize(s.trim_end_matches('.'))
        }
        Semantic::Sentence => Sentence(4..12).fake_with_rng(ctx.rng),
        Semantic::Paragraph => Paragraph(2..5).fake_with_rng(ctx.rng),
        Semantic::Word => Word().fake_with_rng(ctx.rng),
        Semantic::Words => {
            let w: Vec<String> = Words(1..3).fake_with_rng(ctx.rng);
            capitalize(&w.join(" "))
        }
        Semantic::Url => {
            let w: String = Word().fake_with_rng(ctx.rng);
            let suffix: String = DomainSuffix().fake_with_rng(ctx.rng);
            let path: String = Word().fake_with_rng(ctx.rng);
            format!("https://{w}.{suffix}/{path}")
        }
        Semantic::Domain => {
            let w: String = Word().fake_with_rng(ctx.rng);
            let suffix: String = DomainSuffix().fake_with_rng(ctx.rng);
            format!("{w}.{suffix}")
        }
        Semantic::Phone => PhoneNumber().fake_with_rng(ctx.rng),
        Semantic::City => CityName().fake_with_rng(ctx.rng),
        Semantic::Country => CountryName().fake_with_rng(ctx.rng),
        Semantic::CountryCode => CountryCode().fake_with_rng(ctx.rng),
        Semantic::Street => {
            let n = ctx.rng.range_i64(1, 999);
            let street: String = StreetName().fake_with_rng(ctx.rng);
            format!("{n} {street}")
        }
        Semantic::ZipCode => ZipCode().fake_with_rng(ctx.rng),
        Semantic::State => StateName().fake_with_rng(ctx.rng),
        Semantic::Company => CompanyName().fake_with_rng(ctx.rng),
        Semantic::JobTitle => JobTitle().fake_with_rng(ctx.rng),
        Semantic::Profession => Profession().fake_with_rng(ctx.rng),
        Semantic::Industry => Industry().fake_with_rng(ctx.rng),
        Semantic::CatchPhrase => CatchPhrase().fake_with_rng(ctx.rng),
        Semantic::Buzzword => Buzzword().fake_with_rng(ctx.rng),
        Semantic::Bs => Bs().fake_with_rng(ctx.rng),
        Semantic::CurrencyCode => CurrencyCode().fake_with_rng(ctx.rng),
        Semantic::CurrencyName => CurrencyName().fake_with_rng(ctx.rng),
        Semantic::Color => format!("#{:06x}", ctx.rng.below(0x100_0000)),
        Semantic::Slug => {
            let w: Vec<String> = Words(2..5).fake_with_rng(ctx.rng);
            w.join("-").to_lowercase()
        }
        Semantic::Code => {
            let letters: String = (0..3)
                .map(|_| (b'A' + ctx.rng.below(26) as u8) as char)
                .collect();
            if short {
                letters
            } else {
                format!("{letters}-{:04}", ctx.rng.below(10_000))
            }
        }
        Semantic::Ip => ipv4(ctx),
        Semantic::UserAgent => UserAgent().fake_with_rng(ctx.rng),
        Semantic::Secret => (0..32)
            .map(|_| format!("{:x}", ctx.rng.below(16)))
            .collect(),
        Semantic::Locale => [
            "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP", "nl-NL",
        ][ctx.rng.index(8)]
        .into(),
        Semantic::TimeZone => TimeZone().fake_with_rng(ctx.rng),
        Semantic::FileName => FileName().fake_with_rng(ctx.rng),
        Semantic::FilePath => FilePath().fake_with_rng(ctx.rng),
        Semantic::MimeType => MimeType().fake_with_rng(ctx.rng),
        Semantic::Semver => Semver().fake_with_rng(ctx.rng),
        Semantic::Isbn => Isbn().fake_with_rng(ctx.rng),
        Semantic::LicencePlate => {
            let letters: String = (0..3)
                .map(|_| (b'A' + ctx.rng.below(26) as u8) as char)
                .collect();
            format!("{letters}-{:04}", ctx.rng.below(10_000))
        }
        Semantic::CreditCard => CreditCardNumber().fake_with_rng(ctx.rng),
        Semantic::Uuid => uuid(ctx),
        Semantic::Latitude => format!("{:.5}", Latitude().fake_with_rng::<f64, _>(ctx.rng)),
        Semantic::Longitude => format!("{:.5}", Longitude().fake_with_rng::<f64, _>(ctx.rng)),
        Semantic::Money => format!("{:.2}", ctx.rng.range_i64(100, 100_000) as f64 / 100.0),
        Semantic::Age
        | Semantic::Year
        | Semantic::Quantity
        | Semantic::Percent
        | Semantic::Rating
        | Semantic::SortOrder => ctx.rng.range_i64(1, 100).to_string(),
        Semantic::BirthDate
        | Semantic::Created
        | Semantic::Updated
        | Semantic::Later
        | Semantic::Start
        | Semantic::End => {
            let d = date_from_days(days_of(ctx.anchor.date_naive()) - ctx.rng.range_i64(0, 700))
                .unwrap_or(NaiveDate::MIN);
            d.format("%Y-%m-%d").to_string()
        }
        Semantic::Generic => {
            if short {
                Word().fake_with_rng(ctx.rng)
            } else {
                let w: Vec<String> = Words(2..5).fake_with_rng(ctx.rng);
                capitalize(&w.join(" "))
            }
        }
    }
}

fn ascii_lower(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

/// Cuts or pads a text to `min..=max` characters, without leaving blanks
/// at either end.
pub(crate) fn fit_text(
    mut text: String,
    min: usize,
    max: Option<usize>,
    ctx: &mut GenCtx<'_>,
) -> String {
    if let Some(max) = max {
        if text.chars().count() > max {
            text = text
                .chars()
                .take(max)
                .collect::<String>()
                .trim_end()
                .to_string();
        }
    }
    let max = max.unwrap_or(usize::MAX);
    while text.chars().count() < min {
        let w: String = if ctx.style.realistic {
            Word().fake_with_rng(ctx.rng)
        } else {
            "a".into()
        };
        let sep = if text.is_empty() || !ctx.style.realistic {
            ""
        } else {
            " "
        };
        text = format!("{text}{sep}{w}");
    }
    if text.chars().count() > max {
        text = text.chars().take(max).collect();
        // Padding can end in a blank when cut: replace it.
        if text.ends_with(' ') {
            text.pop();
            text.push('x');
        }
    }
    text
}

/// A boundary value for the column: the ends of ranges, empty and maximal
/// strings, odd characters, empty arrays and objects.
fn boundary(spec: &ValueSpec<'_>, ctx: &mut GenCtx<'_>) -> Option<Value> {
    let r = spec.restriction;
    let pick = ctx.rng.below(4);
    Some(match &spec.ty.base {
        Base::Int(bits) => {
            let (tmin, tmax) = match bits {
                16 => (i16::MIN as i64, i16::MAX as i64),
                32 => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            let (lo, hi) = int_bounds(r, tmin, tmax);
            Value::Int(match pick {
                0 => lo,
                1 => hi,
                2 => 0i64.clamp(lo, hi),
                _ => (-1i64).clamp(lo, hi),
            })
        }
        Base::Numeric { precision, scale } => {
            let scale = scale.unwrap_or(2);
            let int_digits = precision
                .map(|p| p.saturating_sub(scale))
                .unwrap_or(6)
                .min(30);
            let limit = 10f64.powi(int_digits as i32) - 10f64.powi(-(scale as i32));
            let (lo, hi) = float_bounds(r);
            let (lo, hi) = (lo.max(-limit), hi.min(limit));
            let x = match pick {
                0 => lo,
                1 => hi,
                _ => 0f64.clamp(lo, hi),
            };
            decimal_in(x, lo, hi, scale)
        }
        Base::Text { max_chars, .. } => {
            let max = match (max_chars, r.max_len) {
                (Some(a), Some(b)) => Some((*a).min(b)),
                (a, b) => a.or(b),
            };
            let min = r.min_len.unwrap_or(0);
            match pick {
                0 => Value::Text(fit_text(String::new(), min, max, ctx)),
                1 => Value::Text("x".repeat(max.unwrap_or(300).max(min))),
                _ => Value::Text(fit_text(
                    "O'Brien \"q\" \\ ü 🙂 ,{}".to_string(),
                    min,
                    max,
                    ctx,
                )),
            }
        }
        Base::Json { .. } => Value::Json(Box::new(match (r.json_kind, pick) {
            (Some(JsonKind::Array), _) => serde_json::json!([]),
            (Some(JsonKind::Object), _) | (None, 0) => serde_json::json!({}),
            (None, 1) => serde_json::json!({"a": {"b": [1, null, "x\"y"]}}),
            _ => return None,
        })),
        Base::Date => {
            let d = match pick {
                0 => NaiveDate::from_ymd_opt(1970, 1, 1)?,
                1 => NaiveDate::from_ymd_opt(2099, 12, 31)?,
                _ => ctx.anchor.date_naive(),
            };
            Value::Date(d)
        }
        Base::Bytea => Value::Bytes(Vec::new()),
        _ => return None,
    })
}

/// Whether `a` is not after `b` (for ordering related columns).
pub(crate) fn not_after(a: &Value, b: &Value) -> bool {
    order(a, b).is_none_or(|o| o != std::cmp::Ordering::Greater)
}
