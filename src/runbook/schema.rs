//! The JSON Schema editors use to complete and check runbooks as they are typed.

use serde_json::{Value as Json, json};

use super::decode::Decode;
use super::raw::{AnswersFile, CatalogFile, InjectsFile, RunbookFile};

pub fn schema() -> Json {
    let kind = |mut s: Json, kind: &str| {
        s["properties"]["kind"] = json!({"const": kind});
        s["properties"]["apiVersion"] = json!({"const": "lifeboat/v1"});
        s["title"] = json!(kind);
        s
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://lifeboat.dev/schema/v1.json",
        "title": "lifeboat file (runbook, dataset catalog, answers or injects)",
        "oneOf": [
            kind(RunbookFile::schema(), "Runbook"),
            kind(CatalogFile::schema(), "DatasetCatalog"),
            kind(AnswersFile::schema(), "Answers"),
            kind(InjectsFile::schema(), "Injects"),
        ],
    })
}
