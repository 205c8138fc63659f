//! From the process's arguments to a `Cli`, with what clap's derive does not do by itself: the
//! help that names the common options once (`command`), suggestions only for close matches
//! (`suggest`), `athena ddl` refusing the options it does not use, and ctq's own usage errors in
//! clap's look (`usage_error`).

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::Cli;
use crate::escape::escape_control;
use crate::exit::EXIT_CODES_HELP;
use crate::reports;

/// The command line as clap knows it, with each command's examples and, in `-h`, the names of
/// the common options that only `--help` explains.
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let more = more_options(&cmd);
    let mut cmd = cmd
        .after_help(format!("{more}\n\n{EXIT_CODES_HELP}"))
        .after_long_help(EXIT_CODES_HELP);
    for (name, examples) in reports::examples() {
        let more = more.clone();
        cmd = cmd.mut_subcommand(name, |c| {
            c.after_help(format!("Examples:\n  {examples}\n\n{more}"))
                .after_long_help(format!("Examples:\n  {examples}\n\n{EXIT_CODES_HELP}"))
        });
    }
    let verify_more = more.clone();
    cmd = cmd.mut_subcommand("verify", |v| {
        v.after_help(format!(
            "Examples:\n  {}\n\n{verify_more}",
            crate::verify::EXAMPLES
        ))
        .after_long_help(format!(
            "Examples:\n  {}\n\n{EXIT_CODES_HELP}",
            crate::verify::EXAMPLES
        ))
    });
    cmd.mut_subcommand("athena", |a| {
        a.mut_subcommand("ddl", |d| {
            let examples = "Examples:\n  \
                ctq athena ddl -s s3://my-trail-bucket > table.sql\n  \
                ctq athena ddl -s s3://my-trail-bucket/prefix --account 111111111111 --region us-east-1 --organization o-abc123def4";
            d.after_help(format!(
                "{examples}\n\nOf the common options, athena ddl takes --source, --since, --account, \
                 --region and the AWS options; it refuses the others."
            ))
        })
    })
}

/// `Common options not shown (--help explains them): …`, from the options hidden in `-h`,
/// by heading.
fn more_options(cmd: &clap::Command) -> String {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for arg in cmd.get_arguments() {
        if !arg.is_hide_short_help_set() || arg.is_hide_set() {
            continue;
        }
        let name = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}/--{l}"),
            (None, Some(l)) => format!("--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, None) => continue,
        };
        let heading = arg.get_help_heading().unwrap_or("Options").to_string();
        match groups.iter_mut().find(|(h, _)| *h == heading) {
            Some((_, names)) => names.push(name),
            None => groups.push((heading, vec![name])),
        }
    }
    let mut s = String::from("More options (--help explains every one):");
    for (heading, names) in groups {
        s.push_str(&format!("\n  {heading}: {}", names.join(", ")));
    }
    s
}

/// Parses `args` (the program's name first) as `main` does.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut cmd = command();
    let matches = match cmd.try_get_matches_from_mut(args.iter().cloned()) {
        Ok(m) => m,
        Err(e) => return Err(suggest(e, &cmd, &args)),
    };
    only_what_it_uses(&matches, &cmd)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.with_cmd(&cmd))
}

/// The common options `athena ddl` uses; it refuses the others, given on the command line.
const DDL_USES: &[&str] = &[
    "sources",
    "since",
    "accounts",
    "regions",
    "profile",
    "api_region",
    "endpoint_url",
    "connect_timeout",
    "read_timeout",
    "debug",
];

/// The common options `verify` uses: it reads files, not events, so it takes no event filter,
/// and runs on this machine, never on Athena.
const VERIFY_USES: &[&str] = &[
    "sources",
    "date",
    "since",
    "until",
    "accounts",
    "regions",
    "output",
    "csv_raw",
    "width",
    "wide",
    "threads",
    "max_decompressed_size",
    "quiet",
    "profile",
    "api_region",
    "endpoint_url",
    "connect_timeout",
    "read_timeout",
    "debug",
    "concurrency",
    "max_inflight_bytes",
    "cache",
    "no_cache",
    "cache_size",
];

/// The commands that are not reports refuse the common options they do not use: `athena ddl`
/// all but `DDL_USES`, `completions` and `man` every one.
fn only_what_it_uses(m: &ArgMatches, cmd: &clap::Command) -> Result<(), clap::Error> {
    // (the command's path, the common options it uses, what it does instead of a report)
    let (path, uses, does): (&[&str], &[&str], &str) = match m.subcommand() {
        Some(("athena", _)) => (
            &["athena", "ddl"],
            DDL_USES,
            "prints a table definition and reads no events",
        ),
        Some(("completions", _)) => (
            &["completions"],
            &[],
            "prints a completion script and reads no events",
        ),
        Some(("man", _)) => (&["man"], &[], "prints the man page and reads no events"),
        Some(("cache", sub)) => (
            &["cache", sub.subcommand_name().unwrap_or_default()],
            &["cache"],
            "prints what the cache holds and reads no events",
        ),
        Some(("verify", _)) => (
            &["verify"],
            VERIFY_USES,
            "checks the trail's files, on this machine, whatever events they hold",
        ),
        _ => return Ok(()),
    };
    let Some(option) = cmd
        .get_arguments()
        .filter(|a| a.is_global_set() && !uses.contains(&a.get_id().as_str()))
        .find(|a| m.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .map(|a| match a.get_long() {
            Some(l) => format!("--{l}"),
            None => a.get_id().to_string(),
        })
    else {
        return Ok(());
    };
    let msg = format!("{} does not take {option}: it {does}", path.join(" "));
    let mut target = cmd.clone();
    for name in path {
        if let Some(sub) = target.find_subcommand(name).cloned() {
            target = sub;
        }
    }
    Err(target.error(ErrorKind::ArgumentConflict, msg))
}

/// clap's error for an unknown option or command, with a suggestion only when one is close:
/// at most one edit (a letter added, dropped, changed, or two swapped) for short names, two
/// for longer ones. clap's own suggestions (its `suggestions` feature) are off: they offered
/// `--output` for `--tpo` and `--version` for `--verbose`.
fn suggest(e: clap::Error, cmd: &clap::Command, args: &[OsString]) -> clap::Error {
    let (context, what) = match e.kind() {
        ErrorKind::UnknownArgument => (ContextKind::InvalidArg, "argument"),
        ErrorKind::InvalidSubcommand => (ContextKind::InvalidSubcommand, "subcommand"),
        _ => return e,
    };
    let Some(ContextValue::String(bad)) = e.get(context) else {
        return e;
    };
    let bad = bad.clone();
    // The command the arguments reached: `ctq errors --tpo` suggests among the options of
    // `errors` and the common ones.
    let mut chain: Vec<&clap::Command> = vec![cmd];
    for a in args.iter().skip(1).filter_map(|a| a.to_str()) {
        if let Some(sub) = chain.last().and_then(|c| c.find_subcommand(a)) {
            chain.push(sub);
        }
    }
    let Some(&here) = chain.last() else { return e };
    let (typed, candidates): (&str, Vec<String>) = if what == "argument" {
        let Some(typed) = bad.strip_prefix("--") else {
            return e;
        };
        let typed = typed.split('=').next().unwrap_or(typed);
        let longs = chain
            .iter()
            .flat_map(|c| c.get_arguments())
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(str::to_string))
            .collect();
        (typed, longs)
    } else {
        let names = here
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name().to_string())
            .collect();
        (bad.as_str(), names)
    };
    let best = candidates
        .iter()
        .map(|c| (edit_distance(typed, c), c))
        .filter(|(d, c)| *d > 0 && *d <= if c.len() <= 5 { 1 } else { 2 })
        .min_by_key(|(d, c)| (*d, (*c).clone()))
        .map(|(_, c)| c.clone());
    let shown = escape_control(&bad);
    let mut msg = match what {
        "argument" => format!("unexpected argument '{shown}' found"),
        _ => format!("unrecognized subcommand '{shown}'"),
    };
    if let Some(best) = best {
        let best = if what == "argument" {
            format!("--{best}")
        } else {
            best
        };
        msg.push_str(&format!("\n\n  tip: a similar {what} exists: '{best}'"));
    }
    here.clone().error(e.kind(), msg)
}

/// The optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// two neighbours, each one edit. Option and command names are short; the work is bounded by
/// the product of their lengths, and a longer typed name is not compared at all.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// Prints one of ctq's own usage errors (found after parsing) as clap prints its own:
/// `error: …`, the usage, and where to find more.
pub fn usage_error(message: &str) {
    let _ = command()
        .error(ErrorKind::ValueValidation, escape_control(message))
        .print();
}

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command(), "ctq", &mut out);
    out
}

/// The man page, in roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command()).render(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(args: &[&str]) -> String {
        let args = std::iter::once("ctq").chain(args.iter().copied());
        match parse_from(args) {
            Ok(_) => panic!("parsed"),
            Err(e) => e.render().to_string(),
        }
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("tpo", "top"), 1);
        assert_eq!(edit_distance("detail", "details"), 1);
        assert_eq!(edit_distance("verbose", "version"), 4);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn suggestions_only_for_close_matches() {
        let e = error_of(&["errors", "-s", "x", "--tpo", "3"]);
        assert!(e.contains("a similar argument exists: '--top'"), "{e}");
        let e = error_of(&["errors", "-s", "x", "--verbose"]);
        assert!(e.contains("unexpected argument '--verbose'"), "{e}");
        assert!(!e.contains("similar"), "{e}");
        let e = error_of(&["eror", "-s", "x"]);
        assert!(e.contains("a similar subcommand exists: 'errors'"), "{e}");
        let e = error_of(&["root-activity", "--detail"]);
        assert!(e.contains("'--details'"), "{e}");
    }

    #[test]
    fn ddl_refuses_what_it_does_not_use() {
        let e = error_of(&["athena", "ddl", "-s", "s3://b", "-o", "json"]);
        assert!(e.contains("athena ddl does not take --output"), "{e}");
        let e = error_of(&["--threads", "2", "athena", "ddl", "-s", "s3://b"]);
        assert!(e.contains("athena ddl does not take --threads"), "{e}");
        let e = error_of(&["completions", "bash", "-s", "x"]);
        assert!(e.contains("completions does not take --source"), "{e}");
        let e = error_of(&["man", "--date", "2024-09-05"]);
        assert!(e.contains("man does not take --date"), "{e}");
        assert!(
            parse_from([
                "ctq",
                "athena",
                "ddl",
                "-s",
                "s3://b",
                "--account",
                "111111111111",
                "--region",
                "us-east-1",
                "--since",
                "2024-01-01"
            ])
            .is_ok()
        );
    }

    #[test]
    fn numbers_are_checked_in_words() {
        let e = error_of(&["errors", "-s", "x", "--threads", "0"]);
        assert!(
            e.contains("--threads must be a whole number, at least 1"),
            "{e}"
        );
        assert!(!e.contains("non-zero"), "{e}");
    }

    #[test]
    fn value_names_ignore_case() {
        assert!(parse_from(["ctq", "errors", "-s", "x", "-o", "JSON"]).is_ok());
        assert!(parse_from(["ctq", "errors", "-s", "x", "--engine", "Local"]).is_ok());
    }
}
