//! A rule as a SQL predicate over the CloudTrail table of `ctq athena ddl` (Athena's Trino), with
//! the local engine's semantics (README, "What a rule means"), or the reason it has none.
//!
//! Fields map to columns, struct leaves and paths into JSON columns as `athena::fields` says; a
//! value that is an object or array is read as the list of the scalars inside it, at any depth
//! (`leaves`).
//!
//! Matching as rsigma does: letter case folded in ASCII only (`translate`), wildcards as LIKE
//! patterns, numbers compared as doubles. What has no exact SQL counterpart is refused, and the
//! rule runs on the local engine only: `re` (Java's regex dialect is not Rust's), `fieldref`,
//! `windash`, keyword searches, `null`/`exists` on `resources.*`, fields outside the table.

use std::collections::HashMap;

use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SigmaRule, SigmaString,
    SigmaValue, SpecialChar, StringPart,
};

use crate::athena::fields::{Names, Src, leaves, source};
use crate::athena::sql::lit;

/// The rule's condition as one SQL boolean, or why it has none.
pub fn predicate(rule: &SigmaRule) -> Result<String, String> {
    let mut names = Names::default();
    let mut dets: HashMap<&str, String> = HashMap::new();
    for (name, d) in &rule.detection.named {
        dets.insert(name, detection(d, &mut names)?);
    }
    let conds: Vec<String> = rule
        .detection
        .conditions
        .iter()
        .map(|c| condition(c, &dets))
        .collect();
    Ok(or(conds))
}

fn or(parts: Vec<String>) -> String {
    match parts.len() {
        0 => "false".into(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" OR ")),
    }
}

fn and(parts: Vec<String>) -> String {
    match parts.len() {
        0 => "true".into(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" AND ")),
    }
}

/// rsigma's reading of a condition: a name it lacks is false; `1 of` none is false, `all of`
/// none true, `N of` at least N; `them` leaves out names starting with `_`.
fn condition(c: &ConditionExpr, dets: &HashMap<&str, String>) -> String {
    match c {
        ConditionExpr::And(cs) => and(cs.iter().map(|c| condition(c, dets)).collect()),
        ConditionExpr::Or(cs) => or(cs.iter().map(|c| condition(c, dets)).collect()),
        ConditionExpr::Not(c) => format!("NOT COALESCE({}, false)", condition(c, dets)),
        ConditionExpr::Identifier(n) => dets.get(n.as_str()).cloned().unwrap_or("false".into()),
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let mut chosen: Vec<(&&str, &String)> = dets
                .iter()
                .filter(|(n, _)| pattern.matches_detection_name(n))
                .collect();
            chosen.sort();
            let sides: Vec<String> = chosen.into_iter().map(|(_, s)| s.clone()).collect();
            match quantifier {
                Quantifier::Any => or(sides),
                Quantifier::All => and(sides),
                Quantifier::Count(0) => "true".into(),
                Quantifier::Count(n) => {
                    let sum: Vec<String> = sides
                        .iter()
                        .map(|s| format!("IF(COALESCE({s}, false), 1, 0)"))
                        .collect();
                    format!("({} >= {n})", sum.join(" + "))
                }
            }
        }
    }
}

fn detection(d: &Detection, names: &mut Names) -> Result<String, String> {
    Ok(match d {
        Detection::AllOf(items) => and(items
            .iter()
            .map(|i| item(i, names))
            .collect::<Result<_, _>>()?),
        Detection::AnyOf(ds) => or(ds
            .iter()
            .map(|d| detection(d, names))
            .collect::<Result<_, _>>()?),
        Detection::And(ds) => and(ds
            .iter()
            .map(|d| detection(d, names))
            .collect::<Result<_, _>>()?),
        Detection::Keywords(_) => return Err("keyword searches".into()),
        Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {
            return Err("array blocks".into());
        }
    })
}

/// Whether `src` holds a value matching `pred` (a SQL boolean of `x`, the value's text).
fn any(src: &Src, names: &mut Names, pred: &dyn Fn(&str) -> String) -> String {
    match src {
        Src::Scalar(e) => format!("COALESCE({}, false)", pred(e)),
        Src::List(list) => {
            let v = names.fresh();
            format!("cardinality(filter({list}, {v} -> {})) > 0", pred(&v))
        }
        Src::Json(vals) => {
            let list = leaves(vals, names);
            let v = names.fresh();
            format!("cardinality(filter({list}, {v} -> {})) > 0", pred(&v))
        }
    }
}

/// rsigma's `null`: no value (absent, or JSON null); an object or array is not null.
fn is_null(src: &Src, field: &str) -> Result<String, String> {
    match src {
        Src::Scalar(e) => Ok(format!("{e} IS NULL")),
        Src::List(_) => Err(format!("null or exists on {field}")),
        // One value reached that is null, or none; two values or more are an array.
        Src::Json(vals) => Ok(format!(
            "(cardinality({vals}) = 0 OR (cardinality({vals}) = 1 AND json_format(({vals})[1]) = 'null'))"
        )),
    }
}

/// A text as a number, as Rust's `f64` parser reads it (rsigma compares numbers so): decimal
/// with an optional exponent, or `inf`/`infinity` in any case; NaN and anything else is NULL.
fn as_number(x: &str) -> String {
    format!(
        "CASE WHEN regexp_like({x}, '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$') \
         THEN try_cast({x} AS DOUBLE) \
         WHEN regexp_like({x}, '^[+-]?(?i:inf|infinity)$') \
         THEN IF({x} LIKE '-%', -CAST('Infinity' AS DOUBLE), CAST('Infinity' AS DOUBLE)) END"
    )
}

const UPPER: &str = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'";

fn item(it: &DetectionItem, names: &mut Names) -> Result<String, String> {
    let Some(field) = it.field.name.as_deref() else {
        return Err("keyword searches".into());
    };
    let mods = &it.field.modifiers;
    let has = |m: Modifier| mods.contains(&m);
    for m in mods {
        if matches!(
            m,
            Modifier::Re | Modifier::FieldRef | Modifier::WindAsh | Modifier::Base64Offset
        ) {
            return Err(format!(
                "the modifier {} (Athena has no exact counterpart)",
                format!("{m:?}").to_lowercase()
            ));
        }
    }
    let src = source(field, names)?;
    if has(Modifier::Exists) {
        let want = matches!(it.values.first(), Some(SigmaValue::Bool(true)));
        let null = is_null(&src, field)?;
        return Ok(if want { format!("NOT {null}") } else { null });
    }
    let mut parts = Vec::new();
    for v in &it.values {
        parts.push(value(&src, field, v, mods, names)?);
    }
    Ok(if has(Modifier::All) {
        and(parts)
    } else {
        or(parts)
    })
}

fn value(
    src: &Src,
    field: &str,
    v: &SigmaValue,
    mods: &[Modifier],
    names: &mut Names,
) -> Result<String, String> {
    let has = |m: Modifier| mods.contains(&m);
    let number = [Modifier::Gt, Modifier::Gte, Modifier::Lt, Modifier::Lte]
        .into_iter()
        .zip([">", ">=", "<", "<="])
        .find(|(m, _)| has(*m));
    let text_mods = has(Modifier::Contains) || has(Modifier::StartsWith) || has(Modifier::EndsWith);
    match v {
        SigmaValue::Null => return is_null(src, field),
        SigmaValue::Integer(_) | SigmaValue::Float(_) if number.is_some() || !text_mods => {
            let n = match v {
                SigmaValue::Integer(i) => *i as f64,
                SigmaValue::Float(f) => *f,
                _ => 0.0,
            };
            if !n.is_finite() {
                return Err("a number out of range".into());
            }
            let op = number.map_or("=", |(_, op)| op);
            return Ok(any(src, names, &|x| format!("{} {op} {n:?}", as_number(x))));
        }
        _ => {}
    }
    if number.is_some() {
        return Err(format!(
            "{field}: a comparison with a value that is not a number"
        ));
    }
    let text = match v {
        SigmaValue::String(s) => s.clone(),
        SigmaValue::Integer(i) => SigmaString::new(&i.to_string()),
        SigmaValue::Float(f) => SigmaString::new(&f.to_string()),
        SigmaValue::Bool(b) => SigmaString::new(&b.to_string()),
        SigmaValue::Null => unreachable!("handled above"),
    };
    if has(Modifier::Cidr) {
        let Some(block) = text.as_plain() else {
            return Err("cidr with a wildcard".into());
        };
        let Ok(net) = block.parse::<crate::net::IpNet>() else {
            return Err(format!("cidr {block}: not a network"));
        };
        // Trino reads an IPv4-mapped IPv6 address as IPv4, rsigma as IPv6: such addresses never
        // match an IPv4 block in either, and a block that holds them is refused. Zone ids
        // (`%eth0`) are not addresses to rsigma.
        let v4 = !block.contains(':');
        if !v4
            && net.contains(
                "::ffff:0.0.0.0"
                    .parse()
                    .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED.into()),
            )
        {
            return Err(format!(
                "cidr {block}: a block that holds IPv4-mapped addresses"
            ));
        }
        let guard = if v4 { ":" } else { "." };
        let b = lit(&block);
        // Through a list, so that the address is a lambda's variable (see the test server).
        let listed;
        let src = match src {
            Src::Scalar(e) => {
                listed = Src::List(format!("ARRAY[{e}]"));
                &listed
            }
            other => other,
        };
        return Ok(any(src, names, &|x| {
            format!(
                "(strpos({x}, '{guard}') = 0 AND strpos({x}, '%') = 0 AND \
                 try(contains({b}, CAST({x} AS IPADDRESS))))"
            )
        }));
    }
    let text = if has(Modifier::Base64) {
        let Some(plain) = text.as_plain() else {
            return Err("base64 with a wildcard".into());
        };
        use base64::Engine as _;
        SigmaString::new(&base64::engine::general_purpose::STANDARD.encode(plain))
    } else {
        text
    };
    let cased = has(Modifier::Cased);
    let mut pattern = String::new();
    if has(Modifier::Contains) || has(Modifier::EndsWith) {
        pattern.push('%');
    }
    for part in &text.parts {
        match part {
            StringPart::Plain(p) => {
                for c in p.chars() {
                    if matches!(c, '%' | '_' | '\\') {
                        pattern.push('\\');
                    }
                    pattern.push(if cased { c } else { c.to_ascii_lowercase() });
                }
            }
            StringPart::Special(SpecialChar::WildcardMulti) => pattern.push('%'),
            StringPart::Special(SpecialChar::WildcardSingle) => pattern.push('_'),
        }
    }
    if has(Modifier::Contains) || has(Modifier::StartsWith) {
        pattern.push('%');
    }
    let p = lit(&pattern);
    Ok(any(src, names, &|x| {
        if cased {
            format!("{x} LIKE {p} ESCAPE '\\'")
        } else {
            format!("translate({x}, {UPPER}) LIKE {p} ESCAPE '\\'")
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(detection: &str) -> SigmaRule {
        let text = format!("title: t\nlogsource: {{product: aws}}\ndetection:\n{detection}");
        rsigma_parser::parse_sigma_yaml(&text)
            .unwrap()
            .rules
            .remove(0)
    }

    #[test]
    fn fields_map_to_columns_structs_and_json_paths() {
        let p = predicate(&rule(
            "  sel:\n    eventName: StopLogging\n  condition: sel\n",
        ))
        .unwrap();
        assert!(p.contains("translate(eventname,"), "{p}");
        assert!(p.contains("LIKE 'stoplogging'"), "{p}");
        let p = predicate(&rule(
            "  sel:\n    userIdentity.sessionContext.sessionIssuer.type|cased: Role\n  condition: sel\n",
        ))
        .unwrap();
        assert!(
            p.contains("useridentity.sessioncontext.sessionissuer.type LIKE 'Role'"),
            "{p}"
        );
        let p = predicate(&rule(
            "  sel:\n    requestParameters.ipPermissions.items.cidrIp|endswith: '/0'\n  condition: sel\n",
        ))
        .unwrap();
        assert!(
            p.contains("'$.ipPermissions'") && p.contains("'$.cidrIp'"),
            "{p}"
        );
        assert!(p.contains("LIKE '%/0'"), "{p}");
    }

    #[test]
    fn what_has_no_exact_sql_is_refused() {
        for (d, why) in [
            (
                "  sel:\n    eventName|re: '^Stop'\n  condition: sel\n",
                "re",
            ),
            (
                "  sel:\n    userIdentity.arn|fieldref: userIdentity.userName\n  condition: sel\n",
                "fieldref",
            ),
            ("  sel:\n    - StopLogging\n  condition: sel\n", "keyword"),
            (
                "  sel:\n    EventName: StopLogging\n  condition: sel\n",
                "not a column",
            ),
            (
                "  sel:\n    userIdentity.credentialId: x\n  condition: sel\n",
                "not a column",
            ),
            (
                "  sel:\n    resources.ARN: null\n  condition: sel\n",
                "null or exists",
            ),
            (
                "  sel:\n    requestParameters.a-b: x\n  condition: sel\n",
                "JSON paths",
            ),
        ] {
            let err = predicate(&rule(d)).unwrap_err();
            assert!(err.contains(why), "{d}: {err}");
        }
    }

    #[test]
    fn literals_and_patterns_are_escaped() {
        let p = predicate(&rule(
            "  sel:\n    eventName|contains: \"50%_o'k\\\\\"\n  condition: sel\n",
        ))
        .unwrap();
        assert!(p.contains(r"LIKE '%50\%\_o''k\\%'"), "{p}");
        let p = predicate(&rule("  sel:\n    eventName: 'a*b?'\n  condition: sel\n")).unwrap();
        assert!(p.contains("LIKE 'a%b_'"), "{p}");
    }

    #[test]
    fn selectors_follow_rsigma() {
        let p = predicate(&rule(
            "  a_1:\n    eventName: x\n  a_2:\n    eventName: y\n  _b:\n    eventName: z\n  condition: 2 of a_* and not 1 of them\n",
        ))
        .unwrap();
        assert!(p.contains(">= 2"), "{p}");
        assert!(!p.contains("'z'"), "{p}");
        let p = predicate(&rule("  sel:\n    eventName: x\n  condition: 0 of sel\n")).unwrap();
        assert_eq!(p, "true");
    }
}
