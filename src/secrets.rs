//! The forms a secret travels in once it leaves lifeboat's hands: a URL's or a form's
//! encoding (upper- or lower-case hex, `+` for a space, unreserved characters kept, as
//! the AWS SDK writes a prefix), base64, JSON's escapes. Redaction of the log and
//! scrubbing of the diagnostics both look for every one, so `abc def/x` never leaves as
//! `abc%20def%2Fx` in a trace.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Below this many characters a secret cannot be told from ordinary text (`a`, `2026`,
/// `prod`): a run refuses it rather than redact the words around it.
pub const MIN_SECRET_CHARS: usize = 6;

/// Every form of every secret (a multi-line one, a key or a certificate, also line by
/// line, as output arrives a line at a time), each once and longest first, so a secret
/// that contains another is replaced whole. Made once, for the log's redaction and the
/// diagnostics' scrubbing alike, never per line.
pub fn patterns<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    for s in secrets {
        out.extend(forms(s));
        if s.contains('\n') {
            out.extend(s.lines().map(str::trim).filter(|l| l.chars().count() >= MIN_SECRET_CHARS).map(str::to_string));
        }
    }
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out.dedup();
    out
}

/// What RFC 3986 leaves unencoded (`A-Z a-z 0-9 - . _ ~`); everything else is encoded.
const URI: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `secret` and every encoded form of it.
fn forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    if secret.is_empty() {
        return vec![];
    }
    let b = secret.as_bytes();
    let mut out = vec![secret.to_string()];
    for set in [NON_ALPHANUMERIC, URI] {
        let upper = utf8_percent_encode(secret, set).to_string();
        let lower = lower_hex(&upper);
        // A form's encoding: a space is `+`.
        out.extend([upper.replace("%20", "+"), lower.replace("%20", "+"), lower, upper]);
    }
    out.extend([
        base64::engine::general_purpose::STANDARD.encode(b),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(b),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
    ]);
    if let Ok(json) = serde_json::to_string(secret) {
        out.push(json.trim_matches('"').to_string());
    }
    out
}

/// `%2F` as `%2f`: the hex digits of each escape in lower case, the rest as it is.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut left = 0;
    for c in encoded.chars() {
        if c == '%' {
            left = 2;
            out.push(c);
        } else if left > 0 {
            left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encodings_a_trace_shows_are_all_known() {
        let f = patterns(["abcdef/ghijkl"]);
        assert!(f.contains(&"abcdef%2Fghijkl".to_string()) && f.contains(&"abcdef%2fghijkl".to_string()), "{f:?}");
        let f = patterns(["abc def+ghij"]);
        for want in ["abc%20def%2Bghij", "abc+def%2Bghij", "abc%20def%2bghij", "abc def+ghij"] {
            assert!(f.contains(&want.to_string()), "{want}: {f:?}");
        }
        let f = patterns(["a\"quoted\\secret"]);
        assert!(f.contains(&"a\\\"quoted\\\\secret".to_string()), "{f:?}");
        assert!(patterns([""]).is_empty());
    }
}
