//! Diagnostics, to answer "why is this call slow?": with `--verbose` or `LIFEBOAT_LOG`
//! (a tracing filter such as `debug` or `aws_smithy_runtime=trace`), lifeboat's spans and
//! the AWS SDK's own — each request, its attempts and retries, throttling, how long each
//! took — go to `LOG.diagnostics.log` beside the incident log. Never to the screen (the
//! TUI owns it), and never a secret: every line is scrubbed of the run's secret inputs,
//! the AWS credentials in the environment and anything that looks like a credential
//! before it is written. The incident log stays the evidence; this file is for engineers.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// What `--verbose` turns on: lifeboat and the SDK's requests, attempts and retries.
const VERBOSE: &str = "info,lifeboat=debug,aws_smithy_runtime=debug,aws_smithy_runtime_api=debug,aws_config=debug";

/// Lines held until the log's path is known (the pre-flight runs before the log exists).
const PENDING_MAX: usize = 4 << 20;

#[derive(Default)]
struct State {
    file: Option<File>,
    path: Option<PathBuf>,
    pending: Vec<u8>,
    secrets: Vec<String>,
    /// Every form of every secret, made when a secret is learnt (`secrets::patterns`),
    /// not for each line written.
    patterns: Vec<String>,
}

impl State {
    fn learn(&mut self, secrets: impl IntoIterator<Item = String>) {
        self.secrets.extend(secrets.into_iter().filter(|v| !v.is_empty()));
        self.patterns = crate::secrets::patterns(self.secrets.iter().map(String::as_str));
    }
}

static STATE: OnceLock<Arc<Mutex<State>>> = OnceLock::new();

/// The file beside `log`: `run.jsonl` → `run.diagnostics.log`.
pub fn path_for(log: &Path) -> PathBuf {
    log.with_extension("diagnostics.log")
}

/// Starts collecting if asked to (`--verbose`, or `LIFEBOAT_LOG` set). Returns the
/// filter in force, or why the filter was refused.
pub fn init(verbose: bool) -> Result<Option<String>, String> {
    let asked = std::env::var("LIFEBOAT_LOG").ok().filter(|v| !v.trim().is_empty());
    let filter = match (asked, verbose) {
        (Some(f), _) => f,
        (None, true) => VERBOSE.to_string(),
        (None, false) => return Ok(None),
    };
    let env_filter = EnvFilter::try_new(&filter)
        .map_err(|e| format!("LIFEBOAT_LOG=`{filter}` is not a filter ({e}); try `debug` or `lifeboat=debug`"))?;
    let state = STATE.get_or_init(Default::default).clone();
    {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        // Credentials in the environment are secrets wherever they would show up.
        let vars = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"];
        s.learn(vars.into_iter().filter_map(|var| std::env::var(var).ok().filter(|v| v.len() >= 4)));
    }
    let subscriber = tracing_subscriber::fmt()
        .with_writer(Writer(state))
        .with_ansi(false)
        .with_env_filter(env_filter)
        .with_span_events(FmtSpan::CLOSE)
        .finish();
    tracing::subscriber::set_global_default(subscriber).map_err(|e| format!("diagnostics: {e}"))?;
    Ok(Some(filter))
}

/// From now on lines go to the file beside `log` (what came before goes first); the
/// run's secret inputs are scrubbed from them. Returns the file's path when collecting.
pub fn attach(log: &Path, secrets: &[String]) -> Result<Option<PathBuf>, String> {
    let Some(state) = STATE.get() else { return Ok(None) };
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.learn(secrets.iter().cloned());
    if s.file.is_some() {
        return Ok(s.path.clone());
    }
    let path = path_for(log);
    let mut file = crate::ownfile::append(&path)
        .map_err(|e| format!("cannot write the diagnostics file `{}`: {e}", path.display()))?;
    let pending = std::mem::take(&mut s.pending);
    let clean = scrub(&String::from_utf8_lossy(&pending), &s.patterns);
    file.write_all(clean.as_bytes()).map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    s.file = Some(file);
    s.path = Some(path.clone());
    Ok(Some(path))
}

/// The file diagnostics go to, once attached.
pub fn current_path() -> Option<PathBuf> {
    STATE.get().and_then(|s| s.lock().unwrap_or_else(|p| p.into_inner()).path.clone())
}

#[derive(Clone)]
struct Writer(Arc<Mutex<State>>);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let clean = scrub(&String::from_utf8_lossy(buf), &s.patterns);
        let s = &mut *s;
        match s.file.as_mut() {
            Some(f) => f.write_all(clean.as_bytes())?,
            None if s.pending.len() < PENDING_MAX => s.pending.extend_from_slice(clean.as_bytes()),
            None => {}
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match s.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl<'a> MakeWriter<'a> for Writer {
    type Writer = Writer;
    fn make_writer(&'a self) -> Writer {
        self.clone()
    }
}

/// Header and field names whose values are credentials, however they are written
/// (`authorization: …`, `x-amz-security-token="…"`, `"SecretAccessKey":"…"`).
const CREDENTIAL_NAMES: &[&str] = &[
    "authorization",
    "x-amz-security-token",
    "x-amz-server-side-encryption-customer-key",
    "secretaccesskey",
    "secret_access_key",
    "sessiontoken",
    "session_token",
    "aws_secret_access_key",
    "password",
];

/// The line with every form of every known secret (`patterns`, from
/// `secrets::patterns`) and every credential-looking value replaced.
pub fn scrub(text: &str, patterns: &[String]) -> String {
    let mut out = text.to_string();
    for f in patterns {
        if out.contains(f.as_str()) {
            out = out.replace(f.as_str(), "[redacted]");
        }
    }
    let lower = out.to_lowercase();
    if !CREDENTIAL_NAMES.iter().any(|n| lower.contains(n)) {
        return out;
    }
    // Past a credential's name and its separator (`: `, `=`, `":"`), up to the next
    // delimiter: the value goes.
    let mut result = String::with_capacity(out.len());
    let bytes = out.as_bytes();
    let mut i = 0;
    while i < out.len() {
        let hit = CREDENTIAL_NAMES.iter().find(|n| lower.get(i..).is_some_and(|rest| rest.starts_with(*n)));
        let Some(name) = hit else {
            let ch = out[i..].chars().next().unwrap_or(' ');
            result.push(ch);
            i += ch.len_utf8();
            continue;
        };
        let mut j = i + name.len();
        result.push_str(&out[i..j]);
        let sep_start = j;
        while j < bytes.len() && matches!(bytes[j], b'"' | b'\'' | b':' | b'=' | b' ' | b'\\') {
            j += 1;
        }
        let value_start = j;
        // An Authorization value holds commas (`Credential=…, Signature=…`): it ends only
        // where its quote or its line does.
        let whole = *name == "authorization";
        while j < bytes.len()
            && !matches!(bytes[j], b'"' | b'\'' | b'\n' | b')')
            && (whole || !matches!(bytes[j], b',' | b'}' | b'&' | b';'))
        {
            j += 1;
        }
        result.push_str(&out[sep_start..value_start]);
        if j > value_start && value_start > sep_start {
            result.push_str("[redacted]");
        } else {
            result.push_str(&out[value_start..j]);
        }
        i = j;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_credentials_never_reach_the_file() {
        let patterns = crate::secrets::patterns(["hunter2-very-secret"]);
        let cases = [
            ("token=hunter2-very-secret in a line", "token=[redacted] in a line"),
            (
                "headers: {\"authorization\": \"AWS4-HMAC-SHA256 Credential=AKIA/…, Signature=abc\"}",
                "headers: {\"authorization\": \"[redacted]\"}",
            ),
            ("x-amz-security-token: IQoJb3JpZ2luX2VjE\nnext", "x-amz-security-token: [redacted]\nnext"),
            ("{\"SecretAccessKey\":\"wJalrXUtnFEMI\",\"x\":1}", "{\"SecretAccessKey\":\"[redacted]\",\"x\":1}"),
            ("an ordinary line about passwords", "an ordinary line about passwords"),
        ];
        for (line, want) in cases {
            assert_eq!(scrub(line, &patterns), want, "{line}");
        }
    }

    #[test]
    fn the_file_sits_beside_the_log() {
        assert_eq!(path_for(Path::new("incidents/run-1.jsonl")), Path::new("incidents/run-1.diagnostics.log"));
    }
}
