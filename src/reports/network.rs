//! `network-activity`: what went through VPC endpoints, and what their policies denied.

use super::cells::{ERROR_CODE, EVENT_NAME, EVENT_SOURCE, PRINCIPAL, ranked};
use super::def::{Context, Report, ReportDef};
use super::group::{Groups, row};
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, COUNT_FIRST_LAST, Cell, F, Query, any_of, lit};
use crate::document::{Column, Document, Rows};
use crate::event::Event;
use crate::time::Micros;

/// What went through a VPC endpoint, and what did its policy deny?
///
/// Network activity events grouped by VPC endpoint, event source, event name, principal and
/// error code.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Only this VPC endpoint (repeat for several)
    #[arg(long = "vpce", value_name = "ID")]
    vpces: Vec<String>,
    /// Only calls the endpoint policy denied (errorCode VpceAccessDenied)
    #[arg(long)]
    denied: bool,
}

const KEYS: [Cell; 5] = [
    (Column::text("vpc_endpoint_id").rank(0), "vpce"),
    ranked(EVENT_SOURCE, 0),
    EVENT_NAME,
    ranked(PRINCIPAL, 0),
    ranked(ERROR_CODE, 0),
];

fn columns() -> Vec<Column> {
    sql::columns(&[&KEYS, &COUNT_FIRST_LAST])
}

impl ReportDef for Args {
    const NAME: &'static str = "network-activity";
    const EXAMPLES: &'static str = "\
  ctq network-activity -s s3://my-trail-bucket --since 1d --denied
  ctq network-activity -s ./AWSLogs --vpce vpce-0a1b2c3d4e5f60718 -o json";
    type Acc = NetworkActivity;

    fn accumulator(&self, _: &Context<'_>) -> NetworkActivity {
        NetworkActivity {
            vpces: self.vpces.clone(),
            denied_only: self.denied,
            groups: Groups::default(),
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        let mut conditions = vec![
            "(category = 'NetworkActivity' OR event_type IN ('AwsVpceEvent', 'AwsVpceEvents'))"
                .to_string(),
        ];
        conditions.extend(any_of(&self.vpces, |v| format!("vpce = {}", lit(v))));
        if self.denied {
            conditions.push("error_code = 'VpceAccessDenied'".into());
        }
        Ok(Query::over_w(
            vec![
                F::Category,
                F::EventType,
                F::Vpce,
                F::EventSource,
                F::EventName,
                F::Principal,
                F::ErrorCode,
            ],
            conditions,
            sql::grouped(&KEYS, &COUNT_FIRST_LAST, &[], "w", None),
        ))
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        Ok(t.rows(columns(), vec![])?.into())
    }
}

#[derive(Debug, Clone, Default)]
pub struct NetworkActivity {
    vpces: Vec<String>,
    denied_only: bool,
    groups: Groups,
}

/// Network activity events: `eventCategory` NetworkActivity, or a VPC endpoint event type.
pub fn is_network_activity(ev: &Event<'_>) -> bool {
    ev.event_category.as_deref() == Some("NetworkActivity")
        || matches!(
            ev.event_type.as_deref(),
            Some("AwsVpceEvent" | "AwsVpceEvents")
        )
}

impl Report for NetworkActivity {
    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        if !is_network_activity(ev) {
            return;
        }
        let vpce = ev.vpc_endpoint_id.as_deref();
        if !self.vpces.is_empty() && !self.vpces.iter().any(|v| Some(v.as_str()) == vpce) {
            return;
        }
        if self.denied_only && ev.error_code.as_deref() != Some("VpceAccessDenied") {
            return;
        }
        self.groups
            .entry(&[
                vpce,
                ev.event_source.as_deref(),
                ev.event_name.as_deref(),
                Some(ev.principal()),
                ev.error_code.as_deref(),
            ])
            .add(time);
    }

    fn merge(&mut self, other: Self) {
        self.groups.merge(other.groups);
    }

    fn finish(self) -> Document {
        let rows = self.groups.into_sorted().into_iter();
        let rows = rows.map(|(k, a)| row(k, a.count_first_last())).collect();
        Rows {
            columns: columns(),
            rows,
            footer: vec![],
            notes: vec![],
        }
        .into()
    }
}
