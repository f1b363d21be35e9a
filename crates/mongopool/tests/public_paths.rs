//! A public name has one path: modules are private and re-exported at the crate root,
//! except a few public namespaces (`events`, `topology`) whose names are not also
//! re-exported at the root and that hold no public module of their own.
//!
//! Reads `src/lib.rs` and each namespace's `mod.rs` as text (comments left out).

use std::collections::BTreeMap;
use std::path::Path;

/// The text of a source file without `//` comments.
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `pub mod` names of a file.
fn public_modules(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';').trim().to_owned())
        .collect()
}

/// Every `pub use` item of a file, `{a, b}` groups flattened: `(path, name)`.
fn reexports(code: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for item in code.split(';') {
        let item = item.trim();
        let Some(start) = item.find("pub use ") else {
            continue;
        };
        let path = item[start + "pub use ".len()..]
            .replace(" as ", "@")
            .split_whitespace()
            .collect::<String>();
        match path.split_once("::{") {
            Some((prefix, group)) => {
                for name in group
                    .trim_end_matches('}')
                    .split(',')
                    .filter(|n| !n.is_empty())
                {
                    out.push((format!("{prefix}::{name}"), exported_name(name)));
                }
            }
            None => out.push((path.clone(), exported_name(&path))),
        }
    }
    out
}

/// The name an item is known by once re-exported (`a::B as C`, written `a::B@C`, is `C`).
fn exported_name(path: &str) -> String {
    let last = path.rsplit("::").next().unwrap_or(path);
    last.rsplit('@').next().unwrap_or(last).to_owned()
}

#[test]
fn a_public_name_has_one_path() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = code(&src.join("lib.rs"));
    let namespaces = public_modules(&lib);
    assert!(
        namespaces.len() <= 3,
        "a few public namespaces, not {namespaces:?}: re-export the common names at the root"
    );
    let roots = reexports(&lib);
    let mut problems = Vec::new();

    // A namespace's names are not re-exported at the root too.
    for (path, _) in &roots {
        if let Some(ns) = namespaces
            .iter()
            .find(|ns| path.starts_with(&format!("{ns}::")))
        {
            problems.push(format!(
                "{path} is reachable as mongopool::{path} and at the root ({ns} is public)"
            ));
        }
    }
    // No name is re-exported at the root twice.
    let mut seen = BTreeMap::new();
    for (path, name) in &roots {
        if let Some(first) = seen.insert(name.clone(), path.clone()) {
            problems.push(format!(
                "{name} is re-exported at the root from {first} and {path}"
            ));
        }
    }
    // A namespace is flat: a public module inside it would give its names a second path.
    for ns in &namespaces {
        let file = [src.join(ns).join("mod.rs"), src.join(format!("{ns}.rs"))]
            .into_iter()
            .find(|f| f.exists())
            .unwrap_or_else(|| panic!("no source for namespace {ns}"));
        for inner in public_modules(&code(&file)) {
            problems.push(format!(
                "mongopool::{ns}::{inner} is a public module inside a namespace"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    println!(
        "public namespaces: {namespaces:?}; {} names at the root",
        roots.len()
    );
}
