//! The trust root: an OpenSSH allowed_signers file, read the way `ssh-keygen -Y verify`
//! reads it, so lifeboat never trusts a key stock OpenSSH would refuse. Principals are
//! comma-separated patterns (`*`, `?`, `!negation`); options are `cert-authority`,
//! `namespaces="…"`, `valid-after=`/`valid-before=` (checked against the time the log
//! claims, as `-Overify-time` does); anything else is refused, never ignored.

use crate::runbook::time::Timestamp;

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    line: usize,
    principals: String,
    /// `type base64`, without a comment.
    key: String,
    cert_authority: bool,
    namespaces: Option<Vec<String>>,
    valid_after: Option<Timestamp>,
    valid_before: Option<Timestamp>,
}

/// Entries of an allowed_signers file, and the lines that could not be read.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    entries: Vec<Entry>,
    /// Lines refused, with why: a line that cannot be read vouches for nothing.
    pub problems: Vec<String>,
    /// Only entries whose principals match this identity count (`-I` of ssh-keygen).
    pub identity: Option<String>,
}

/// The file's name beside `datasets.yaml`.
pub const FILE: &str = "allowed_signers";

/// The trust root: `explicit` (`--allowed-signers FILE`), else `LIFEBOAT_ALLOWED_SIGNERS`,
/// else `allowed_signers` beside the folder's `datasets.yaml`; none when none is there.
pub fn load(
    explicit: Option<&std::path::Path>,
    dir: &std::path::Path,
) -> Result<Option<(std::path::PathBuf, AllowedSigners)>, String> {
    let named = explicit
        .map(std::path::Path::to_path_buf)
        .or_else(|| std::env::var_os("LIFEBOAT_ALLOWED_SIGNERS").map(std::path::PathBuf::from));
    let path = match named {
        Some(p) => p,
        None => {
            let beside = dir.join(FILE);
            if !beside.exists() {
                return Ok(None);
            }
            beside
        }
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path, AllowedSigners::parse(&text)))),
        Err(e) => Err(format!("cannot read the allowed signers file `{}`: {e}", path.display())),
    }
}

/// A line split on blanks outside double quotes (quotes kept).
fn tokens(line: &str) -> Vec<String> {
    split_unquoted(line, char::is_whitespace, true).into_iter().filter(|t| !t.is_empty()).collect()
}

/// `text` split at `sep` where it stands outside double quotes.
fn split_unquoted(text: &str, sep: fn(char) -> bool, keep_quotes: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                if keep_quotes {
                    cur.push(c);
                }
            }
            c if sep(c) && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn is_key_type(t: &str) -> bool {
    t.starts_with("ssh-") || t.starts_with("sk-") || t.starts_with("ecdsa-sha2-")
}

/// `YYYYMMDD[HHMM[SS]][Z]`, as ssh-keygen writes it (read as UTC: this machine's zone).
fn time(v: &str) -> Option<Timestamp> {
    let v = v.strip_suffix('Z').or_else(|| v.strip_suffix('z')).unwrap_or(v);
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (date, rest) = v.split_at(v.len().min(8));
    let hms = match rest.len() {
        0 => "000000".to_string(),
        4 => format!("{rest}00"),
        6 => rest.to_string(),
        _ => return None,
    };
    if date.len() != 8 {
        return None;
    }
    let iso = format!("{}-{}-{}T{}:{}:{}Z", &date[..4], &date[4..6], &date[6..], &hms[..2], &hms[2..4], &hms[4..]);
    iso.parse().ok()
}

/// Splits `a,b="x,y",c` on commas outside quotes (quotes dropped).
fn options(text: &str) -> Vec<String> {
    split_unquoted(text, |c| c == ',', false)
}

fn entry(n: usize, line: &str) -> Result<Entry, String> {
    let toks = tokens(line);
    let key_at = toks.iter().position(|t| is_key_type(t)).ok_or("no key type (ssh-ed25519, …)")?;
    let b64 = toks.get(key_at + 1).ok_or("a key type with no key")?;
    let principals = toks.first().filter(|_| key_at >= 1).ok_or("no principals before the key")?.trim_matches('"');
    let mut e = Entry {
        line: n,
        principals: principals.to_string(),
        key: format!("{} {b64}", toks[key_at]),
        cert_authority: false,
        namespaces: None,
        valid_after: None,
        valid_before: None,
    };
    match key_at {
        1 => {}
        2 => {
            for opt in options(&toks[1]) {
                let (name, value) = match opt.split_once('=') {
                    Some((n, v)) => (n.to_ascii_lowercase(), Some(v.to_string())),
                    None => (opt.to_ascii_lowercase(), None),
                };
                match (name.as_str(), value) {
                    ("cert-authority", None) => e.cert_authority = true,
                    ("namespaces", Some(v)) => e.namespaces = Some(v.split(',').map(str::to_string).collect()),
                    ("valid-after", Some(v)) => e.valid_after = Some(time(&v).ok_or(format!("valid-after `{v}`"))?),
                    ("valid-before", Some(v)) => e.valid_before = Some(time(&v).ok_or(format!("valid-before `{v}`"))?),
                    (other, _) => return Err(format!("unknown option `{other}`")),
                }
            }
        }
        _ => return Err("more than one field between the principals and the key".into()),
    }
    Ok(e)
}

/// OpenSSH's `match_pattern`: `*` any run, `?` any one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// OpenSSH's `match_pattern_list`: a negated pattern that matches refuses outright.
pub fn matches_list(list: &str, name: &str) -> bool {
    let mut found = false;
    for pat in list.split(',') {
        match pat.strip_prefix('!') {
            Some(neg) if glob(neg, name) => return false,
            Some(_) => {}
            None if glob(pat, name) => found = true,
            None => {}
        }
    }
    found
}

impl AllowedSigners {
    pub fn parse(text: &str) -> AllowedSigners {
        let mut out = AllowedSigners::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match entry(i + 1, line) {
                Ok(e) => out.entries.push(e),
                Err(why) => out.problems.push(format!("line {}: {why}; the line is ignored", i + 1)),
            }
        }
        out
    }

    /// The principals the file gives `key` for signatures in `namespace` made at `at`
    /// (the time the log claims), or why it gives none.
    pub fn vouch(&self, key: &str, namespace: &str, at: Option<Timestamp>) -> Result<String, String> {
        let mine: Vec<&Entry> = self.entries.iter().filter(|e| e.key == key).collect();
        if mine.is_empty() {
            return Err("the log's signer is not in the allowed signers file".into());
        }
        let mut why = Vec::new();
        for e in mine {
            if let Some(id) = &self.identity
                && !matches_list(&e.principals, id)
            {
                why.push(format!("line {}: its principals `{}` do not name `{id}`", e.line, e.principals));
            } else if e.cert_authority {
                why.push(format!(
                    "line {}: a cert-authority vouches for certificates, and the log is signed with a plain key",
                    e.line
                ));
            } else if e.namespaces.as_ref().is_some_and(|ns| !ns.iter().any(|n| glob(n, namespace))) {
                why.push(format!("line {}: its namespaces do not include `{namespace}`", e.line));
            } else if let (Some(after), Some(t)) = (e.valid_after, at)
                && t < after
            {
                why.push(format!("line {}: valid only after {after}, and the log claims {t}", e.line));
            } else if let (Some(before), Some(t)) = (e.valid_before, at)
                && t > before
            {
                why.push(format!("line {}: valid only before {before}, and the log claims {t}", e.line));
            } else if (e.valid_after.is_some() || e.valid_before.is_some()) && at.is_none() {
                why.push(format!("line {}: limited in time, and the log claims no time", e.line));
            } else {
                return Ok(e.principals.clone());
            }
        }
        Err(format!("the allowed signers file does not vouch for the signer: {}", why.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_as_openssh_matches_them() {
        assert!(glob("ops@*", "ops@example") && glob("*", "x") && glob("o?s@example", "ops@example"));
        assert!(!glob("ops@*", "dev@example") && !glob("a", "ab"));
        assert!(matches_list("dev@*,ops@example", "ops@example"));
        assert!(!matches_list("*,!ops@example", "ops@example"));
        assert!(matches_list("*,!dev@example", "ops@example"));
    }

    #[test]
    fn options_are_read_or_the_line_is_refused() {
        let a = AllowedSigners::parse(
            "ops@example namespaces=\"lifeboat-incident-log,lifeboat-checkpoint\",valid-after=\"20260101\" ssh-ed25519 AAAA c\n\
             x@y bogus-option ssh-ed25519 AAAA\n",
        );
        assert_eq!(a.entries.len(), 1);
        assert_eq!(a.entries[0].namespaces.as_ref().unwrap().len(), 2);
        assert_eq!(a.entries[0].valid_after, time("20260101"));
        assert!(a.problems[0].contains("unknown option `bogus-option`"), "{:?}", a.problems);
        assert_eq!(time("202612011530Z"), "2026-12-01T15:30:00Z".parse().ok());
    }
}
