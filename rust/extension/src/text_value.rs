//! Values in text log lines (`key=value`): the verdict's names and reason,
//! and every string field of the extension's other log lines.

use std::borrow::Cow;

/// A value in a text log line: as is when it is one plain word; otherwise
/// a JSON string (in quotes, with quotes, backslashes and control characters
/// escaped), so that a line of `key=value` pairs stays one line and parses
/// back, whatever the value holds.
pub fn text_value(value: &str) -> Cow<'_, str> {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '=' | '\\'));
    if plain {
        Cow::Borrowed(value)
    } else {
        // Serializing a string cannot fail.
        Cow::Owned(serde_json::to_string(value).unwrap_or_else(|_| String::from("\"\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_and_the_rest_is_a_json_string() {
        assert_eq!(text_value("flush"), "flush");
        assert_eq!(text_value("é-ü_1.2"), "é-ü_1.2");
        for (odd, written) in [
            ("", r#""""#),
            ("a b", r#""a b""#),
            ("a=b", r#""a=b""#),
            ("say \"hi\"", r#""say \"hi\"""#),
            ("two\nlines", r#""two\nlines""#),
            ("back\\slash", r#""back\\slash""#),
            ("tab\t", r#""tab\t""#),
        ] {
            assert_eq!(text_value(odd), written, "{odd:?}");
            assert_eq!(
                serde_json::from_str::<String>(&text_value(odd))
                    .ok()
                    .as_deref(),
                Some(odd)
            );
        }
    }
}
