//! Layers only look down: no import circle between the modules of `src/`.
//!
//! Reads every source file, takes each `crate::name` path outside comments and
//! `#[cfg(test)]` code, resolves names re-exported at the crate root through
//! `lib.rs`, and looks for strongly connected components in the graph of top-level
//! modules. Prints the order of the layers, bottom first
//! (`cargo test -p mongopool --test layering -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `connection/io.rs` is `connection`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (name != "lib").then(|| name.to_owned())
}

/// The code of a file that the library is built from: comments are left out, and so
/// is test code: a `#[cfg(test)] mod name;` line, and everything from a
/// `#[cfg(test)]` block (the tests at the end of a file) on.
fn library_code(text: &str) -> Vec<&str> {
    let mut code = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            match lines.peek() {
                Some(next) if next.trim_end().ends_with(';') => {
                    lines.next();
                    continue;
                }
                _ => break,
            }
        }
        code.push(line.split("//").next().unwrap_or(""));
    }
    code
}

/// `pub use module::{A, B}` lines of lib.rs: which module each root name comes from.
fn root_names(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let joined = library_code(lib).join(" ");
    for item in joined.split(';') {
        let Some(rest) = item.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, list)) = rest.split_once("::") else {
            continue;
        };
        for name in list
            .trim_matches(|c| c == '{' || c == '}' || c == ' ')
            .split(',')
        {
            let name = name.trim();
            let name = name.rsplit("::").next().unwrap_or(name);
            if !name.is_empty() {
                names.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    names
}

/// Every `crate::name` on the line.
fn crate_paths(line: &str) -> impl Iterator<Item = &str> {
    line.match_indices("crate::").filter_map(move |(at, _)| {
        let before = line[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None; // `mongopool_wire::crate::`-like false matches
        }
        let rest = &line[at + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

fn import_graph(src: &Path) -> Graph {
    let roots = root_names(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut files = Vec::new();
    source_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let Some(from) = module_of(src, &file) else {
            continue;
        };
        graph.entry(from.clone()).or_default();
        let text = std::fs::read_to_string(&file).unwrap();
        for line in library_code(&text) {
            for name in crate_paths(line) {
                let to = roots.get(name).cloned().unwrap_or_else(|| name.to_owned());
                if to != from {
                    let shown = file.strip_prefix(src).unwrap().display().to_string();
                    graph
                        .entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_default()
                        .insert(shown);
                }
            }
        }
    }
    graph
}

/// Tarjan's strongly connected components, each as a sorted list of modules.
fn components(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
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
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            component.sort();
            s.found.push(component);
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    // Tarjan finds components bottom first: a component comes after all it imports.
    state.found
}

fn describe_cycle(graph: &Graph, component: &[String]) -> String {
    let mut lines = Vec::new();
    for from in component {
        for (to, files) in &graph[from] {
            if component.contains(to) {
                let files: Vec<_> = files.iter().map(String::as_str).collect();
                lines.push(format!("  {from} -> {to} ({})", files.join(", ")));
            }
        }
    }
    lines.join("\n")
}

#[test]
fn the_modules_of_src_import_no_circle() {
    // Another tree can be checked: MONGOPOOL_LAYERING_SRC=/path/to/crates/mongopool/src.
    let src = std::env::var_os("MONGOPOOL_LAYERING_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let graph = import_graph(&src);
    let found = components(&graph);
    let cycles: Vec<_> = found.iter().filter(|c| c.len() > 1).collect();
    println!("layers, bottom first:");
    for component in &found {
        let imports: BTreeSet<_> = component
            .iter()
            .flat_map(|m| graph[m].keys().cloned())
            .filter(|m| !component.contains(m))
            .collect();
        let imports: Vec<_> = imports.into_iter().collect();
        println!("  {} <- imports {:?}", component.join(" + "), imports);
    }
    let report: Vec<_> = cycles.iter().map(|c| describe_cycle(&graph, c)).collect();
    println!("import circles: {}", cycles.len());
    assert!(
        cycles.is_empty(),
        "import circles:\n{}",
        report.join("\n\n")
    );
}

#[test]
fn the_checker_finds_a_circle() {
    // The check must be able to fail: a made-up graph with a circle.
    let mut graph = Graph::new();
    let edge = |g: &mut Graph, a: &str, b: &str| {
        g.entry(a.into())
            .or_default()
            .entry(b.into())
            .or_default()
            .insert(format!("{a}.rs"));
        g.entry(b.into()).or_default();
    };
    edge(&mut graph, "connection", "auth");
    edge(&mut graph, "auth", "handshake");
    edge(&mut graph, "handshake", "connection");
    edge(&mut graph, "connection", "stream");
    let found = components(&graph);
    assert!(found.contains(&vec![
        "auth".to_owned(),
        "connection".to_owned(),
        "handshake".to_owned()
    ]));
    assert!(found.contains(&vec!["stream".to_owned()]));
    assert_eq!(
        crate_paths("use crate::error::{Error}; x(crate::Result)").collect::<Vec<_>>(),
        vec!["error", "Result"]
    );
}
