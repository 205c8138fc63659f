//! CSV: a header row, then one line per row; fields quoted as RFC 4180 says (when they hold a
//! comma, a double quote, CR or LF, with quotes doubled); lists joined with `;`; null is empty.
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula (and some strip a
//! leading TAB or CR first), and CloudTrail's text fields are set by whoever made the request. So,
//! as OWASP advises against CSV injection, a text cell that starts with one of those characters
//! gets a leading `'`, which spreadsheets show as text. Counts, times and booleans are never
//! changed (`Value::is_text`). `--csv-raw` keeps every cell exactly.

use std::borrow::Cow;
use std::io::{self, Write};

use crate::document::Rows;

/// What makes a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell from the logs, with `'` in front when it starts like a formula (unless `raw`).
pub(super) fn guarded(s: &str, raw: bool) -> Cow<'_, str> {
    if !raw && s.starts_with(FORMULA_START) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

pub(super) fn field(w: &mut impl Write, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\r', '\n']) {
        write!(w, "\"{}\"", s.replace('"', "\"\""))
    } else {
        w.write_all(s.as_bytes())
    }
}

pub fn write(out: &Rows, raw: bool, w: &mut impl Write) -> io::Result<()> {
    let names: Vec<&str> = out.columns.iter().map(|c| c.name).collect();
    w.write_all(names.join(",").as_bytes())?;
    w.write_all(b"\n")?;
    for row in &out.rows {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            if let Some(text) = cell.text(";") {
                if cell.is_text() {
                    field(w, &guarded(&text, raw))?;
                } else {
                    field(w, &text)?;
                }
            }
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Column, Value};

    fn csv(rows: Vec<Vec<Value>>, raw: bool) -> String {
        let columns = vec![Column::text("c"); rows.first().map_or(0, Vec::len)];
        let out = Rows {
            columns,
            rows,
            footer: vec![],
            notes: vec![],
        };
        let mut buf = Vec::new();
        write(&out, raw, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn rfc4180_quoting() {
        let out = Rows {
            columns: ["a", "b", "c", "d"].map(Column::text).to_vec(),
            rows: vec![vec![
                Value::Str("x,y".into()),
                Value::Str("say \"hi\"\r\n".into()),
                Value::Null,
                Value::List(vec!["1.2.3.4".into(), "::1".into()]),
            ]],
            footer: vec![],
            notes: vec![],
        };
        let mut buf = Vec::new();
        write(&out, false, &mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "a,b,c,d\n\"x,y\",\"say \"\"hi\"\"\r\n\",,1.2.3.4;::1\n"
        );
    }

    #[test]
    fn text_that_starts_like_a_formula_is_guarded() {
        let cells = [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("a=b", "a=b"),
            (" =x", " =x"),
            ("", ""),
        ];
        for (text, want) in cells {
            assert_eq!(
                csv(vec![vec![Value::Str(text.into())]], false),
                format!("c\n{want}\n"),
                "{text:?}"
            );
            // --csv-raw: the exact text, quoted only as RFC 4180 requires.
            let mut exact = Vec::new();
            field(&mut exact, text).unwrap();
            assert_eq!(
                csv(vec![vec![Value::Str(text.into())]], true),
                format!("c\n{}\n", String::from_utf8(exact).unwrap())
            );
        }
        // Lists and JSON strings are text too.
        assert_eq!(
            csv(
                vec![vec![Value::List(vec!["-x".into(), "y".into()])]],
                false
            ),
            "c\n'-x;y\n"
        );
        assert_eq!(
            csv(vec![vec![Value::Json("\"=1+1\"".into())]], false),
            "c\n'=1+1\n"
        );
    }

    #[test]
    fn numbers_times_and_booleans_are_never_guarded() {
        let row = vec![
            Value::Count(0),
            Value::Time(-1_000_000),
            Value::Bool(false),
            Value::Json("-5".into()),
            Value::Json("{\"a\":\"=x\"}".into()),
            Value::Null,
        ];
        assert_eq!(
            csv(vec![row], false),
            "c,c,c,c,c,c\n0,1969-12-31T23:59:59Z,false,-5,\"{\"\"a\"\":\"\"=x\"\"}\",\n"
        );
    }
}
