//! What runs: the correlations' rule names resolved, and the `--level`/`--rule` selection made
//! over everything `load` read.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::correlate::{self, Correlation, Pending};
use super::rule::{Level, Rule};

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

/// Resolves the correlations' rule names, then keeps what the selection asks for: the rules and
/// correlations it chooses, and the rules those correlations read.
pub fn select(
    mut out: Loaded,
    pending: Vec<Pending>,
    skipped_names: HashSet<String>,
    sel: &Selection,
) -> Loaded {
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
            let names: Vec<[Option<&str>; 2]> = refs
                .iter()
                .map(|&i| {
                    let r = &out.rules[i as usize];
                    [r.id.as_deref(), r.name.as_deref()]
                })
                .collect();
            correlations.push(correlate::build(p, refs, &names));
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
