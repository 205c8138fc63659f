//! Which events reach a report: the time window, and the account and region filters that every
//! command takes. Report-specific filters (`events --user` …) live with their report.

use crate::event::Event;
use crate::time::Window;

/// Which events reach the report.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub window: Window,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

impl Filter {
    /// The account and region filters (the window is applied by the scanner, which has the
    /// parsed time at hand).
    pub fn accepts(&self, ev: &Event<'_>) -> bool {
        fn any_of(wanted: &[String], got: Option<&str>) -> bool {
            wanted.is_empty() || got.is_some_and(|g| wanted.iter().any(|w| w == g))
        }
        any_of(&self.accounts, ev.recipient_account_id.as_deref())
            && any_of(&self.regions, ev.aws_region.as_deref())
    }
}
