//! `lifeboat cleanup LOG`: what a drill made and left behind, deleted after a typed
//! confirmation, with its own signed log. Three locks on every deletion: the drill's log
//! verifies and a trusted key signed it; the resource is no `production` or `backup`
//! resource of the catalog; the cloud itself says the drill made it (its run tag, or the
//! very object version it wrote).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value as Json, json};

use super::exit;
use crate::clock::{Clock, SystemClock};
use crate::cloud::port::Backend;
use crate::cloud::teardown::{self, Look, Made};
use crate::event::{Event, Genesis, Mode, RunStatus, StepStatus, TeardownOutcome};
use crate::journal::Journal;
use crate::printable::line;
use crate::report::CreatedRow;
use crate::runbook::load::{self, Workspace};
use crate::runbook::raw::Role;

#[derive(clap::Args, Debug)]
pub struct CleanupArgs {
    /// The drill's incident log (JSON Lines)
    pub log: PathBuf,
    /// The runbook folder: its datasets.yaml says what is production or backup (never
    /// deleted) and its allowed_signers whose drill logs are believed
    #[arg(long, default_value = "runbooks")]
    pub dir: PathBuf,
    /// OpenSSH allowed_signers file [default: as `verify`]
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// The confirmation, typed in advance (for scripts): exactly the phrase cleanup asks for
    #[arg(long, value_name = "PHRASE")]
    pub confirm: Option<String>,
    /// OpenSSH ed25519 private key that signs the cleanup's own log
    /// (passphrase from LIFEBOAT_SIGN_KEY_PASSPHRASE)
    #[arg(long, value_name = "FILE", env = "LIFEBOAT_SIGN_KEY")]
    pub sign_key: Option<PathBuf>,
    /// The cleanup's log [default: beside LOG, named after it]
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Who cleans up [default: $LIFEBOAT_OPERATOR, else $USER]
    #[arg(long)]
    pub operator: Option<String>,
}

/// One resource of the drill, and what was found.
struct Item {
    row: CreatedRow,
    made: Option<Made>,
    look: Look,
}

fn say(msg: impl std::fmt::Display) {
    let _ = writeln!(anstream::stdout(), "{msg}");
}

fn refuse(msg: &str) -> u8 {
    let _ = writeln!(anstream::stderr(), "error: {msg}; nothing was deleted");
    exit::PROBLEM
}

fn describe(r: &CreatedRow) -> String {
    match &r.version {
        Some(v) => format!("{} {} (version {}) in {}", r.kind, line(&r.id), line(v), line(&r.region)),
        None => format!("{} {} in {}", r.kind, line(&r.id), line(&r.region)),
    }
}

/// The phrase to type: it names the drill and how much goes.
fn phrase(run: &str, n: usize) -> String {
    format!("delete {n} of drill {run}")
}

pub fn cleanup(a: CleanupArgs) -> u8 {
    let bytes = match std::fs::read(&a.log) {
        Ok(b) => b,
        Err(e) => return super::usage(&format!("cannot read `{}`: {e}", a.log.display())),
    };
    let catalog_path = a.dir.join(load::CATALOG_FILE);
    let mut ws = Workspace::default();
    let i = ws.add(&catalog_path);
    ws.check(i);
    let Some(catalog) = ws.catalog_for(&a.dir.join("x.yaml")).cloned() else {
        let _ = write!(anstream::stderr(), "{}", ws.file(i).report().render());
        return super::usage(&format!(
            "cleanup needs the dataset catalog (`{}`) to know what is production or backup",
            catalog_path.display()
        ));
    };
    let trust = match crate::journal::trust::load(a.allowed_signers.as_deref(), &a.dir) {
        Ok(Some((_, t))) => t,
        Ok(None) => {
            return refuse(&format!(
                "no trust root (--allowed-signers, LIFEBOAT_ALLOWED_SIGNERS, or {} beside the catalog): a log no trusted key signed could name anything",
                crate::journal::trust::FILE
            ));
        }
        Err(e) => return super::usage(&e),
    };
    let sig = std::fs::read_to_string(crate::journal::sig_path(&a.log)).ok();
    let v = crate::journal::verify::verify_bytes(&bytes, sig.as_deref(), Some(&trust));
    if let Some(bad) = &v.tampered {
        return refuse(&format!("`{}` does not verify (line {}: {})", a.log.display(), bad.line, line(&bad.why)));
    }
    let Some(signer) = v.signer_identity.clone() else {
        return refuse(&format!("`{}` is not signed by a key the trust root names", a.log.display()));
    };
    let records = crate::journal::records(&bytes);
    let s = crate::report::summarize(&records);
    match s.mode.as_str() {
        "drill" => {}
        "live" => {
            return refuse(
                "this is a live incident's log: what it restored may be serving now; take it down by hand when the service no longer needs it",
            );
        }
        "cleanup" => return refuse("this is a cleanup's own log; give the drill's"),
        _ => return refuse("a rehearsal made nothing in a real cloud: its simulated cloud ended with it"),
    }
    if s.cloud != "aws" {
        return refuse(&format!("the drill ran on the `{}` cloud, not AWS", line(&s.cloud)));
    }
    if !v.sealed {
        say(format!(
            "note: the drill's log was never sealed (signed through line {}); what it recorded is read",
            v.signed_through
        ));
    }
    let Some(operator) = crate::launch::operator_named(a.operator.clone()) else {
        return super::usage("who cleans up? give --operator NAME (or set LIFEBOAT_OPERATOR)");
    };
    let signer_key = match &a.sign_key {
        None => None,
        Some(path) => {
            match crate::journal::sign::Signer::load(path, || std::env::var("LIFEBOAT_SIGN_KEY_PASSPHRASE").ok()) {
                Ok(k) => Some(k),
                Err(e) => return super::usage(&e.to_string()),
            }
        }
    };
    // Once each (a step retried may record the same resource again), in the log's order.
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<CreatedRow> =
        s.created.iter().filter(|c| seen.insert((&c.kind, &c.id, &c.region, &c.version))).cloned().collect();
    let guarded = |m: &Made| catalog.resource_in_role(m.resource(), &[Role::Production, Role::Backup]).map(|(_, r)| r);
    let runtime = super::runtime();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let aws = runtime.block_on(crate::cloud::aws::Aws::from_env());
    let backend: &dyn Backend = &aws;
    let mut items = Vec::new();
    for row in rows {
        let made = Made::parse(&row.kind, &row.id, row.version.as_deref());
        let look = match &made {
            None => Look::NotOurs(format!("cleanup does not know how to take down a `{}`", line(&row.kind))),
            Some(m) => match guarded(m) {
                Some(r) => Look::NotOurs(
                    format!("{} is a {:?} resource in the catalog: never deleted", r.id, r.role).to_lowercase(),
                ),
                None => match runtime.block_on(teardown::look(backend, &clock, m, &row.region, &s.run_id)) {
                    Ok(l) => l,
                    // Unknown is not gone, and not ours either.
                    Err(e) => Look::NotOurs(format!("cannot look at it: {}", line(&e.to_string()))),
                },
            },
        };
        items.push(Item { row, made, look });
    }
    let doomed = items.iter().filter(|i| i.look == Look::Ours).count();
    say(format!(
        "drill {} ({}, dataset {}), signed by {}: {} resource(s) recorded",
        line(&s.run_id),
        line(&s.runbook_id),
        line(&s.dataset),
        line(&signer),
        items.len()
    ));
    for i in &items {
        match &i.look {
            Look::Ours => say(format!("  delete   {}", describe(&i.row))),
            Look::Gone => say(format!("  gone     {}", describe(&i.row))),
            Look::NotOurs(why) => say(format!("  REFUSED  {} — {}", describe(&i.row), line(why))),
        }
    }
    let refused = items.iter().filter(|i| matches!(i.look, Look::NotOurs(_))).count();
    if doomed == 0 {
        say(if refused == 0 {
            "nothing of the drill is left to delete".to_string()
        } else {
            format!("nothing deleted; {refused} refused")
        });
        return if refused == 0 { exit::OK } else { exit::PROBLEM };
    }
    let want = phrase(&s.run_id, doomed);
    let typed = match &a.confirm {
        Some(t) => t.clone(),
        None if std::io::stdin().is_terminal() => {
            let _ = write!(anstream::stdout(), "type `{want}` to delete them: ");
            let _ = std::io::stdout().flush();
            let mut got = String::new();
            let _ = std::io::stdin().lock().read_line(&mut got);
            got.trim_end_matches(['\r', '\n']).to_string()
        }
        None => return refuse(&format!("not a terminal: confirm with --confirm '{want}'")),
    };
    if typed != want {
        return refuse(&format!("the confirmation was not `{want}`"));
    }
    // The cleanup's own log is begun before anything is deleted: each deletion is
    // recorded as it is done, so a cleanup cut short still says what it took down.
    let out = a.out.clone().unwrap_or_else(|| {
        let stem = a.log.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        a.log.with_file_name(format!("{stem}.cleanup-{}.jsonl", clock.now().strftime("%Y%m%dT%H%M%SZ")))
    });
    let signed_by = signer_key.as_ref().map(|k| k.public_openssh());
    let mut journal = match Journal::create(&out, signer_key) {
        Ok(j) => j,
        Err(e) => return super::usage(&e.to_string()),
    };
    let run_id = format!("cleanup-{}", s.run_id);
    let mut inputs = Map::new();
    inputs.insert("drill_run_id".into(), json!(s.run_id));
    inputs.insert("drill_log".into(), json!(a.log.display().to_string()));
    inputs.insert("drill_log_sha256".into(), json!(crate::journal::sha256_hex(&bytes)));
    let genesis = Event::Genesis(Box::new(Genesis {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        run_id: run_id.clone(),
        runbook_id: "lifeboat-cleanup".into(),
        runbook_sha256: crate::journal::sha256_hex(b""),
        answers_sha256: None,
        operator: operator.clone(),
        mode: Mode::Cleanup,
        signer: signed_by,
        dataset: s.dataset.clone(),
        incident_started_at: crate::runbook::time::format_timestamp(clock.now()),
        rto_ms: 0,
        rpo_ms: 0,
        cloud: "aws".into(),
        clock_speed: 1,
        inputs,
        caller: None,
        provenance: crate::event::Provenance {
            wall: Some(crate::runbook::time::format_timestamp(crate::runbook::time::Timestamp::now())),
            ..Default::default()
        },
    }));
    let started = clock.now();
    let mut append = |e: Event| journal.append(clock.now(), e).map(|_| ()).map_err(|e| e.to_string());
    let step = "delete".to_string();
    let begun = append(genesis)
        .and_then(|_| append(Event::PhaseStarted { phase: "cleanup".into(), budget_ms: 0 }))
        .and_then(|_| append(Event::StepStarted { step: step.clone(), attempt: 1, detail: Some(want.clone()) }))
        .and_then(|_| {
            append(Event::Answer {
                step: Some(step.clone()),
                verdict: crate::event::Verdict::Confirm,
                by: operator.clone(),
                role: None,
                reason: Some(format!("typed `{want}`")),
                signed: None,
            })
        });
    if let Err(e) = begun {
        return refuse(&format!("cannot write the cleanup's log `{}`: {e}", out.display()));
    }
    let (mut failed, mut counts) = (0usize, Map::new());
    for i in &items {
        let (outcome, reason) = match (&i.look, &i.made) {
            (Look::Gone, _) => (TeardownOutcome::Gone, None),
            (Look::NotOurs(why), _) => (TeardownOutcome::Refused, Some(why.clone())),
            (Look::Ours, None) => (TeardownOutcome::Refused, Some("unknown kind".into())),
            (Look::Ours, Some(m)) => match runtime.block_on(teardown::delete(backend, &clock, m, &i.row.region)) {
                Ok(o) => (o, None),
                Err(e) => {
                    failed += 1;
                    (TeardownOutcome::Failed, Some(e.to_string()))
                }
            },
        };
        let word = format!("{outcome:?}").to_lowercase();
        if i.look == Look::Ours {
            match &reason {
                Some(why) => say(format!("  {word}: {} — {}", describe(&i.row), line(why))),
                None => say(format!("  {word}: {}", describe(&i.row))),
            }
        }
        let n = counts.get(&word).and_then(Json::as_u64).unwrap_or(0);
        counts.insert(word, json!(n + 1));
        let r = &i.row;
        let event = Event::Teardown {
            step: step.clone(),
            kind: r.kind.clone(),
            id: r.id.clone(),
            region: r.region.clone(),
            version: r.version.clone(),
            outcome,
            reason,
        };
        if let Err(e) = append(event) {
            return refuse(&format!("cannot write the cleanup's log `{}`: {e}", out.display()));
        }
    }
    let ok = failed == 0 && refused == 0;
    let status = if ok { StepStatus::Done } else { StepStatus::Failed };
    let reason = (!ok).then(|| format!("{refused} refused, {failed} failed"));
    let took = crate::clock::millis_between(started, clock.now()).max(0) as u64;
    let ended = append(Event::StepFinished {
        step: step.clone(),
        status,
        reason: reason.clone(),
        outputs: counts,
        duration_ms: took,
        recovery_point: None,
        error: None,
    })
    .and_then(|_| append(Event::PhaseFinished { phase: "cleanup".into(), status, elapsed_ms: took, budget_ms: 0 }))
    .and_then(|_| {
        append(Event::RunFinished {
            status: if ok { RunStatus::Succeeded } else { RunStatus::Failed },
            reason,
            rto_ms: took,
            rto_met: true,
            rpo_ms: None,
            rpo_met: None,
            service_restored: false,
        })
    });
    let sealed = ended.and_then(|_| journal.seal(clock.now()).map_err(|e| e.to_string()));
    if let Err(e) = sealed {
        return refuse(&format!("cannot finish the cleanup's log `{}`: {e}", out.display()));
    }
    say(format!(
        "cleanup log: {}{}",
        out.display(),
        if journal.is_signed() { " (signed)" } else { " (not signed: no --sign-key)" }
    ));
    if ok { exit::OK } else { exit::PROBLEM }
}
