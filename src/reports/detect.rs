//! `detect`: what here looks like an attack? Sigma rules over the events of the window.
//!
//! The rules (`sigma::load`) are read before any event. Each event is first shown to the index
//! of the rules' gates (`sigma::gate`), which reads only the lean event; only an event with a
//! rule it could match has its own JSON parsed and shown to those rules (`sigma::view`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::def::{Context, Report, ReportDef};

mod athena;
mod rows;
use rows::{Detail, Hits, details_document, summary_document};
use super::events::raw_line;
use super::group::Details;
use crate::athena::results::ResultTable;
use crate::athena::sql::Query;
use crate::document::{Column, Document, Rows, Value};
use crate::event::Event;
use crate::exit::{Repeated, warn, warn_repeated};
use crate::progress::plural;
use crate::sigma::correlate::{self, Input};
use crate::sigma::{self, Head, Level, RuleSet, Selection};
use crate::time::{Micros, SECOND};

/// What here looks like an attack? Run Sigma detection rules
///
/// Runs ctq's built-in rules, and the Sigma rules given with --rules, over the events of the
/// window: one row per rule that matched, most severe first. Rules are Sigma YAML with
/// `logsource: {product: aws, service: cloudtrail}`; a rule ctq cannot run is named on stderr
/// and the others still run (exit 3). A field whose value is an array matches if any element
/// matches, and one whose value is an object if any value inside it does.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Rules")]
pub struct Args {
    /// Sigma rules: a .yml file, or a folder searched for them (repeatable)
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Run only the rules given with --rules, not ctq's built-in ones
    #[arg(long)]
    no_builtin: bool,
    /// Only the rules at or above this level
    #[arg(long, value_name = "LEVEL")]
    level: Option<Level>,
    /// Only the rules whose id or title contains TEXT (any case)
    #[arg(long = "rule", value_name = "TEXT")]
    rule: Option<String>,
    /// Print the rules that would run, and read no events
    #[arg(long)]
    list_rules: bool,
    /// One row per rule and matching event, newest first
    #[arg(long, conflicts_with = "raw", help_heading = "Detection output")]
    details: bool,
    /// The matching events as logged, one per line, each once
    #[arg(long, help_heading = "Detection output")]
    raw: bool,
    /// Exit 4 when a rule at or above LEVEL matched (for CI)
    #[arg(long, value_name = "LEVEL", help_heading = "Detection output")]
    fail_on: Option<Level>,
    /// The rules, once read.
    #[arg(skip)]
    set: Option<Arc<RuleSet>>,
    /// Set when a rule at or above `fail_on` matched.
    #[arg(skip)]
    tripped: Arc<AtomicBool>,
    /// Events the rules could not be shown, counted as skipped (exit 3).
    #[arg(skip)]
    unreadable: Arc<AtomicU64>,
    /// Rules that `--engine athena` could not compile (exit 3).
    #[arg(skip)]
    local_only: Arc<AtomicU64>,
    /// Correlation inputs: how many were kept (all workers), and how many were not (exit 3).
    #[arg(skip)]
    inputs: Arc<[AtomicU64; 3]>,
}

const LIST: [Column; 5] = [
    Column::text("rule_id").rank(2),
    Column::text("title").wrap().rank(0),
    Column::text("level").rank(0),
    Column::text("author").wrap().rank(3),
    Column::text("source").elide().rank(1),
];

impl Args {
    fn set(&self) -> Arc<RuleSet> {
        self.set
            .clone()
            .unwrap_or_else(|| Arc::new(RuleSet::new(Vec::new(), Vec::new())))
    }

    fn mode(&self) -> Mode {
        match (self.details, self.raw) {
            (true, _) => Mode::Details,
            (_, true) => Mode::Raw,
            _ => Mode::Summary,
        }
    }
}

impl ReportDef for Args {
    const NAME: &'static str = "detect";
    const EXAMPLES: &'static str = "\
  ctq detect -s s3://my-trail-bucket --since 7d
  ctq detect -s ./AWSLogs --rules ./sigma/rules/cloud/aws --level high --details
  ctq detect -s s3://my-trail-bucket --since 1h -q --fail-on high || page-oncall";
    type Acc = Detect;

    fn prepare(&mut self) -> anyhow::Result<u64> {
        let loaded = sigma::load(&Selection {
            builtin: !self.no_builtin,
            paths: self.rules.clone(),
            min_level: self.level,
            text: self.rule.clone(),
        })?;
        for why in &loaded.skipped {
            warn_repeated(Repeated::SkippedRule, why);
        }
        let skipped = loaded.skipped.len() as u64;
        let set = RuleSet::new(loaded.rules, loaded.correlations);
        let n = (0..set.entries()).filter(|&i| set.reported(i)).count();
        if n == 0 {
            let mut why = "no rules to run".to_string();
            if skipped > 0 {
                why.push_str(&format!(": {skipped} skipped (named above)"));
            } else if self.level.is_some() || self.rule.is_some() {
                why.push_str(": none is left after --level and --rule");
            } else if self.no_builtin {
                why.push_str(": --no-builtin, and --rules gave no rule file");
            }
            anyhow::bail!(why);
        }
        if skipped > 0 {
            let s = if skipped == 1 { "" } else { "s" };
            warn(&format!(
                "{skipped} rule{s} or rule file{s} skipped (named above); {}",
                if n == 1 {
                    "the 1 other rule runs".to_string()
                } else {
                    format!("the {n} other rules run")
                }
            ));
        }
        self.set = Some(Arc::new(set));
        Ok(skipped)
    }

    fn reads_events(&self) -> bool {
        !self.list_rules
    }

    fn without_events(&self) -> Option<Document> {
        if !self.list_rules {
            return None;
        }
        let set = self.set();
        let mut rules: Vec<Head<'_>> = (0..set.entries()).map(|i| set.head(i)).collect();
        rules.sort_by(|a, b| {
            (a.level_rank(), a.id, a.title).cmp(&(b.level_rank(), b.id, b.title))
        });
        let rows = rules
            .into_iter()
            .map(|r| {
                vec![
                    Value::str(r.id),
                    Value::Str(r.title.to_string()),
                    Value::str(r.level.map(Level::as_str)),
                    Value::str(r.author),
                    Value::Str(r.origin.as_str().to_string()),
                ]
            })
            .collect();
        Some(
            Rows {
                columns: LIST.to_vec(),
                rows,
                footer: vec![],
                notes: vec![],
            }
            .into(),
        )
    }

    fn alert(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    fn partial(&self) -> u64 {
        self.unreadable.load(Ordering::Relaxed)
            + self.inputs[1].load(Ordering::Relaxed)
            + self.local_only.load(Ordering::Relaxed)
    }

    fn accumulator(&self, _: &Context<'_>) -> Detect {
        let set = self.set();
        Detect {
            mode: self.mode(),
            hits: vec![Hits::default(); set.entries()],
            inputs: (0..set.correlations.len()).map(|_| Vec::new()).collect(),
            inputs_count: Arc::clone(&self.inputs),
            inputs_dropped: 0,
            details: Vec::new(),
            raw: Details::new(false, None),
            events: 0,
            unreadable: 0,
            unreadable_ids: Vec::new(),
            unreadable_total: Arc::clone(&self.unreadable),
            fail_on: self.fail_on,
            tripped: Arc::clone(&self.tripped),
            scratch: (Vec::new(), String::new(), Vec::new()),
            members: Vec::new(),
            set,
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        if self.raw {
            return Err("--raw needs each event's own JSON, which the Athena table does not keep \
                        (CloudTrail's SerDe splits it into columns); run it on the local engine, \
                        for example with --source s3://…"
                .into());
        }
        let (query, local_only) = athena::query(&self.set(), self.details)?;
        self.local_only.store(local_only, Ordering::Relaxed);
        Ok(query)
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        let set = self.set();
        let (hits, details) = athena::rows(&set, self.details, t)?;
        trip(self.fail_on, &self.tripped, &set, &hits);
        let mut notes = Vec::new();
        let local_only = self.local_only.load(Ordering::Relaxed);
        if local_only > 0 {
            notes.push(format!(
                "{} ran on Athena; {} did not (named above: run them on the local engine)",
                plural((set.entries() as u64).saturating_sub(local_only), "rule"),
                plural(local_only, "rule")
            ));
        }
        Ok(if self.details {
            details_document(&set, details, notes)
        } else {
            summary_document(&set, hits, notes)
        })
    }
}

/// `--fail-on`: notes whether an entry (`RuleSet::head`) at or above `fail_on` matched, for
/// both engines.
fn trip(fail_on: Option<Level>, tripped: &AtomicBool, set: &RuleSet, hits: &[Hits]) {
    if let Some(min) = fail_on {
        let any = hits
            .iter()
            .enumerate()
            .any(|(i, h)| h.count > 0 && set.head(i).level.is_some_and(|l| l >= min));
        tripped.store(any, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Summary,
    Details,
    Raw,
}

/// What a correlation keeps of an event that matched one of its rules, in case the event
/// completes a match: its `--details` row, and its text for `--raw`.
#[derive(Debug, Clone)]
struct Shown {
    detail: Detail,
    /// The event's line for `--raw`, unless a reported rule's match prints it already.
    raw: Option<String>,
    /// The event's number among those fed to correlations: `--raw` prints an event once,
    /// however many correlations it completes.
    ordinal: u64,
}

#[derive(Debug, Clone)]
pub struct Detect {
    set: Arc<RuleSet>,
    mode: Mode,
    /// Per rule, then per correlation (`RuleSet::head`), in every mode: what `--fail-on` and the
    /// summary read.
    hits: Vec<Hits>,
    /// Per correlation: the events that matched its rules.
    inputs: Vec<Vec<Input<Shown>>>,
    /// The inputs kept by every worker, those not kept (past `correlate::MAX_INPUTS`), and the
    /// events fed so far (`Shown::ordinal`).
    inputs_count: Arc<[AtomicU64; 3]>,
    inputs_dropped: u64,
    details: Vec<Detail>,
    raw: Details,
    events: u64,
    /// Events that had rules to run but could not be parsed into values, and a few of their ids.
    unreadable: u64,
    unreadable_ids: Vec<String>,
    fail_on: Option<Level>,
    tripped: Arc<AtomicBool>,
    unreadable_total: Arc<AtomicU64>,
    /// The candidate rules of the event at hand, its lower-cased field, and the rules it matched.
    scratch: (Vec<u32>, String, Vec<u32>),
    /// Scratch space for the top-level members of the event at hand.
    members: Vec<sigma::view::Member>,
}

impl Detect {
    /// The row of `--details` for a match of entry `rule` by `ev`.
    fn detail(ev: &Event<'_>, time: Option<Micros>, rule: u32) -> Detail {
        Detail {
            time,
            rule,
            event_id: ev.event_id.as_deref().map(str::to_string),
            event_name: ev.event_name.as_deref().map(str::to_string),
            event_source: ev.event_source.as_deref().map(str::to_string),
            principal: ev.principal().to_string(),
            source_ip: ev.source_ip.as_deref().map(str::to_string),
        }
    }

    /// Notes the event as an input of the correlations whose rules it matched (`fed`:
    /// correlation index and the rules matched, as a bit set).
    fn feed(
        &mut self,
        ev: &Event<'_>,
        time: Option<Micros>,
        json: &serde_json::Value,
        fed: &[(u32, u64)],
        printed: bool,
    ) {
        // An event without a time has no place in a window.
        let Some(t) = time else { return };
        let [kept, dropped, events] = &*self.inputs_count;
        let ordinal = events.fetch_add(1, Ordering::Relaxed);
        for &(c, mask) in fed {
            if kept.fetch_add(1, Ordering::Relaxed) >= correlate::MAX_INPUTS {
                dropped.fetch_add(1, Ordering::Relaxed);
                self.inputs_dropped += 1;
                continue;
            }
            let entry = (self.set.rules.len() + c as usize) as u32;
            let shown = Shown {
                detail: Self::detail(ev, time, entry),
                raw: (self.mode == Mode::Raw && !printed)
                    .then(|| ev.raw.as_deref().map(raw_line))
                    .flatten(),
                ordinal,
            };
            let corr = &self.set.correlations[c as usize];
            let input = corr.input(
                json,
                t.div_euclid(SECOND),
                ev.event_id.as_deref(),
                mask,
                shown,
            );
            self.inputs[c as usize].push(input);
        }
    }
}

impl Report for Detect {
    fn wants_raw(&self) -> bool {
        true
    }

    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        self.events += 1;
        let (candidates, lower, hit) = &mut self.scratch;
        self.set
            .index
            .candidates(ev, ev.raw.as_deref(), candidates, lower);
        if candidates.is_empty() {
            return;
        }
        let Some(raw) = ev.raw.as_deref() else {
            return;
        };
        let rules = &self.set.rules;
        candidates.retain(|&i| sigma::gate::has_keys(raw, &rules[i as usize].keys));
        if candidates.is_empty() {
            return;
        }
        // A rule reads a field from what the skim read, from the event's text, or from the
        // event parsed again (only the members its candidate rules read).
        let view = sigma::view::View::new(raw, ev, rules, candidates, std::mem::take(&mut self.members));
        hit.clear();
        hit.extend(candidates.iter().filter(|&&i| self.set.matches(i as usize, &view)));
        if hit.iter().any(|&i| !rules[i as usize].feeds.is_empty()) {
            // Correlations read their fields from the parse.
            let _ = view.json();
        }
        if view.unreadable() {
            // A number past f64's range, say: ctq's readers took it, serde_json does not.
            self.unreadable += 1;
            if self.unreadable_ids.len() < 5 {
                self.unreadable_ids
                    .push(ev.event_id.as_deref().unwrap_or("(no eventID)").to_string());
            }
            self.members = view.recycle();
            return;
        }
        let mut matched = false;
        let mut fed: Vec<(u32, u64)> = Vec::new();
        for &i in hit.iter() {
            let rule = &self.set.rules[i as usize];
            for &(c, pos) in &rule.feeds {
                match fed.iter_mut().find(|(x, _)| *x == c) {
                    Some((_, mask)) => *mask |= 1 << pos,
                    None => fed.push((c, 1 << pos)),
                }
            }
            if !rule.reported {
                continue;
            }
            matched = true;
            self.hits[i as usize].add(time, ev.principal());
            if self.mode == Mode::Details {
                self.details.push(Self::detail(ev, time, i));
            }
        }
        // Correlations are rare: their events' members are cloned, so that the view can go.
        let json = (!fed.is_empty()).then(|| view.json().cloned()).flatten();
        self.members = view.recycle();
        if let Some(json) = json {
            self.feed(ev, time, &json, &fed, matched);
        }
        if matched && self.mode == Mode::Raw {
            let line = Value::Str(raw_line(raw));
            self.raw.push(time, ev.event_id.as_deref(), vec![line]);
        }
    }

    fn merge(&mut self, other: Self) {
        for (h, o) in self.hits.iter_mut().zip(other.hits) {
            h.merge(o);
        }
        self.details.extend(other.details);
        for (mine, theirs) in self.inputs.iter_mut().zip(other.inputs) {
            mine.extend(theirs);
        }
        self.inputs_dropped += other.inputs_dropped;
        self.raw.merge(other.raw);
        self.events += other.events;
        self.unreadable += other.unreadable;
        self.unreadable_ids.extend(other.unreadable_ids);
        self.unreadable_ids.truncate(5);
    }

    fn finish(mut self) -> Document {
        let set = Arc::clone(&self.set);
        let mut printed = HashSet::new();
        for (c, inputs) in std::mem::take(&mut self.inputs).into_iter().enumerate() {
            let entry = set.rules.len() + c;
            for fired in set.correlations[c].fire(inputs) {
                let d = fired.shown.detail;
                self.hits[entry].add(d.time, &d.principal);
                match self.mode {
                    Mode::Details => self.details.push(d),
                    Mode::Raw => {
                        if let Some(line) = fired.shown.raw
                            && printed.insert(fired.shown.ordinal)
                        {
                            self.raw
                                .push(d.time, d.event_id.as_deref(), vec![Value::Str(line)]);
                        }
                    }
                    Mode::Summary => {}
                }
            }
        }
        trip(self.fail_on, &self.tripped, &set, &self.hits);
        let matched = self.hits.iter().filter(|h| h.count > 0).count();
        let mut notes = Vec::new();
        if self.inputs_dropped > 0 {
            notes.push(format!(
                "the correlation rules are incomplete: more than {} events matched their rules, \
                 and {} were not kept",
                correlate::MAX_INPUTS,
                plural(self.inputs_dropped, "event")
            ));
        }
        if self.unreadable > 0 {
            self.unreadable_total
                .store(self.unreadable, Ordering::Relaxed);
            notes.push(format!(
                "{} could not be shown to the rules (JSON that serde_json refuses, such as a \
                 number out of range), for example {}; the report does not cover them",
                plural(self.unreadable, "event"),
                self.unreadable_ids.join(", ")
            ));
        }
        if matched == 0 && self.events > 0 {
            let reported = (0..set.entries()).filter(|&i| set.reported(i)).count();
            notes.push(format!(
                "none of the {} matched any of the {} read",
                plural(reported as u64, "rule"),
                plural(self.events, "event")
            ));
        }
        match self.mode {
            Mode::Raw => Document::Lines(
                self.raw
                    .into_sorted()
                    .into_iter()
                    .filter_map(|mut r| match r.pop() {
                        Some(Value::Str(s)) => Some(s),
                        _ => None,
                    })
                    .collect(),
                notes,
            ),
            Mode::Details => details_document(&set, self.details, notes),
            Mode::Summary => summary_document(&set, self.hits, notes),
        }
    }
}

