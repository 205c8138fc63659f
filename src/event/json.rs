//! JSON read safely, whatever it holds: UTF-8 is checked first, nesting is bounded, and no value
//! is skipped by a parser that recurses without a bound.
//!
//! `Skip` reads any value and drops it, counting its nesting; `Any` reads any value with a
//! visitor; `visit_others!` writes the `visit_*` methods a visitor needs for the kinds of value it
//! does not read. `json_error` turns serde_json's errors into the messages ctq prints.

use std::cell::Cell;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// How deep a value ctq skips may nest. Real events nest a dozen levels; a hostile file can nest
/// tens of thousands, and a parser that recurses per level would overflow the stack and abort the
/// whole run. serde_json stops at 128 levels on its own; sonic-rs skips values recursively
/// without a bound (upstream issue cloudwego/sonic-rs#232), so ctq never asks it to skip: every
/// skipped value goes through `Skip`, which counts its nesting and gives up past this depth.
pub const MAX_DEPTH: u32 = 100;

/// The message of a file nested deeper than `MAX_DEPTH`.
pub const TOO_DEEP: &str = "JSON nested more than 100 levels deep";

/// The most events one whole-buffer parse holds at once. Each `Event` takes a few hundred bytes
/// whatever its text, so `{"Records":[{},{},…]}` would turn 64 MiB of JSON into 15 GB of events;
/// this caps them at 64 MiB (about 95,000). A real trail file of a few MB holds a few thousand,
/// and an input that holds more is read again as a stream, one event at a time (`scan.rs`).
pub const MAX_HELD: usize = (64 << 20) / std::mem::size_of::<super::Event<'static>>();

/// The message of a parse that stopped at `MAX_HELD` events.
pub const TOO_MANY: &str = "more events than one parse holds at once";

thread_local! {
    /// Nesting of the containers `Skip` is inside, on this thread.
    static SKIP_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The parser at work on this thread is sonic-rs (whose own skipping recurses).
    static SONIC: Cell<bool> = const { Cell::new(false) };
}

/// The kind of a JSON value, for a visitor handed one it does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Null,
    Bool,
    Number,
    Str,
    Array,
    Object,
}

impl Kind {
    /// The kind as a message names it after "is": `null`, `a string`, `an object` …
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
            Kind::Str => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        }
    }

    /// The kind as a message names it on its own: `JSON null`, `a JSON string` …
    pub fn json_noun(self) -> &'static str {
        match self {
            Kind::Null => "JSON null",
            Kind::Bool => "a JSON boolean",
            Kind::Number => "a JSON number",
            Kind::Str => "a JSON string",
            Kind::Array => "a JSON array",
            Kind::Object => "a JSON object",
        }
    }
}

/// Inside `impl Visitor<'de> for …`: `expecting`, and a `visit_*` method for each kind of value
/// listed, giving `$other(kind)`. An array or an object is read to its end (through `Skip`)
/// first. A kind left out is serde's default, an "invalid type" error naming `$expecting`.
///
/// `visit_others!("any JSON value", |_| None; Null Bool Number Str Array Object)`. `Number` is
/// the `i64`, `u64` and `f64` the parsers hand over; `BigNumber`, `Bytes` and `None` are kinds
/// they do not (`i128`/`u128`, bytes, an option), for a visitor that takes anything. The caller
/// has `Kind` and `Skip` in scope.
macro_rules! visit_others {
    ($expecting:expr, $other:expr; $($kind:ident)*) => {
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str($expecting)
        }
        $(visit_others!(@$kind $other);)*
    };
    (@Null $other:expr) => { visit_others!(@fn visit_unit() Null $other); };
    (@None $other:expr) => { visit_others!(@fn visit_none() Null $other); };
    (@Bool $other:expr) => { visit_others!(@fn visit_bool(bool) Bool $other); };
    (@Number $other:expr) => {
        visit_others!(@fn visit_i64(i64) Number $other);
        visit_others!(@fn visit_u64(u64) Number $other);
        visit_others!(@fn visit_f64(f64) Number $other);
    };
    (@BigNumber $other:expr) => {
        visit_others!(@fn visit_i128(i128) Number $other);
        visit_others!(@fn visit_u128(u128) Number $other);
    };
    (@Str $other:expr) => { visit_others!(@fn visit_str(&str) Str $other); };
    (@Bytes $other:expr) => { visit_others!(@fn visit_bytes(&[u8]) Str $other); };
    (@fn $name:ident($($arg:ty)?) $kind:ident $other:expr) => {
        fn $name<E: serde::de::Error>(self, $(_: $arg)?) -> Result<Self::Value, E> {
            Ok(($other)(Kind::$kind))
        }
    };
    (@Array $other:expr) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<Skip>()?.is_some() {}
            Ok(($other)(Kind::Array))
        }
    };
    (@Object $other:expr) => {
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            while map.next_entry::<Skip, Skip>()?.is_some() {}
            Ok(($other)(Kind::Object))
        }
    };
}
pub(super) use visit_others;

/// Any JSON value, read by the visitor `V`: the seed of `next_value_seed`, `next_element_seed`.
pub(super) struct Any<V>(pub V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for Any<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_any(self.0)
    }
}

/// Any JSON value, read and dropped. Under sonic-rs it never lets the parser skip on its own
/// (see `MAX_DEPTH`): containers are visited here, one level at a time, and counted. serde_json
/// skips without recursing, so there it skips on its own; its input's depth was checked before
/// (`check_depth`).
pub(super) struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if SONIC.with(Cell::get) {
            d.deserialize_any(Skip)
        } else {
            d.deserialize_ignored_any(Skip)
        }
    }
}

impl Skip {
    fn nested<E: de::Error>(f: impl FnOnce() -> Result<(), E>) -> Result<Skip, E> {
        let depth = SKIP_DEPTH.with(|d| {
            let n = d.get() + 1;
            d.set(n);
            n
        });
        let result = if depth > MAX_DEPTH {
            Err(E::custom(TOO_DEEP))
        } else {
            f()
        };
        SKIP_DEPTH.with(|d| d.set(d.get() - 1));
        result.map(|()| Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;
    visit_others!("any JSON value", |_| Skip; Null None Bool Number BigNumber Str Bytes);
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Skip)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        Skip::nested(|| {
            while seq.next_element::<Skip>()?.is_some() {}
            Ok(())
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        Skip::nested(|| {
            while map.next_entry::<Skip, Skip>()?.is_some() {}
            Ok(())
        })
    }
}

/// Parse with sonic-rs: `f` runs with `Skip` counting nesting levels.
pub(super) fn with_sonic<T>(f: impl FnOnce() -> T) -> T {
    reset_depth();
    SONIC.with(|s| s.set(true));
    let out = f();
    SONIC.with(|s| s.set(false));
    out
}

/// Whether a sonic-rs error is `Skip`'s: the input is too deep, which no other parser changes.
pub(super) fn is_too_deep(e: &sonic_rs::Error) -> bool {
    e.to_string().starts_with(TOO_DEEP)
}

/// Forget the nesting left over by a parse that stopped half-way (an error or a panic).
fn reset_depth() {
    SKIP_DEPTH.with(|d| d.set(0));
}

/// Forget the state of a parse that a panic stopped on this thread.
pub fn reset_after_panic() {
    reset_depth();
    SONIC.with(|s| s.set(false));
}

/// JSON is UTF-8 (RFC 8259), and the readers do not all check it where they skip: sonic-rs and
/// serde_json let invalid bytes through in strings they are not asked to keep, serde_json's
/// `--raw` reading does not. So no text that is not UTF-8 is read at all, whatever the command.
pub(super) fn utf8(text: &[u8]) -> Result<&str, String> {
    simdutf8::compat::from_utf8(text).map_err(|e| {
        let at = e.valid_up_to();
        format!(
            "invalid JSON: not UTF-8 text (byte 0x{:02x} at offset {at})",
            text[at]
        )
    })
}

/// JSON's whitespace: space, tab, line feed, carriage return (not form feed, unlike
/// `u8::is_ascii_whitespace`).
pub fn is_json_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The line of the first value at or after `offset` (whitespace skipped), counted from 1.
pub(super) fn line_of(text: &[u8], offset: usize) -> usize {
    let skip = text[offset..]
        .iter()
        .take_while(|b| is_json_space(b))
        .count();
    1 + text[..offset + skip]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Check that `text` is one JSON value the readers would accept, without building it: UTF-8,
/// not too deep, valid JSON (serde_json skips values without recursing).
pub fn check_value(text: &[u8]) -> Result<(), String> {
    utf8(text)?;
    check_depth(text)?;
    serde_json::from_slice::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| json_error(&e))
}

/// Refuse text nested deeper than the parsers will go, before serde_json reads it. The limit is
/// counted from the top, so it is `MAX_DEPTH` plus the few levels around a skipped value (the
/// document, `Records`, the event, `requestParameters` …): what sonic-rs accepts, this accepts.
pub fn check_depth(text: &[u8]) -> Result<(), String> {
    const LIMIT: u32 = MAX_DEPTH + 8;
    let (mut depth, mut i) = (0u32, 0usize);
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &text[i.min(text.len())..]) {
                        None => return Ok(()), // unterminated: the parser says so
                        Some(p) if text[i + p] == b'\\' => i += p + 2,
                        Some(p) => {
                            i += p + 1;
                            break;
                        }
                    }
                }
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > LIMIT {
                    let line = 1 + text[..i].iter().filter(|&&b| b == b'\n').count();
                    return Err(format!("{TOO_DEEP} (line {line})"));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// A serde_json error as ctq says it: what went wrong (truncated, invalid, unexpected JSON) and
/// where, or `TOO_DEEP`.
pub fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with(TOO_DEEP) || text.starts_with("recursion limit exceeded") {
        return format!("{TOO_DEEP} (line {})", e.line());
    }
    if text.starts_with(TOO_MANY) {
        return TOO_MANY.to_string();
    }
    let what = match e.classify() {
        serde_json::error::Category::Eof => "truncated JSON",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected JSON",
        serde_json::error::Category::Io => "read error",
    };
    format!("{what}: {e}")
}
