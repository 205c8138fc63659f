//! The one escaping of input text for a terminal. Table cells and every message on stderr go
//! through it, so that text from the logs, file names and S3 keys can neither send commands to
//! the terminal (ESC, CSI, OSC 52 clipboard writes, BEL) nor hide or reorder what is shown
//! (bidirectional controls, zero-width and tag characters).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is written as an escape rather than raw.
pub fn is_unsafe(c: char) -> bool {
    // C0 controls, DEL and C1 controls.
    c.is_control()
        || matches!(
            c,
            // Arabic letter mark: reorders text like the bidi marks below.
            '\u{061c}'
            // Zero-width space, non-joiner and joiner; left-to-right and right-to-left marks.
            | '\u{200b}'..='\u{200f}'
            // Line and paragraph separators: a line break to some terminals.
            | '\u{2028}' | '\u{2029}'
            // Bidi embeddings and overrides.
            | '\u{202a}'..='\u{202e}'
            // Word joiner and the invisible operators.
            | '\u{2060}'..='\u{2064}'
            // Bidi isolates and the deprecated format characters after them.
            | '\u{2066}'..='\u{206f}'
            // Zero-width no-break space (byte order mark).
            | '\u{feff}'
            // Tag characters: invisible, and able to carry a hidden text.
            | '\u{e0000}'..='\u{e007f}'
        )
}

/// Write `c`, escaped when it is unsafe: `\n`, `\r`, `\t`, `\x1b` (below 0x80) or `\u{202e}`.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if is_unsafe(c) && (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `\x1b`, `\r`, `\n`, `\t`, `\u{9b}`, `\u{202e}` … instead of the raw character.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// `s` escaped as `escape_control` does and cut to at most `max` display columns (at least 1):
/// text that is wider ends with `…` within those columns, and an escape is never cut in two.
/// Only what is shown is read, so the work is bounded by `max` however long `s` is.
pub fn escape_truncated(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut width = 0;
    // The length of `out` at the last point that leaves a column for `…`.
    let mut fits = 0;
    for c in s.chars() {
        let start = out.len();
        push_escaped(&mut out, c);
        let w = if is_unsafe(c) {
            out.len() - start
        } else {
            char_width(c)
        };
        if width + w > max {
            out.truncate(fits);
            out.push('…');
            return out;
        }
        width += w;
        if width < max {
            fits = out.len();
        }
    }
    out
}

/// The columns a terminal gives a printable character: 0 for combining marks and variation
/// selectors, 2 for East Asian wide and fullwidth characters and most emoji, else 1. A close
/// approximation of Unicode's East Asian Width, enough to cut a cell near its limit.
pub fn char_width(c: char) -> usize {
    match c as u32 {
        0x0300..=0x036f
        | 0x0483..=0x0489
        | 0x0591..=0x05bd
        | 0x0610..=0x061a
        | 0x064b..=0x065f
        | 0x1ab0..=0x1aff
        | 0x1dc0..=0x1dff
        | 0x20d0..=0x20ff
        | 0xfe00..=0xfe0f
        | 0xfe20..=0xfe2f
        | 0xe0100..=0xe01ef => 0,
        0x1100..=0x115f
        | 0x231a..=0x231b
        | 0x2329..=0x232a
        | 0x23e9..=0x23ec
        | 0x2614..=0x2615
        | 0x2e80..=0x303e
        | 0x3041..=0x33ff
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf
        | 0xa960..=0xa97f
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f
        | 0x1f900..=0x1f9ff
        | 0x20000..=0x2fffd
        | 0x30000..=0x3fffd => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            escape_control("curl/8.0 é 日本"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn c0_c1_and_del_are_escaped() {
        assert_eq!(
            escape_control("a\u{1b}[31mred\r\nb\u{7}\u{9b}c\td\u{7f}\u{0}"),
            "a\\x1b[31mred\\r\\nb\\x07\\u{9b}c\\td\\x7f\\x00"
        );
        // An OSC 52 clipboard write and a screen clear, as a file name could hold them.
        assert_eq!(
            escape_control("x\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}\u{1b}[2J.json"),
            "x\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x1b[2J.json"
        );
    }

    #[test]
    fn bidi_controls_are_escaped() {
        for (c, shown) in [
            ('\u{200e}', "\\u{200e}"),
            ('\u{200f}', "\\u{200f}"),
            ('\u{202a}', "\\u{202a}"),
            ('\u{202e}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2069}', "\\u{2069}"),
            ('\u{061c}', "\\u{61c}"),
        ] {
            assert_eq!(escape_control(&format!("a{c}b")), format!("a{shown}b"));
        }
    }

    #[test]
    fn line_and_paragraph_separators_are_escaped() {
        assert_eq!(
            escape_control("a\u{2028}b\u{2029}c"),
            "a\\u{2028}b\\u{2029}c"
        );
    }

    #[test]
    fn zero_width_characters_are_escaped() {
        for c in ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}'] {
            assert_eq!(
                escape_control(&format!("ad{c}min")),
                format!("ad\\u{{{:x}}}min", c as u32)
            );
        }
    }

    #[test]
    fn tag_characters_are_escaped() {
        // "hi" hidden in tag characters, with the cancel tag at the end.
        assert_eq!(
            escape_control("ok\u{e0068}\u{e0069}\u{e007f}"),
            "ok\\u{e0068}\\u{e0069}\\u{e007f}"
        );
        assert_eq!(escape_control("\u{e0000}"), "\\u{e0000}");
        // Just outside the block: variation selectors supplement, shown as they are.
        assert_eq!(escape_control("\u{e0100}"), "\u{e0100}");
    }

    #[test]
    fn visible_text_is_kept() {
        for s in ["café", "日本語", "→ ✓ …", "emoji 🎉", "a\\x1b literally"] {
            assert_eq!(escape_control(s), s);
        }
    }

    #[test]
    fn truncation_keeps_short_text() {
        assert_eq!(escape_truncated("", 5), "");
        assert_eq!(escape_truncated("abcde", 5), "abcde");
        assert_eq!(escape_truncated("a\u{1b}b", 6), "a\\x1bb");
    }

    #[test]
    fn truncation_ends_with_an_ellipsis_within_the_width() {
        assert_eq!(escape_truncated("abcdef", 5), "abcd…");
        assert_eq!(escape_truncated("ab", 1), "…");
        // An escape is never cut in two: it goes whole or not at all.
        assert_eq!(escape_truncated("ab\u{1b}cdef", 5), "ab…");
        assert_eq!(escape_truncated("ab\u{1b}cdef", 7), "ab\\x1b…");
        // Wide characters count two columns.
        assert_eq!(escape_truncated("日本語です", 6), "日本…");
        assert_eq!(escape_truncated("日本語", 6), "日本語");
        // A combining mark stays with its letter and takes no column.
        assert_eq!(escape_truncated("e\u{301}e\u{301}", 2), "e\u{301}e\u{301}");
    }

    #[test]
    fn truncation_reads_only_what_it_shows() {
        let long = "x".repeat(5_000_000);
        let shown = escape_truncated(&long, 120);
        assert_eq!(shown.chars().count(), 120);
        assert!(shown.ends_with("x…"));
    }
}
