//! ctq: answer questions about AWS CloudTrail logs.
//!
//! `run` is the whole program in a few lines: the command line becomes a `Config`, and the
//! command runs: a report on the engine asked for (`engine::local` or `engine::athena`), or
//! `athena ddl`. See ARCHITECTURE.md for the map.

pub mod athena;
pub mod aws;
pub mod cache;
pub mod cli;
pub mod config;
pub mod ddl;
pub mod decode;
pub mod document;
pub mod engine;
pub mod escape;
pub mod event;
pub mod exit;
pub mod filter;
pub mod net;
pub mod progress;
pub mod render;
pub mod reports;
pub mod scan;
pub mod sigma;
pub mod source;
pub mod time;
pub mod verify;

use crate::cli::{Cli, Command};
use crate::config::{Config, Engine};
use crate::exit::{Outcome, UsageError};
use crate::reports::{ReportDef, Runner};

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Completions { shell } => {
            render::print_text(&cli::parse::completions(shell), "the completion script")?;
            return Ok(Outcome::default());
        }
        Command::Man => {
            render::print_text(&cli::parse::man_page()?, "the man page")?;
            return Ok(Outcome::default());
        }
        Command::Cache(what) => return cache::command(what, &cli.common.cache_folder()?),
        Command::Report(_) | Command::Athena(_) | Command::Verify(_) => {}
    }
    let is_ddl = matches!(cli.command, Command::Athena(_));
    let reads_events = match &cli.command {
        Command::Report(r) => r.reads_events(),
        _ => true,
    };
    let config = cli.common.config(time::now(), is_ddl, reads_events)?;
    match cli.command {
        Command::Report(report) => report.run(OnEngine(&config)),
        Command::Athena(ddl) => ddl::run(ddl, &config),
        Command::Verify(args) => verify::run(&args, &config),
        Command::Completions { .. } | Command::Man | Command::Cache(_) => Ok(Outcome::default()),
    }
}

/// Runs the chosen report on the engine of the config.
struct OnEngine<'a>(&'a Config);

impl Runner for OnEngine<'_> {
    type Out = anyhow::Result<Outcome>;

    fn run<R: ReportDef>(self, mut report: R) -> Self::Out {
        report.check().map_err(UsageError)?;
        // `--stats` shows every repeated warning, the rules' ones (`prepare`) included.
        if self.0.stats {
            exit::warn_all();
        }
        let skipped = report.prepare()?;
        let run = match report.without_events() {
            Some(doc) => {
                exit::capped_notes().iter().for_each(|n| exit::warn(n));
                render::print(&doc, self.0.style()).map(|()| Outcome::default())
            }
            None => match self.0.engine {
                Engine::Local => engine::local::run(&report, self.0),
                Engine::Athena => engine::athena::run(&report, self.0),
            },
        };
        // `detect --fail-on … | head`: the alert stands when the reader stops reading.
        let mut outcome = match run {
            Err(e) if report.alert() && exit::is_broken_pipe(&e) => Outcome::default(),
            other => other?,
        };
        outcome.skipped_inputs += skipped + report.partial();
        outcome.alert |= report.alert();
        Ok(outcome)
    }
}
