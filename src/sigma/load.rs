//! Which rules run: the built-in rules and the files of `--rules`, each document checked.
//!
//! A file or document ctq cannot run is named with the reason and counted as skipped (exit 3);
//! the other rules still run. Rule files are small: a file over `MAX_RULE_FILE` is refused
//! before it is parsed, folders are walked without recursion and without visiting a folder
//! twice, and at most `MAX_RULES` rules are kept.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rsigma_parser::{Detection, Modifier, SigmaRule};

use super::correlate::{self, Correlation, Pending};
use super::rule::{Level, Origin, Rule};
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

/// What the user chose to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub builtin: bool,
    pub paths: Vec<PathBuf>,
    /// `--level`: rules at or above it (a rule without a level is left out).
    pub min_level: Option<Level>,
    /// `--rule`: rules whose id or title contains it, in any letter case.
    pub text: Option<String>,
}

/// The rules that will run, and what could not be used.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The detection rules that run: the ones reported, and the ones the correlations read.
    pub rules: Vec<Rule>,
    pub correlations: Vec<Correlation>,
    /// One line per file or rule that was skipped, with the reason.
    pub skipped: Vec<String>,
    /// Rule files read (built-in ones excepted).
    pub files: usize,
}

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
    Ok(select(read, sel))
}

/// Resolves the correlations' rule names, then keeps what the selection asks for: the rules and
/// correlations it chooses, and the rules those correlations read.
fn select(read: Read, sel: &Selection) -> Loaded {
    let Read {
        mut out,
        pending,
        skipped_names,
        ..
    } = read;
    let corr_names: HashSet<String> = pending
        .iter()
        .flat_map(|p| [p.rule.id.clone(), p.rule.name.clone()])
        .flatten()
        .collect();
    let mut by_id: HashMap<&str, u32> = HashMap::new();
    let mut by_name: HashMap<&str, u32> = HashMap::new();
    for (i, r) in out.rules.iter().enumerate() {
        if let Some(id) = &r.id {
            by_id.entry(id).or_insert(i as u32);
        }
        if let Some(name) = &r.name {
            by_name.entry(name).or_insert(i as u32);
        }
    }
    let mut resolved: Vec<(Pending, Vec<u32>)> = Vec::new();
    let mut skipped = Vec::new();
    for p in pending {
        let mut refs = Vec::new();
        let mut why = None;
        for r in &p.rule.rules {
            let found = by_id.get(r.as_str()).or_else(|| by_name.get(r.as_str()));
            match found {
                Some(&i) if refs.contains(&i) => {
                    why = Some(format!(
                        "it refers to the rule {r:?} twice (by id and by name)"
                    ));
                }
                Some(&i) => refs.push(i),
                None if corr_names.contains(r) => {
                    why = Some(format!(
                        "it refers to the correlation {r:?}: correlations of correlations are \
                         not supported"
                    ));
                }
                None if skipped_names.contains(r) => {
                    why = Some(format!("it refers to the rule {r:?}, which was skipped"));
                }
                None => {
                    why = Some(format!(
                        "it refers to {r:?}, and no rule with this id or name is loaded"
                    ));
                }
            }
            if why.is_some() {
                break;
            }
        }
        match why {
            Some(why) => skipped.push(format!("{}: {why}", p.shown)),
            None => resolved.push((p, refs)),
        }
    }
    out.skipped.extend(skipped);

    // A rule a correlation reads is reported on its own only when one of them says `generate`.
    let n = out.rules.len();
    let (mut referenced, mut generate) = (vec![false; n], vec![false; n]);
    for (p, refs) in &resolved {
        for &i in refs {
            referenced[i as usize] = true;
            generate[i as usize] |= p.rule.generate;
        }
    }
    let mut runs = vec![false; n];
    for (i, r) in out.rules.iter_mut().enumerate() {
        r.reported = (!referenced[i] || generate[i]) && keep(&r.id, &r.title, r.level, sel);
        runs[i] = r.reported;
    }
    let mut correlations = Vec::new();
    for (p, refs) in resolved {
        let level = p.rule.level.map(Level::from_sigma);
        if keep(&p.rule.id, &p.rule.title, level, sel) {
            for &i in &refs {
                runs[i as usize] = true;
            }
            correlations.push(correlate::build(p, refs));
        }
    }
    // Only the rules that run stay; the correlations' indexes follow them.
    let mut new_index = vec![u32::MAX; n];
    let mut kept = Vec::new();
    for (i, r) in std::mem::take(&mut out.rules).into_iter().enumerate() {
        if runs[i] {
            new_index[i] = kept.len() as u32;
            kept.push(r);
        }
    }
    for (c, corr) in correlations.iter_mut().enumerate() {
        let roots = correlate::roots(corr);
        for (pos, i) in corr.refs.iter_mut().enumerate() {
            *i = new_index[*i as usize];
            let rule = &mut kept[*i as usize];
            rule.feeds.push((c as u32, pos as u8));
            if let Some(have) = &mut rule.roots {
                for r in &roots {
                    if !have.contains(r) {
                        have.push(r.clone());
                    }
                }
            }
        }
    }
    out.rules = kept;
    out.correlations = correlations;
    out
}

fn keep(id: &Option<String>, title: &str, level: Option<Level>, sel: &Selection) -> bool {
    if let Some(min) = sel.min_level
        && level.is_none_or(|l| l < min)
    {
        return false;
    }
    if let Some(text) = &sel.text {
        let text = text.to_lowercase();
        let hit = |s: &str| s.to_lowercase().contains(&text);
        return id.as_deref().is_some_and(hit) || hit(title);
    }
    true
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
    let given = if collection.correlations.is_empty() {
        Vec::new()
    } else {
        conditions_given(text)
    };
    for c in collection.correlations {
        let title = c.title.clone();
        let named = |why: String| format!("{shown}: correlation {title:?}: {why}");
        let total = read.out.rules.len() + read.pending.len();
        let why = if total >= MAX_RULES {
            Err(format!("more than {MAX_RULES} rules: not run"))
        } else {
            correlate::check(&c).and_then(|()| unique_id(&read.ids, &c.id))
        };
        if let Err(why) = why {
            read.out.skipped.push(named(why));
            read.skipped_names
                .extend([c.id.clone(), c.name.clone()].into_iter().flatten());
            continue;
        }
        if let Some(id) = &c.id {
            read.ids.insert(id.clone(), origin.as_str().to_string());
        }
        read.pending.push(Pending {
            has_condition: given.iter().any(|(t, has)| *t == title && *has),
            shown: named(String::new()).trim_end_matches(": ").to_string(),
            origin: origin.clone(),
            rule: c,
        });
    }
    for mut rule in collection.rules {
        let title = rule.title.clone();
        let named = |why: String| format!("{shown}: rule {title:?}: {why}");
        let total = read.out.rules.len() + read.pending.len();
        let why = if total >= MAX_RULES {
            Err(format!("more than {MAX_RULES} rules: not run"))
        } else {
            applies(&rule)
                .and_then(|()| normalize::normalize(&mut rule))
                .and_then(|()| unique_id(&read.ids, &rule.id))
        };
        let compiled = why
            .and_then(|()| rsigma_eval::compile_rule(&rule).map_err(|e| one_line(&e.to_string())));
        let compiled = match compiled {
            Ok(c) => c,
            Err(why) => {
                read.out.skipped.push(named(why));
                read.skipped_names
                    .extend([rule.id.clone(), rule.name.clone()].into_iter().flatten());
                continue;
            }
        };
        if let Some(id) = &rule.id {
            read.ids.insert(id.clone(), origin.as_str().to_string());
        }
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

/// For each correlation document of a file, its title and whether it gives
/// `correlation.condition`: rsigma's parser fills in `gte: 1` when it does not.
fn conditions_given(text: &str) -> Vec<(String, bool)> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let Ok(v) = yaml_serde::Value::deserialize(doc) else {
            break;
        };
        let Some(corr) = v.get("correlation") else {
            continue;
        };
        let title = v.get("title").and_then(|t| t.as_str()).unwrap_or_default();
        out.push((title.to_string(), corr.get("condition").is_some()));
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
                        && !r.keys.iter().any(|k| k == "ec2RoleDelivery\"")
                }
            })
            .map(|r| r.title.as_str())
            .collect();
        assert!(open.is_empty(), "not gated on eventName: {open:?}");
    }
}
