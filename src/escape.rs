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
}
