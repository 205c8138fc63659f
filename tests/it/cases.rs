//! The report cases of `tests/golden/cases.txt`, the one place a case is written: the golden,
//! reference, engine-parity and SQL-golden tests each take the cases tagged for them (the file's
//! header explains the format and how to add a case).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

/// The tests a case can be tagged for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    /// `tests/golden/<name>.json` and `<name>.table.txt` on the fixtures (golden.rs).
    Golden,
    /// ctq against the reference implementation under many filters (reference.rs).
    Reference,
    /// The local engine against Athena on DuckDB (athena.rs).
    Parity,
    /// `--print-sql` pinned as `tests/golden/athena-sql-<name>-<layout>.sql` (athena.rs).
    Sql,
}

#[derive(Debug)]
pub struct Case {
    pub name: &'static str,
    /// The ctq arguments, without `--source` and `-o`.
    pub args: Vec<&'static str>,
    tests: Vec<Test>,
    sql_name: Option<&'static str>,
}

impl Case {
    pub fn runs_in(&self, test: Test) -> bool {
        self.tests.contains(&test)
    }

    /// The `<name>` of its `athena-sql-<name>-<layout>.sql` files.
    pub fn sql_name(&self) -> &'static str {
        self.sql_name.unwrap_or(self.name)
    }
}

/// The options that the reference, parity and SQL tests add themselves.
const SCOPE_OPTIONS: &[&str] = &["--date", "--since", "--until", "--account", "--region"];

/// Parse the case list; `Err` names the line and what is wrong with it.
pub fn parse(text: &'static str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    let mut names = BTreeSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |why: String| format!("line {}: {why}: {line}", i + 1);
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        let [name, tags, args] = fields[..] else {
            return Err(at("a case is `name | tests | ctq arguments`".into()));
        };
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains('/') {
            return Err(at(format!("{name:?} is not a file name")));
        }
        if !names.insert(name) {
            return Err(at(format!("a second case named {name}")));
        }
        let (mut tests, mut sql_name) = (Vec::new(), None);
        for tag in tags.split_whitespace() {
            let test = match tag.split_once('=') {
                None if tag == "golden" => Test::Golden,
                None if tag == "reference" => Test::Reference,
                None if tag == "parity" => Test::Parity,
                None if tag == "sql" => Test::Sql,
                Some(("sql", other)) if !other.is_empty() => {
                    sql_name = Some(other);
                    Test::Sql
                }
                _ => {
                    return Err(at(format!(
                        "unknown test {tag:?} (golden, reference, parity, sql or sql=NAME)"
                    )));
                }
            };
            if tests.contains(&test) {
                return Err(at(format!("{tag} given twice")));
            }
            tests.push(test);
        }
        if tests.is_empty() {
            return Err(at("no test runs this case".into()));
        }
        let args: Vec<&'static str> = args.split_whitespace().collect();
        if args.is_empty() {
            return Err(at("no ctq arguments".into()));
        }
        if let Some(opt) = args
            .iter()
            .find(|a| matches!(**a, "--source" | "-s" | "-o" | "--output"))
        {
            return Err(at(format!("{opt} is added by each test")));
        }
        let own_scope = tests.iter().any(|t| *t != Test::Golden);
        if own_scope && let Some(opt) = args.iter().find(|a| SCOPE_OPTIONS.contains(a)) {
            return Err(at(format!(
                "{opt}: the reference, parity and sql tests add their own windows and scopes; \
                 tag a case with a window `golden` only"
            )));
        }
        let on_athena = tests.iter().any(|t| matches!(t, Test::Parity | Test::Sql));
        if on_athena && let Some(opt) = args.iter().find(|a| matches!(**a, "--fields" | "--raw")) {
            return Err(at(format!("{opt} cannot run on Athena (README)")));
        }
        cases.push(Case {
            name,
            args,
            tests,
            sql_name,
        });
    }
    let mut sql_names = BTreeSet::new();
    for c in cases.iter().filter(|c| c.runs_in(Test::Sql)) {
        if !sql_names.insert(c.sql_name()) {
            return Err(format!(
                "two cases write athena-sql-{}-*.sql ({} is one)",
                c.sql_name(),
                c.name
            ));
        }
    }
    Ok(cases)
}

/// Every case of `tests/golden/cases.txt`.
pub fn all() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let path = golden_dir().join("cases.txt");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .leak();
        parse(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// The cases tagged for `test`, in the file's order (never none).
pub fn of(test: Test) -> Vec<&'static Case> {
    let cases: Vec<&Case> = all().iter().filter(|c| c.runs_in(test)).collect();
    assert!(
        !cases.is_empty(),
        "no case in tests/golden/cases.txt runs in {test:?}"
    );
    cases
}

/// The arguments of the cases tagged for `test`, in the file's order.
pub fn args_of(test: Test) -> Vec<&'static [&'static str]> {
    of(test).into_iter().map(|c| c.args.as_slice()).collect()
}

pub fn golden_dir() -> &'static Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden"))
}

/// The list parses, and nothing in `tests/golden/` is left over from a case that is gone: every
/// report golden file belongs to a case tagged for the test that reads it.
#[test]
fn every_golden_file_belongs_to_a_case() {
    let mut expected = BTreeSet::new();
    for c in all() {
        if c.runs_in(Test::Golden) {
            expected.insert(format!("{}.json", c.name));
        }
        if c.runs_in(Test::Sql) {
            for layout in ["single-account", "organization"] {
                expected.insert(format!("athena-sql-{}-{layout}.sql", c.sql_name()));
            }
        }
    }
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let of_a_case = if let Some(base) = file.strip_suffix(".table.txt") {
            // `summary` prints one object, which has no table golden file.
            expected.contains(&format!("{base}.json"))
        } else if file.ends_with(".json") || file.starts_with("athena-sql-") {
            expected.contains(&file)
        } else {
            true // cases.txt, and the DDL goldens of athena.rs
        };
        if !of_a_case {
            stale.push(file);
        }
    }
    // The tables at three widths (layout.rs) are of golden cases too.
    for entry in std::fs::read_dir(golden_dir().join("layout")).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let base = file.rsplitn(3, '.').nth(2).unwrap_or("");
        if !expected.contains(&format!("{base}.json")) {
            stale.push(format!("layout/{file}"));
        }
    }
    assert!(
        stale.is_empty(),
        "tests/golden/ holds files of no case in cases.txt: {stale:?}"
    );
}

#[test]
fn the_parser_reads_tags_and_refuses_mistakes() {
    let cases = parse(
        "# comment\n\
         \n\
         a | golden reference | errors --top 3\n\
         b | golden | errors --date 2024-09-05\n\
         c | parity sql=c-other | summary --top 2\n",
    )
    .unwrap();
    let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(cases[0].args, ["errors", "--top", "3"]);
    assert!(cases[0].runs_in(Test::Golden) && cases[0].runs_in(Test::Reference));
    assert!(!cases[0].runs_in(Test::Parity) && !cases[0].runs_in(Test::Sql));
    assert_eq!(cases[1].sql_name(), "b");
    assert_eq!(cases[2].sql_name(), "c-other");
    assert!(cases[2].runs_in(Test::Sql));

    for (text, says) in [
        ("a | errors\n", "name | tests | ctq arguments"),
        (
            "a | golden | errors\na | sql | errors\n",
            "a second case named a",
        ),
        ("a | athena | errors\n", "unknown test \"athena\""),
        ("a |  | errors\n", "no test runs this case"),
        ("a | golden |\n", "no ctq arguments"),
        ("a | golden | errors -o csv\n", "-o is added by each test"),
        (
            "a | parity | errors --date 2024-09-05\n",
            "--date: the reference",
        ),
        (
            "a | sql | events --fields eventName\n",
            "cannot run on Athena",
        ),
        (
            "a | sql | errors\nb | sql=a | errors --top 3\n",
            "two cases write athena-sql-a-*.sql",
        ),
    ] {
        let err = parse(text).unwrap_err();
        assert!(err.contains(says), "{text:?}: {err}");
    }
}
