//! CSV: a header row, then one line per row; fields quoted as RFC 4180 says (when they hold a
//! comma, a double quote, CR or LF, with quotes doubled); lists joined with `;`; null is empty.

use std::io::{self, Write};

use super::Output;

pub(super) fn field(w: &mut impl Write, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\r', '\n']) {
        write!(w, "\"{}\"", s.replace('"', "\"\""))
    } else {
        w.write_all(s.as_bytes())
    }
}

pub fn write(out: &Output, w: &mut impl Write) -> io::Result<()> {
    w.write_all(out.columns.join(",").as_bytes())?;
    w.write_all(b"\n")?;
    for row in &out.rows {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            if let Some(text) = cell.text(";") {
                field(w, &text)?;
            }
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Value;

    #[test]
    fn rfc4180_quoting() {
        let out = Output {
            columns: vec!["a", "b", "c", "d"],
            rows: vec![vec![
                Value::Str("x,y".into()),
                Value::Str("say \"hi\"\r\n".into()),
                Value::Null,
                Value::List(vec!["1.2.3.4".into(), "::1".into()]),
            ]],
            footer: vec![],
        };
        let mut buf = Vec::new();
        write(&out, &mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "a,b,c,d\n\"x,y\",\"say \"\"hi\"\"\r\n\",,1.2.3.4;::1\n"
        );
    }
}
