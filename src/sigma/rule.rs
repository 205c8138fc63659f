//! A rule that will run, its level and origin, and the set of rules of a run with its index.

use rsigma_eval::CompiledRule;
use rsigma_parser::SigmaRule;

use super::{gate, view};

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
    pub title: String,
    pub level: Option<Level>,
    pub author: Option<String>,
    pub origin: Origin,
    /// What the rule requires of the cheap fields; events that fail it are not shown the rule.
    pub gate: gate::Gate,
    /// Keys the event's text must hold (`gate::required_keys`).
    pub keys: Vec<String>,
    /// The top-level members the rule reads, or `None` for all of them (`view::roots`).
    pub roots: Option<Vec<String>>,
    pub compiled: CompiledRule,
    /// The rule as parsed, for engines that translate it (Athena).
    pub parsed: SigmaRule,
}

impl Rule {
    /// Where the rule's level sorts in reports: 0 for critical, 4 for informational, 5 for none.
    pub fn level_rank(&self) -> usize {
        match self.level {
            Some(l) => Level::ALL.iter().position(|x| *x == l).unwrap_or(0),
            None => Level::ALL.len(),
        }
    }
}

/// The rules of a run, and the index that shows each event only the rules it could match.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub index: gate::Index,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        let index = gate::Index::new(rules.iter().map(|r| &r.gate));
        RuleSet { rules, index }
    }

    /// Rule `i` against an event's JSON.
    pub fn matches(&self, i: usize, view: &view::View<'_>) -> bool {
        rsigma_eval::evaluate_rule(&self.rules[i].compiled, view).is_some()
    }
}
