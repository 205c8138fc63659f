//! Sigma correlation rules: which ctq runs (`check`), and how the matches of their rules are
//! counted over time (`fire`). README, "Correlation rules", is the contract.
//!
//! While events are read (on every worker, in any order), each event that matches a rule of a
//! correlation becomes one `Input` of that correlation. At the end the inputs are sorted by time
//! and replayed, one sliding window per group: `fire` is sequential and needs every input, so
//! the inputs are capped (`MAX_INPUTS`), and a run that passes the cap says so.

use std::collections::{HashMap, VecDeque};

use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, WindowMode,
};
use serde_json::Value;

use super::rule::{Level, Origin};

/// The most rules one correlation refers to (a rule's matches are kept as a bit set).
pub const MAX_REFS: usize = 64;
/// The most inputs kept for all correlations of a run, about 300 bytes each.
pub const MAX_INPUTS: u64 = 1_000_000;

/// What a correlation measures in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
}

/// A correlation rule that will run.
#[derive(Debug)]
pub struct Correlation {
    pub id: Option<String>,
    pub title: String,
    pub level: Option<Level>,
    pub author: Option<String>,
    pub origin: Origin,
    pub kind: Kind,
    /// The referenced rules, as indexes into `RuleSet::rules`, in the order of `rules:`.
    pub refs: Vec<u32>,
    /// Per `group-by` field: the field name for each referenced rule (aliases resolved).
    pub group_by: Vec<Vec<String>>,
    /// `value_count`'s fields.
    pub value_fields: Vec<String>,
    pub timespan: i64,
    /// All must hold.
    pub predicates: Vec<(ConditionOperator, u64)>,
}

/// A correlation document before its rule names are resolved.
#[derive(Debug)]
pub struct Pending {
    pub rule: CorrelationRule,
    pub origin: Origin,
    /// How to name it in a message: `file: correlation "title"`.
    pub shown: String,
    /// Whether the document gives `correlation.condition`.
    pub has_condition: bool,
}

/// What in a correlation ctq does not run, if anything; its rule names are resolved later.
pub fn check(c: &CorrelationRule) -> Result<(), String> {
    super::normalize::sigma_version(c.sigma_version)?;
    if kind(c.correlation_type).is_none() {
        return Err(format!(
            "correlation type {} is not supported (event_count, value_count, temporal and \
             temporal_ordered are)",
            c.correlation_type.as_str()
        ));
    }
    if c.window != WindowMode::Sliding {
        return Err(format!(
            "window: {} is not supported (only sliding windows are)",
            c.window.as_str()
        ));
    }
    if c.gap.is_some() {
        return Err("gap (a session window) is not supported".into());
    }
    if let Some(k) = c
        .custom_attributes
        .keys()
        .find(|k| k.starts_with("rsigma."))
    {
        return Err(format!("{k} is an rsigma extension that ctq does not run"));
    }
    match &c.condition {
        CorrelationCondition::Extended(_) => {
            return Err(
                "a condition written as text is not supported; give a map such as \
                        {gte: 3}"
                    .into(),
            );
        }
        CorrelationCondition::Threshold { field, .. } => {
            if c.correlation_type == CorrelationType::ValueCount && field.is_none() {
                return Err("value_count needs condition.field".into());
            }
        }
    }
    if c.rules.is_empty() {
        return Err("it refers to no rule (rules: is empty)".into());
    }
    if c.rules.len() > MAX_REFS {
        return Err(format!(
            "it refers to {} rules, more than {MAX_REFS}",
            c.rules.len()
        ));
    }
    for (i, r) in c.rules.iter().enumerate() {
        if c.rules[..i].contains(r) {
            return Err(format!("it refers to rule {r:?} twice"));
        }
    }
    if let CorrelationCondition::Threshold { predicates, .. } = &c.condition
        && let Some((_, n)) = predicates.iter().find(|(_, n)| *n > i64::MAX as u64)
    {
        // rsigma's parser reads a negative number as a huge one.
        return Err(format!(
            "condition: {} is not a whole number from 0 to 2^63-1",
            *n as i64
        ));
    }
    Ok(())
}

fn kind(t: CorrelationType) -> Option<Kind> {
    match t {
        CorrelationType::EventCount => Some(Kind::EventCount),
        CorrelationType::ValueCount => Some(Kind::ValueCount),
        CorrelationType::Temporal => Some(Kind::Temporal),
        CorrelationType::TemporalOrdered => Some(Kind::TemporalOrdered),
        _ => None,
    }
}

/// The checked correlation, its rule names resolved to `refs` (and their names or ids as
/// written, for aliases).
pub fn build(p: Pending, refs: Vec<u32>, names: &[[Option<&str>; 2]]) -> Correlation {
    let c = p.rule;
    let aliases: HashMap<&str, &HashMap<String, String>> = c
        .aliases
        .iter()
        .map(|a| (a.alias.as_str(), &a.mapping))
        .collect();
    let group_by = c
        .group_by
        .iter()
        .map(|g| {
            // An alias names the field per rule, by the rule's id or else its name.
            names
                .iter()
                .map(|[id, name]| {
                    let per_rule = aliases.get(g.as_str());
                    [id, name]
                        .into_iter()
                        .flatten()
                        .find_map(|n| per_rule.and_then(|m| m.get(*n)))
                        .unwrap_or(g)
                        .clone()
                })
                .collect()
        })
        .collect();
    let (predicates, value_fields) = match &c.condition {
        CorrelationCondition::Threshold {
            predicates, field, ..
        } => (predicates.clone(), field.clone().unwrap_or_default()),
        CorrelationCondition::Extended(_) => (Vec::new(), Vec::new()),
    };
    let kind = kind(c.correlation_type).unwrap_or(Kind::EventCount);
    // Without a condition, temporal kinds need every rule (empty predicates); rsigma's parser
    // writes an absent condition as `gte: 1`.
    let predicates = if p.has_condition {
        predicates
    } else {
        Vec::new()
    };
    Correlation {
        id: c.id.clone(),
        title: c.title.clone(),
        level: c.level.map(Level::from_sigma),
        author: c.author.clone(),
        origin: p.origin,
        kind,
        refs,
        group_by,
        value_fields,
        timespan: c.timespan.seconds.min(i64::MAX as u64 / 4) as i64,
        predicates,
    }
}

/// One event that matched a rule of a correlation.
#[derive(Debug, Clone)]
pub struct Input<D> {
    pub time: i64,
    pub event_id: Option<String>,
    pub key: Vec<Option<String>>,
    /// `value_count`'s value, when the event has it.
    pub value: Option<String>,
    /// Which of the correlation's rules the event matched (bit `i`: `refs[i]`).
    pub rules: u64,
    /// What the report shows of the event if it completes a match.
    pub shown: D,
}

impl Correlation {
    /// The group key and value of an event that matched the rules `mask`.
    pub fn input<D>(
        &self,
        json: &Value,
        time: i64,
        event_id: Option<&str>,
        mask: u64,
        shown: D,
    ) -> Input<D> {
        // An aliased field is named by the first of the rules the event matched.
        let first = mask.trailing_zeros() as usize;
        let key = self
            .group_by
            .iter()
            .map(|names| text_at(json, &names[first.min(names.len() - 1)]))
            .collect();
        let value = match self.kind {
            Kind::ValueCount => {
                let parts: Option<Vec<String>> =
                    self.value_fields.iter().map(|f| text_at(json, f)).collect();
                parts.map(|p| p.join("\u{1f}"))
            }
            _ => None,
        };
        Input {
            time,
            event_id: event_id.map(str::to_string),
            key,
            value,
            rules: mask,
            shown,
        }
    }

    /// The inputs that completed a match, in order of time. `inputs` is consumed: sorted, then
    /// replayed one group window at a time.
    pub fn fire<D>(&self, mut inputs: Vec<Input<D>>) -> Vec<Input<D>> {
        inputs.sort_by(|a, b| {
            (a.time, &a.event_id, &a.key, &a.value, a.rules).cmp(&(
                b.time,
                &b.event_id,
                &b.key,
                &b.value,
                b.rules,
            ))
        });
        let mut windows: HashMap<Vec<Option<String>>, Window> = HashMap::new();
        let mut fired = Vec::new();
        for input in inputs {
            let w = windows
                .entry(input.key.clone())
                .or_insert_with(|| Window::new(self.refs.len()));
            w.evict(input.time.saturating_sub(self.timespan));
            w.push(self.kind, &input);
            let measure = w.measure(self.kind, self.refs.len());
            if self.holds(measure) {
                w.clear();
                fired.push(input);
            }
        }
        fired
    }

    fn holds(&self, measure: u64) -> bool {
        if self.predicates.is_empty() {
            return measure >= self.refs.len() as u64;
        }
        self.predicates.iter().all(|&(op, n)| match op {
            ConditionOperator::Lt => measure < n,
            ConditionOperator::Lte => measure <= n,
            ConditionOperator::Gt => measure > n,
            ConditionOperator::Gte => measure >= n,
            ConditionOperator::Eq => measure == n,
            ConditionOperator::Neq => measure != n,
        })
    }
}

/// One group's sliding window: the entries, oldest first, and the counts kept with them.
struct Window {
    /// (time, value) per entry; for temporal kinds one entry per rule matched.
    entries: VecDeque<(i64, Entry)>,
    /// `value_count`: how many entries hold each value.
    values: HashMap<String, usize>,
    /// Temporal kinds: the times of each rule's entries, oldest first.
    per_rule: Vec<VecDeque<i64>>,
}

enum Entry {
    Event,
    Value(String),
    Rule(usize),
}

impl Window {
    fn new(rules: usize) -> Window {
        Window {
            entries: VecDeque::new(),
            values: HashMap::new(),
            per_rule: vec![VecDeque::new(); rules],
        }
    }

    /// Drops the entries older than `cutoff`; one at exactly `cutoff` stays.
    fn evict(&mut self, cutoff: i64) {
        while self.entries.front().is_some_and(|(t, _)| *t < cutoff) {
            let Some((_, e)) = self.entries.pop_front() else {
                break;
            };
            match e {
                Entry::Event => {}
                Entry::Value(v) => {
                    if let Some(n) = self.values.get_mut(&v) {
                        *n -= 1;
                        if *n == 0 {
                            self.values.remove(&v);
                        }
                    }
                }
                Entry::Rule(r) => {
                    self.per_rule[r].pop_front();
                }
            }
        }
    }

    fn push<D>(&mut self, kind: Kind, input: &Input<D>) {
        let t = input.time;
        match kind {
            Kind::EventCount => self.entries.push_back((t, Entry::Event)),
            Kind::ValueCount => {
                if let Some(v) = &input.value {
                    *self.values.entry(v.clone()).or_insert(0) += 1;
                    self.entries.push_back((t, Entry::Value(v.clone())));
                }
            }
            Kind::Temporal | Kind::TemporalOrdered => {
                for r in 0..self.per_rule.len() {
                    if input.rules & (1 << r) != 0 {
                        self.per_rule[r].push_back(t);
                        self.entries.push_back((t, Entry::Rule(r)));
                    }
                }
            }
        }
    }

    fn measure(&self, kind: Kind, rules: usize) -> u64 {
        match kind {
            Kind::EventCount => self.entries.len() as u64,
            Kind::ValueCount => self.values.len() as u64,
            Kind::Temporal => self.per_rule.iter().filter(|t| !t.is_empty()).count() as u64,
            Kind::TemporalOrdered => {
                // Greedy: the earliest time of each rule no earlier than the one before it.
                let mut at = i64::MIN;
                for times in &self.per_rule {
                    let i = times.partition_point(|&t| t < at);
                    match times.get(i) {
                        Some(&t) => at = t,
                        None => return 0,
                    }
                }
                rules as u64
            }
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.values.clear();
        self.per_rule.iter_mut().for_each(VecDeque::clear);
    }
}

/// A field's text for a group key or a value: a string as it is, a number as written (an
/// integer) or as Rust prints an f64, `true`/`false`; `None` when absent, null, an object, an
/// array, or behind an array. A top-level key spelled like the whole dotted path comes first.
pub fn text_at(json: &Value, path: &str) -> Option<String> {
    let mut v = json.get(path);
    if v.is_none() && path.contains('.') {
        let mut at = json;
        for seg in path.split('.') {
            at = at.as_object()?.get(seg)?;
        }
        v = Some(at);
    }
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

/// The top-level members a correlation reads of its rules' events (`view::roots`' sense).
pub fn roots(c: &Correlation) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for path in c.group_by.iter().flatten().chain(&c.value_fields) {
        super::view::add_root(&mut out, path);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corr(
        kind: Kind,
        refs: usize,
        timespan: i64,
        predicates: Vec<(ConditionOperator, u64)>,
    ) -> Correlation {
        Correlation {
            id: None,
            title: "t".into(),
            level: None,
            author: None,
            origin: Origin::Builtin,
            kind,
            refs: (0..refs as u32).collect(),
            group_by: vec![],
            value_fields: vec![],
            timespan,
            predicates,
        }
    }

    fn input(time: i64, id: &str, value: Option<&str>, rules: u64) -> Input<String> {
        Input {
            time,
            event_id: Some(id.to_string()),
            key: vec![],
            value: value.map(str::to_string),
            rules,
            shown: id.to_string(),
        }
    }

    fn fired(c: &Correlation, inputs: Vec<Input<String>>) -> Vec<String> {
        c.fire(inputs).into_iter().map(|i| i.shown).collect()
    }

    const GTE: ConditionOperator = ConditionOperator::Gte;

    #[test]
    fn an_entry_at_exactly_the_timespan_stays_and_a_match_empties_the_window() {
        let c = corr(Kind::EventCount, 1, 60, vec![(GTE, 2)]);
        // 0 and 60 are within 60 s; after the match at 60 the window is empty, so 61 is alone,
        // and 200 does not see 61 (more than 60 s before).
        let got = fired(
            &c,
            vec![
                input(60, "b", None, 1),
                input(0, "a", None, 1),
                input(61, "c", None, 1),
                input(200, "d", None, 1),
            ],
        );
        assert_eq!(got, ["b"]);
        let c = corr(Kind::EventCount, 1, 59, vec![(GTE, 2)]);
        assert!(fired(&c, vec![input(0, "a", None, 1), input(60, "b", None, 1)]).is_empty());
    }

    #[test]
    fn value_count_counts_distinct_values_and_events_without_one_add_nothing() {
        let c = corr(Kind::ValueCount, 1, 3600, vec![(GTE, 2)]);
        let got = fired(
            &c,
            vec![
                input(1, "a", Some("x"), 1),
                input(2, "b", Some("x"), 1),
                input(3, "c", None, 1),
                input(4, "d", Some("y"), 1),
            ],
        );
        assert_eq!(got, ["d"]);
    }

    #[test]
    fn temporal_needs_every_rule_by_default_and_ordered_needs_them_in_order() {
        let c = corr(Kind::Temporal, 2, 100, vec![]);
        assert_eq!(
            fired(&c, vec![input(5, "b", None, 2), input(9, "a", None, 1)]),
            ["a"]
        );
        let c = corr(Kind::TemporalOrdered, 2, 100, vec![]);
        assert!(fired(&c, vec![input(5, "b", None, 2), input(9, "a", None, 1)]).is_empty());
        assert_eq!(
            fired(&c, vec![input(5, "a", None, 1), input(9, "b", None, 2)]),
            ["b"]
        );
        // One event matching both rules, in order at the same second.
        assert_eq!(fired(&c, vec![input(5, "a", None, 3)]), ["a"]);
        // Greedy: the earliest `a` then a `b` no earlier than it.
        let c = corr(Kind::TemporalOrdered, 2, 100, vec![]);
        assert_eq!(
            fired(
                &c,
                vec![
                    input(1, "b0", None, 2),
                    input(2, "a", None, 1),
                    input(3, "a2", None, 1),
                    input(4, "b", None, 2)
                ]
            ),
            ["b"]
        );
    }

    #[test]
    fn predicates_all_hold() {
        let c = corr(
            Kind::EventCount,
            1,
            100,
            vec![(ConditionOperator::Gt, 1), (ConditionOperator::Lte, 2)],
        );
        assert!(!c.holds(1) && c.holds(2) && !c.holds(3));
        let c = corr(Kind::EventCount, 1, 100, vec![(ConditionOperator::Neq, 2)]);
        assert!(c.holds(1) && !c.holds(2));
        let c = corr(Kind::EventCount, 1, 100, vec![(ConditionOperator::Lt, 2)]);
        assert!(c.holds(1) && !c.holds(2));
        let c = corr(Kind::EventCount, 1, 100, vec![(ConditionOperator::Eq, 2)]);
        assert!(c.holds(2) && !c.holds(1));
    }

    #[test]
    fn field_text_is_the_scalar_at_the_path() {
        let j: Value = serde_json::from_str(
            r#"{"a":{"b":"x","n":7,"f":1.5,"t":true,"z":null,"o":{},"l":[1]},"a.b":"top","arr":[{"b":"y"}],"big":18446744073709551615,"e":2e0}"#,
        )
        .unwrap();
        assert_eq!(text_at(&j, "a.b").as_deref(), Some("top"));
        assert_eq!(text_at(&j, "a.n").as_deref(), Some("7"));
        assert_eq!(text_at(&j, "a.f").as_deref(), Some("1.5"));
        assert_eq!(text_at(&j, "a.t").as_deref(), Some("true"));
        assert_eq!(text_at(&j, "big").as_deref(), Some("18446744073709551615"));
        assert_eq!(text_at(&j, "e").as_deref(), Some("2"));
        for none in ["a.z", "a.o", "a.l", "arr.b", "missing", "a.b.c"] {
            assert_eq!(text_at(&j, none), None, "{none}");
        }
    }

    #[test]
    fn aliases_name_the_field_per_rule_and_the_first_matched_rule_wins() {
        let mut c = corr(Kind::EventCount, 2, 100, vec![(GTE, 2)]);
        c.group_by = vec![vec!["u1".into(), "u2".into()]];
        let j: Value = serde_json::from_str(r#"{"u1":"alice","u2":"bob"}"#).unwrap();
        assert_eq!(
            c.input(&j, 0, None, 0b10, ()).key,
            [Some("bob".to_string())]
        );
        assert_eq!(
            c.input(&j, 0, None, 0b11, ()).key,
            [Some("alice".to_string())]
        );
    }
}
