//! The filters on any field among the common options (`--where`, `--match`, `--resource`),
//! flattened into `cli::Common`; `filter::field` reads and applies them.

use crate::filter::field::{self, Fields};

#[derive(Debug, Clone, clap::Args)]
pub struct FieldArgs {
    /// Only events whose field PATH passes a test: PATH=VALUE, PATH!=VALUE, PATH~REGEX,
    /// 'PATH*=TEXT' (contains) or PATH? (set, not null)
    ///
    /// PATH is a dotted CloudTrail field path (requestParameters.instanceType); resources[].ARN
    /// means any element of the array. Numbers and booleans compare as their JSON text; REGEX is
    /// Rust's regex syntax, matched anywhere in the value. Tests of one path are OR (each != is
    /// required), different paths AND. For example --where eventSource=s3.amazonaws.com --where
    /// 'userAgent~(?i)python'.
    #[arg(
        hide_short_help = true,
        long = "where",
        value_name = "TEST",
        value_parser = field::parse_where,
        global = true,
        help_heading = "Filter"
    )]
    pub wheres: Vec<field::Where>,

    /// Only events whose JSON text, as logged, contains TEXT in any letter case (repeat for any
    /// of several)
    #[arg(
        hide_short_help = true,
        long = "match",
        value_name = "TEXT",
        value_parser = field::parse_match,
        global = true,
        help_heading = "Filter"
    )]
    pub matches: Vec<field::Grep>,

    /// Only events that name this resource: in resources[].ARN (an ARN, one under it, or a name
    /// such as a bucket, role or instance id), or as any string value of requestParameters
    #[arg(
        hide_short_help = true,
        long = "resource",
        value_name = "ARN|NAME",
        value_parser = field::parse_resource,
        global = true,
        help_heading = "Filter"
    )]
    pub resources: Vec<String>,
}

impl FieldArgs {
    pub fn into_fields(self) -> Fields {
        Fields::new(self.wheres, self.matches, self.resources)
    }
}
