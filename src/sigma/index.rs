//! The index of the rules by what their gates require (`gate`): an event is shown only the
//! rules it could match, found from its lean fields with a hash lookup per field.

use std::collections::HashMap;

use super::gate::{ESCAPE, Field, Gate, Needle};
use crate::event::Event;

/// A top-level key spelled `userIdentity.type`, searched for once.
static FLAT_TYPE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"userIdentity.type\""));

/// The rules by what their gates require.
#[derive(Debug, Default)]
pub struct Index {
    open: Vec<u32>,
    exact: HashMap<(Field, String), Vec<u32>, foldhash::fast::RandomState>,
    prefix: Vec<(Field, String, u32)>,
    /// Every rule gated on a field (by `Field as usize`), for events that lack it.
    on_field: [Vec<u32>; 4],
    /// The lengths of the exact values of each field (bit `n` of a length `n` below 128, bit
    /// 127 for any longer), so that most values are not lower-cased and looked up at all.
    lens: [u128; 4],
    rules: usize,
}

impl Index {
    pub fn new<'g>(gates: impl IntoIterator<Item = &'g Gate>) -> Index {
        let mut ix = Index::default();
        for (i, g) in gates.into_iter().enumerate() {
            let i = i as u32;
            ix.rules += 1;
            match g {
                Gate::Open => ix.open.push(i),
                Gate::AnyOf(alts) => {
                    for (f, n) in alts {
                        match n {
                            Needle::Exact(v) => {
                                ix.lens[*f as usize] |= 1 << v.len().min(127);
                                ix.exact.entry((*f, v.clone())).or_default().push(i)
                            }
                            Needle::Prefix(v) => ix.prefix.push((*f, v.clone(), i)),
                        }
                        let on = &mut ix.on_field[*f as usize];
                        if on.last() != Some(&i) {
                            on.push(i);
                        }
                    }
                }
            }
        }
        ix
    }

    /// How many rules are shown every event.
    pub fn open_rules(&self) -> usize {
        self.open.len()
    }

    /// The rules `ev` could match, in rule order, into `out` (cleared first). `lower` is
    /// scratch space for a lower-cased field.
    pub fn candidates(
        &self,
        ev: &Event<'_>,
        raw: Option<&str>,
        out: &mut Vec<u32>,
        lower: &mut String,
    ) {
        out.clear();
        out.extend_from_slice(&self.open);
        for f in Field::ALL {
            let on = &self.on_field[f as usize];
            if on.is_empty() {
                continue;
            }
            // Unknown here: the field is absent from the lean event (or empty, or not a string);
            // its value is not ASCII (rsigma may fold its case otherwise than this does); or,
            // for `userIdentity.type`, the event may hold a top-level key spelled like the
            // whole path, which rules read first.
            let flat = f == Field::IdentityType
                && !ev.layout.plain_keys
                && raw.is_some_and(|r| {
                    let r = r.as_bytes();
                    FLAT_TYPE.find(r).is_some() || ESCAPE.find(r).is_some()
                });
            let Some(value) = f.of(ev).filter(|v| v.is_ascii() && !flat) else {
                out.extend_from_slice(on);
                continue;
            };
            if self.lens[f as usize] & (1 << value.len().min(127)) != 0 {
                lower.clear();
                lower.push_str(value);
                lower.make_ascii_lowercase();
                // The key is a pair; a probe needs an owned String, so reuse one.
                let key = (f, std::mem::take(lower));
                if let Some(rules) = self.exact.get(&key) {
                    out.extend_from_slice(rules);
                }
                *lower = key.1;
            }
            for (pf, p, i) in &self.prefix {
                let head = value.as_bytes().get(..p.len());
                if *pf == f && head.is_some_and(|h| h.eq_ignore_ascii_case(p.as_bytes())) {
                    out.push(*i);
                }
            }
        }
        if out.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }

    pub fn len(&self) -> usize {
        self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::gate::tests::exact;

    #[test]
    fn the_index_shows_an_event_its_rules() {
        let gates = [
            Gate::AnyOf(vec![exact(Field::EventName, "stoplogging")]),
            Gate::Open,
            Gate::AnyOf(vec![(Field::EventName, Needle::Prefix("update".into()))]),
            Gate::AnyOf(vec![exact(Field::IdentityType, "root")]),
        ];
        let ix = Index::new(&gates);
        let (mut out, mut lower) = (Vec::new(), String::new());
        let mut ev = Event {
            event_name: Some("StopLogging".into()),
            ..Event::default()
        };
        ix.candidates(&ev, None, &mut out, &mut lower);
        // No identity type: the rule gated on it is shown too.
        assert_eq!(out, [0, 1, 3]);
        ev.user_identity.kind = Some("IAMUser".into());
        ix.candidates(&ev, None, &mut out, &mut lower);
        assert_eq!(out, [0, 1]);
        ev.event_name = Some("UpdateTrail".into());
        ix.candidates(&ev, None, &mut out, &mut lower);
        assert_eq!(out, [1, 2]);
        ev.event_name = None;
        ix.candidates(&ev, None, &mut out, &mut lower);
        assert_eq!(out, [0, 1, 2]);
    }
}
