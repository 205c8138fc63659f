//! The reports. Each is one module that owns everything of its report: its command-line options
//! (a clap `Args` struct, validated in `ReportDef::check`), its accumulator for the local engine,
//! its typed columns and footer, and its Athena query. This file is the registry, the only place
//! that lists them: it makes the clap subcommands and dispatches to a `Runner`.

mod cells;
mod def;
pub mod group;

pub use def::{Context, Report, ReportDef, Runner};

/// One line per report: the subcommand's variant (its name in kebab case is the command) and
/// the module that defines it (`src/reports/<module>.rs`). The module's `Args` doc comment is
/// the command's help.
macro_rules! registry {
    ($($variant:ident => $module:ident,)*) => {
        $(pub mod $module;)*

        /// The report commands.
        #[derive(Debug, clap::Subcommand)]
        #[allow(clippy::large_enum_variant)] // built once per run
        pub enum Command {
            $($variant($module::Args),)*
        }

        /// Each report command's name and examples, for its help.
        pub fn examples() -> Vec<(&'static str, &'static str)> {
            vec![$((<$module::Args as ReportDef>::NAME, <$module::Args as ReportDef>::EXAMPLES),)*]
        }

        impl Command {
            /// Whether the command reads events (and so needs a source).
            pub fn reads_events(&self) -> bool {
                match self {
                    $(Command::$variant(args) => args.reads_events(),)*
                }
            }

            /// Hands the chosen report, with its options, to `runner`.
            pub fn run<R: Runner>(self, runner: R) -> R::Out {
                match self {
                    $(Command::$variant(args) => runner.run(args),)*
                }
            }
        }

        /// Each report's `NAME` (named in its SQL) is its command's name.
        #[test]
        fn names_are_the_commands() {
            use clap::Subcommand as _;
            let commands = Command::augment_subcommands(clap::Command::new("ctq"));
            let commands: Vec<&str> = commands.get_subcommands().map(|c| c.get_name()).collect();
            assert_eq!(commands, [$(<$module::Args as ReportDef>::NAME,)*]);
        }
    };
}

registry! {
    StsEndpoints => sts,
    RootActivity => root,
    Errors => errors,
    WhoTouchedBucket => bucket,
    Events => events,
    ConsoleLogins => console,
    NetworkActivity => network,
    Summary => summary,
    EventSources => event_sources,
    Detect => detect,
    Trace => trace,
    Profile => profile,
}
