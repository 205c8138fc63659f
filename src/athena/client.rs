//! Running one query on Athena: check the workgroup, start, poll with backoff, page through the
//! results.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use aws_sdk_athena::Client;
use aws_sdk_athena::config::http::HttpResponse;
use aws_sdk_athena::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};

use super::results::QueryResult;
use crate::aws;
use crate::config::AthenaSettings;

/// Rows asked for per GetQueryResults call (Athena's maximum).
const PAGE: i32 = 1000;

/// Run `sql` and return every row. `started` is called with the query id as soon as Athena has
/// one, so that an interrupted run still tells which query to look at or stop.
pub fn run(
    sql: &str,
    settings: &AthenaSettings,
    started: impl FnOnce(&str),
) -> anyhow::Result<QueryResult> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the Athena client runtime")?;
    rt.block_on(run_async(sql, settings, started))
}

async fn client(settings: &AthenaSettings) -> anyhow::Result<Client> {
    let sdk = aws::sdk_config(&settings.aws).await?;
    if sdk.region().is_none() {
        bail!(
            "Athena needs a region: pass --api-region (or set AWS_REGION, or a region in the \
             profile) to the region of the table and workgroup"
        );
    }
    let config = aws_sdk_athena::config::Builder::from(&sdk)
        .interceptor(aws::debug::Observe)
        .retry_classifier(aws::FailFast)
        .build();
    Ok(Client::from_conf(config))
}

/// What went wrong with a call: the endpoint and the reason when no answer came (a refused
/// connection, a timeout), else the SDK's error with its context.
fn why<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => aws::no_answer(e, "Athena"),
        _ => DisplayErrorContext(e).to_string(),
    }
}

async fn run_async(
    sql: &str,
    settings: &AthenaSettings,
    started: impl FnOnce(&str),
) -> anyhow::Result<QueryResult> {
    let client = client(settings).await?;
    let wg_name = &settings.workgroup;

    // The workgroup: it must exist and be enabled, and it supplies the result location when
    // --athena-output is not given.
    let wg = client
        .get_work_group()
        .work_group(wg_name)
        .send()
        .await
        .map_err(|e| anyhow!("Athena workgroup '{wg_name}': {}", why(&e)))?;
    let wg = wg
        .work_group()
        .ok_or_else(|| anyhow!("Athena workgroup '{wg_name}': not found"))?;
    if wg.state().is_some_and(|s| s.as_str() == "DISABLED") {
        bail!("Athena workgroup '{wg_name}' is disabled: enable it or pass --athena-workgroup");
    }
    let conf = wg.configuration();
    let wg_output = conf
        .and_then(|c| c.result_configuration())
        .and_then(|r| r.output_location())
        .map(str::to_string);
    let managed = conf
        .and_then(|c| c.managed_query_results_configuration())
        .is_some_and(|m| m.enabled());
    if settings.output.is_none() && wg_output.is_none() && !managed {
        bail!(
            "Athena workgroup '{wg_name}' has no query result location: pass --athena-output \
             s3://BUCKET/PREFIX/ or set one on the workgroup"
        );
    }

    let mut start = client
        .start_query_execution()
        .query_string(sql)
        .work_group(wg_name)
        .query_execution_context(
            QueryExecutionContext::builder()
                .database(&settings.database)
                .build(),
        );
    if let Some(out) = &settings.output {
        start =
            start.result_configuration(ResultConfiguration::builder().output_location(out).build());
    }
    let id = start
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "Athena did not start the query (workgroup '{wg_name}'): {}",
                why(&e)
            )
        })?
        .query_execution_id()
        .ok_or_else(|| anyhow!("Athena started the query but returned no query id"))?
        .to_string();
    started(&id);

    // Poll: quickly at first (small queries finish in a second or two), then every 5 s at most.
    let mut wait = Duration::from_millis(100);
    let execution = loop {
        let out = client
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .map_err(|e| anyhow!("Athena query {id}: {}", why(&e)))?;
        let exec = out
            .query_execution()
            .cloned()
            .ok_or_else(|| anyhow!("Athena query {id}: no execution returned"))?;
        let status = exec.status();
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => break exec,
            Some(state @ (QueryExecutionState::Failed | QueryExecutionState::Cancelled)) => {
                let reason = status
                    .and_then(|s| s.state_change_reason())
                    .or_else(|| {
                        status
                            .and_then(|s| s.athena_error())
                            .and_then(|e| e.error_message())
                    })
                    .unwrap_or("Athena gave no reason");
                let what = if *state == QueryExecutionState::Failed {
                    "failed"
                } else {
                    "was cancelled"
                };
                bail!("Athena query {id} {what}: {reason}");
            }
            _ => {}
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 3 / 2).min(Duration::from_secs(5));
    };

    let mut result = QueryResult {
        id: id.clone(),
        scanned_bytes: execution
            .statistics()
            .and_then(|s| s.data_scanned_in_bytes()),
        engine_millis: execution
            .statistics()
            .and_then(|s| s.engine_execution_time_in_millis()),
        output_location: execution
            .result_configuration()
            .and_then(|r| r.output_location())
            .map(str::to_string),
        ..Default::default()
    };
    let mut token: Option<String> = None;
    let mut first_page = true;
    loop {
        let page = client
            .get_query_results()
            .query_execution_id(&id)
            .max_results(PAGE)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| anyhow!("Athena query {id}: cannot read the results: {}", why(&e)))?;
        let set = page.result_set();
        if first_page {
            result.columns = set
                .and_then(|s| s.result_set_metadata())
                .map(|m| {
                    m.column_info()
                        .iter()
                        .map(|c| c.name().to_string())
                        .collect()
                })
                .unwrap_or_default();
        }
        let mut rows = set.map(|s| s.rows()).unwrap_or_default().iter().map(|r| {
            r.data()
                .iter()
                .map(|d| d.var_char_value().map(str::to_string))
                .collect::<Vec<_>>()
        });
        if first_page {
            // A SELECT's first row repeats the column names.
            if let Some(header) = rows.next() {
                let names: Vec<Option<String>> = result.columns.iter().cloned().map(Some).collect();
                if header != names {
                    result.rows.push(header);
                }
            }
            first_page = false;
        }
        result.rows.extend(rows);
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(result)
}
