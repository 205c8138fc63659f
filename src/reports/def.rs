//! The contract between a report and the engines that run it.
//!
//! A report is one module of `src/reports/` with a clap `Args` struct that implements
//! `ReportDef`: the local engine asks it for an accumulator (`Report`) to fill from events, the
//! Athena engine for its query's parts and for the document of the query's rows. Engines are
//! generic over `ReportDef`, so the hot loop of the local engine is compiled per report.

use crate::athena::results::ResultTable;
use crate::athena::sql::Query;
use crate::document::Document;
use crate::event::Event;
use crate::filter::Filter;
use crate::time::Micros;

/// The local engine's accumulator: observe per event, merge per thread, finish into a document.
/// Memory stays flat in the number of files, and `--threads 1` gives the same bytes as a
/// parallel run.
pub trait Report: Clone + Send + Sync {
    /// Count one event that passed the window, account and region filters.
    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>);
    /// Fold another thread's accumulator into this one.
    fn merge(&mut self, other: Self);
    /// The finished document, rows in their final order.
    fn finish(self) -> Document;
    /// Whether events must carry their own JSON text (`Event::raw`).
    fn wants_raw(&self) -> bool {
        false
    }
    /// Whether the report reads aggregated events (`eventCategory` `Aggregated`: five-minute
    /// summaries of data events, without the fields of a call); the others never see them.
    fn reads_aggregated(&self) -> bool {
        false
    }
}

/// What every report knows of the run: the common filters and "now".
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub filter: &'a Filter,
    /// Taken once per run, for durations and the default window.
    pub now: Micros,
}

/// A report, as the engines see it.
pub trait ReportDef {
    /// The command as typed (`errors`); the SQL's first line names it.
    const NAME: &'static str;
    /// Two or three command lines that show the report at work, for its help (`Examples:`).
    const EXAMPLES: &'static str;
    /// The local engine's accumulator.
    type Acc: Report;
    /// Checks what clap cannot, before anything is read: the message of a usage error.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// Reads what the report needs before any event (`detect`: its rules). Each part it cannot
    /// use is named on stderr; how many there were counts as skipped inputs (exit 3).
    fn prepare(&mut self) -> anyhow::Result<u64> {
        Ok(0)
    }
    /// Whether this run reads events; `without_events` answers when it does not.
    fn reads_events(&self) -> bool {
        true
    }
    /// A document printed instead of reading any event (`detect --list-rules`).
    fn without_events(&self) -> Option<Document> {
        None
    }
    /// After the document is made: whether it holds what the user asked to fail on
    /// (`detect --fail-on`, exit 4).
    fn alert(&self) -> bool {
        false
    }
    /// After the document is made: how many events the report could not read whole (`detect`:
    /// events its rules could not be shown); they count as skipped inputs (exit 3).
    fn partial(&self) -> u64 {
        0
    }
    /// How long before the window the events are read too (`trace`: the calls that issued the
    /// credentials it follows). The report still sees the window in its `Context`.
    fn lookback(&self) -> Micros {
        0
    }
    /// An empty accumulator for this run.
    fn accumulator(&self, cx: &Context<'_>) -> Self::Acc;
    /// The parts of this report's Athena query, or why it cannot run on Athena.
    fn athena_query(&self, cx: &Context<'_>) -> Result<Query, String>;
    /// The document from the rows of that query.
    fn athena_document(&self, rows: &ResultTable<'_>) -> anyhow::Result<Document>;
}

/// What to do with the report the user asked for; `reports::Command::run` calls it with the
/// report's concrete type.
pub trait Runner {
    type Out;
    fn run<R: ReportDef>(self, report: R) -> Self::Out;
}
