//! Where rsigma reads a rule otherwise than ctq's contract (README, "What a rule means"), the
//! rule is rewritten before it is compiled, or refused with the reason:
//!
//! - a YAML boolean value (`publiclyAccessible: true`) is matched as the text `true`, as every
//!   other value is (rsigma also takes "1" and "yes" for true);
//! - `base64offset` is expanded here into its three encodings, without the characters that
//!   depend on the neighbouring bytes, as the Sigma specification and pySigma do (rsigma keeps
//!   one of them, and misses matches);
//! - refused: keyword lists with `|all` (rsigma wants one string to hold them all), `|all` with
//!   one value, a list that mixes `null` with other values (rsigma never matches an absent field
//!   there), and `windash` on a value with wildcards (rsigma takes the `*` literally).

use base64::Engine as _;
use rsigma_parser::{Detection, DetectionItem, Modifier, SigmaRule, SigmaString, SigmaValue};

/// Rewrites `rule` in place, or says why ctq does not run it.
pub fn normalize(rule: &mut SigmaRule) -> Result<(), String> {
    sigma_version(rule.sigma_version)?;
    let mut stack: Vec<&mut Detection> = rule.detection.named.values_mut().collect();
    while let Some(d) = stack.pop() {
        match d {
            Detection::AllOf(items) => {
                for item in items.iter_mut() {
                    item_(item)?;
                }
            }
            Detection::AnyOf(ds) | Detection::And(ds) => stack.extend(ds.iter_mut()),
            Detection::Keywords(_) => {}
            Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {}
        }
    }
    Ok(())
}

/// A rule's or correlation's `sigma-version`: absent or 2.
pub fn sigma_version(v: Option<u32>) -> Result<(), String> {
    match v {
        Some(v) if v != 2 => Err(format!(
            "sigma-version {v} is not supported (ctq reads rules as Sigma 2 defines them)"
        )),
        _ => Ok(()),
    }
}

fn item_(item: &mut DetectionItem) -> Result<(), String> {
    let mods = &item.field.modifiers;
    let name = item.field.name.as_deref().unwrap_or("keyword");
    let all = mods.contains(&Modifier::All);
    if item.field.name.is_none() && all {
        return Err("keyword lists with |all are not supported".into());
    }
    if all && item.values.len() < 2 {
        return Err(format!("{name}|all needs two values or more"));
    }
    if item.values.len() > 1 && item.values.iter().any(|v| matches!(v, SigmaValue::Null)) {
        return Err(format!(
            "{name}: a list that mixes null with other values is not supported; put null in a \
             detection of its own"
        ));
    }
    if mods.contains(&Modifier::WindAsh)
        && item
            .values
            .iter()
            .any(|v| matches!(v, SigmaValue::String(s) if s.contains_wildcards()))
    {
        return Err(format!("{name}|windash with a wildcard is not supported"));
    }
    let text_matched = !mods.iter().any(|m| {
        matches!(
            m,
            Modifier::Exists | Modifier::Gt | Modifier::Gte | Modifier::Lt | Modifier::Lte
        )
    });
    if text_matched {
        for v in item.values.iter_mut() {
            if let SigmaValue::Bool(b) = v {
                *v = SigmaValue::String(SigmaString::new(if *b { "true" } else { "false" }));
            }
        }
    }
    // rsigma anchors a `startswith`/`endswith` value that holds a wildcard at the wrong end:
    // written as the plain value it means (`ab*cd*`, `*ab*cd`), it is anchored right.
    let affix = [Modifier::StartsWith, Modifier::EndsWith]
        .into_iter()
        .find(|m| mods.contains(m));
    let encoded = mods.iter().any(|m| {
        matches!(
            m,
            Modifier::Base64 | Modifier::Base64Offset | Modifier::WindAsh | Modifier::FieldRef
        )
    });
    if let Some(m) = affix
        && !encoded
        && item
            .values
            .iter()
            .all(|v| matches!(v, SigmaValue::String(_)))
        && item
            .values
            .iter()
            .any(|v| matches!(v, SigmaValue::String(s) if s.contains_wildcards()))
    {
        use rsigma_parser::{SpecialChar, StringPart};
        let star = StringPart::Special(SpecialChar::WildcardMulti);
        for v in item.values.iter_mut() {
            if let SigmaValue::String(s) = v {
                if m == Modifier::StartsWith {
                    s.parts.push(star.clone());
                } else {
                    s.parts.insert(0, star.clone());
                }
            }
        }
        item.field.modifiers.retain(|x| *x != m);
    }
    let mods = &item.field.modifiers;
    if mods.contains(&Modifier::Base64Offset) {
        if all || mods.contains(&Modifier::WindAsh) || mods.contains(&Modifier::Base64) {
            return Err(format!(
                "{name}|base64offset with all, windash or base64 is not supported"
            ));
        }
        let mut values = Vec::new();
        for v in &item.values {
            let text = match v {
                SigmaValue::String(s) => s.parts.iter().map(part_text).collect::<String>(),
                SigmaValue::Integer(i) => i.to_string(),
                SigmaValue::Float(f) => f.to_string(),
                SigmaValue::Bool(b) => b.to_string(),
                SigmaValue::Null => return Err(format!("{name}|base64offset: the value is null")),
            };
            for enc in base64_offsets(text.as_bytes()) {
                // Base64 text has no wildcard or backslash to escape.
                values.push(SigmaValue::String(SigmaString::new(&enc)));
            }
        }
        item.values = values;
        item.field
            .modifiers
            .retain(|m| *m != Modifier::Base64Offset);
    }
    Ok(())
}

fn part_text(p: &rsigma_parser::StringPart) -> String {
    use rsigma_parser::{SpecialChar, StringPart};
    match p {
        StringPart::Plain(s) => s.clone(),
        StringPart::Special(SpecialChar::WildcardMulti) => "*".into(),
        StringPart::Special(SpecialChar::WildcardSingle) => "?".into(),
    }
}

/// The three encodings of `data` at offsets 0, 1 and 2 of a base64 stream, without the
/// characters that depend on the bytes around it (pySigma's `base64offset`).
pub fn base64_offsets(data: &[u8]) -> [String; 3] {
    const STARTS: [usize; 3] = [0, 2, 3];
    // Characters dropped from the end, by (len + offset) % 3.
    const ENDS: [usize; 3] = [0, 3, 2];
    std::array::from_fn(|i| {
        let mut padded = vec![b' '; i];
        padded.extend_from_slice(data);
        let enc = base64::engine::general_purpose::STANDARD.encode(&padded);
        let end = enc.len().saturating_sub(ENDS[(data.len() + i) % 3]);
        enc.get(STARTS[i]..end).unwrap_or("").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_offsets_are_pysigmas() {
        // pySigma: base64offset of "/bin/bash"
        let got = base64_offsets(b"/bin/bash");
        assert_eq!(got, ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]);
        // Each one is found in the encoding of a longer text holding the value at that offset.
        for (i, text) in ["/bin/bash -c id", "x /bin/bash -c id", "xy /bin/bash -c id"]
            .iter()
            .enumerate()
        {
            let enc = base64::engine::general_purpose::STANDARD.encode(text);
            assert!(enc.contains(&got[i % 3]) || got.iter().any(|g| enc.contains(g.as_str())));
        }
    }

    fn rule(detection: &str) -> Result<SigmaRule, String> {
        let c = rsigma_parser::parse_sigma_yaml(&format!(
            "title: t\nlogsource:\n  product: aws\ndetection:\n{detection}"
        ))
        .unwrap();
        let mut r = c.rules.into_iter().next().unwrap();
        normalize(&mut r).map(|()| r)
    }

    #[test]
    fn what_rsigma_reads_otherwise_is_rewritten_or_refused() {
        for (detection, why) in [
            (
                "  sel:\n    '|all': [a, b]\n  condition: sel\n",
                "keyword lists",
            ),
            (
                "  sel:\n    f|contains|all: [a]\n  condition: sel\n",
                "two values",
            ),
            ("  sel:\n    f: [null, a]\n  condition: sel\n", "mixes null"),
            (
                "  sel:\n    f|windash: '* -e *'\n  condition: sel\n",
                "windash with a wildcard",
            ),
        ] {
            let err = rule(detection).unwrap_err();
            assert!(err.contains(why), "{detection}: {err}");
        }
        let r = rule("  sel:\n    f: true\n    g|exists: true\n  condition: sel\n").unwrap();
        let Detection::AllOf(items) = &r.detection.named["sel"] else {
            panic!()
        };
        let f = items
            .iter()
            .find(|i| i.field.name.as_deref() == Some("f"))
            .unwrap();
        let g = items
            .iter()
            .find(|i| i.field.name.as_deref() == Some("g"))
            .unwrap();
        assert_eq!(f.values, [SigmaValue::String(SigmaString::new("true"))]);
        assert_eq!(g.values, [SigmaValue::Bool(true)]);
    }
}
