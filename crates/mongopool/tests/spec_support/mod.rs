//! Shared by the topology spec runners (SDAM, server selection, max staleness):
//! extended JSON to BSON, the list of files, and the report every runner prints.

use std::path::{Path, PathBuf};

use bson::oid::ObjectId;
use bson::{Bson, Document};
use serde_json::{Map, Value};

/// What running one file gave.
pub enum Outcome {
    /// It passed; the text says how, when there is something to say.
    Passed(String),
}

/// The file's JSON as BSON, reading the canonical extended JSON the spec files use
/// (`$oid`, `$numberLong`, `$date`, ...); integers that fit are int32, as drivers read
/// them.
pub fn to_bson(value: &Value) -> Result<Bson, String> {
    Ok(match value {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i32::try_from(i).map_or(Bson::Int64(i), Bson::Int32),
            (None, Some(f)) => Bson::Double(f),
            (None, None) => return Err(format!("number {n} does not fit")),
        },
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(items.iter().map(to_bson).collect::<Result<_, _>>()?),
        Value::Object(m) => match extended(m)? {
            Some(b) => b,
            None => Bson::Document(to_document_map(m)?),
        },
    })
}

/// A JSON object as a BSON document.
pub fn to_document(value: &Value) -> Result<Document, String> {
    match value {
        Value::Object(m) => to_document_map(m),
        other => Err(format!("expected a document, found {other}")),
    }
}

fn to_document_map(m: &Map<String, Value>) -> Result<Document, String> {
    m.iter()
        .map(|(k, v)| Ok((k.clone(), to_bson(v)?)))
        .collect()
}

/// `{"$oid": ...}` and friends; `None` for an ordinary document.
fn extended(m: &Map<String, Value>) -> Result<Option<Bson>, String> {
    if m.len() != 1 {
        return Ok(None);
    }
    let (key, v) = m.iter().next().ok_or("empty map")?;
    let text = || {
        v.as_str()
            .ok_or_else(|| format!("{key} must hold a string, not {v}"))
    };
    Ok(Some(match key.as_str() {
        "$oid" => {
            Bson::ObjectId(ObjectId::parse_str(text()?).map_err(|e| format!("bad $oid {v}: {e}"))?)
        }
        "$numberLong" => Bson::Int64(
            text()?
                .parse()
                .map_err(|e| format!("bad $numberLong: {e}"))?,
        ),
        "$numberInt" => Bson::Int32(
            text()?
                .parse()
                .map_err(|e| format!("bad $numberInt: {e}"))?,
        ),
        "$numberDouble" => Bson::Double(
            text()?
                .parse()
                .map_err(|e| format!("bad $numberDouble: {e}"))?,
        ),
        "$date" => match v {
            Value::Object(inner) => match extended(inner)? {
                Some(Bson::Int64(ms)) => Bson::DateTime(bson::DateTime::from_millis(ms)),
                _ => return Err(format!("unsupported $date {v}")),
            },
            Value::Number(n) => Bson::DateTime(bson::DateTime::from_millis(
                n.as_i64().ok_or_else(|| format!("bad $date {v}"))?,
            )),
            _ => return Err(format!("unsupported $date {v}")),
        },
        k if k.starts_with('$') => return Err(format!("unsupported extended JSON {k}")),
        _ => return Ok(None),
    }))
}

/// Every `*.json` under `dir/sub` for each of `subdirs` (recursively), sorted. A
/// missing subdirectory is an error: a mistyped `*_SPEC_DIR` must not pass quietly.
pub fn json_files(dir: &Path, subdirs: &[&str]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for sub in subdirs {
        let path = dir.join(sub);
        if !path.is_dir() {
            return Err(format!("{} is not a directory", path.display()));
        }
        collect(&path, &mut files)?;
    }
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.json files under {}", dir.display()));
    }
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// The directory named by `var`, or the vendored one.
pub fn spec_dir(var: &str, vendored: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(vendored),
    }
}

/// Runs `run` on every file, names each with its result, and closes with
/// `NAME: N files, N passed, N failed, N skipped`. The process exit code.
pub fn run_all(
    name: &str,
    dir: &Path,
    subdirs: &[&str],
    run: impl Fn(&Path) -> Result<Outcome, String>,
) -> i32 {
    let files = match json_files(dir, subdirs) {
        Ok(files) => files,
        Err(why) => {
            println!("{name}: {why}");
            return 1;
        }
    };
    println!("{name} spec tests from {}", dir.display());
    // No file is skipped: every vendored file runs (a skip would need a reason that
    // is checked to still hold).
    let (mut passed, mut failed, skipped) = (0, 0, 0);
    for path in &files {
        let shown = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(path)))
            .unwrap_or_else(|_| Err("panicked".into()));
        match result {
            Ok(Outcome::Passed(how)) => {
                passed += 1;
                match how.is_empty() {
                    true => println!("{shown}: passed"),
                    false => println!("{shown}: passed ({how})"),
                }
            }
            Err(why) => {
                failed += 1;
                println!("{shown}: FAILED: {why}");
            }
        }
    }
    println!(
        "{name}: {} files, {passed} passed, {failed} failed, {skipped} skipped",
        files.len()
    );
    i32::from(failed > 0)
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("unreadable: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

/// Fails on keys of `obj` not in `known`: a file this runner does not understand
/// must fail, not pass by ignoring what it asks.
pub fn only_keys(obj: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{what} has a key this runner does not understand: {k:?}"
        )),
        None => Ok(()),
    }
}

/// The object at `v`, or an error naming `what`.
pub fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what} is not an object"))
}
