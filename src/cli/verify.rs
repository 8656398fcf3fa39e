//! `lifeboat verify` and `lifeboat report`.

use std::io::Write;
use std::path::Path;

use super::exit;
use crate::journal::signoff;
use crate::journal::verify::{Report, verify_file};

pub fn verdict_line(r: &Report) -> String {
    match (&r.tampered, r.sealed) {
        (Some(bad), _) if r.empty => format!("NOT A RUN: {}", bad.why),
        (Some(bad), _) => format!("TAMPERED at line {}: {}", bad.line, bad.why),
        (None, true) if r.signer.is_some() => match (&r.signer_identity, r.trust_checked) {
            (Some(who), true) => format!("sealed and intact, signed by {who} (the trust root names the key)"),
            _ => "sealed and intact, signed by a key no trust root was given to check".into(),
        },
        (None, true) => "sealed and intact, but unsigned (chained only)".into(),
        (None, false) => "intact but not sealed: the run did not finish".into(),
    }
}

use crate::journal::trust::load as trust_root;

/// What verification found, in the summary a report or a run's closing lines are made of.
pub fn attach(summary: &mut crate::report::Summary, v: &Report) {
    summary.verification = Some(verdict_line(v));
    summary.tampered = v.tampered.is_some();
}

pub fn verify(log: &Path, allowed: Option<&Path>, identity: Option<&str>, dir: &Path) -> u8 {
    let mut out = anstream::stdout();
    let root = match trust_root(allowed, dir) {
        Ok(r) => r,
        Err(e) => return super::usage(&e),
    };
    let root = root.map(|(p, mut a)| {
        a.identity = identity.map(str::to_string);
        (p, a)
    });
    let r = match verify_file(log, root.as_ref().map(|(_, a)| a)) {
        Ok(r) => r,
        Err(e) => return super::usage(&format!("cannot read `{}`: {e}", log.display())),
    };
    let _ = writeln!(out, "{}: {}", log.display(), verdict_line(&r));
    details(&mut out, &r, root.as_ref(), dir);
    // Sign-offs beside the log: each shown; one that does not hold is evidence tampered with.
    let offs = signoff::find(log, root.as_ref().map(|(_, a)| a));
    for f in &offs {
        let _ = writeln!(out, "  sign-off   {}", sign_off_line(f));
    }
    let bad_sign_off = offs.iter().any(|f| !f.counts());
    // Output kept beside the log: each file against the digest the log recorded.
    let mut bad_aside = false;
    if r.tampered.is_none() {
        for (file, holds) in asides(log) {
            bad_aside |= !holds.starts_with("intact");
            let _ = writeln!(out, "  output     {}: {holds}", crate::printable::line(&file));
        }
    }
    match (&r.tampered, r.sealed, r.trust_checked) {
        (Some(_), ..) => exit::PROBLEM,
        _ if bad_sign_off || bad_aside => exit::PROBLEM,
        (None, false, _) => exit::UNSEALED,
        (None, true, true) => exit::OK,
        (None, true, false) => exit::UNTRUSTED,
    }
}

/// Every file of output the log says it kept aside, and whether it still holds what the
/// log recorded. A name that is not a plain file name in the log's folder is refused
/// (a forged record must not make `verify` read elsewhere).
fn asides(log: &Path) -> Vec<(String, String)> {
    let dir = log.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    crate::journal::stream_records(log)
        .filter_map(|r| match r.event {
            crate::event::Event::OutputAside { file, sha256, .. } => Some((file, sha256)),
            _ => None,
        })
        .map(|(file, sha256)| {
            let plain = Path::new(&file).file_name().is_some_and(|n| n == file.as_str()) && !file.starts_with('.');
            let holds = if !plain {
                "REFUSED: not a file name in the log's folder".to_string()
            } else {
                match crate::cloud::manifest::file_sha256(&dir.join(&file)) {
                    Ok(got) if got == sha256 => "intact (sha256 matches)".into(),
                    Ok(_) => "ALTERED: its sha256 is not the one the log recorded".into(),
                    Err(e) => format!("MISSING: {e}"),
                }
            };
            (file, holds)
        })
        .collect()
}

/// Where the trust root is looked for when no `--dir` is given: beside the catalog the
/// run was started with (the log records its SHA-256; a run's catalog need not be in
/// `./runbooks`), else `./runbooks`. Folders looked at: `runbooks`, the log's folder's
/// parent and its `runbooks`, then folders up to two levels below this one.
pub(super) fn trust_dir(log: &Path, given: Option<std::path::PathBuf>) -> std::path::PathBuf {
    let default = std::path::PathBuf::from("runbooks");
    if let Some(d) = given {
        return d;
    }
    let want = match crate::journal::stream_records(log).next().map(|r| r.event) {
        Some(crate::event::Event::Genesis(g)) => g.provenance.catalog_sha256,
        _ => None,
    };
    let Some(want) = want else { return default };
    let holds = |d: &Path| {
        std::fs::read(d.join(crate::runbook::load::CATALOG_FILE)).is_ok_and(|b| crate::journal::sha256_hex(&b) == want)
    };
    let mut candidates = vec![default.clone()];
    if let Some(up) = log.parent().and_then(Path::parent) {
        candidates.push(up.join("runbooks"));
        candidates.push(up.to_path_buf());
    }
    let below = |d: &Path| -> Vec<std::path::PathBuf> {
        let Ok(entries) = std::fs::read_dir(d) else { return Vec::new() };
        let mut out: Vec<std::path::PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.') && e.file_name() != "target")
            .map(|e| e.path())
            .collect();
        out.sort();
        out
    };
    for one in below(Path::new(".")) {
        candidates.extend(below(&one));
        candidates.push(one);
    }
    candidates.into_iter().find(|d| holds(d)).unwrap_or(default)
}

/// How many lines `bytes` holds (complete ones).
fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count()
}

/// The local log beside its copy: whole, ahead (not yet copied), cut, or different.
/// `None` when the local log holds what the copy holds and more is only unsigned tail.
fn against(copy: &[u8], local: &[u8]) -> (bool, String) {
    let same = copy.iter().zip(local).take_while(|(a, b)| a == b).count();
    let line_at = lines(&copy[..same]) + 1;
    if same == copy.len() && same == local.len() {
        (true, "the same as the copy, byte for byte".into())
    } else if same == local.len() {
        (
            false,
            format!(
                "CUT: the copy holds {} line(s) more, from line {line_at}: the local log lost its tail",
                lines(copy) - lines(local)
            ),
        )
    } else if same == copy.len() {
        (true, format!("{} line(s) beyond the copy (written after its last segment)", lines(local) - lines(copy)))
    } else {
        (false, format!("DIFFERS from the copy at line {line_at}: one of them was changed"))
    }
}

/// `lifeboat verify s3://…`: the copy read back as first written, then checked as a log.
/// The evidence bucket's region as the catalog names it; else the environment's.
pub(super) fn evidence_region(dir: &Path, bucket: &str) -> String {
    std::fs::read_to_string(dir.join(crate::runbook::load::CATALOG_FILE))
        .ok()
        .and_then(|text| crate::runbook::load::catalog_from_str(&text).ok())
        .and_then(|c| c.evidence.filter(|e| e.bucket == bucket).map(|e| e.region))
        .or_else(|| std::env::var("AWS_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into())
}

pub fn verify_copy(
    place: &crate::offsite::Place,
    local: Option<&Path>,
    allowed: Option<&Path>,
    identity: Option<&str>,
    dir: &Path,
) -> u8 {
    let mut out = anstream::stdout();
    let root = match trust_root(allowed, dir) {
        Ok(r) => r.map(|(p, mut a)| {
            a.identity = identity.map(str::to_string);
            (p, a)
        }),
        Err(e) => return super::usage(&e),
    };
    let local_bytes = match local.map(std::fs::read).transpose() {
        Ok(b) => b,
        Err(e) => return super::usage(&format!("cannot read the local log: {e}")),
    };
    let region = evidence_region(dir, &place.bucket);
    let runtime = super::runtime();
    let read = runtime.block_on(async {
        let aws = crate::cloud::aws::Aws::from_env().await;
        let clock: std::sync::Arc<dyn crate::clock::Clock> = std::sync::Arc::new(crate::clock::SystemClock);
        let reach = crate::cloud::port::Reach { region, role_arn: None, clock };
        let s3 = crate::cloud::port::Backend::s3(&aws, &reach).await?;
        crate::offsite::read(s3.as_ref(), place).await
    });
    let copy = match read {
        Ok(c) if c.segments == 0 => return super::usage(&format!("no copy of a log at {}", place.url())),
        Ok(c) => c,
        Err(e) => return super::usage(&format!("cannot read {}: {e}", place.url())),
    };
    let r = crate::journal::verify::verify_bytes(&copy.bytes, copy.sig.as_deref(), root.as_ref().map(|(_, a)| a));
    let _ = writeln!(out, "{}: {} ({} segments)", place.url(), verdict_line(&r), copy.segments);
    details(&mut out, &r, root.as_ref(), dir);
    for p in &copy.problems {
        let _ = writeln!(out, "  COPY       {}", crate::printable::line(p));
    }
    let mut whole = true;
    if let (Some(path), Some(bytes)) = (local, &local_bytes) {
        let (ok, words) = against(&copy.bytes, bytes);
        whole = ok;
        let _ = writeln!(out, "  local      {}: {words}", path.display());
    }
    match (&r.tampered, r.sealed, r.trust_checked) {
        (Some(_), ..) => exit::PROBLEM,
        _ if !copy.problems.is_empty() || !whole => exit::PROBLEM,
        (None, false, _) => exit::UNSEALED,
        (None, true, true) => exit::OK,
        (None, true, false) => exit::UNTRUSTED,
    }
}

type Root = (std::path::PathBuf, crate::journal::trust::AllowedSigners);

/// What a verification found, line by line, after its verdict.
fn details(out: &mut impl Write, r: &Report, root: Option<&Root>, dir: &Path) {
    let _ = writeln!(out, "  run        {}", r.run_id.as_deref().unwrap_or("?"));
    let _ = writeln!(out, "  runbook    {}", r.runbook_id.as_deref().unwrap_or("?"));
    let _ = writeln!(
        out,
        "  lines      {} intact{}",
        if r.tampered.is_some() {
            r.lines.min(r.tampered.as_ref().map_or(0, |b| b.line.saturating_sub(1)))
        } else {
            r.lines
        },
        if r.torn_bytes > 0 {
            format!(", then {} bytes of a torn line (a crash mid-write)", r.torn_bytes)
        } else {
            String::new()
        }
    );
    match &r.signer {
        Some(key) => {
            let _ = writeln!(
                out,
                "  signer     {key}{}",
                r.signer_identity
                    .as_ref()
                    .map(|i| format!(" ({i}, from the allowed signers)"))
                    .unwrap_or_else(|| " (not vouched for by a trust root)".into())
            );
            let _ =
                writeln!(out, "  checkpoints {} verified, vouching for lines 1–{}", r.checkpoints, r.signed_through);
            if r.seal_signature_checked {
                let _ = writeln!(out, "  seal       LOG.sig verifies (namespace lifeboat-incident-log)");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "  signer     none: the log is hash-chained but unsigned, so a rewrite of the whole file cannot be detected"
            );
        }
    }
    for a in &r.adopted {
        let _ = writeln!(out, "  adopted    {a}");
    }
    match root {
        Some((path, a)) => {
            for p in &a.problems {
                let _ = writeln!(out, "  warning    {}: {p}", path.display());
            }
            let at =
                r.claimed_time.map(|t| format!("; validity checked at the log's own time {t}")).unwrap_or_default();
            let _ = writeln!(out, "  trust      {}{at}", path.display());
        }
        None => {
            let _ = writeln!(
                out,
                "  trust      none: no --allowed-signers, no LIFEBOAT_ALLOWED_SIGNERS, no {} beside datasets.yaml in `{}`; \
                 the signatures were checked, who made them was not",
                crate::journal::trust::FILE,
                dir.display()
            );
        }
    }
    if r.tampered.is_none() && !r.sealed {
        let _ = writeln!(
            out,
            "  note       the run did not finish; lines after {} are not covered by a signature",
            r.signed_through
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Md,
    Junit,
    Json,
}

pub fn report(log: &Path, format: Format, allowed: Option<&Path>, dir: &Path) -> u8 {
    let root = match trust_root(allowed, dir) {
        Ok(r) => r,
        Err(e) => return super::usage(&e),
    };
    if let Err(e) = std::fs::metadata(log) {
        return super::usage(&format!("cannot read `{}`: {e}", log.display()));
    }
    let mut summary = crate::report::summarize(crate::journal::stream_records(log));
    if summary.run_id.is_empty() {
        return super::usage(&format!("`{}` holds no lifeboat events", log.display()));
    }
    if let Ok(v) = verify_file(log, root.as_ref().map(|(_, a)| a)) {
        attach(&mut summary, &v);
    }
    summary.sign_offs = signoff::find(log, root.as_ref().map(|(_, a)| a)).iter().map(sign_off_line).collect();
    let text = match format {
        Format::Md => crate::report::markdown(&summary),
        Format::Json => crate::report::json(&summary),
        Format::Junit => crate::report::junit(&summary),
    };
    let _ = writeln!(anstream::stdout(), "{text}");
    if summary.tampered {
        let _ = writeln!(
            anstream::stderr(),
            "error: `{}` does not verify ({}); nothing in this report can be taken as true",
            log.display(),
            summary.verification.as_deref().unwrap_or("tampered")
        );
        return exit::PROBLEM;
    }
    if summary.unsigned_decides {
        let _ = writeln!(
            anstream::stderr(),
            "error: `{}`: lines {} carry no signature (appended after the last checkpoint, or adopted at a resume); \
             they were not counted, and the outcome they claim is not proven",
            log.display(),
            crate::journal::vouch::ranges_words(&summary.unsigned_lines)
        );
        return exit::PROBLEM;
    }
    exit::OK
}

/// One sign-off as `verify` shows it: role, who, what — or why it does not count.
pub fn sign_off_line(f: &signoff::Found) -> String {
    let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let what = f.statement.as_ref().map(|s| {
        format!(
            "{} at {}: \"{}\"",
            crate::printable::line(&s.role),
            crate::printable::line(&s.signed_at),
            crate::printable::line(&s.statement)
        )
    });
    let who = match (&f.vouched, &f.signer) {
        (Some(who), _) => format!("signed by {} (from the allowed signers)", crate::printable::line(who)),
        (None, Some(key)) => format!("signed by {key} (no trust root vouched for it)"),
        (None, None) => "unsigned".into(),
    };
    match &f.problem {
        None => format!("{}, {who} ({name})", what.unwrap_or_default()),
        Some(why) => format!("DOES NOT COUNT: {name} {why}"),
    }
}

/// `lifeboat sign-off`: the statement signed, and where it went.
pub fn sign_off(log: &Path, key: &Path, role: &str, statement: &str) -> u8 {
    let ask = |path: &Path| {
        std::io::IsTerminal::is_terminal(&std::io::stdin())
            .then(|| rpassword::prompt_password(format!("passphrase for {}: ", path.display())).ok())
            .flatten()
    };
    let signer = match crate::journal::sign::Signer::load(key, || {
        std::env::var("LIFEBOAT_SIGN_KEY_PASSPHRASE").ok().or_else(|| ask(key))
    }) {
        Ok(s) => s,
        Err(e) => return super::usage(&e.to_string()),
    };
    let now = crate::runbook::time::Timestamp::now();
    match signoff::sign_off(log, &signer, role, statement, now) {
        Ok(path) => {
            let _ = writeln!(
                anstream::stdout(),
                "signed off {} as {}: {} (signature {}.sig, namespace {})",
                log.display(),
                crate::printable::line(role.trim()),
                path.display(),
                path.display(),
                signoff::SIGN_OFF_NAMESPACE
            );
            exit::OK
        }
        Err(e) => super::usage(&e.to_string()),
    }
}
