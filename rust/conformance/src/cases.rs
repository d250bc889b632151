//! The shared cases (`tests/cases/shutdown.json`): read, with the file's
//! defaults filled in, and checked against the keys the driver knows, so
//! that a key added to the file without a check here fails loudly instead
//! of passing unchecked.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// The file as committed, built into the driver; `--cases` reads another.
pub const SHUTDOWN_JSON: &str = include_str!("../../../tests/cases/shutdown.json");

/// Every expectation key the driver checks (the file's `expectKeys`).
pub const EXPECT_KEYS: [&str; 18] = [
    "lifecycleOk",
    "reason",
    "outcome",
    "handlers",
    "statuses",
    "verdictEndsWith",
    "verdictContains",
    "jsonVerdict",
    "noVerdict",
    "runtimeSignals",
    "runtimeExit",
    "runtimeExitWithinMsOfSigterm",
    "extensionExit",
    "output",
    "outputContains",
    "outputLacks",
    "outputCount",
    "runtimeLogContains",
];

/// A JSON object's members in the order they are written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visit<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, V>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// One handler of `jsonVerdict`, by position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsonHandler {
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub error_contains: Option<String>,
}

/// What a case expects: every key present must hold (`expectKeys`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    pub lifecycle_ok: Option<bool>,
    pub reason: Option<String>,
    pub outcome: Option<String>,
    pub handlers: Option<String>,
    /// Per handler name, in the file's order.
    pub statuses: Option<Ordered<String>>,
    pub verdict_ends_with: Option<String>,
    pub verdict_contains: Option<Vec<String>>,
    pub json_verdict: Option<Vec<JsonHandler>>,
    pub no_verdict: Option<bool>,
    pub runtime_signals: Option<Vec<String>>,
    pub runtime_exit: Option<String>,
    pub runtime_exit_within_ms_of_sigterm: Option<u64>,
    pub extension_exit: Option<String>,
    pub output: Option<Vec<String>>,
    pub output_contains: Option<Vec<String>>,
    pub output_lacks: Option<Vec<String>>,
    pub output_count: Option<Ordered<usize>>,
    pub runtime_log_contains: Option<Vec<String>>,
}

/// One case, with the file's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    pub name: String,
    /// The tests it came from.
    pub from: Vec<String>,
    pub handlers: String,
    pub layer: bool,
    /// Added to the probe's environment (after the driver's own variables).
    pub env: Ordered<String>,
    pub events: Vec<String>,
    pub invocations: u64,
    pub timeout_ms: u64,
    pub runtime_share_ms: u64,
    pub shutdown_ms: u64,
    pub extra_sigterms: u32,
    /// The function's memory size, and with it Lambda's CPU share (128: about
    /// 7 % of a core); `None`: the command line's `--memory-mb`, else unthrottled.
    pub memory_mb: Option<u32>,
    /// The init limit (Lambda's is 10 s); `None`: the command line's
    /// `--init-timeout-ms`, else Lambda's.
    pub init_timeout_ms: Option<u64>,
    pub expect: Expect,
}

impl Case {
    /// What the case needs that only the lifecycle emulator gives (no
    /// layer, extra SIGTERMs, a runtime share, shutdown phase or timeout of
    /// its own, events other than `{}`): under AWS's Runtime Interface
    /// Emulator those are fixed. Empty: the case runs there too.
    pub fn emulator_only(&self) -> Vec<String> {
        let mut knobs = Vec::new();
        if !self.layer {
            knobs.push("no layer".to_owned());
        }
        if self.extra_sigterms != 0 {
            knobs.push(format!("{} extra SIGTERMs", self.extra_sigterms));
        }
        if self.runtime_share_ms != 300 {
            knobs.push(format!("runtimeShareMs {}", self.runtime_share_ms));
        }
        if self.shutdown_ms != 2000 {
            knobs.push(format!("shutdownMs {}", self.shutdown_ms));
        }
        if self.timeout_ms != 3000 {
            knobs.push(format!("timeoutMs {}", self.timeout_ms));
        }
        if !self.events.iter().all(|e| e == "{}") {
            knobs.push("events other than {}".to_owned());
        }
        if let Some(mb) = self.memory_mb {
            knobs.push(format!("memoryMb {mb}"));
        }
        if let Some(ms) = self.init_timeout_ms {
            knobs.push(format!("initTimeoutMs {ms}"));
        }
        knobs
    }

    /// The payload of invocation `i` (0-based): the events cycle.
    pub fn payload(&self, i: u64) -> &str {
        if self.events.is_empty() {
            return "{}";
        }
        &self.events[(i % self.events.len() as u64) as usize]
    }
}

/// What the file says of a case, or as its defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawCase {
    #[serde(rename = "$comment")]
    _comment: Option<String>,
    name: Option<String>,
    #[serde(default)]
    from: Vec<String>,
    handlers: Option<String>,
    layer: Option<bool>,
    env: Option<Ordered<String>>,
    events: Option<Vec<String>>,
    invocations: Option<u64>,
    timeout_ms: Option<u64>,
    runtime_share_ms: Option<u64>,
    shutdown_ms: Option<u64>,
    extra_sigterms: Option<u32>,
    memory_mb: Option<u32>,
    init_timeout_ms: Option<u64>,
    expect: Option<Expect>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFile {
    defaults: RawCase,
    expect_keys: Ordered<serde_json::Value>,
    cases: Vec<RawCase>,
}

/// Reads the cases of `text` (the contents of a `shutdown.json`).
pub fn parse(text: &str) -> anyhow::Result<Vec<Case>> {
    let file: RawFile = serde_json::from_str(text).context("not a cases file")?;
    let known: Vec<&str> = file
        .expect_keys
        .0
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !k.starts_with('$'))
        .collect();
    for key in &known {
        if !EXPECT_KEYS.contains(key) {
            bail!("expectKeys names {key:?}, which the driver does not check: add its check to rust/conformance/src/check.rs");
        }
    }
    for key in EXPECT_KEYS {
        if !known.contains(&key) {
            bail!("expectKeys does not describe {key:?}, which the driver checks");
        }
    }
    let d = &file.defaults;
    let mut cases = Vec::new();
    for raw in file.cases {
        let name = raw.name.clone().context("a case without a name")?;
        let missing = |key: &str| format!("case {name}: no {key} (and no default)");
        let typed = raw.expect.clone().with_context(|| missing("expect"))?;
        if let Some(mb) = raw.memory_mb.or(d.memory_mb) {
            if !(128..=10240).contains(&mb) {
                bail!("case {name}: memoryMb {mb}: Lambda allows 128 to 10240");
            }
        }
        if raw.init_timeout_ms.or(d.init_timeout_ms) == Some(0) {
            bail!("case {name}: initTimeoutMs 0: give the init at least 1 ms");
        }
        cases.push(Case {
            from: raw.from,
            handlers: raw
                .handlers
                .or(d.handlers.clone())
                .with_context(|| missing("handlers"))?,
            layer: raw.layer.or(d.layer).with_context(|| missing("layer"))?,
            env: {
                let mut env = d.env.clone().unwrap_or_default();
                env.0.extend(raw.env.unwrap_or_default().0);
                env
            },
            events: raw
                .events
                .or(d.events.clone())
                .with_context(|| missing("events"))?,
            invocations: raw
                .invocations
                .or(d.invocations)
                .with_context(|| missing("invocations"))?,
            timeout_ms: raw
                .timeout_ms
                .or(d.timeout_ms)
                .with_context(|| missing("timeoutMs"))?,
            runtime_share_ms: raw
                .runtime_share_ms
                .or(d.runtime_share_ms)
                .with_context(|| missing("runtimeShareMs"))?,
            shutdown_ms: raw
                .shutdown_ms
                .or(d.shutdown_ms)
                .with_context(|| missing("shutdownMs"))?,
            extra_sigterms: raw
                .extra_sigterms
                .or(d.extra_sigterms)
                .with_context(|| missing("extraSigterms"))?,
            memory_mb: raw.memory_mb.or(d.memory_mb),
            init_timeout_ms: raw.init_timeout_ms.or(d.init_timeout_ms),
            expect: typed,
            name,
        });
    }
    Ok(cases)
}

/// The cases of the file at `path`, or of the built-in file when `None`.
pub fn load(path: Option<&Path>) -> anyhow::Result<Vec<Case>> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the cases file {}", p.display()))?;
            parse(&text).with_context(|| format!("{}", p.display()))
        }
        None => parse(SHUTDOWN_JSON).context("tests/cases/shutdown.json"),
    }
}

/// The names `wanted` picked out of `cases`, in the order asked; every name must exist.
pub fn select(cases: Vec<Case>, wanted: &[String]) -> anyhow::Result<Vec<Case>> {
    if wanted.is_empty() {
        return Ok(cases);
    }
    let mut by_name: BTreeMap<String, Case> =
        cases.into_iter().map(|c| (c.name.clone(), c)).collect();
    let names: Vec<String> = by_name.keys().cloned().collect();
    wanted
        .iter()
        .map(|w| {
            by_name.remove(w).with_context(|| {
                format!(
                    "--case {w}: no such case (or named twice); the cases are: {}",
                    names.join(", ")
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_file_reads_with_its_defaults_and_order() {
        let cases = load(None).expect("the committed file reads");
        assert!(cases.len() >= 12, "{}", cases.len());
        let first = &cases[0];
        assert_eq!(first.name, "all_handlers_complete");
        assert_eq!(first.invocations, 3);
        assert_eq!(first.timeout_ms, 3000);
        let statuses = first.expect.statuses.clone().expect("statuses");
        assert_eq!(statuses.0[0].0, "flush");
        assert_eq!(statuses.0[1].0, "close-pool");
        let rie: Vec<&str> = cases
            .iter()
            .filter(|c| c.emulator_only().is_empty())
            .map(|c| c.name.as_str())
            .collect();
        assert!(rie.contains(&"all_handlers_complete"), "{rie:?}");
        assert!(!rie.contains(&"a_second_sigterm_does_not_run_the_handlers_twice"));
    }

    #[test]
    fn a_case_at_128_mb_needs_the_emulator_and_a_bad_size_is_refused() {
        let cases = load(None).expect("reads");
        let small = cases
            .iter()
            .find(|c| c.name == "a_quick_handler_completes_at_128_mb")
            .expect("the 128 MB case");
        assert_eq!(small.memory_mb, Some(128));
        assert_eq!(small.init_timeout_ms, Some(60000));
        assert_eq!(
            small.emulator_only(),
            vec!["memoryMb 128".to_owned(), "initTimeoutMs 60000".to_owned()]
        );
        assert!(cases
            .iter()
            .filter(|c| c.name == "all_handlers_complete")
            .all(|c| c.memory_mb.is_none() && c.init_timeout_ms.is_none()));
        let text = SHUTDOWN_JSON.replacen("\"memoryMb\": 128", "\"memoryMb\": 64", 1);
        let e = format!("{:#}", parse(&text).expect_err("refused"));
        assert!(
            e.contains("a_quick_handler_completes_at_128_mb") && e.contains("memoryMb 64"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_expectation_key_is_refused() {
        let text = SHUTDOWN_JSON.replacen("\"lifecycleOk\": true", "\"lifecycleFine\": true", 1);
        let e = format!("{:#}", parse(&text).expect_err("refused"));
        assert!(e.contains("lifecycleFine"), "{e}");
        let text = SHUTDOWN_JSON.replacen(
            "\"expectKeys\": {",
            "\"expectKeys\": {\n    \"newKey\": \"something new\",",
            1,
        );
        let e = format!("{:#}", parse(&text).expect_err("refused"));
        assert!(e.contains("newKey") && e.contains("check.rs"), "{e}");
    }

    #[test]
    fn select_keeps_the_order_asked_and_names_a_missing_case() {
        let cases = load(None).expect("reads");
        let picked = select(
            cases.clone(),
            &[
                "a_handler_panic_is_isolated".into(),
                "all_handlers_complete".into(),
            ],
        )
        .expect("both exist");
        assert_eq!(picked[0].name, "a_handler_panic_is_isolated");
        let e = format!(
            "{:#}",
            select(cases, &["nope".into()]).expect_err("missing")
        );
        assert!(e.starts_with("--case nope: no such case"), "{e}");
    }
}
