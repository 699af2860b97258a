//! The bench's output: one [`Row`] per measured target, printed as a table
//! and written as `target/bench.json`.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// What a figure measures, which decides how it prints and which way is
/// better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Seconds of wall time (printed as ms or s); lower is better.
    Seconds,
    /// Rows per second; higher is better.
    RowsPerSec,
    /// Cases per second; higher is better.
    CasesPerSec,
    /// Race schedules per second; higher is better.
    SchedulesPerSec,
    /// Peak resident memory in MiB; lower is better.
    MiB,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Unit::Seconds if value < 0.01 => format!("{:.2} ms", value * 1e3),
            Unit::Seconds if value < 10.0 => format!("{:.1} ms", value * 1e3),
            Unit::Seconds => format!("{value:.2} s"),
            Unit::RowsPerSec => format!("{} rows/s", thousands(value)),
            Unit::CasesPerSec => format!("{} cases/s", thousands(value)),
            Unit::SchedulesPerSec => format!("{} schedules/s", thousands(value)),
            Unit::MiB => format!("{value:.1} MiB"),
        }
    }
}

pub fn thousands(value: f64) -> String {
    let n = value.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A set of measurements: median, min, max and 95th percentile of `n`
/// samples.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub unit: Unit,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// The 95th percentile (nearest rank: the smallest sample that at
    /// least 95% of the samples do not exceed).
    pub p95: f64,
    pub n: usize,
    pub samples: Vec<f64>,
}

/// Whose peak RSS most rows report: the program they run.
pub const PGHARNESS: &str = "the pgharness process";

/// The runs' peak RSS (MiB) of `of`, for a row's notes.
pub fn peak_rss(of: &str, mib: Vec<f64>) -> String {
    let figure = Figure::of(Unit::MiB, mib);
    format!(
        "peak RSS of {of}: {}",
        figure.as_ref().map_or("—".into(), Figure::display)
    )
}

impl Figure {
    /// The figure of `samples` (at least one).
    pub fn of(unit: Unit, samples: Vec<f64>) -> Option<Figure> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        let rank = (n * 95).div_ceil(100).max(1);
        Some(Figure {
            unit,
            median,
            min: sorted[0],
            max: sorted[n - 1],
            p95: sorted[rank - 1],
            n,
            samples,
        })
    }

    /// The figure of durations.
    pub fn of_durations(samples: &[Duration]) -> Option<Figure> {
        Self::of(
            Unit::Seconds,
            samples.iter().map(Duration::as_secs_f64).collect(),
        )
    }

    /// A value in this figure's unit: `1.23 ms`, `4,500 rows/s`.
    pub fn format(&self, value: f64) -> String {
        self.unit.format(value)
    }

    /// `12.3 ms (11.9–14.0, n=15)`: min and max in the median's scale.
    pub fn display(&self) -> String {
        if self.n == 1 {
            return format!("{} (n=1)", self.unit.format(self.median));
        }
        let (value, suffix): (Box<dyn Fn(f64) -> String>, &str) = match self.unit {
            Unit::Seconds if self.median < 0.01 => (Box::new(|v| format!("{:.2}", v * 1e3)), "ms"),
            Unit::Seconds if self.median < 10.0 => (Box::new(|v| format!("{:.1}", v * 1e3)), "ms"),
            Unit::Seconds => (Box::new(|v| format!("{v:.2}")), "s"),
            Unit::RowsPerSec => (Box::new(thousands), "rows/s"),
            Unit::CasesPerSec => (Box::new(thousands), "cases/s"),
            Unit::SchedulesPerSec => (Box::new(thousands), "schedules/s"),
            Unit::MiB => (Box::new(|v| format!("{v:.1}")), "MiB"),
        };
        format!(
            "{} {suffix} ({}–{}, n={})",
            value(self.median),
            value(self.min),
            value(self.max),
            self.n
        )
    }
}

/// The verdict on a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The target is met.
    Met,
    /// The target is missed.
    Missed,
    /// No target: the figure is for information.
    Info,
    /// The feature under measurement is not available yet.
    Pending,
    /// The measurement failed.
    Error,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::Info => "info",
            Verdict::Pending => "pending",
            Verdict::Error => "ERROR",
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `1`, `2a`, ...
    pub id: String,
    /// What is measured.
    pub metric: String,
    /// pgharness' figure; `None` when pending or failed.
    pub pgharness: Option<Figure>,
    /// What the baseline is (the alternative a user would otherwise use).
    pub baseline_name: String,
    /// The baseline's figure, measured in the same run.
    pub baseline: Option<Figure>,
    /// pgharness median / baseline median.
    pub ratio: Option<f64>,
    /// The target (from DESIGN.md unless said otherwise).
    pub target: String,
    pub verdict: Verdict,
    /// Why the verdict is pending or an error; how the figure was taken.
    pub notes: Vec<String>,
    /// Breakdowns and raw details.
    pub details: serde_json::Value,
}

impl Row {
    /// A row with its metric and target; figures filled in by the caller.
    pub fn new(id: &str, metric: &str, baseline_name: &str, target: &str) -> Row {
        Row {
            id: id.to_string(),
            metric: metric.to_string(),
            pgharness: None,
            baseline_name: baseline_name.to_string(),
            baseline: None,
            ratio: None,
            target: target.to_string(),
            verdict: Verdict::Info,
            notes: Vec::new(),
            details: serde_json::Value::Null,
        }
    }

    /// Sets both figures and the ratio of their medians.
    pub fn figures(&mut self, pgharness: Option<Figure>, baseline: Option<Figure>) {
        self.ratio = match (&pgharness, &baseline) {
            (Some(a), Some(b)) if b.median > 0.0 => Some(a.median / b.median),
            _ => None,
        };
        self.pgharness = pgharness;
        self.baseline = baseline;
    }

    /// Met when `ok`, missed otherwise.
    pub fn judge(&mut self, ok: bool) {
        self.verdict = if ok { Verdict::Met } else { Verdict::Missed };
    }

    /// Marks the row failed, with the reason.
    pub fn error(&mut self, message: impl Into<String>) {
        self.verdict = Verdict::Error;
        self.notes.push(message.into());
    }

    /// Marks the row pending, with the reason.
    pub fn pending(&mut self, message: impl Into<String>) {
        self.verdict = Verdict::Pending;
        self.notes.insert(0, format!("pending: {}", message.into()));
    }

    pub fn note(&mut self, message: impl Into<String>) {
        self.notes.push(message.into());
    }
}

/// Where and how the bench ran.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub postgres: String,
    pub backend: String,
    pub kernel: String,
    pub cpu: String,
    pub quick: bool,
}

/// The whole run, as written to `target/bench.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub machine: Machine,
    pub rows: Vec<Row>,
    pub seconds: f64,
}

impl Run {
    /// The table as Markdown, notes below it.
    pub fn to_markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pgharness bench{}: {} cores ({}), PostgreSQL {}, backend {}, {}; {:.0} s\n",
            if m.quick { " --quick" } else { "" },
            m.cores,
            m.cpu,
            m.postgres,
            m.backend,
            m.kernel,
            self.seconds
        );
        let _ = writeln!(
            out,
            "| # | metric | pgharness (median (min–max, n)) | baseline | baseline (median (min–max, n)) | ratio | target | verdict |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for r in &self.rows {
            let figure = |f: &Option<Figure>| f.as_ref().map_or("—".to_string(), Figure::display);
            let pg = match (&r.pgharness, r.verdict) {
                (None, Verdict::Pending) => {
                    r.notes.first().cloned().unwrap_or_else(|| "pending".into())
                }
                (f, _) => figure(f),
            };
            let ratio = r.ratio.map_or("—".to_string(), |x| format!("{x:.2}x"));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.id,
                r.metric,
                pg,
                r.baseline_name,
                figure(&r.baseline),
                ratio,
                r.target,
                r.verdict.label()
            );
        }
        let notes: Vec<String> = self
            .rows
            .iter()
            .flat_map(|r| {
                let skip = usize::from(r.verdict == Verdict::Pending && r.pgharness.is_none());
                r.notes
                    .iter()
                    .skip(skip)
                    .map(move |n| format!("- {}: {n}", r.id))
            })
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(out, "\nNotes:");
            for n in notes {
                let _ = writeln!(out, "{n}");
            }
        }
        out
    }
}
