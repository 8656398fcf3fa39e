//! `lifeboat watch LOG|s3://…`: another terminal follows a run read-only — the incident
//! commander's screen, never the operator's.

use std::io::{IsTerminal, Write};
use std::path::Path;

use super::exit;
use crate::event::Event;
use crate::watch::{CopyTail, FileTail, Follow, Source};

pub fn watch(log: &Path, dir: &Path, allowed: Option<&Path>) -> u8 {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return super::usage(
            "`watch` is a terminal screen and needs one; to check a log without one, use `lifeboat verify`",
        );
    }
    let allowed = match crate::journal::trust::load(allowed, dir) {
        Ok(r) => r.map(|(_, a)| a),
        Err(e) => return super::usage(&e),
    };
    let place = log.to_str().and_then(crate::offsite::Place::parse);
    let runtime = super::runtime();
    runtime.block_on(async {
        let source = match place {
            Some(place) => {
                let aws = crate::cloud::aws::Aws::from_env().await;
                let clock: std::sync::Arc<dyn crate::clock::Clock> = std::sync::Arc::new(crate::clock::SystemClock);
                let reach = crate::cloud::port::Reach {
                    region: super::verify::evidence_region(dir, &place.bucket),
                    role_arn: None,
                    clock,
                };
                match crate::cloud::port::Backend::s3(&aws, &reach).await {
                    Ok(s3) => Source::Copy(CopyTail::new(s3, place)),
                    Err(e) => return super::usage(&format!("cannot reach {}: {e}", place.url())),
                }
            }
            None => match FileTail::open(log) {
                Ok(f) => Source::File(f),
                Err(e) => return super::usage(&format!("cannot read `{}`: {e}", log.display())),
            },
        };
        let name = source.name();
        let mut follow = Follow::new(source, allowed);
        let first = match first_lines(&mut follow).await {
            Ok(r) => r,
            Err(e) => return super::usage(&e),
        };
        let Some(Event::Genesis(g)) = first.first().map(|r| &r.event) else {
            return super::usage(&format!("`{name}` does not start with a lifeboat genesis line"));
        };
        let (meta, tracker, doubt) = match crate::launch::watched(g, dir, &name) {
            Ok(w) => w,
            Err(e) => {
                if let Some(d) = &e.diagnostics {
                    let _ = write!(anstream::stderr(), "{d}");
                }
                return super::usage(&e.why);
            }
        };
        match crate::tui::watch(follow, meta, tracker, first, doubt.clone()).await {
            Ok(status) => {
                // The runbook's doubt is about the picture, not the log: said, not counted.
                let also = doubt.map(|d| format!(" · {d}")).unwrap_or_default();
                let _ = writeln!(
                    anstream::stdout(),
                    "watched {}: {}{also}",
                    crate::printable::line(&name),
                    crate::printable::line(&status.words())
                );
                if status.alarming() { exit::PROBLEM } else { exit::OK }
            }
            Err(e) => super::usage(&e),
        }
    })
}

/// Waits for the genesis: a copy may have no segment yet (the first is written at the
/// first checkpoint). Ctrl-C gives up.
async fn first_lines(follow: &mut Follow) -> Result<Vec<crate::event::Record>, String> {
    let mut said = false;
    loop {
        let records = follow.poll().await;
        if !records.is_empty() {
            return Ok(records);
        }
        let status = follow.status();
        if let Some(bad) = &status.broken {
            return Err(format!("{}: line {}: {}", follow.source.name(), bad.line, bad.why));
        }
        if !said {
            let why = status.stalled.map(|s| format!(" ({s})")).unwrap_or_default();
            let _ = writeln!(
                anstream::stderr(),
                "waiting for the first line of {}{why}; Ctrl-C to give up",
                crate::printable::line(&follow.source.name())
            );
            said = true;
        }
        tokio::select! {
            _ = tokio::time::sleep(follow.source.every()) => {}
            _ = tokio::signal::ctrl_c() => return Err("gave up waiting for the log's first line".into()),
        }
    }
}
