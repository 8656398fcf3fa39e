//! How numbers, durations and output values read, wherever they are shown: the report,
//! the objectives, the terminal UI. One place, below every view.

/// `5400000` → `1h30m`; `90500` → `1m30s`; under a second keeps milliseconds.
pub fn human_ms(ms: u64) -> String {
    let secs = ms / 1000;
    if secs == 0 {
        return format!("{ms}ms");
    }
    crate::runbook::time::Duration(secs).to_string()
}

/// An output's value as text: strings bare, lists joined with `, `.
pub fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(json_text).collect::<Vec<_>>().join(", "),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
