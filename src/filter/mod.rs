//! Which events reach a report: the time window, the account and region filters, and the
//! filters on any field (`field`) that every command takes. Report-specific filters (`events
//! --user` …) live with their report.

pub mod field;
pub mod grep;

use crate::event::Event;
use crate::time::Window;

/// Which events reach the report.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub window: Window,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// `--where`, `--match`, `--resource`.
    pub fields: field::Fields,
}

impl Filter {
    /// The account and region filters, then the filters on any field (the window is applied by
    /// the scanner, which has the parsed time at hand).
    pub fn accepts(&self, ev: &Event<'_>) -> bool {
        fn any_of(wanted: &[String], got: Option<&str>) -> bool {
            wanted.is_empty() || got.is_some_and(|g| wanted.iter().any(|w| w == g))
        }
        any_of(&self.accounts, ev.recipient_account_id.as_deref())
            && any_of(&self.regions, ev.aws_region.as_deref())
            && (self.fields.is_empty() || self.fields.accepts(ev))
    }

    /// Whether `--match` is given and the decoded input `text` holds none of its texts, so that
    /// none of its events can pass. Only when every event's text is a part of the input's: not
    /// for `lookup-events` output, whose events are JSON strings (`CloudTrailEvent`) decoded.
    pub fn none_can_match(&self, text: &[u8]) -> bool {
        let m = &self.fields.matches;
        !m.is_empty()
            && memchr::memmem::find(text, b"CloudTrailEvent").is_none()
            && !m.iter().any(|g| g.is_match_bytes(text))
    }

    /// Whether events must carry their own JSON text for these filters (`Event::raw`).
    pub fn needs_raw(&self) -> bool {
        !self.fields.is_empty()
    }
}
