//! The results: a list of metrics (JSON) and the one table printed from them.

use anyhow::bail;
use serde::Serialize;

use crate::flavours::HANDOFF;
use crate::stats::Summary;
use crate::targets::{self, Target, JUDGED};

/// The extensions compared, in table order: `(key, column title)`.
pub const SUBJECTS: [(&str, &str); 4] = [
    ("graceful-shutdown", "graceful-shutdown (this layer)"),
    ("lambda-extension", "lambda-extension crate (Rust)"),
    ("restmachine-aws", "restmachine-aws (Python)"),
    ("floor", "floor: register + wait, std only"),
];

/// One measured quantity for one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Stable identifier, the same for every subject (`start_ms`, `peak_rss_kib`, ...).
    pub id: String,
    /// Row title in the table.
    pub label: String,
    /// Which extension (a key of [`SUBJECTS`]), or `graceful-shutdown` for product-only rows.
    pub subject: String,
    pub unit: String,
    #[serde(flatten)]
    pub stats: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Whether the figure the target judges (`target.on`) meets it (absent without a target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

impl Metric {
    pub fn new(id: &str, label: &str, subject: &str, unit: &str, stats: Summary) -> Metric {
        Metric {
            id: id.to_owned(),
            label: label.to_owned(),
            subject: subject.to_owned(),
            unit: unit.to_owned(),
            stats,
            target: None,
            met: None,
        }
    }

    pub fn target(mut self, target: Target) -> Metric {
        let figure = if target.on == "p90" {
            self.stats.p90
        } else {
            self.stats.median
        };
        self.met = Some(target.met_by(figure));
        self.target = Some(target);
        self
    }

    /// The metric with its target from [`targets::TARGETS`], if the table
    /// has one for its id and subject; an error if the table gives the
    /// target in another unit than the metric's.
    pub fn judged(self) -> anyhow::Result<Metric> {
        match targets::of(&self.id, &self.subject) {
            None => Ok(self),
            Some(goal) if goal.unit != self.unit => bail!(
                "target of {}: the table gives it in {}, the metric is in {}",
                self.id,
                goal.unit,
                self.unit
            ),
            Some(goal) => Ok(self.target(goal.limit)),
        }
    }
}

/// Everything one benchmark run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub schema: u32,
    pub date: String,
    pub command: String,
    pub mode: String,
    pub host: Host,
    pub config: serde_json::Value,
    pub metrics: Vec<Metric>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
}

impl Host {
    pub fn detect() -> Host {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, m)| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned();
        Host {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model,
            kernel,
        }
    }
}

fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `median (p10–p90)`, or the value alone when it was measured once.
pub fn cell(m: &Metric) -> String {
    let s = &m.stats;
    let unit = if m.unit == "x" {
        "×".to_owned()
    } else {
        format!(" {}", m.unit)
    };
    if s.n <= 1 || s.p10 == s.p90 {
        format!("{}{unit}", number(s.median))
    } else {
        format!(
            "{}{unit} ({}–{})",
            number(s.median),
            number(s.p10),
            number(s.p90)
        )
    }
}

fn target_text(m: &Metric) -> String {
    match m.target {
        None => String::new(),
        Some(t) => {
            let op = if t.op == "<=" { "≤" } else { "≥" };
            let unit = if m.unit == "x" {
                "×".to_owned()
            } else {
                format!(" {}", m.unit)
            };
            let met = if m.met == Some(true) { "met" } else { "MISSED" };
            let on = if t.on == "p90" { "p90 " } else { "" };
            format!("{on}{op} {}{unit}: {met}", number(t.value))
        }
    }
}

/// The table, in Markdown: one row per metric label, one column per subject,
/// then the target of the row (set on the graceful-shutdown metric) and whether it is met.
pub fn table(metrics: &[Metric]) -> String {
    let metrics: Vec<&Metric> = metrics
        .iter()
        .filter(|m| SUBJECTS.iter().any(|(key, _)| *key == m.subject))
        .collect();
    let mut labels: Vec<&str> = Vec::new();
    for m in &metrics {
        if !labels.contains(&m.label.as_str()) {
            labels.push(&m.label);
        }
    }
    let mut out = String::from("| metric |");
    for (_, title) in SUBJECTS {
        out.push_str(&format!(" {title} |"));
    }
    out.push_str(" target |\n|---|");
    for _ in SUBJECTS {
        out.push_str("---|");
    }
    out.push_str("---|\n");
    for label in labels {
        out.push_str(&format!("| {label} |"));
        let mut target = String::new();
        for (key, _) in SUBJECTS {
            match metrics
                .iter()
                .find(|m| m.label == label && m.subject == key)
            {
                Some(m) => {
                    out.push_str(&format!(" {} |", cell(m)));
                    if m.target.is_some() {
                        target = target_text(m);
                    }
                }
                None => out.push_str(" – |"),
            }
        }
        out.push_str(&format!(" {target} |\n"));
    }
    out
}

/// The flavours' table, in Markdown: every figure measured for the handoff
/// flavour and the default layer alike (sizes, start, memory, the shutdown
/// phase), one row each in the order measured, the two side by side, then
/// the targets of each.
pub fn table_flavours(metrics: &[Metric]) -> String {
    let find =
        |id: &str, subject: &str| metrics.iter().find(|m| m.id == id && m.subject == subject);
    let mut out = String::from(
        "| metric | graceful-shutdown (default layer) | graceful-shutdown, handoff flavour | target |\n\
         |---|---|---|---|\n",
    );
    let mut done: Vec<&str> = Vec::new();
    for handoff in metrics.iter().filter(|m| m.subject == HANDOFF) {
        let Some(default) = find(&handoff.id, JUDGED) else {
            continue;
        };
        if done.contains(&handoff.id.as_str()) {
            continue;
        }
        done.push(&handoff.id);
        let targets: Vec<String> = [("default", default), ("handoff", handoff)]
            .into_iter()
            .filter(|(_, m)| m.target.is_some())
            .map(|(flavour, m)| format!("{flavour} {}", target_text(m)))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            handoff.label,
            cell(default),
            cell(handoff),
            targets.join("; ")
        ));
    }
    out
}

/// The handoff's table, in Markdown: the library's call and what a user
/// writes instead, on the handler's path; the delivery after the runtime.
/// `requests`: how many requests each delivery run hands off.
pub fn table_handoff(metrics: &[Metric], requests: usize) -> String {
    let mut out = String::from("| measurement | figure | target |\n|---|---|---|\n");
    for id in [
        "handoff_call_ms",
        "direct_post_ms",
        "direct_post_in_handler_done_pct",
        "handoff_delivery_ms",
        "handoff_delivered_pct",
    ] {
        let Some(m) = metrics.iter().find(|m| m.id == id) else {
            continue;
        };
        let n = m.stats.n;
        let figure = match id {
            "direct_post_in_handler_done_pct" => {
                let done = (m.stats.median * n as f64 / 100.0).round();
                format!("{done:.0} of {n} runs")
            }
            "handoff_delivered_pct" => {
                let of = n * requests;
                let done = (m.stats.median * of as f64 / 100.0).round();
                format!("{done:.0} of {of}")
            }
            _ if n > 1 => format!(
                "{} {} (p90 {})",
                number(m.stats.median),
                m.unit,
                number(m.stats.p90)
            ),
            _ => cell(m),
        };
        let target = if m.target.is_some() {
            target_text(m)
        } else {
            String::new()
        };
        out.push_str(&format!("| {} | {figure} | {target} |\n", m.label));
    }
    out
}

/// One row of the 128 MB table: a function, by its subject key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row128 {
    pub subject: String,
    pub language: String,
    pub function: String,
}

/// The 128 MB table, in Markdown: one row per function (each library, then
/// its hand-written pattern), the figures of the `m128_*` metrics and the
/// cold start (`import_install_ms`, where a language's bench measures it),
/// then every target of the row and whether it is met.
pub fn table_128(metrics: &[Metric], rows: &[Row128]) -> String {
    let find =
        |id: &str, subject: &str| metrics.iter().find(|m| m.id == id && m.subject == subject);
    let mut out = String::from(
        "| language | function | SIGTERM → first handler | 200 ms handler done within the 300 ms share \
         | init at 128 MB | import + install (cold start, full speed) | target |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let mut targets = Vec::new();
        let mut cells = Vec::new();
        for id in [
            "m128_sigterm_to_handler_ms",
            "m128_completed_pct",
            "m128_init_ms",
            "import_install_ms",
        ] {
            let Some(m) = find(id, &row.subject) else {
                cells.push("–".to_owned());
                continue;
            };
            cells.push(if id == "m128_completed_pct" {
                // n runs; the median is the share of them that completed.
                let done = (m.stats.median * m.stats.n as f64 / 100.0).round();
                format!("{done:.0} of {}", m.stats.n)
            } else if m.stats.n > 1 {
                format!(
                    "{} {} (p90 {})",
                    number(m.stats.median),
                    m.unit,
                    number(m.stats.p90)
                )
            } else {
                cell(m)
            });
            if m.target.is_some() {
                targets.push(target_text(m));
            }
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.language,
            row.function,
            cells.join(" | "),
            targets.join("; ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_column_per_subject_and_marks_targets() {
        let metrics = vec![
            Metric::new(
                "start_ms",
                "start → /event/next",
                "graceful-shutdown",
                "ms",
                Summary::of(&[0.4, 0.5, 0.6]).expect("s"),
            )
            .target(Target::at_most(1.0)),
            Metric::new(
                "start_ms",
                "start → /event/next",
                "restmachine-aws",
                "ms",
                Summary::of(&[150.0, 160.0, 170.0]).expect("s"),
            ),
            Metric::new(
                "zip",
                "layer zip",
                "graceful-shutdown",
                "KiB",
                Summary::single(500.0),
            )
            .target(Target::at_most(400.0)),
        ];
        let t = table(&metrics);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert_eq!(
            lines[2],
            "| start → /event/next | 0.50 ms (0.42–0.58) | – | 160 ms (152–168) | – | ≤ 1.00 ms: met |"
        );
        assert_eq!(
            lines[3],
            "| layer zip | 500 KiB | – | – | – | ≤ 400 KiB: MISSED |"
        );
    }

    #[test]
    fn the_128_mb_table_has_one_row_per_function_and_judges_the_p90() {
        let metrics = vec![
            Metric::new(
                "m128_sigterm_to_handler_ms",
                "SIGTERM → first handler at 128 MB",
                "go",
                "ms",
                Summary::of(&[1.0, 2.0, 3.0, 40.0]).expect("s"),
            )
            .judged()
            .expect("judged"),
            Metric::new(
                "m128_completed_pct",
                "200 ms handler done at 128 MB",
                "go",
                "%",
                Summary {
                    n: 4,
                    ..Summary::single(75.0)
                },
            )
            .judged()
            .expect("judged"),
        ];
        let rows = [
            Row128 {
                subject: "go".into(),
                language: "Go".into(),
                function: "library".into(),
            },
            Row128 {
                subject: "go-handwritten".into(),
                language: "Go".into(),
                function: "by hand".into(),
            },
        ];
        let t = table_128(&metrics, &rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert_eq!(
            lines[2],
            "| Go | library | 2.50 ms (p90 28.9) | 3 of 4 | – | – | p90 ≤ 30.0 ms: met; ≥ 100 %: MISSED |"
        );
        assert_eq!(lines[3], "| Go | by hand | – | – | – | – |  |");
        // The main table leaves them out.
        assert_eq!(table(&metrics).lines().count(), 2);
    }

    #[test]
    fn the_flavours_stand_side_by_side_with_their_targets() {
        let zip = |subject: &str, kib: f64| {
            Metric::new(
                "layer_zip_kib_x86_64",
                "layer zip, x86_64",
                subject,
                "KiB",
                Summary::single(kib),
            )
            .judged()
            .expect("judged")
        };
        let metrics = vec![
            zip(JUDGED, 350.0),
            zip("lambda-extension", 557.0),
            zip(HANDOFF, 1044.0),
            // Measured for one flavour only: not a row of this table.
            Metric::new(
                "handoff_call_ms",
                "call",
                "rust",
                "ms",
                Summary::single(0.5),
            ),
        ];
        let t = table_flavours(&metrics);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert_eq!(
            lines[2],
            "| layer zip, x86_64 | 350 KiB | 1044 KiB | default ≤ 400 KiB: met; handoff ≤ 1024 KiB: MISSED |"
        );
        // The main table leaves the handoff flavour out: its columns are fixed.
        assert!(!table(&metrics).contains("1044"), "{}", table(&metrics));
    }

    #[test]
    fn the_handoff_table_counts_runs_and_requests() {
        let metrics = vec![
            Metric::new(
                "handoff_call_ms",
                "call → return",
                "rust",
                "ms",
                Summary::of(&[0.4, 0.5, 0.9]).expect("s"),
            ),
            Metric::new(
                "direct_post_in_handler_done_pct",
                "direct in the handler",
                "rust",
                "%",
                Summary {
                    n: 3,
                    ..Summary::single(0.0)
                },
            ),
            Metric::new(
                "handoff_delivered_pct",
                "delivered",
                HANDOFF,
                "%",
                Summary {
                    n: 3,
                    ..Summary::single(100.0)
                },
            )
            .judged()
            .expect("judged"),
        ];
        let t = table_handoff(&metrics, 8);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 5, "{t}");
        assert_eq!(lines[2], "| call → return | 0.50 ms (p90 0.82) |  |");
        assert_eq!(lines[3], "| direct in the handler | 0 of 3 runs |  |");
        assert_eq!(lines[4], "| delivered | 24 of 24 | ≥ 100 %: met |");
    }

    #[test]
    fn a_metric_takes_its_target_from_the_table_in_its_unit() {
        let zip = |subject: &str, unit: &str| {
            Metric::new(
                "layer_zip_kib_arm64",
                "layer zip, arm64",
                subject,
                unit,
                Summary::single(300.0),
            )
            .judged()
        };
        let ours = zip("graceful-shutdown", "KiB").expect("judged");
        assert_eq!(ours.target, Some(Target::at_most(400.0)));
        assert_eq!(ours.met, Some(true));
        let theirs = zip("lambda-extension", "KiB").expect("judged");
        assert_eq!((theirs.target, theirs.met), (None, None));
        let e = zip("graceful-shutdown", "MiB").expect_err("wrong unit");
        assert!(e.to_string().contains("layer_zip_kib_arm64"), "{e}");
    }
}
