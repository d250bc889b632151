//! The verdict lines the extension writes (`spec/vectors/verdicts.json`,
//! written by `rust/extension/src/verdict/mod.rs`) read back by this crate's
//! one parser: the text line gives what it carries, the JSON line the whole
//! verdict. A change to either side that the other does not follow fails here.

use graceful_shutdown_protocol::verdict::{is_verdict_line, parse, Form, Verdict};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/vectors/verdicts.json"
    );
    let text = std::fs::read_to_string(path).expect("spec/vectors/verdicts.json");
    let value: Value = serde_json::from_str(&text).expect("verdicts.json is JSON");
    value["cases"].as_array().expect("cases").clone()
}

#[test]
fn every_written_verdict_line_parses_to_the_verdict_it_carries() {
    let cases = vectors();
    assert!(cases.len() >= 5, "the vectors cover the outcomes");
    let mut outcomes = std::collections::BTreeSet::new();
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let verdict: Verdict = serde_json::from_value(case["verdict"].clone()).expect(name);
        let text_verdict: Verdict =
            serde_json::from_value(case["textVerdict"].clone()).expect(name);
        outcomes.insert(verdict.outcome.as_str());

        let text = case["text"].as_str().expect("text");
        assert!(is_verdict_line(text), "{name}: {text}");
        let t = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.form, Form::Text, "{name}");
        assert_eq!(t.verdict, text_verdict, "{name}: {text}");

        let json = case["json"].as_str().expect("json");
        assert!(is_verdict_line(json), "{name}: {json}");
        let j = parse(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(j.form, Form::Json, "{name}");
        assert_eq!(j.verdict, verdict, "{name}: {json}");
        assert_eq!(j.summary, t.summary, "{name}: one summary in both forms");
    }
    assert_eq!(
        outcomes.into_iter().collect::<Vec<_>>(),
        [
            "completed",
            "handlers_failed",
            "no_report",
            "runtime_killed"
        ],
        "every outcome has a vector"
    );
}
