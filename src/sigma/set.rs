//! The rules and correlations of a run, the index that shows each event only the rules it
//! could match, and what a report shows of each.

use super::correlate::Correlation;
use super::index::Index;
use super::rule::{Level, Origin, Rule};
use super::view;

/// What a report shows of a rule or a correlation.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    pub id: Option<&'a str>,
    pub title: &'a str,
    pub level: Option<Level>,
    pub author: Option<&'a str>,
    pub origin: &'a Origin,
}

impl Head<'_> {
    /// Where the level sorts in reports: 0 for critical, 4 for informational, 5 for none.
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
    pub correlations: Vec<Correlation>,
    pub index: Index,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>, correlations: Vec<Correlation>) -> RuleSet {
        let index = Index::new(rules.iter().map(|r| &r.gate));
        RuleSet {
            rules,
            correlations,
            index,
        }
    }

    /// How many rules and correlations a report can show: `head(i)` for `i` below it (rules
    /// first, then correlations).
    pub fn entries(&self) -> usize {
        self.rules.len() + self.correlations.len()
    }

    pub fn head(&self, i: usize) -> Head<'_> {
        match self.rules.get(i) {
            Some(r) => Head {
                id: r.id.as_deref(),
                title: &r.title,
                level: r.level,
                author: r.author.as_deref(),
                origin: &r.origin,
            },
            None => {
                let c = &self.correlations[i - self.rules.len()];
                Head {
                    id: c.id.as_deref(),
                    title: &c.title,
                    level: c.level,
                    author: c.author.as_deref(),
                    origin: &c.origin,
                }
            }
        }
    }

    /// Whether entry `i` is reported: every correlation, and the rules marked so.
    pub fn reported(&self, i: usize) -> bool {
        self.rules.get(i).is_none_or(|r| r.reported)
    }

    /// Rule `i` against an event.
    pub fn matches(&self, i: usize, view: &view::View<'_>) -> bool {
        let r = &self.rules[i];
        r.plan.matches(&r.compiled, view)
    }
}
