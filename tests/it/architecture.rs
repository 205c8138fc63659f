//! The shape of `src/`, checked: no import cycle between its files' modules (STYLE.md: "an import
//! cycle is a design bug"), a short `lib.rs`, and no file too long to read in one sitting.
//!
//! The import graph has one node per file module: `crate` (src/lib.rs), `crate::reports`
//! (src/reports/mod.rs), `crate::reports::errors` (src/reports/errors.rs). src/main.rs is another
//! crate (it uses ctq by name) and is left out. An edge is a path in a file that names another
//! file module: `use crate::…` (grouped forms too, over several lines), `crate::…` in code,
//! `super::…` and `self::…` (from the inline module they are written in, such as `mod tests`),
//! and a path that starts with one of the file's own child modules or with a module it imported
//! by `use` (`athena::sql::query` in lib.rs). A path counts for its longest prefix that is a file
//! module. `mod x;` is not an edge; comments, doc comments and string literals are not read;
//! `#[cfg(test)] mod tests` counts like the rest of its file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// `src/lib.rs` is under this many lines: `run()` wires the stages, nothing more (STYLE.md).
const LIB_LINES_UNDER: usize = 100;
/// No file in `src/` is longer than this.
const FILE_MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_cycles_between_modules() {
    let graph = Graph::of(&src());
    assert!(
        graph.modules.len() > 10,
        "only {} modules found in src/",
        graph.modules.len()
    );
    let cycles = graph.cycles();
    assert!(cycles.is_empty(), "{}", graph.describe(&cycles));
}

#[test]
fn lib_rs_is_short() {
    let lines = line_count(&src().join("lib.rs"));
    assert!(
        lines < LIB_LINES_UNDER,
        "src/lib.rs has {lines} lines, and must stay under {LIB_LINES_UNDER}: it parses nothing \
         and prints nothing, it wires CLI -> Config -> sources -> scan -> report -> render \
         (STYLE.md); move the rest where it belongs"
    );
}

#[test]
fn no_file_in_src_is_too_long() {
    let long: Vec<String> = rust_files(&src())
        .into_iter()
        .filter_map(|path| {
            let lines = line_count(&path);
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            (lines > FILE_MAX_LINES).then(|| format!("  {} ({lines} lines)", shown(root, &path)))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files in src/ over {FILE_MAX_LINES} lines (split them where they have parts):\n{}",
        long.join("\n")
    );
}

fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .count()
}

/// `path` as it reads from `root` (`src/reports/mod.rs` from the repository's root).
fn shown(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.to_string_lossy().into_owned()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The module a file under `src` holds (`["crate", "reports", "errors"]`), or `None` for the roots
/// of other crates (src/main.rs, src/bin/).
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?.strip_suffix(".rs")?.to_string();
    if parts.first().is_some_and(|p| p == "bin") || (parts.is_empty() && last == "main") {
        return None;
    }
    if !(parts.is_empty() && last == "lib" || last == "mod") {
        parts.push(last);
    }
    Some(std::iter::once("crate".to_string()).chain(parts).collect())
}

/// Where an edge comes from: the first path that made it.
#[derive(Clone, Debug)]
struct Evidence {
    file: String,
    line: usize,
    path: String,
}

struct Graph {
    modules: BTreeSet<String>,
    /// (from, to) -> the first path found for it.
    edges: BTreeMap<(String, String), Evidence>,
}

impl Graph {
    /// The import graph of the crate whose sources are under `src`.
    fn of(src: &Path) -> Graph {
        let files: Vec<(Vec<String>, PathBuf)> = rust_files(src)
            .into_iter()
            .filter_map(|f| Some((module_of(src, &f)?, f)))
            .collect();
        let known: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
        let mut edges = BTreeMap::new();
        for (module, file) in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for (target, line, path) in imports(module, &text, &known) {
                let key = (module.join("::"), target.join("::"));
                edges.entry(key).or_insert_with(|| Evidence {
                    file: shown(src.parent().unwrap(), file),
                    line,
                    path,
                });
            }
        }
        Graph {
            modules: known.iter().map(|m| m.join("::")).collect(),
            edges,
        }
    }

    fn next(&self, from: &str) -> impl Iterator<Item = &str> {
        self.edges
            .range((from.to_string(), String::new())..)
            .take_while(move |((f, _), _)| f == from)
            .map(|((_, t), _)| t.as_str())
    }

    /// Every group of modules that import each other (the strongly connected components with more
    /// than one module), each as one shortest cycle through its first module, then the others.
    fn cycles(&self) -> Vec<Vec<String>> {
        // Tarjan's algorithm; the graph has a few dozen nodes, so recursion is fine.
        struct State<'g> {
            graph: &'g Graph,
            index: BTreeMap<&'g str, usize>,
            low: BTreeMap<&'g str, usize>,
            stack: Vec<&'g str>,
            on_stack: BTreeSet<&'g str>,
            groups: Vec<Vec<String>>,
        }
        fn visit<'g>(s: &mut State<'g>, v: &'g str) {
            let i = s.index.len();
            s.index.insert(v, i);
            s.low.insert(v, i);
            s.stack.push(v);
            s.on_stack.insert(v);
            let graph = s.graph;
            let next: Vec<&'g str> = graph.next(v).collect();
            for w in next {
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
            if s.low[v] == s.index[v] {
                let mut group = Vec::new();
                loop {
                    let w = s.stack.pop().unwrap();
                    s.on_stack.remove(w);
                    group.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    s.groups.push(group);
                }
            }
        }
        let mut s = State {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            groups: Vec::new(),
        };
        for m in &self.modules {
            if !s.index.contains_key(m.as_str()) {
                visit(&mut s, m);
            }
        }
        let mut groups = s.groups;
        groups.sort();
        groups
            .into_iter()
            .map(|group| {
                let cycle = self.shortest_cycle(&group);
                let rest = group.iter().filter(|m| !cycle.contains(m)).cloned();
                cycle.iter().cloned().chain(rest).collect()
            })
            .collect()
    }

    /// A shortest cycle through the first module of `group`, inside the group.
    fn shortest_cycle(&self, group: &[String]) -> Vec<String> {
        let start = group[0].as_str();
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for w in self.next(v) {
                if w == start {
                    let mut cycle = vec![v.to_string()];
                    let mut at = v;
                    while at != start {
                        at = came_from[at];
                        cycle.push(at.to_string());
                    }
                    cycle.reverse();
                    return cycle;
                }
                if group.iter().any(|g| g == w) && !came_from.contains_key(w) {
                    came_from.insert(w, v);
                    queue.push_back(w);
                }
            }
        }
        unreachable!("a strongly connected group has a cycle through each of its modules")
    }

    /// The cycles, with the path in the code behind each import inside them.
    fn describe(&self, cycles: &[Vec<String>]) -> String {
        let mut out = format!(
            "{} group(s) of modules in src/ import each other (STYLE.md: dependencies point down):",
            cycles.len()
        );
        for group in cycles {
            let cycle = &group[..self.shortest_cycle(group).len()];
            out += &format!("\n\ncycle: {} -> {}", cycle.join(" -> "), cycle[0]);
            if group.len() > cycle.len() {
                out += &format!("\n  in one group with: {}", group[cycle.len()..].join(", "));
            }
            out += "\n  the imports inside the group:";
            for ((from, to), e) in &self.edges {
                if group.contains(from) && group.contains(to) {
                    out += &format!("\n    {from} -> {to}    {}:{} `{}`", e.file, e.line, e.path);
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the paths of a Rust file: a small lexer (enough to skip comments, strings and
// characters), then the `use` trees and the paths in code.

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

#[derive(Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

fn lex(text: &str) -> Vec<Token> {
    let c: Vec<char> = text.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let ident_char = |ch: char| ch == '_' || ch.is_alphanumeric();
    let (mut out, mut i, mut line) = (Vec::new(), 0, 1);
    // Past a string whose opening quote is at i-1; `hashes` > 0 for raw strings (no escapes).
    let skip_string = |mut i: usize, raw: bool, hashes: usize, line: &mut usize| -> usize {
        while i < c.len() {
            match c[i] {
                '\n' => *line += 1,
                '\\' if !raw => {
                    if at(i + 1) == '\n' {
                        *line += 1;
                    }
                    i += 1;
                }
                '"' if (1..=hashes).all(|k| at(i + k) == '#') => return i + 1 + hashes,
                _ => {}
            }
            i += 1;
        }
        i
    };
    // Past a character literal, or past the `'` of a lifetime or label and its name.
    let skip_quote = |i: usize| -> usize {
        if at(i + 1) == '\\' {
            let mut j = i + 3;
            while j < c.len() && c[j] != '\'' {
                j += 1;
            }
            j + 1
        } else if at(i + 2) == '\'' {
            i + 3
        } else {
            let mut j = i + 1;
            while ident_char(at(j)) {
                j += 1;
            }
            j
        }
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_string(i + 1, false, 0, &mut line);
        } else if ch == '\'' {
            i = skip_quote(i);
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(Token {
                tok: Tok::Sep,
                line,
            });
            i += 2;
        } else if ident_char(ch) {
            // Literal prefixes first: b'x', b"..", r"..", r#".."#, br"..", c"..", cr"..";
            // then raw identifiers (r#type) and plain identifiers and numbers.
            let mut j = i;
            while matches!(at(j), 'b' | 'c' | 'r') && j - i < 2 {
                j += 1;
            }
            let prefix: String = c[i..j].iter().collect();
            let raw = prefix.ends_with('r');
            let mut hashes = 0;
            while raw && at(j + hashes) == '#' {
                hashes += 1;
            }
            if matches!(prefix.as_str(), "b" | "c" | "r" | "br" | "cr") && at(j + hashes) == '"' {
                i = skip_string(j + hashes + 1, raw, hashes, &mut line);
                continue;
            }
            if prefix.starts_with('b') && at(i + 1) == '\'' {
                i = skip_quote(i + 1);
                continue;
            }
            let start = if ch == 'r' && at(i + 1) == '#' && ident_char(at(i + 2)) {
                i + 2
            } else {
                i
            };
            let mut end = start;
            while ident_char(at(end)) {
                end += 1;
            }
            out.push(Token {
                tok: Tok::Ident(c[start..end].iter().collect()),
                line,
            });
            i = end;
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    out
}

/// A path found in a file: its segments as written, the inline modules it is inside (`tests`),
/// the alias a `use` gives it, and where it is.
struct Found {
    segments: Vec<String>,
    inline: Vec<String>,
    alias: Option<String>,
    from_use: bool,
    line: usize,
}

fn ident(tokens: &[Token], i: usize) -> Option<&str> {
    match tokens.get(i).map(|t| &t.tok) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

fn is(tokens: &[Token], i: usize, tok: &Tok) -> bool {
    tokens.get(i).is_some_and(|t| t.tok == *tok)
}

/// Every path of the file: the leaves of its `use` trees, and the paths in code (any identifier
/// followed by `::` that does not continue a path); which of them name modules of the crate is
/// decided later.
fn paths(tokens: &[Token]) -> Vec<Found> {
    let mut out = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let here = |t: &[(String, usize)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        match &tokens[i].tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let Some(name) = ident(tokens, i + 1)
                    && is(tokens, i + 2, &Tok::Punct('{'))
                {
                    depth += 1;
                    inline.push((name.to_string(), depth));
                    i += 3;
                    continue;
                }
            }
            // `pub(in crate::x)` names where an item is visible, not what it uses.
            Tok::Ident(kw) if kw == "pub" && is(tokens, i + 1, &Tok::Punct('(')) => {
                while i < tokens.len() && !is(tokens, i, &Tok::Punct(')')) {
                    i += 1;
                }
            }
            Tok::Ident(kw) if kw == "use" => {
                let mut leaves = Vec::new();
                i = use_tree(tokens, i + 1, Vec::new(), &mut leaves);
                for (segments, alias, line) in leaves {
                    out.push(Found {
                        segments,
                        inline: here(&inline),
                        alias,
                        from_use: true,
                        line,
                    });
                }
                continue;
            }
            Tok::Ident(first)
                if is(tokens, i + 1, &Tok::Sep)
                    && !(i > 0
                        && (is(tokens, i - 1, &Tok::Sep)
                            || is(tokens, i - 1, &Tok::Punct('.')))) =>
            {
                let mut segments = vec![first.clone()];
                let mut j = i + 1;
                while is(tokens, j, &Tok::Sep)
                    && let Some(next) = ident(tokens, j + 1)
                {
                    segments.push(next.to_string());
                    j += 2;
                }
                out.push(Found {
                    segments,
                    inline: here(&inline),
                    alias: None,
                    from_use: false,
                    line: tokens[i].line,
                });
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// A leaf of a use tree: its whole path, its alias (`*` for a glob), its line.
type Leaf = (Vec<String>, Option<String>, usize);

/// Parse the use tree at `i` (after `use`, or inside a group) below `prefix`; push its leaves;
/// return the index after it (after the `;` at the top level).
fn use_tree(tokens: &[Token], mut i: usize, prefix: Vec<String>, out: &mut Vec<Leaf>) -> usize {
    let top = prefix.is_empty();
    let mut segments = prefix;
    if top && is(tokens, i, &Tok::Sep) {
        segments.push("::".into()); // `use ::name`: an external crate
        i += 1;
    }
    loop {
        match tokens.get(i).map(|t| &t.tok) {
            Some(Tok::Ident(s)) if s != "as" => {
                segments.push(s.clone());
                i += 1;
                if is(tokens, i, &Tok::Sep) {
                    i += 1;
                    continue;
                }
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                while i < tokens.len() && !is(tokens, i, &Tok::Punct('}')) {
                    i = use_tree(tokens, i, segments.clone(), out);
                    if is(tokens, i, &Tok::Punct(',')) {
                        i += 1;
                    }
                }
                i += 1;
                return finish_use(tokens, i, top);
            }
            Some(Tok::Punct('*')) => {
                out.push((segments, Some("*".into()), tokens[i].line));
                i += 1;
                return finish_use(tokens, i, top);
            }
            _ => {}
        }
        break;
    }
    let line = tokens[i.saturating_sub(1).min(tokens.len() - 1)].line;
    let mut alias = None;
    if ident(tokens, i) == Some("as") {
        alias = ident(tokens, i + 1).map(str::to_string);
        i += 2;
    }
    out.push((segments, alias, line));
    finish_use(tokens, i, top)
}

/// At the top of a use tree, past its `;`.
fn finish_use(tokens: &[Token], mut i: usize, top: bool) -> usize {
    if top {
        while i < tokens.len() && !is(tokens, i, &Tok::Punct(';')) {
            i += 1;
        }
        i += 1;
    }
    i
}

/// The absolute path (`crate::…`) that `segments`, written inside `module`, names; `None` when it
/// is not a path into this crate.
fn absolute(
    module: &[String],
    segments: &[String],
    names: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    let mut segments = segments.to_vec();
    // `use a::b::{self}` imports `a::b`.
    if segments.len() > 1 && segments.last().is_some_and(|s| s == "self") {
        segments.pop();
    }
    let (first, rest) = segments.split_first()?;
    let mut path = match first.as_str() {
        "crate" => vec!["crate".to_string()],
        "self" => module.to_vec(),
        "super" => module.to_vec(),
        name => names.get(name)?.clone(),
    };
    let mut rest = rest;
    if first == "super" {
        path.pop();
        while let Some((_, r)) = rest.split_first().filter(|(s, _)| *s == "super") {
            path.pop();
            rest = r;
        }
        if path.is_empty() {
            return None;
        }
    }
    path.extend(rest.iter().cloned());
    Some(path)
}

/// The file modules that the file of `module` imports, each with the line and path that shows
/// it; `known` is every file module of the crate.
fn imports(
    module: &[String],
    text: &str,
    known: &BTreeSet<Vec<String>>,
) -> Vec<(Vec<String>, usize, String)> {
    let tokens = lex(text);
    let found = paths(&tokens);
    // Names in scope everywhere in the file: its child modules, then the modules it imports.
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for child in known {
        if child.len() == module.len() + 1 && child.starts_with(module) {
            names.insert(child.last().unwrap().clone(), child.clone());
        }
    }
    for f in found
        .iter()
        .filter(|f| f.from_use && f.alias.as_deref() != Some("*"))
    {
        let inside = [module, &f.inline[..]].concat();
        if let Some(path) = absolute(&inside, &f.segments, &names)
            && known.contains(&path)
        {
            let name = f
                .alias
                .clone()
                .unwrap_or_else(|| path.last().unwrap().clone());
            names.entry(name).or_insert(path);
        }
    }
    let mut out = Vec::new();
    for f in &found {
        let inside = [module, &f.inline[..]].concat();
        let Some(path) = absolute(&inside, &f.segments, &names) else {
            continue;
        };
        let target = (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| known.contains(p));
        if let Some(target) = target
            && target != module
        {
            let written = f.segments.join("::");
            let written = written
                .strip_suffix("::self")
                .unwrap_or(&written)
                .to_string();
            out.push((target, f.line, written));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The checker itself, on small trees.

/// Write `files` (path under src/, text) into a new temporary crate and build its graph.
fn graph_of(files: &[(&str, &str)]) -> Graph {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join("src").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    Graph::of(&dir.path().join("src"))
}

fn edges(graph: &Graph) -> Vec<String> {
    graph
        .edges
        .keys()
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect()
}

#[test]
fn the_checker_finds_a_cycle_of_three_files() {
    let graph = graph_of(&[
        (
            "lib.rs",
            "pub mod a;\npub mod b;\npub mod c;\nfn main() {}\n",
        ),
        ("a.rs", "use crate::b::Thing;\n"),
        // a grouped use over several lines, with nested groups and an alias
        (
            "b.rs",
            "use std::io;\nuse crate::{\n    c::{self as sea, Other},\n    c::Third,\n};\n",
        ),
        // a path in code, from inside an inline module
        (
            "c.rs",
            "fn f() {}\n#[cfg(test)]\nmod tests {\n    fn g() { super::super::a::call(); }\n}\n",
        ),
    ]);
    assert_eq!(
        edges(&graph),
        [
            "crate::a -> crate::b",
            "crate::b -> crate::c",
            "crate::c -> crate::a",
        ]
    );
    let cycles = graph.cycles();
    assert_eq!(cycles, [["crate::a", "crate::b", "crate::c"]]);
    let text = graph.describe(&cycles);
    assert!(
        text.contains("cycle: crate::a -> crate::b -> crate::c -> crate::a"),
        "{text}"
    );
    assert!(
        text.contains("crate::b -> crate::c    src/b.rs:3 `crate::c`"),
        "{text}"
    );
    assert!(
        text.contains("crate::c -> crate::a    src/c.rs:4 `super::super::a::call`"),
        "{text}"
    );
}

#[test]
fn the_checker_passes_a_tree_without_cycles() {
    let graph = graph_of(&[
        // declaring a module is not using it; main.rs is another crate
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("main.rs", "use ctq::a;\nfn main() { crate::b::x(); }\n"),
        // a -> b -> c, and a -> c::deep (the longest prefix that is a file module is crate::c)
        (
            "a.rs",
            "use crate::b;\nfn f() { b::g(); crate::c::deep::Item::new(); }\n",
        ),
        // comments, doc comments, strings, characters and lifetimes that look like paths
        (
            "b.rs",
            "//! see crate::a::f\n/// crate::a::f\n/* crate::a /* nested */ crate::a */\n\
             fn g<'a>(x: &'a str) -> char { let _ = \"crate::a::f\"; let _ = r#\"crate::a\"#; \
             let _ = b\"crate::a\"; let _ = '\"'; let _ = '\\''; self::h(); crate::c::C }\n\
             fn h() {}\n",
        ),
        // `use super::*` in a test module is the file itself; `pub(in crate::a)` is visibility
        (
            "c/mod.rs",
            "pub mod deep;\npub(in crate::a) fn c() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
        ("c/deep.rs", "use super::c as _;\n"),
    ]);
    assert_eq!(
        edges(&graph),
        [
            "crate::a -> crate::b",
            "crate::a -> crate::c::deep",
            "crate::b -> crate::c",
            "crate::c::deep -> crate::c",
        ]
    );
    assert!(graph.cycles().is_empty());
}

#[test]
fn a_parent_that_uses_its_child_which_uses_the_parent_is_a_cycle() {
    // `mod x;` alone is fine; using the child by its bare name, as well as the child using
    // `super::`, makes the pair a cycle.
    let graph = graph_of(&[
        ("lib.rs", "pub mod render;\n"),
        (
            "render/mod.rs",
            "mod table;\npub use table::write;\npub struct Style;\n",
        ),
        ("render/table.rs", "use super::Style;\npub fn write() {}\n"),
    ]);
    assert_eq!(
        graph.cycles(),
        [["crate::render", "crate::render::table"]],
        "{:?}",
        edges(&graph)
    );
}
