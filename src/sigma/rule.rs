//! A rule that will run, its level and origin, and the set of rules of a run with its index.

use rsigma_eval::CompiledRule;
use rsigma_parser::SigmaRule;

use super::gate;

/// A rule's severity; `Ord` is severity (critical is greatest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Critical,
        Level::High,
        Level::Medium,
        Level::Low,
        Level::Informational,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    pub(super) fn from_sigma(l: rsigma_parser::Level) -> Level {
        match l {
            rsigma_parser::Level::Informational => Level::Informational,
            rsigma_parser::Level::Low => Level::Low,
            rsigma_parser::Level::Medium => Level::Medium,
            rsigma_parser::Level::High => Level::High,
            rsigma_parser::Level::Critical => Level::Critical,
        }
    }
}

/// Where a rule came from: built into ctq, or a file given with `--rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    File(String),
}

impl Origin {
    pub fn as_str(&self) -> &str {
        match self {
            Origin::Builtin => "builtin",
            Origin::File(p) => p,
        }
    }
}

/// One rule that will run.
#[derive(Debug)]
pub struct Rule {
    pub id: Option<String>,
    /// Sigma's `name`, by which correlations may refer to the rule.
    pub name: Option<String>,
    pub title: String,
    pub level: Option<Level>,
    pub author: Option<String>,
    pub origin: Origin,
    /// Whether its matches are reported (a rule only a correlation reads is not, unless the
    /// correlation says `generate: true`).
    pub reported: bool,
    /// The correlations that read its matches: (index in `RuleSet::correlations`, position of
    /// the rule in the correlation's `rules`).
    pub feeds: Vec<(u32, u8)>,
    /// What the rule requires of the cheap fields; events that fail it are not shown the rule.
    pub gate: gate::Gate,
    /// Keys the event's text must hold (`gate::required_keys`).
    pub keys: Vec<gate::Key>,
    /// The top-level members the rule reads, or `None` for all of them (`view::roots`).
    pub roots: Option<Vec<String>>,
    pub compiled: CompiledRule,
    /// `compiled`'s conditions resolved, for `eval`.
    pub plan: super::eval::Plan,
    /// The rule as parsed, for engines that translate it (Athena).
    pub parsed: SigmaRule,
}
