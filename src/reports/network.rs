//! `network-activity`: what went through VPC endpoints, and what their policies denied.

use super::{Groups, Report, s};
use crate::event::Event;
use crate::render::{Output, Value};
use crate::time::Micros;

#[derive(Debug, Clone, Default)]
pub struct NetworkActivity {
    vpces: Vec<String>,
    denied_only: bool,
    groups: Groups,
}

impl NetworkActivity {
    pub fn new(vpces: Vec<String>, denied_only: bool) -> Self {
        NetworkActivity {
            vpces,
            denied_only,
            groups: Groups::default(),
        }
    }
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
    type Out = Output;

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

    fn finish(self) -> Output {
        let rows = self
            .groups
            .into_sorted()
            .into_iter()
            .map(|(k, a)| {
                vec![
                    s(&k[0]),
                    s(&k[1]),
                    s(&k[2]),
                    s(&k[3]),
                    s(&k[4]),
                    Value::Count(a.count),
                    Value::time(a.first),
                    Value::time(a.last),
                ]
            })
            .collect();
        Output {
            columns: COLUMNS.to_vec(),
            rows,
            footer: vec![],
        }
    }
}

pub const COLUMNS: [&str; 8] = [
    "vpc_endpoint_id",
    "event_source",
    "event_name",
    "principal",
    "error_code",
    "count",
    "first_seen",
    "last_seen",
];
