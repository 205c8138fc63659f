//! The Athena engine: the report's query (`ReportDef::athena_query`, wrapped by
//! `athena::sql::assemble`) → `athena::client` → the report's document from the result rows,
//! printed like the local engine's, then the cost line on stderr.

use crate::athena::client;
use crate::athena::results::{QueryResult, ResultTable};
use crate::athena::sql;
use crate::config::Config;
use crate::exit::{Outcome, UsageError, warn};
use crate::progress::{human_bytes, plural};
use crate::render;
use crate::reports::{Context, ReportDef};

/// Athena's list price per TB scanned (us-east-1 and most regions; 10 MB minimum per query).
const ATHENA_USD_PER_TB: f64 = 5.0;

/// `--engine athena`: the report as one query on Athena, printed like the local engine's.
pub fn run<R: ReportDef>(report: &R, config: &Config) -> anyhow::Result<Outcome> {
    let cx = Context {
        filter: &config.filter,
        now: config.now,
    };
    let target = sql::Target {
        database: config.athena.database.clone(),
        table: config.athena.table.clone(),
    };
    let query = report.athena_query(&cx).map_err(UsageError)?;
    let fields = crate::athena::filters::conditions(&config.filter.fields).map_err(UsageError)?;
    let sql = sql::assemble(query, R::NAME, &config.filter, &fields, config.now, &target);
    if config.print_sql {
        render::print_text(sql.as_bytes(), "the query")?;
        return Ok(Outcome::default());
    }
    if !config.sources.is_empty() {
        warn("--source is not read with --engine athena: the Athena table names the bucket");
    }
    if config.default_window {
        warn(&format!(
            "no time window given: querying the last 24 hours, {}; use --since or --date for another window",
            config.filter.window
        ));
    }
    let result = client::run(&sql, &config.athena, |id| {
        if !config.quiet {
            warn(&format!(
                "athena: query {id} started in workgroup {}",
                config.athena.workgroup
            ));
        }
    })?;
    let doc = report.athena_document(&ResultTable::new(&result))?;
    render::print(&doc, config.style())?;
    warn(&athena_cost_line(&result));
    Ok(Outcome {
        skipped_inputs: 0,
        failed_empty: config.fail_on_empty && doc.is_empty(),
        alert: false,
    })
}

/// `athena: query ID · 1.2 GB scanned · about $0.0061 at $5/TB`
fn athena_cost_line(r: &QueryResult) -> String {
    let scanned = match r.scanned_bytes {
        Some(b) => {
            let b = b.max(0) as u64;
            // Athena bills at least 10 MB per query, in whole MB.
            let billed = b.div_ceil(1_000_000).max(10) * 1_000_000;
            format!(
                "{} scanned · about ${:.4} at ${ATHENA_USD_PER_TB}/TB",
                human_bytes(b),
                billed as f64 / 1e12 * ATHENA_USD_PER_TB
            )
        }
        None => "data scanned not reported".to_string(),
    };
    let mut line = format!("athena: query {} · {scanned}", r.id);
    if let Some(ms) = r.engine_millis {
        line.push_str(&format!(" · {:.1} s in the engine", ms as f64 / 1000.0));
    }
    line.push_str(&format!(" · {}", plural(r.rows.len() as u64, "row")));
    line
}
