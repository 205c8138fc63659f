//! JSON (one array of row objects) and NDJSON (one object per line).

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Output, Value};
use crate::time::format_time;

struct Row<'a> {
    columns: &'a [&'static str],
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
        for (k, v) in self.columns.iter().zip(self.cells) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn rows(out: &Output) -> impl Iterator<Item = Row<'_>> {
    out.rows.iter().map(|cells| Row {
        columns: &out.columns,
        cells,
    })
}

pub fn write(out: &Output, w: &mut impl Write) -> io::Result<()> {
    let all: Vec<Row> = rows(out).collect();
    serde_json::to_writer_pretty(&mut *w, &all)?;
    w.write_all(b"\n")
}

pub fn write_lines(out: &Output, w: &mut impl Write) -> io::Result<()> {
    for row in rows(out) {
        serde_json::to_writer(&mut *w, &row)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}
