//! JSON (one array of row objects) and NDJSON (one object per line).

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::document::{Column, Rows, Value};
use crate::time::format_time;

struct Row<'a> {
    columns: &'a [Column],
    cells: &'a [Value],
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Count(n) => s.serialize_u64(*n),
            Value::Time(t) => s.serialize_str(&format_time(*t)),
            Value::Str(v) => s.serialize_str(v),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Json(j) => match serde_json::value::RawValue::from_string(j.clone()) {
                Ok(raw) => raw.serialize(s),
                Err(_) => s.serialize_str(j),
            },
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
        }
    }
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.columns.len()))?;
        for (k, v) in self.columns.iter().map(|c| c.name).zip(self.cells) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn rows(out: &Rows) -> impl Iterator<Item = Row<'_>> {
    out.rows.iter().map(|cells| Row {
        columns: &out.columns,
        cells,
    })
}

pub fn write(out: &Rows, w: &mut impl Write) -> io::Result<()> {
    let all: Vec<Row> = rows(out).collect();
    serde_json::to_writer_pretty(TerminalSafe(&mut *w), &all)?;
    w.write_all(b"\n")
}

pub fn write_lines(out: &Rows, w: &mut impl Write) -> io::Result<()> {
    for row in rows(out) {
        serde_json::to_writer(TerminalSafe(&mut *w), &row)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// serde_json escapes the control characters below U+0020 and nothing else, so a C1 control
/// (U+009B is a CSI to some terminals), a bidi override or a tag character from the logs would
/// reach a terminal raw when JSON is printed to one. This writer turns those (the characters
/// `escape::is_unsafe` names, from DEL up) into `\uXXXX` escapes: the same JSON value, safe to
/// print. They can only occur inside JSON strings, so the escape is always valid there.
pub(super) struct TerminalSafe<W>(pub W);

impl<W: Write> Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // serde_json hands over whole string fragments, so a character is never split.
        let text = match std::str::from_utf8(buf) {
            Ok(t) if buf.iter().any(|&b| b >= 0x7f) => t,
            _ => {
                self.0.write_all(buf)?;
                return Ok(buf.len());
            }
        };
        let mut last = 0;
        for (i, c) in text.char_indices() {
            if (c as u32) >= 0x7f && crate::escape::is_unsafe(c) {
                self.0.write_all(&buf[last..i])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(self.0, "\\u{unit:04x}")?;
                }
                last = i + c.len_utf8();
            }
        }
        self.0.write_all(&buf[last..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_a_terminal_acts_on_are_escaped_and_the_json_value_is_the_same() {
        let text = "a\u{9b}31m\u{202e}b\u{e0041}c\u{7f}d é ✓";
        let mut out = Vec::new();
        serde_json::to_writer_pretty(TerminalSafe(&mut out), &vec![text]).unwrap();
        let written = String::from_utf8(out).unwrap();
        assert_eq!(
            written,
            "[\n  \"a\\u009b31m\\u202eb\\udb40\\udc41c\\u007fd é ✓\"\n]"
        );
        let back: Vec<String> = serde_json::from_str(&written).unwrap();
        assert_eq!(back, [text]);
    }
}
