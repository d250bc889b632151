//! Text as reports carry it: its length once written as a JSON string, and
//! cutting it to a number of those bytes on a character boundary. The caps
//! on names, errors, workers and shutdown reasons are measured this way.

/// What a cut text ends with.
const CUT_MARK: char = '…';

/// Bytes `c` takes inside a JSON string as serde_json writes it: quotes,
/// backslashes and control characters are escaped, the rest is UTF-8.
fn json_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Bytes `text` takes as a JSON string, without the quotes.
pub fn json_string_len(text: &str) -> usize {
    text.chars().map(json_len).sum()
}

/// `text`, or its beginning cut on a character boundary and ending with `…`,
/// so that it takes at most `max` bytes once escaped as a JSON string
/// (without the quotes). Cutting by bytes, not characters: a character is up
/// to 4 bytes in UTF-8 and a control character 6 bytes escaped.
pub fn fit(text: &str, max: usize) -> String {
    if json_string_len(text) <= max {
        return text.to_owned();
    }
    let mark = json_len(CUT_MARK);
    // Too small for the mark: cut without it.
    let room = if max >= mark { max - mark } else { max };
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let n = json_len(c);
        if used + n > room {
            break;
        }
        used += n;
        end = i + c.len_utf8();
    }
    let mut cut = String::with_capacity(end + CUT_MARK.len_utf8());
    cut.push_str(&text[..end]);
    if max >= mark {
        cut.push(CUT_MARK);
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{MAX_ERROR_BYTES, MAX_NAME_BYTES};
    use proptest::prelude::*;

    #[test]
    fn fit_cuts_by_escaped_bytes_on_a_character_boundary() {
        assert_eq!(fit("flush", MAX_NAME_BYTES), "flush");
        let exact = "é".repeat(64);
        assert_eq!(fit(&exact, 128), exact, "128 bytes fit in 128");
        let long = "日本".repeat(1000);
        let cut = fit(&long, MAX_ERROR_BYTES);
        assert!(json_string_len(&cut) <= MAX_ERROR_BYTES, "{}", cut.len());
        assert!(json_string_len(&cut) > MAX_ERROR_BYTES - 6);
        assert!(cut.ends_with('…'));
        assert!(long.starts_with(cut.trim_end_matches('…')));
        // Control characters take 6 bytes escaped (`\u0001`), quotes 2.
        let controls = "\u{1}".repeat(300);
        assert_eq!(json_string_len(&controls), 1800);
        assert!(json_string_len(&fit(&controls, 128)) <= 128);
        assert!(fit(&controls, 128).starts_with('\u{1}'));
        assert_eq!(json_string_len("\"\\\n"), 6);
        assert_eq!(fit("abcdef", 2), "ab");
    }

    proptest! {
        #[test]
        fn json_string_len_is_what_serde_writes(text in any::<String>()) {
            let written = serde_json::to_string(&text).map_or(0, |json| json.len() - 2);
            prop_assert_eq!(json_string_len(&text), written);
        }

        #[test]
        fn fit_stays_within_its_bound(text in any::<String>(), max in 0usize..64) {
            let cut = fit(&text, max);
            prop_assert!(json_string_len(&cut) <= max);
            prop_assert!(text.starts_with(cut.trim_end_matches('…')) || cut == text);
        }
    }
}
