//! JSON strings and numbers for the skim (`skim`): where a string scan stops (SIMD on x86-64),
//! decoding escapes, and where a number ends. The text of a string reaches `unescape` already
//! checked: escapes are JSON's, bytes over 0x7f are UTF-8.

/// The skim does not settle the text: the general parsers read it again.
#[derive(Debug)]
pub struct Bail;

pub(super) type R<T> = Result<T, Bail>;

/// Where in `s` the first byte is that a string scan stops at: `"`, `\`, a control character, or
/// (with `HIGH`) a byte of a multi-byte UTF-8 character.
#[inline(always)]
pub(super) fn special<const HIGH: bool>(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    while let Some(chunk) = s.get(i..i + 16) {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: `chunk` is 16 bytes, read unaligned; SSE2 is part of x86-64's baseline, so
        // every x86-64 processor has these instructions.
        let m = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // A byte is below 0x20 when the smaller of it and 0x1f is itself.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            let any = _mm_or_si128(_mm_or_si128(quote, backslash), control);
            // The high bit of every byte of 0x80 and over is its own mask.
            _mm_movemask_epi8(any) | if HIGH { _mm_movemask_epi8(v) } else { 0 }
        };
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 16;
    }
    s[i..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20 || (HIGH && b >= 0x80))
        .map(|p| i + p)
}

/// Four hex digits at `at`, as a number.
pub(super) fn hex4(s: &[u8], at: usize) -> R<u32> {
    let digits = s.get(at..at + 4).ok_or(Bail)?;
    digits.iter().try_fold(0u32, |n, &d| {
        let v = char::from(d).to_digit(16).ok_or(Bail)?;
        Ok(n * 16 + v)
    })
}

/// The text of a string with escapes (checked by `scan`), decoded. A `\u` escape of a lone
/// surrogate gives up: the general parsers decide what it is.
#[cold]
pub(super) fn unescape(text: &str) -> R<String> {
    let s = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut from, mut i) = (0, 0);
    while let Some(p) = s[i..].iter().position(|&b| b == b'\\') {
        let at = i + p;
        out.push_str(&text[from..at]);
        i = at + 2;
        match *s.get(at + 1).ok_or(Bail)? {
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let hi = hex4(s, at + 2)?;
                i = at + 6;
                let code = match hi {
                    0xD800..0xDC00 => {
                        // A high surrogate must be followed by an escaped low one.
                        if s.get(i..i + 2) != Some(b"\\u") {
                            return Err(Bail);
                        }
                        let lo = hex4(s, i + 2)?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(Bail);
                        }
                        i += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    code => code,
                };
                out.push(char::from_u32(code).ok_or(Bail)?);
            }
            // `"`, `\` and `/` stand for themselves.
            c => out.push(char::from(c)),
        }
        from = i;
    }
    out.push_str(&text[from..]);
    Ok(out)
}

/// Where the number at `i` ends, by JSON's grammar (`-`, then `0` or digits not starting with
/// `0`, an optional fraction, an optional exponent); what follows is checked by the caller.
pub(super) fn number_end(s: &[u8], mut i: usize) -> R<usize> {
    let digits = |i: usize| -> R<usize> {
        let n = s
            .get(i..)
            .map_or(0, |t| t.iter().take_while(|b| b.is_ascii_digit()).count());
        if n == 0 { Err(Bail) } else { Ok(i + n) }
    };
    if s.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match s.get(i) {
        Some(b'0') => i + 1,
        Some(b'1'..=b'9') => digits(i)?,
        _ => return Err(Bail),
    };
    if s.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
    }
    if let Some(b'e' | b'E') = s.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = s.get(i) {
            i += 1;
        }
        i = digits(i)?;
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_finds_the_first_quote_backslash_control_or_high_byte() {
        for (s, want, high) in [
            ("abcdefghijkl\"", Some(12), Some(12)),
            ("abc\\\"", Some(3), Some(3)),
            ("abcdefghijklmnopq\u{1f}", Some(17), Some(17)),
            ("é€😀\"", Some(9), Some(0)),
            ("0123456789abcdefé", None, Some(16)),
            ("\u{7f}\u{80}x", None, Some(1)),
            ("", None, None),
        ] {
            assert_eq!(special::<false>(s.as_bytes()), want, "{s:?}");
            assert_eq!(special::<true>(s.as_bytes()), high, "{s:?}");
        }
    }

    #[test]
    fn escapes_are_decoded_and_lone_surrogates_refused() {
        assert_eq!(
            unescape(r#"a\tb\n\\\"\/\b\f\r\u00e9\ud83d\ude00"#)
                .ok()
                .as_deref(),
            Some("a\tb\n\\\"/\u{8}\u{c}\ré😀")
        );
        assert_eq!(number_end(b"-0.5e+10,", 0).ok(), Some(8));
        assert_eq!(number_end(b"12]", 0).ok(), Some(2));
        assert_eq!(number_end(b"01", 0).ok(), Some(1));
        for bad in [&b"-"[..], b"1.", b".5", b"1e", b"1e+", b"+1", b"-x"] {
            assert!(number_end(bad, 0).is_err(), "{bad:?}");
        }
        for lone in [r"\ud800", r"\ud800x", r"\ud800\u0041", r"\udc00"] {
            assert!(unescape(lone).is_err(), "{lone}");
        }
    }
}
