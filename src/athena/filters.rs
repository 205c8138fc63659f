//! `--where` and `--resource` as SQL conditions on the table's own columns (they go in the `e`
//! CTE's WHERE, `sql::assemble`), with the local engine's meaning (`filter::field`). `--match`
//! has none: it reads each event's JSON text, which the table does not keep (CloudTrail's SerDe
//! splits it into columns).
//!
//! A path's values (`athena::fields::source`): a column or struct leaf holds one text, or NULL;
//! `resources.*` a list of texts; a path into a JSON column the JSON values it reaches, an array
//! at the end giving its elements, JSON nulls left out, each value's text its
//! `json_extract_scalar` (NULL for an object or array, which only `?` and `!=` see).

use super::fields::{Names, Src, source};
use super::sql::lit;
use crate::filter::field::{Fields, Op, Path};

/// The conditions for the field filters of a run, or why they cannot run on Athena.
pub fn conditions(f: &Fields) -> Result<Vec<String>, String> {
    if let Some(text) = f.matches.first().map(|g| &g.text) {
        return Err(format!(
            "--match {text} reads each event's own JSON text, which the Athena table does not \
             keep (CloudTrail's SerDe splits it into columns); run it on the local engine, for \
             example with --source s3://…"
        ));
    }
    let mut names = Names::default();
    let mut out = Vec::new();
    for (path, ops) in &f.groups {
        let v = values(path, &mut names)?;
        let parts: Vec<String> = ops.iter().map(|op| test(&v, op, &mut names)).collect();
        out.push(if parts.len() == 1 {
            parts.concat()
        } else {
            format!("({})", parts.join(" OR "))
        });
    }
    for (path, op) in &f.nots {
        let v = values(path, &mut names)?;
        out.push(test(&v, op, &mut names));
    }
    if !f.resources.is_empty() {
        let parts: Vec<String> = f
            .resources
            .iter()
            .map(|r| resource(r, &mut names))
            .collect();
        out.push(format!("({})", parts.join(" OR ")));
    }
    Ok(out)
}

/// A path's values in SQL.
enum Values {
    /// One text or NULL.
    Scalar(String),
    /// A list of texts (NULLs are no value).
    List(String),
    /// An `ARRAY(JSON)` of the values, JSON nulls left out.
    Json(String),
}

fn values(path: &Path, names: &mut Names) -> Result<Values, String> {
    let src = source(&path.text, names).map_err(|why| format!("--where on Athena: {why}"))?;
    Ok(match src {
        Src::Scalar(e) => Values::Scalar(e),
        Src::List(l) => Values::List(l),
        Src::Json(vals) => {
            let (x, y) = (names.fresh(), names.fresh());
            Values::Json(format!(
                "filter(flatten(transform({vals}, {x} -> IF(json_format({x}) LIKE '[%', \
                 CAST({x} AS ARRAY(JSON)), ARRAY[{x}]))), {y} -> json_format({y}) <> 'null')"
            ))
        }
    })
}

impl Values {
    /// Whether a value's text passes `pred` (a SQL boolean of the text), never NULL.
    fn has(&self, pred: &dyn Fn(&str) -> String, names: &mut Names) -> String {
        match self {
            Values::Scalar(e) => format!("COALESCE({}, false)", pred(e)),
            Values::List(l) => {
                let v = names.fresh();
                format!(
                    "COALESCE(cardinality(filter({l}, {v} -> {})) > 0, false)",
                    pred(&v)
                )
            }
            Values::Json(j) => {
                let (x, v) = (names.fresh(), names.fresh());
                format!(
                    "COALESCE(cardinality(filter(transform({j}, {x} -> json_extract_scalar({x}, '$')), \
                     {v} -> {})) > 0, false)",
                    pred(&v)
                )
            }
        }
    }

    /// Whether there is a value.
    fn exists(&self, names: &mut Names) -> String {
        match self {
            Values::Scalar(e) => format!("{e} IS NOT NULL"),
            Values::List(_) => self.has(&|t| format!("{t} IS NOT NULL"), names),
            Values::Json(j) => format!("COALESCE(cardinality({j}) > 0, false)"),
        }
    }
}

fn test(v: &Values, op: &Op, names: &mut Names) -> String {
    match op {
        Op::Eq(x) => v.has(&|t| format!("{t} = {}", lit(x)), names),
        Op::Ne(x) => format!("NOT {}", v.has(&|t| format!("{t} = {}", lit(x)), names)),
        Op::Contains(x) => v.has(&|t| format!("strpos({t}, {}) > 0", lit(x)), names),
        Op::Regex(re) => v.has(
            &|t| format!("regexp_like({t}, {})", lit(re.as_str())),
            names,
        ),
        Op::Exists => v.exists(names),
    }
}

/// `--resource`: a resource's ARN names it (`filter::field::arn_names`), or a string value of
/// requestParameters, at any depth, is it (every string in its text not followed by `:`).
fn resource(wanted: &str, names: &mut Names) -> String {
    let (r, t) = (names.fresh(), names.fresh());
    let arn = format!("{r}.arn");
    let names_it = if wanted.starts_with("arn:") {
        format!(
            "({arn} = {} OR starts_with({arn}, {}))",
            lit(wanted),
            lit(&format!("{wanted}/"))
        )
    } else {
        let part = format!("regexp_extract({arn}, '^(?:[^:]*:){{5}}([\\s\\S]*)$', 1)");
        let n = wanted.chars().count();
        format!(
            "({part} = {w} OR starts_with({part}, {w_slash}) OR (length({part}) > {n} AND \
             substr({part}, length({part}) - {n}) IN ({slash_w}, {colon_w})))",
            w = lit(wanted),
            w_slash = lit(&format!("{wanted}/")),
            slash_w = lit(&format!("/{wanted}")),
            colon_w = lit(&format!(":{wanted}")),
        )
    };
    format!(
        "(COALESCE(cardinality(filter(resources, {r} -> {names_it})) > 0, false) OR \
         COALESCE(cardinality(filter(regexp_extract_all(requestparameters, \
         '\"(?:[^\"\\\\]|\\\\.)*\"\\s*:?'), {t} -> NOT ({t} LIKE '%:') AND \
         json_extract_scalar({t}, '$') = {w})) > 0, false))",
        w = lit(wanted)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::field::{parse_match, parse_where};

    fn sql(wheres: &[&str], resources: &[&str]) -> Result<Vec<String>, String> {
        let w = wheres.iter().map(|w| parse_where(w).unwrap()).collect();
        let r = resources.iter().map(|r| r.to_string()).collect();
        conditions(&Fields::new(w, vec![], r))
    }

    #[test]
    fn paths_map_to_columns_struct_leaves_lists_and_json() {
        let c = sql(
            &[
                "eventSource=s3.amazonaws.com",
                "eventSource=sts.amazonaws.com",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            c,
            [
                "(COALESCE(eventsource = 's3.amazonaws.com', false) OR COALESCE(eventsource = 'sts.amazonaws.com', false))"
            ]
        );
        let c = sql(&["userIdentity.arn~^arn:aws:iam::1", "userAgent!=x'y"], &[]).unwrap();
        assert_eq!(
            c[0],
            "COALESCE(regexp_like(useridentity.arn, '^arn:aws:iam::1'), false)"
        );
        assert_eq!(c[1], "NOT COALESCE(useragent = 'x''y', false)");
        let c = sql(&["resources[].ARN*=prod"], &[]).unwrap();
        assert!(
            c[0].contains("transform(COALESCE(resources, ARRAY[]), v1 -> v1.arn)"),
            "{}",
            c[0]
        );
        let c = sql(&["requestParameters.instanceType?"], &[]).unwrap();
        assert!(
            c[0].starts_with("COALESCE(cardinality(filter(flatten("),
            "{}",
            c[0]
        );
        assert!(c[0].contains("'$.instanceType'"), "{}", c[0]);
    }

    #[test]
    fn what_the_table_lacks_is_refused_with_a_reason() {
        let e = sql(&["sessionCredentialFromConsole=true"], &[]).unwrap_err();
        assert!(e.contains("not a column of the CloudTrail table"), "{e}");
        let e = sql(&["requestParameters.x-amz-copy-source?"], &[]).unwrap_err();
        assert!(e.contains("cannot name"), "{e}");
        let m = conditions(&Fields::new(
            vec![],
            vec![parse_match("AKIA").unwrap()],
            vec![],
        ));
        assert!(
            m.unwrap_err()
                .contains("--match AKIA reads each event's own JSON text")
        );
    }

    #[test]
    fn resources_by_arn_or_by_name() {
        let c = sql(&[], &["arn:aws:s3:::b", "role/Admin"]).unwrap();
        assert!(
            c[0].contains("v1.arn = 'arn:aws:s3:::b' OR starts_with(v1.arn, 'arn:aws:s3:::b/')"),
            "{}",
            c[0]
        );
        assert!(
            c[0].contains("IN ('/role/Admin', ':role/Admin')"),
            "{}",
            c[0]
        );
        assert!(
            c[0].contains("length(regexp_extract(v3.arn, '^(?:[^:]*:){5}([\\s\\S]*)$', 1)) > 10"),
            "{}",
            c[0]
        );
    }
}
