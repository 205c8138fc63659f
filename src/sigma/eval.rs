//! Whether a compiled rule matches an event, and nothing more.
//!
//! `rsigma_eval::evaluate_rule` answers with a whole result: on a match it evaluates the
//! condition a second time to name the selections that matched, reads every matched field again
//! and clones the rule's title, id and tags into it; and every name in a condition is looked up
//! in a `HashMap` with SipHash, on every event. `detect` needs only yes or no, and a rule such as
//! SigmaHQ's "AWS STS AssumeRole Misuse" matches nearly half of a trail's events. So a rule's
//! condition is resolved once (`Plan`: names and `1 of selection_*` patterns turned into the
//! detections they name) and evaluated as rsigma's own boolean pass does
//! (`eval_condition_matches_with_bloom` without a bloom filter), over the same public types: the
//! same matchers, the same `1 of`/`all of` counting, the same absent-field rule. A rule with a
//! detection kind whose evaluation rsigma keeps private (array object-scope matches and their
//! conditional bodies) is handed to `evaluate_rule` whole. A test compares both on every sample.
//!
//! Resolving and evaluating recurse over the rule's condition and detection trees, whose depth
//! the loader already bounds (`load::MAX_NOTS`, rsigma's limit on parentheses); past
//! `MAX_DEPTH` the rule is handed to rsigma whole, as for the private kinds.

use rsigma_eval::compiler::{CompiledDetection, CompiledDetectionItem, CompiledRule};
use rsigma_eval::{CompiledMatcher, Event};
use rsigma_parser::{ConditionExpr, Quantifier};

/// A depth past which the rule goes to rsigma (never reached by a rule the loader took).
const MAX_DEPTH: usize = 256;

/// A rule's conditions with every name resolved to its detection (an index into `dets`).
#[derive(Debug, Clone)]
pub struct Plan {
    conditions: Vec<Node>,
    dets: Vec<CompiledDetection>,
    /// The rule is evaluated by rsigma (`evaluate_rule`) instead.
    whole: bool,
}

#[derive(Debug, Clone)]
enum Node {
    Det(usize),
    /// A name no detection has: rsigma's lookup fails, which is false.
    Missing,
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Any(Vec<usize>),
    All(Vec<usize>),
    Count(u64, Vec<usize>),
}

impl Plan {
    pub fn new(rule: &CompiledRule) -> Plan {
        let mut names: Vec<&String> = rule.detections.keys().collect();
        names.sort();
        let mut plan = Plan {
            conditions: Vec::new(),
            dets: names.iter().map(|n| rule.detections[*n].clone()).collect(),
            whole: false,
        };
        plan.whole = plan.dets.iter().any(|d| private(d, 0));
        for c in &rule.conditions {
            let node = resolve(c, &names, 0, &mut plan.whole);
            plan.conditions.push(node);
        }
        if plan.whole {
            plan.conditions.clear();
            plan.dets.clear();
        }
        plan
    }

    /// Whether `rule` (the rule this plan was made from) matches `event`, as
    /// `rsigma_eval::evaluate_rule(rule, event).is_some()`.
    pub fn matches(&self, rule: &CompiledRule, event: &impl Event) -> bool {
        if self.whole {
            return rsigma_eval::evaluate_rule(rule, event).is_some();
        }
        self.conditions.iter().any(|c| self.node(c, event))
    }

    fn node(&self, n: &Node, ev: &impl Event) -> bool {
        let det = |i: &usize| detection(&self.dets[*i], ev);
        match n {
            Node::Det(i) => det(i),
            Node::Missing => false,
            Node::And(ns) => ns.iter().all(|n| self.node(n, ev)),
            Node::Or(ns) => ns.iter().any(|n| self.node(n, ev)),
            Node::Not(n) => !self.node(n, ev),
            Node::Any(ds) => ds.iter().any(det),
            Node::All(ds) => ds.iter().all(det),
            Node::Count(need, ds) => {
                let mut seen = 0u64;
                ds.iter().any(|i| {
                    if det(i) {
                        seen += 1;
                    }
                    seen >= *need
                })
            }
        }
    }
}

/// Whether `d` holds a kind only rsigma evaluates (or nests too deep).
fn private(d: &CompiledDetection, depth: usize) -> bool {
    match d {
        _ if depth > MAX_DEPTH => true,
        CompiledDetection::AllOf(_) | CompiledDetection::Keywords(_) => false,
        CompiledDetection::AnyOf(ds) | CompiledDetection::And(ds) => {
            ds.iter().any(|d| private(d, depth + 1))
        }
        CompiledDetection::ArrayMatch { .. } | CompiledDetection::Conditional { .. } => true,
    }
}

fn resolve(c: &ConditionExpr, names: &[&String], depth: usize, whole: &mut bool) -> Node {
    if depth > MAX_DEPTH {
        *whole = true;
        return Node::Missing;
    }
    let all = |ns: &[ConditionExpr], whole: &mut bool| -> Vec<Node> {
        ns.iter()
            .map(|c| resolve(c, names, depth + 1, whole))
            .collect()
    };
    match c {
        ConditionExpr::Identifier(name) => match names.binary_search(&name) {
            Ok(i) => Node::Det(i),
            Err(_) => Node::Missing,
        },
        ConditionExpr::And(cs) => Node::And(all(cs, whole)),
        ConditionExpr::Or(cs) => Node::Or(all(cs, whole)),
        ConditionExpr::Not(c) => Node::Not(Box::new(resolve(c, names, depth + 1, whole))),
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let named: Vec<usize> = (0..names.len())
                .filter(|&i| pattern.matches_detection_name(names[i]))
                .collect();
            match quantifier {
                Quantifier::Any => Node::Any(named),
                Quantifier::All => Node::All(named),
                Quantifier::Count(n) => Node::Count(*n, named),
            }
        }
    }
}

fn detection(d: &CompiledDetection, ev: &impl Event) -> bool {
    match d {
        CompiledDetection::AllOf(items) => items.iter().all(|it| item(it, ev)),
        CompiledDetection::AnyOf(ds) => ds.iter().any(|d| detection(d, ev)),
        CompiledDetection::And(ds) => ds.iter().all(|d| detection(d, ev)),
        CompiledDetection::Keywords(m) => m.matches_keyword(ev),
        // `Plan::new` hands rules holding these to rsigma.
        CompiledDetection::ArrayMatch { .. } | CompiledDetection::Conditional { .. } => false,
    }
}

fn item(it: &CompiledDetectionItem, ev: &impl Event) -> bool {
    if let Some(expect) = it.exists {
        return match &it.field {
            Some(f) => ev.get_field(f).is_some_and(|v| !v.is_null()) == expect,
            None => !expect,
        };
    }
    match &it.field {
        Some(f) => match ev.get_field(f) {
            Some(v) => it.matcher.matches(&v, ev),
            None => matches!(it.matcher, CompiledMatcher::Null),
        },
        None => it.matcher.matches_keyword(ev),
    }
}
