//! The properties the event parser must have on any input, shared by the fuzzer
//! (`tests/fuzz/fuzz_parse.rs`) and the regression test over the inputs it kept
//! (`tests/fuzz/corpus/`).
//!
//! On any bytes: nothing panics; the whole-buffer reader (the skim, then sonic-rs, then
//! serde_json), the same reader keeping each event's text (serde_json only), and the streaming
//! reader (at two chunk sizes) accept or refuse the input alike, and when they accept it they find
//! the same events. The skim and the general parsers alone agree on every field of every event,
//! and on the message when they refuse.

use std::panic::{AssertUnwindSafe, catch_unwind};

use ctq::event::Event;
use ctq::event::shape::{parse_events, parse_events_general};
use ctq::event::stream::{self, Sink};

/// What one reader made of an input: the names of its events, or that it refused it.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Events(Vec<Option<String>>),
    Refused,
}

struct Names(Vec<Option<String>>, usize);

impl Sink for Names {
    fn event(&mut self, ev: &Event<'_>) {
        self.0.push(ev.event_name.as_deref().map(str::to_string));
    }
    fn restart_document(&mut self) {
        self.0.truncate(self.1);
    }
    fn end_value(&mut self) {
        self.1 = self.0.len();
    }
}

fn whole(text: &[u8], keep_raw: bool) -> Outcome {
    let mut out = Vec::new();
    match parse_events(text, &mut out, keep_raw) {
        Ok(_) => Outcome::Events(
            out.iter()
                .map(|e| e.event_name.as_deref().map(str::to_string))
                .collect(),
        ),
        Err(_) => Outcome::Refused,
    }
}

fn streamed(text: &[u8], chunk: usize) -> Outcome {
    let mut names = Names(Vec::new(), 0);
    match stream::read(text, false, chunk, &mut names) {
        Ok(_) => Outcome::Events(names.0),
        Err(_) => Outcome::Refused,
    }
}

/// Every field of every event the whole-buffer reader finds (with the skim, or the general
/// parsers alone), with the input's shape, or its message.
pub fn detail(text: &[u8], skim: bool) -> Result<String, String> {
    let mut out = Vec::new();
    let parsed = if skim {
        parse_events(text, &mut out, false)
    } else {
        parse_events_general(text, &mut out)
    };
    parsed.map(|p| format!("{p:?} {out:?}"))
}

/// Why `text` breaks a property, or None.
pub fn check(text: &[u8]) -> Option<String> {
    let run = |what: &str, f: &dyn Fn() -> Outcome| {
        catch_unwind(AssertUnwindSafe(f)).map_err(|_| format!("{what} panicked"))
    };
    let result = (|| {
        let skimmed = catch_unwind(AssertUnwindSafe(|| detail(text, true)))
            .map_err(|_| "the skim panicked".to_string())?;
        let general = catch_unwind(AssertUnwindSafe(|| detail(text, false)))
            .map_err(|_| "the general parsers panicked".to_string())?;
        if skimmed != general {
            return Err(format!("skim: {skimmed:?}\ngeneral: {general:?}"));
        }
        let fast = run("whole", &|| whole(text, false))?;
        let raw = run("whole, keep_raw", &|| whole(text, true))?;
        let small = run("stream, 7-byte chunks", &|| streamed(text, 7))?;
        let large = run("stream, 4 KiB chunks", &|| streamed(text, 4096))?;
        for (what, other) in [
            ("keep_raw", &raw),
            ("stream 7", &small),
            ("stream 4096", &large),
        ] {
            if *other != fast {
                return Err(format!("whole: {fast:?}, {what}: {other:?}"));
            }
        }
        Ok(())
    })();
    result.err()
}
