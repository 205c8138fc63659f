//! Where a CloudTrail field's values are in the table of `ctq athena ddl`, as SQL (Trino), for
//! the conditions on any field: `detect`'s rules (`sigma::sql`) and `--where`/`--resource`
//! (`athena::filters`).
//!
//! - top-level strings are columns (`eventName` → `eventname`); the exact CloudTrail spelling is
//!   required, as the local engine reads JSON keys case-sensitively and the SerDe does not;
//! - `userIdentity.*` and `tlsDetails.*` are struct leaves; `resources.ARN` (and `accountId`,
//!   `type`) is the list of every resource's value;
//! - `requestParameters`, `responseElements`, `additionalEventData` and `serviceEventDetails`
//!   hold the JSON text: a path into them is followed key by key, an array crossed by following
//!   each of its elements (`source`).

pub const TOP: [(&str, &str); 20] = [
    ("eventVersion", "eventversion"),
    ("eventTime", "eventtime"),
    ("eventSource", "eventsource"),
    ("eventName", "eventname"),
    ("awsRegion", "awsregion"),
    ("sourceIPAddress", "sourceipaddress"),
    ("userAgent", "useragent"),
    ("errorCode", "errorcode"),
    ("errorMessage", "errormessage"),
    ("requestID", "requestid"),
    ("eventID", "eventid"),
    ("readOnly", "readonly"),
    ("eventType", "eventtype"),
    ("apiVersion", "apiversion"),
    ("recipientAccountId", "recipientaccountid"),
    ("sharedEventID", "sharedeventid"),
    ("vpcEndpointId", "vpcendpointid"),
    ("vpcEndpointAccountId", "vpcendpointaccountid"),
    ("eventCategory", "eventcategory"),
    ("managementEvent", "managementevent"),
];

pub const JSON_COLUMNS: [(&str, &str); 4] = [
    ("requestParameters", "requestparameters"),
    ("responseElements", "responseelements"),
    ("additionalEventData", "additionaleventdata"),
    ("serviceEventDetails", "serviceeventdetails"),
];

pub const STRUCT_LEAVES: [&str; 21] = [
    "userIdentity.type",
    "userIdentity.principalId",
    "userIdentity.arn",
    "userIdentity.accountId",
    "userIdentity.invokedBy",
    "userIdentity.accessKeyId",
    "userIdentity.userName",
    "userIdentity.onBehalfOf.userId",
    "userIdentity.onBehalfOf.identityStoreArn",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "userIdentity.sessionContext.attributes.creationDate",
    "userIdentity.sessionContext.sessionIssuer.type",
    "userIdentity.sessionContext.sessionIssuer.principalId",
    "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.sessionIssuer.accountId",
    "userIdentity.sessionContext.sessionIssuer.userName",
    "userIdentity.sessionContext.ec2RoleDelivery",
    "userIdentity.sessionContext.sourceIdentity",
    "tlsDetails.tlsVersion",
    "tlsDetails.cipherSuite",
    "tlsDetails.clientProvidedHostHeader",
];

/// Where a field's values come from.
pub enum Src {
    /// One text value, or NULL.
    Scalar(String),
    /// A list of text values (`resources.*`).
    List(String),
    /// The JSON values reached by a path into a JSON column: `ARRAY(JSON)`.
    Json(String),
}

/// A Trino lambda's variable, unique within one predicate.
#[derive(Default)]
pub struct Names(usize);

impl Names {
    pub fn fresh(&mut self) -> String {
        self.0 += 1;
        format!("v{}", self.0)
    }
}

pub fn source(field: &str, names: &mut Names) -> Result<Src, String> {
    if let Some((_, col)) = TOP.iter().find(|(f, _)| *f == field) {
        return Ok(Src::Scalar((*col).to_string()));
    }
    if STRUCT_LEAVES.contains(&field) {
        return Ok(Src::Scalar(field.to_ascii_lowercase()));
    }
    if let Some(leaf) = field.strip_prefix("resources.")
        && let Some(col) = [("ARN", "arn"), ("accountId", "accountid"), ("type", "type")]
            .iter()
            .find(|(f, _)| *f == leaf)
            .map(|(_, c)| *c)
    {
        let v = names.fresh();
        return Ok(Src::List(format!(
            "transform(COALESCE(resources, ARRAY[]), {v} -> {v}.{col})"
        )));
    }
    let mut segs = field.split('.');
    let top = segs.next().unwrap_or_default();
    let Some((_, col)) = JSON_COLUMNS.iter().find(|(f, _)| *f == top) else {
        return Err(format!(
            "the field {field} is not a column of the CloudTrail table"
        ));
    };
    // rsigma's walk: at each key an object is followed, an array is crossed element by element.
    let z = names.fresh();
    let mut vals = format!("filter(ARRAY[try(json_parse({col}))], {z} -> {z} IS NOT NULL)");
    for seg in segs {
        if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "the field {field}: a key Athena's JSON paths cannot name"
            ));
        }
        let (x, y, z) = (names.fresh(), names.fresh(), names.fresh());
        vals = format!(
            "filter(flatten(transform({vals}, {x} -> IF(json_format({x}) LIKE '[%', \
             transform(CAST({x} AS ARRAY(JSON)), {y} -> json_extract({y}, '$.{seg}')), \
             ARRAY[json_extract({x}, '$.{seg}')]))), {z} -> {z} IS NOT NULL)"
        );
    }
    Ok(Src::Json(vals))
}

/// The text of every scalar inside the JSON values `vals` (objects' values, arrays' elements,
/// at any depth; JSON nulls left out): keys end with `:` and are dropped, strings are decoded.
pub fn leaves(vals: &str, names: &mut Names) -> String {
    let (x, t, u) = (names.fresh(), names.fresh(), names.fresh());
    format!(
        "flatten(transform({vals}, {x} -> transform(filter(regexp_extract_all(json_format({x}), \
         '\"(?:[^\"\\\\]|\\\\.)*\"\\s*:?|-?[0-9][0-9.eE+-]*|true|false|null'), \
         {t} -> NOT ({t} LIKE '%:') AND {t} <> 'null'), \
         {u} -> IF({u} LIKE '\"%', json_extract_scalar({u}, '$'), {u}))))"
    )
}
