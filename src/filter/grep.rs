//! `--match TEXT`: a case-insensitive search of each event's JSON text, as logged (README,
//! "Filters on any field").

use regex::{Regex, RegexBuilder};

/// `--match`: a text searched for in each event's JSON text, in any letter case (Unicode's
/// simple case folding, as `regex`'s `(?i)` does).
#[derive(Debug, Clone)]
pub struct Grep {
    pub text: String,
    re: Regex,
    /// For a text of ASCII only: a search that ignores ASCII case, vectorised (several times
    /// the regex's speed), for the text's last (up to) eight bytes, each find then checked
    /// against the whole text. The tail, not the head: a key's `AKIA` or an ARN's `arn:aws:` is in
    /// every event, and a search whose first bytes match everywhere is slow. The only non-ASCII
    /// letters that fold to ASCII ones are the Kelvin sign (k) and the long s (s): `foldable`
    /// says the text has a k or an s, and then a text holding their first bytes is asked of the
    /// regex too.
    ascii: Option<aho_corasick::AhoCorasick>,
    foldable: bool,
}

impl Grep {
    pub fn is_match(&self, raw: &str) -> bool {
        self.is_match_bytes(raw.as_bytes())
    }

    /// `is_match` over bytes, which need not be checked as UTF-8 first when the text is ASCII;
    /// bytes that are not UTF-8 where the regex must look are taken to match (the caller only
    /// skips what cannot).
    pub fn is_match_bytes(&self, hay: &[u8]) -> bool {
        let regex = || simdutf8::basic::from_utf8(hay).map_or(true, |t| self.re.is_match(t));
        match &self.ascii {
            Some(ac) => {
                let want = self.text.as_bytes();
                ac.find_overlapping_iter(hay).any(|m| {
                    m.end()
                        .checked_sub(want.len())
                        .is_some_and(|start| hay[start..m.end()].eq_ignore_ascii_case(want))
                }) || (self.foldable && memchr::memchr2(0xE2, 0xC5, hay).is_some() && regex())
            }
            None => regex(),
        }
    }
}

/// Reads `--match` (clap's value parser): the text, searched for case-insensitively.
pub fn parse_match(text: &str) -> Result<Grep, String> {
    if text.is_empty() {
        return Err("an empty text matches every event".into());
    }
    let re = RegexBuilder::new(&regex::escape(text))
        .case_insensitive(true)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| format!("'{text}' cannot be searched for: {e}"))?;
    // Only an ASCII text is cut at a byte offset: every byte of it is a character.
    let ascii = text
        .is_ascii()
        .then(|| {
            let tail = &text.as_bytes()[text.len().saturating_sub(8)..];
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([tail])
                .ok()
        })
        .flatten();
    Ok(Grep {
        text: text.to_string(),
        re,
        ascii,
        foldable: text.bytes().any(|b| matches!(b, b'k' | b'K' | b's' | b'S')),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_search_finds_what_the_unicode_regex_finds() {
        let texts = [
            "akia",
            "AKIA",
            "aKiA",
            "a\u{212A}ia",
            "\u{17F}ecret",
            "SECRET",
            "secreT",
            "été",
            "ÉTÉ",
            "x\u{212A}\u{17F}y",
            "straße",
            "STRASSE",
            "",
            "k",
            "\u{212A}",
        ];
        for needle in ["akia", "secret", "ks", "été", "Straße", "x", "K"] {
            let g = parse_match(needle).unwrap();
            let re = RegexBuilder::new(&regex::escape(needle))
                .case_insensitive(true)
                .build()
                .unwrap();
            for t in texts {
                let hay = format!("{{\"a\":\"{t}\"}}");
                assert_eq!(g.is_match(&hay), re.is_match(&hay), "{needle} in {t}");
            }
        }
        assert!(
            parse_match("akia")
                .unwrap()
                .is_match("{\"k\":\"A\u{212A}IA\"}")
        );
    }

    #[test]
    fn long_texts_are_found_by_their_tail_then_checked_whole() {
        let needle = "AKIAIOSFODNN7EXAMPLE";
        let g = parse_match(needle).unwrap();
        let re = RegexBuilder::new(needle)
            .case_insensitive(true)
            .build()
            .unwrap();
        for hay in [
            "xxAKIAIOSFODNN7EXAMPLEyy",
            "akiaiosfodnn7example",
            "AKIAOTHERKEY07EXAMPLE",
            "7EXAMPLE7EXAMPLE",
            "AKIAIOSFODNN7EXAMPL",
            "AKIAIOSFODNN7EXAMPLE7EXAMPLE",
            "A\u{212A}IAIOSFODNN7EXAMPLE",
            "A\u{212A}IAIO\u{17F}FODNN7EXAMPLE",
            "AKIA\u{e9}IOSFODNN7EXAMPLE",
        ] {
            assert_eq!(g.is_match(hay), re.is_match(hay), "{hay}");
        }
        assert!(g.is_match("xAKIAIOSFODNN7EXAMPLE"));
        // Texts that are not ASCII, of every length (none is cut inside a character).
        for n in 0..12 {
            let needle = format!("{}a{}", "é".repeat(n), "ß".repeat(n % 3));
            let g = parse_match(&needle).unwrap();
            let hay = format!("x{}y", needle.to_uppercase());
            let re = RegexBuilder::new(&regex::escape(&needle))
                .case_insensitive(true)
                .build()
                .unwrap();
            assert_eq!(g.is_match(&hay), re.is_match(&hay), "{needle}");
        }
        assert!(
            parse_match("aaaaaaaaab").unwrap().is_match("aaaaaaaaaaab"),
            "overlapping tails"
        );
    }
}
