//! Which rules run: the built-in rules and the files of `--rules`, each document checked.
//!
//! A file or document ctq cannot run is named with the reason and counted as skipped (exit 3);
//! the other rules still run. Rule files are small: a file over `MAX_RULE_FILE` is refused
//! before it is parsed, folders are walked without recursion and without visiting a folder
//! twice, and at most `MAX_RULES` rules are kept.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rsigma_parser::{Detection, Modifier, SigmaRule};

use super::correlate::{self, Pending};
use super::rule::{Level, Origin, Rule};
use super::select::{Loaded, Selection, select};
use super::{builtin, gate, normalize};

/// The largest rule file read: SigmaHQ's largest is under 10 KiB.
const MAX_RULE_FILE: u64 = 1 << 20;
/// The most rules one run keeps; SigmaHQ has about 3,000 in all.
const MAX_RULES: usize = 100_000;
/// The most `not` in a row in a rule file. rsigma's condition parser recurses once per `not`
/// with no limit of its own (it has one for parentheses), and conditions are up to 64 KiB.
const MAX_NOTS: usize = 64;
/// The most `[` and `{` in a rule file (SigmaHQ's rules have a few dozen at most).
const MAX_BRACKETS: usize = 4096;
/// The deepest folder walked under a `--rules` folder.
const MAX_DEPTH: usize = 64;

/// The modifiers ctq runs, as the Sigma specification defines them. rsigma knows more
/// (`expand`, `wide`, time parts, `neq`, …); a rule using them is skipped rather than run with
/// a meaning ctq does not document.
fn supported(m: Modifier) -> bool {
    use Modifier::*;
    matches!(
        m,
        Contains
            | StartsWith
            | EndsWith
            | All
            | Base64
            | Base64Offset
            | WindAsh
            | Re
            | Cidr
            | Cased
            | Exists
            | FieldRef
            | Gt
            | Gte
            | Lt
            | Lte
            | IgnoreCase
            | Multiline
            | DotAll
    )
}

/// The stack of the thread that parses and compiles rules. rsigma's parser and compiler recurse
/// over a rule's structure: YAML nesting is capped by the YAML parser, parentheses by rsigma,
/// and the rest by the size of a condition (64 KiB, about 16,000 `not`, each a frame of about
/// 1.4 KB in a debug build). Only the pages used count against memory.
const LOAD_STACK: usize = 256 << 20;

/// Reads the rules of `sel`; an error only when a `--rules` path cannot be read at all.
pub fn load(sel: &Selection) -> anyhow::Result<Loaded> {
    let sel = sel.clone();
    std::thread::Builder::new()
        .name("rules".into())
        .stack_size(LOAD_STACK)
        .spawn(move || load_here(&sel))?
        .join()
        .unwrap_or_else(|_| anyhow::bail!("internal error while reading the rules (a bug in ctq)"))
}

/// What the files held, before the correlations are resolved and the selection made.
#[derive(Default)]
struct Read {
    out: Loaded,
    /// Rule ids, and the file that first gave each.
    ids: HashMap<String, String>,
    pending: Vec<Pending>,
    /// The ids and names of the rules and correlations that were skipped.
    skipped_names: HashSet<String>,
}

impl Read {
    /// Whether one more rule or correlation may be kept (`MAX_RULES`).
    fn room(&self) -> Result<(), String> {
        if self.out.rules.len() + self.pending.len() >= MAX_RULES {
            return Err(format!("more than {MAX_RULES} rules: not run"));
        }
        Ok(())
    }

    /// A rule or correlation skipped: the message, and its id and name for the correlations
    /// that refer to it.
    fn skip(&mut self, message: String, id: &Option<String>, name: &Option<String>) {
        self.out.skipped.push(message);
        self.skipped_names
            .extend([id.clone(), name.clone()].into_iter().flatten());
    }

    /// A rule or correlation kept: its id is taken.
    fn note_id(&mut self, id: &Option<String>, origin: &Origin) {
        if let Some(id) = id {
            self.ids.insert(id.clone(), origin.as_str().to_string());
        }
    }
}

fn load_here(sel: &Selection) -> anyhow::Result<Loaded> {
    let mut read = Read::default();
    if sel.builtin {
        for (name, text) in builtin::RULES {
            add_file(&mut read, text, Origin::Builtin, name);
        }
    }
    let mut seen = HashSet::new();
    for root in &sel.paths {
        let files = rule_files(root, &mut read.out.skipped)?;
        if files.is_empty() {
            read.out.skipped.push(format!(
                "{}: no .yml or .yaml file in this folder",
                root.display()
            ));
        }
        for path in files {
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.insert(canonical) {
                continue;
            }
            let shown = path.display().to_string();
            match read_rule_file(&path) {
                Ok(text) => {
                    read.out.files += 1;
                    add_file(&mut read, &text, Origin::File(shown.clone()), &shown);
                }
                Err(why) => read.out.skipped.push(format!("{shown}: {why}")),
            }
        }
    }
    Ok(select(read.out, read.pending, read.skipped_names, sel))
}

/// The `.yml`/`.yaml` files under `root` (or `root` itself), sorted within each folder.
fn rule_files(root: &Path, skipped: &mut Vec<String>) -> anyhow::Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(root).map_err(|e| {
        anyhow::anyhow!(
            "--rules {}: {}",
            root.display(),
            crate::source::io_reason(&e)
        )
    })?;
    if !meta.is_dir() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut visited = HashSet::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        if !visited.insert(std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone())) {
            continue;
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                skipped.push(format!(
                    "{}: {}",
                    dir.display(),
                    crate::source::io_reason(&e)
                ));
                continue;
            }
        };
        let mut here: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        here.sort();
        let mut subdirs = Vec::new();
        for p in here {
            if p.is_dir() {
                if depth + 1 < MAX_DEPTH {
                    subdirs.push((p, depth + 1));
                } else {
                    skipped.push(format!(
                        "{}: more than {MAX_DEPTH} folders deep, not read",
                        p.display()
                    ));
                }
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
                files.push(p);
            }
        }
        // Depth first, in name order: the stack pops the first subfolder next.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(files)
}

fn read_rule_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| crate::source::io_reason(&e))?;
    let mut bytes = Vec::new();
    file.take(MAX_RULE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::source::io_reason(&e))?;
    if bytes.len() as u64 > MAX_RULE_FILE {
        return Err(format!(
            "larger than {} KiB: not read as a Sigma rule",
            MAX_RULE_FILE >> 10
        ));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Parses one file's documents and keeps the rules ctq can run.
fn add_file(read: &mut Read, text: &str, origin: Origin, shown: &str) {
    let out = &mut read.out;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // libyaml's scanner is quadratic in the number of unclosed brackets; a rule has a few.
    let brackets = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if brackets > MAX_BRACKETS {
        out.skipped.push(format!(
            "{shown}: {brackets} brackets: more than {MAX_BRACKETS}, not read as a Sigma rule"
        ));
        return;
    }
    let nots = longest_not_run(text);
    if nots > MAX_NOTS {
        out.skipped.push(format!(
            "{shown}: {nots} `not` in a row: more than {MAX_NOTS}, not read (the condition parser \
             would recurse once for each)"
        ));
        return;
    }
    let collection = match rsigma_parser::parse_sigma_yaml(text) {
        Ok(c) => c,
        Err(e) => {
            out.skipped
                .push(format!("{shown}: {}", one_line(&e.to_string())));
            return;
        }
    };
    for e in &collection.errors {
        out.skipped.push(format!("{shown}: {}", one_line(e)));
    }
    if !collection.filters.is_empty() {
        out.skipped.push(format!(
            "{shown}: {} Sigma filter document(s): filters are not supported",
            collection.filters.len()
        ));
    }
    let facts = if collection.correlations.is_empty() {
        Vec::new()
    } else {
        correlation_docs(text)
    };
    for c in collection.correlations {
        let title = c.title.clone();
        let named = |why: String| format!("{shown}: correlation {title:?}: {why}");
        let why = read.room().and_then(|()| {
            let problem = facts
                .iter()
                .find(|f| f.title == title)
                .and_then(|f| f.problem.clone());
            match problem {
                Some(p) => Err(p),
                None => correlate::check(&c).and_then(|()| unique_id(&read.ids, &c.id)),
            }
        });
        if let Err(why) = why {
            read.skip(named(why), &c.id, &c.name);
            continue;
        }
        read.note_id(&c.id, &origin);
        read.pending.push(Pending {
            has_condition: facts.iter().any(|f| f.title == title && f.has_condition),
            shown: named(String::new()).trim_end_matches(": ").to_string(),
            origin: origin.clone(),
            rule: c,
        });
    }
    for mut rule in collection.rules {
        let title = rule.title.clone();
        let named = |why: String| format!("{shown}: rule {title:?}: {why}");
        let why = read.room().and_then(|()| {
            applies(&rule)
                .and_then(|()| normalize::normalize(&mut rule))
                .and_then(|()| unique_id(&read.ids, &rule.id))
        });
        let compiled = why
            .and_then(|()| rsigma_eval::compile_rule(&rule).map_err(|e| one_line(&e.to_string())));
        let compiled = match compiled {
            Ok(c) => c,
            Err(why) => {
                read.skip(named(why), &rule.id, &rule.name);
                continue;
            }
        };
        read.note_id(&rule.id, &origin);
        read.out.rules.push(Rule {
            id: rule.id.clone(),
            name: rule.name.clone(),
            title,
            level: rule.level.map(Level::from_sigma),
            author: rule.author.clone(),
            origin: origin.clone(),
            reported: true,
            feeds: Vec::new(),
            gate: gate::analyse(&rule),
            keys: gate::required_keys(&rule),
            roots: super::view::roots(&rule),
            plan: super::eval::Plan::new(&compiled),
            compiled,
            parsed: rule,
        });
    }
}

fn unique_id(ids: &HashMap<String, String>, id: &Option<String>) -> Result<(), String> {
    match id
        .as_ref()
        .and_then(|id| ids.get(id).map(|first| (id, first)))
    {
        Some((id, first)) => Err(format!("id {id} is also the id of a rule in {first}")),
        None => Ok(()),
    }
}

/// What rsigma's parser does not say of a correlation document: whether it gives
/// `correlation.condition` (the parser fills in `gte: 1`), and what it would drop without a
/// word (a name in `rules` or `group-by` that is not text, an alias that is not a map of texts).
struct DocFacts {
    title: String,
    has_condition: bool,
    problem: Option<String>,
}

fn correlation_docs(text: &str) -> Vec<DocFacts> {
    use serde::Deserialize;
    use yaml_serde::Value as Y;
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let Ok(v) = Y::deserialize(doc) else {
            break;
        };
        let Some(corr) = v.get("correlation") else {
            continue;
        };
        let title = v.get("title").and_then(|t| t.as_str()).unwrap_or_default();
        let texts = |key: &str| match corr.get(key) {
            Some(Y::Sequence(items)) => items.iter().all(|i| i.is_string()),
            _ => true,
        };
        let aliases_ok = match corr.get("aliases") {
            None => true,
            Some(Y::Mapping(m)) => m.values().all(|per_rule| match per_rule {
                Y::Mapping(fields) => fields.iter().all(|(k, f)| k.is_string() && f.is_string()),
                _ => false,
            }),
            Some(_) => false,
        };
        let problem = if !texts("rules") {
            Some("rules: every item must be a rule's id or name".to_string())
        } else if !texts("group-by") {
            Some("group-by: every item must be a field name".to_string())
        } else if !aliases_ok {
            Some("aliases: must map each alias to {rule id or name: field}".to_string())
        } else {
            None
        };
        out.push(DocFacts {
            title: title.to_string(),
            has_condition: corr.get("condition").is_some(),
            problem,
        });
    }
    out
}

/// Whether ctq runs this rule: a CloudTrail log source, and only the documented features.
fn applies(rule: &SigmaRule) -> Result<(), String> {
    let ls = &rule.logsource;
    let product = ls.product.as_deref().map(str::to_ascii_lowercase);
    let service = ls.service.as_deref().map(str::to_ascii_lowercase);
    if product.as_deref() != Some("aws") || service.as_deref().is_some_and(|s| s != "cloudtrail") {
        let shown = |v: &Option<String>| v.as_deref().unwrap_or("(none)").to_string();
        return Err(format!(
            "log source product: {}, service: {} is not AWS CloudTrail",
            shown(&ls.product),
            shown(&ls.service)
        ));
    }
    if rule.detection.timeframe.is_some() {
        return Err("`timeframe` (an aggregation) is not supported".into());
    }
    let mut stack: Vec<&Detection> = rule.detection.named.values().collect();
    while let Some(d) = stack.pop() {
        match d {
            Detection::AllOf(items) => {
                for item in items {
                    if let Some(m) = item.field.modifiers.iter().find(|m| !supported(**m)) {
                        return Err(format!(
                            "the modifier `{}` is not supported",
                            modifier_name(*m)
                        ));
                    }
                }
            }
            Detection::AnyOf(ds) | Detection::And(ds) => stack.extend(ds),
            Detection::Keywords(_) => {}
            Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {
                return Err("array blocks (`field[any]:`) are not supported".into());
            }
        }
    }
    Ok(())
}

fn modifier_name(m: Modifier) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{m:?}").to_lowercase())
}

/// The longest run of the word `not` (any case) with only spaces and parentheses between,
/// anywhere in `text`: an upper bound of how deep a condition of the file nests `not`.
fn longest_not_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    let words = text.split(|c: char| c.is_whitespace() || c == '(' || c == ')');
    for word in words.filter(|w| !w.is_empty()) {
        if word.eq_ignore_ascii_case("not") {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// A parser's message on one line (YAML errors can span several).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in rule names the event names it is about (or, for the one about instance
    /// credentials, a key only those events have), so that other events cost no rule any work.
    #[test]
    fn every_builtin_rule_is_gated_on_its_event_names() {
        let loaded = load(&Selection {
            builtin: true,
            ..Selection::default()
        })
        .unwrap();
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        let open: Vec<&str> = loaded
            .rules
            .iter()
            .filter(|r| match &r.gate {
                gate::Gate::Open => true,
                // A wider gate is fine with a key only some events have.
                gate::Gate::AnyOf(alts) => {
                    alts.iter().any(|(f, _)| *f != gate::Field::EventName)
                        && !r.keys.iter().any(|k| *k == "ec2RoleDelivery\"")
                }
            })
            .map(|r| r.title.as_str())
            .collect();
        assert!(open.is_empty(), "not gated on eventName: {open:?}");
    }
}
