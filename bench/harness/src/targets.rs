//! Every target of the benchmark, in one table: the figure it judges, its
//! limit, its unit and why it is what it is. The phases attach a target to a
//! metric from here ([`crate::report::Metric::judged`]), the report prints it
//! in the table's last column, and the JSON records it with whether the
//! median meets it.

use serde::Serialize;

/// Targets judge this subject's figures only: the other columns are there
/// to compare with.
pub const JUDGED: &str = "graceful-shutdown";

/// A limit on one figure of a series, the median unless said: `figure <= value`
/// or `figure >= value`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Target {
    pub op: &'static str,
    pub value: f64,
    /// Which figure it judges: `median` or `p90`.
    pub on: &'static str,
}

impl Target {
    pub const fn at_most(value: f64) -> Target {
        Target {
            op: "<=",
            value,
            on: "median",
        }
    }
    pub const fn at_least(value: f64) -> Target {
        Target {
            op: ">=",
            value,
            on: "median",
        }
    }
    /// The same limit on the p90 of the series.
    pub const fn on_p90(self) -> Target {
        Target { on: "p90", ..self }
    }
    /// Whether `figure` (the one named by `on`) meets it.
    pub fn met_by(&self, figure: f64) -> bool {
        match self.op {
            "<=" => figure <= self.value,
            _ => figure >= self.value,
        }
    }
}

/// The handoff flavour of the shutdown layer, judged on its own targets.
pub const HANDOFF_FLAVOUR: &[&str] = &[crate::flavours::HANDOFF];

/// The libraries judged at 128 MB (the hand-written patterns beside them are not).
pub const LIBRARIES: [&str; 5] = ["rust", "python", "nodejs", "java", "go"];

/// One row of [`TARGETS`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goal {
    /// The metric id it judges.
    pub id: &'static str,
    /// The subjects whose figures it judges.
    pub subjects: &'static [&'static str],
    pub limit: Target,
    /// The unit of `limit`, which must be the metric's.
    pub unit: &'static str,
    pub why: &'static str,
}

const ZIP_WHY: &str = "a layer is downloaded and unpacked into /opt on every cold start, and \
    counts against the function's 250 MB unzipped size; per architecture";

const HANDOFF_ZIP_WHY: &str = "the handoff flavour carries TLS (rustls with ring, the Mozilla \
    roots) and SigV4 signing, which the default layer leaves out; 1 MiB keeps it a small \
    download on every cold start of the functions that pick it; per architecture";

/// The targets, in the order the figures are measured.
pub const TARGETS: [Goal; 17] = [
    Goal {
        subjects: &[JUDGED],
        id: "layer_zip_kib_x86_64",
        limit: Target::at_most(400.0),
        unit: "KiB",
        why: ZIP_WHY,
    },
    Goal {
        subjects: &[JUDGED],
        id: "layer_zip_kib_arm64",
        limit: Target::at_most(400.0),
        unit: "KiB",
        why: ZIP_WHY,
    },
    Goal {
        subjects: &[JUDGED],
        id: "start_ms",
        limit: Target::at_most(1.0),
        unit: "ms",
        why: "Lambda's init phase waits for every extension's first /event/next, so the \
            layer's start is added to every cold start",
    },
    Goal {
        subjects: HANDOFF_FLAVOUR,
        id: "layer_zip_kib_x86_64",
        limit: Target::at_most(1024.0),
        unit: "KiB",
        why: HANDOFF_ZIP_WHY,
    },
    Goal {
        subjects: HANDOFF_FLAVOUR,
        id: "layer_zip_kib_arm64",
        limit: Target::at_most(1024.0),
        unit: "KiB",
        why: HANDOFF_ZIP_WHY,
    },
    Goal {
        subjects: HANDOFF_FLAVOUR,
        id: "start_vs_floor",
        limit: Target::at_most(1.2),
        unit: "x",
        why: "the handoff flavour sets up TLS and signing at its first handoff, not at start, \
            so it must start as the default layer does: within 1.2x of an extension that only \
            registers and waits, started in the same round",
    },
    Goal {
        subjects: &[JUDGED],
        id: "start_speedup_vs_restmachine",
        limit: Target::at_least(30.0),
        unit: "x",
        why: "restmachine-aws is what a Python team would add instead; a layer that starts \
            no faster than an interpreter importing its framework would not be worth a switch",
    },
    Goal {
        subjects: &[JUDGED],
        id: "peak_rss_mib",
        limit: Target::at_most(2.0),
        unit: "MiB",
        why: "the extension lives in the function's memory, which the user pays for and \
            the function needs (128 MiB is the smallest setting)",
    },
    Goal {
        subjects: &[JUDGED],
        id: "sigterm_to_handler_ms",
        limit: Target::at_most(1.0),
        unit: "ms",
        why: "the handlers get only the runtime's share of the shutdown phase \
            (shutdown.runtimeShareMs, 300 ms) before Lambda's SIGKILL",
    },
    Goal {
        subjects: &[JUDGED],
        id: "shutdown_to_verdict_ms",
        limit: Target::at_most(5.0),
        unit: "ms",
        why: "the verdict must be logged long before deadlineMs, whatever the handlers took",
    },
    Goal {
        subjects: &[JUDGED],
        id: "invoke_ratio",
        limit: Target::at_most(1.01),
        unit: "x",
        why: "the layer subscribes to SHUTDOWN only, so an invocation must cost the same \
            with it attached: at most 1 % of noise",
    },
    Goal {
        subjects: &[JUDGED],
        id: "synth_warm_s",
        limit: Target::at_most(5.0),
        unit: "s",
        why: "a warm `cdk synth` with no Rust change runs on every deploy and diff; \
            the layer's bundling must not make the user wait",
    },
    Goal {
        subjects: &[JUDGED],
        id: "synth_fresh_app_s",
        limit: Target::at_most(3.0),
        unit: "s",
        why: "with the prebuilt layers, synthesizing a user's app is only the CDK's own \
            work: the construct library must add no build to it",
    },
    Goal {
        subjects: HANDOFF_FLAVOUR,
        id: "handoff_delivered_pct",
        limit: Target::at_least(100.0),
        unit: "%",
        why: "the endpoint answers in 100 ms and the extension has the rest of the 2,000 ms \
            phase: every request handed off must be delivered, none dead-lettered",
    },
    Goal {
        subjects: &LIBRARIES,
        id: "m128_sigterm_to_handler_ms",
        limit: Target::at_most(30.0).on_p90(),
        unit: "ms",
        why: "at 128 MB the runtime has about 7 % of a core (a 21 ms share of CPU in its \
            300 ms): the first handler must start in the first of those 100 ms periods, \
            nine runs in ten, to leave the handlers their time",
    },
    Goal {
        subjects: &LIBRARIES,
        id: "m128_completed_pct",
        limit: Target::at_least(100.0),
        unit: "%",
        why: "a 200 ms handler fits in the runtime's 300 ms share at 128 MB, so a library \
            that gets its handler going in time completes it in every run",
    },
    Goal {
        subjects: &["python", "nodejs"],
        id: "import_install_ms",
        limit: Target::at_most(3.0),
        unit: "ms",
        why: "importing the library and installing it runs in every cold start, where \
            a small function's init is billed and its first request waits",
    },
];

/// The target of metric `id` measured for `subject`, if it has one.
pub fn of(id: &str, subject: &str) -> Option<&'static Goal> {
    TARGETS
        .iter()
        .find(|g| g.id == id && g.subjects.contains(&subject))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_compare_the_median() {
        assert!(Target::at_most(1.0).met_by(1.0));
        assert!(!Target::at_most(1.0).met_by(1.01));
        assert!(Target::at_least(30.0).met_by(31.0));
        assert!(!Target::at_least(30.0).met_by(29.0));
    }

    #[test]
    fn one_row_per_figure_with_a_unit_and_a_reason() {
        for (i, g) in TARGETS.iter().enumerate() {
            assert!(
                TARGETS[..i].iter().all(|other| other.id != g.id
                    || other.subjects.iter().all(|s| !g.subjects.contains(s))),
                "{} twice for one subject",
                g.id
            );
            assert!(!g.unit.is_empty() && !g.why.is_empty(), "{}", g.id);
            assert!(g.limit.value.is_finite() && g.limit.value > 0.0, "{}", g.id);
        }
    }

    #[test]
    fn each_unit_is_the_one_its_id_names() {
        for g in TARGETS {
            let named = if g.id.ends_with("_ms") {
                "ms"
            } else if g.id.ends_with("_s") {
                "s"
            } else if g.id.contains("_kib") {
                "KiB"
            } else if g.id.ends_with("_mib") {
                "MiB"
            } else if g.id.ends_with("_pct") {
                "%"
            } else {
                "x"
            };
            assert_eq!(g.unit, named, "{}", g.id);
        }
    }

    #[test]
    fn only_the_judged_subject_has_targets() {
        assert_eq!(
            of("start_ms", JUDGED).map(|g| g.limit),
            Some(Target::at_most(1.0))
        );
        assert_eq!(of("start_ms", "lambda-extension"), None);
        assert_eq!(of("start_to_register_ms", JUDGED), None);
        // At 128 MB the libraries are judged, on the p90, and not the hand-written patterns.
        let first = of("m128_sigterm_to_handler_ms", "java").map(|g| g.limit);
        assert_eq!(first, Some(Target::at_most(30.0).on_p90()));
        assert_eq!(of("m128_sigterm_to_handler_ms", "java-handwritten"), None);
        assert_eq!(of("m128_sigterm_to_handler_ms", JUDGED), None);
        assert!(of("import_install_ms", "python").is_some());
        // Each flavour of the layer has its own zip target.
        let zip = |subject| of("layer_zip_kib_x86_64", subject).map(|g| g.limit);
        assert_eq!(zip(JUDGED), Some(Target::at_most(400.0)));
        assert_eq!(zip(crate::flavours::HANDOFF), Some(Target::at_most(1024.0)));
        assert_eq!(of("start_vs_floor", JUDGED), None);
        assert_eq!(of("import_install_ms", "go"), None);
    }
}
