//! Extended JSON in and out.

use bson::{Bson, Document, RawDocumentBuf};

/// Reads a command document written in extended JSON (canonical or relaxed).
pub fn parse_document(text: &str) -> Result<RawDocumentBuf, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the command is not valid JSON: {e}"))?;
    if !value.is_object() {
        return Err("the command must be a JSON object, like '{\"ping\": 1}'".into());
    }
    let bson = Bson::try_from(value)
        .map_err(|e| format!("the command is not valid extended JSON: {e}"))?;
    let Bson::Document(doc) = bson else {
        return Err("the command must be a document".into());
    };
    if doc.is_empty() {
        return Err("the command document is empty".into());
    }
    RawDocumentBuf::try_from(&doc).map_err(|e| format!("the command cannot be encoded: {e}"))
}

/// A reply as relaxed extended JSON.
pub fn to_relaxed_value(reply: RawDocumentBuf) -> Result<serde_json::Value, String> {
    let doc = Document::try_from(reply).map_err(|e| format!("the reply is not valid BSON: {e}"))?;
    Ok(Bson::Document(doc).into_relaxed_extjson())
}

/// Writes a reply as relaxed extended JSON, indented.
#[cfg(test)]
fn to_relaxed_json(reply: RawDocumentBuf) -> Result<String, String> {
    serde_json::to_string_pretty(&to_relaxed_value(reply)?).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_types() {
        let doc =
            parse_document(r#"{"find": "c", "filter": {"n": {"$numberLong": "5"}}, "limit": 1}"#)
                .unwrap();
        assert_eq!(doc.get_str("find").unwrap(), "c");
        assert_eq!(doc.get_document("filter").unwrap().get_i64("n").unwrap(), 5);
        let out = to_relaxed_json(doc).unwrap();
        assert!(out.contains("\"find\": \"c\""), "{out}");
    }

    #[test]
    fn keeps_key_order() {
        // The first key is the command's name: sorting keys would change the command.
        let doc = parse_document(r#"{"insert": "c", "documents": [{"b": 1, "a": 2}]}"#).unwrap();
        let keys: Vec<_> = doc
            .iter()
            .map(|e| e.unwrap().0.as_str().to_owned())
            .collect();
        assert_eq!(keys, ["insert", "documents"]);
    }

    #[test]
    fn refuses_non_documents() {
        for bad in ["", "[1]", "1", "{}", "{\"a\": ", "{\"$numberLong\": \"x\"}"] {
            assert!(parse_document(bad).is_err(), "{bad}");
        }
    }
}
