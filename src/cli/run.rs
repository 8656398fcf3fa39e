//! `lifeboat run` and `lifeboat tabletop`: from flags to a running engine and back to an
//! exit code.

use std::io::{IsTerminal, Write};

use super::exit;
pub use crate::launch::{CloudArg, RunArgs};
use crate::launch::{RunMeta, Setup, Started, detach_on_signal};

/// An error from setting up a run: the diagnostics it carries (file:line:col, drawn)
/// first, then one `error:` line saying what happened.
fn err(refused: impl Into<crate::launch::Refused>) -> u8 {
    let refused = refused.into();
    let mut out = anstream::stderr();
    if let Some(d) = &refused.diagnostics {
        let _ = write!(out, "{d}");
    }
    let _ = writeln!(out, "error: {}", refused.why);
    exit::USAGE
}

pub fn run(args: RunArgs, tabletop: bool) -> u8 {
    let runtime = super::runtime();
    runtime.block_on(run_async(args, tabletop))
}

async fn run_async(args: RunArgs, tabletop: bool) -> u8 {
    // Only a plain terminal is asked for a passphrase (never one the TUI holds).
    let ask = |path: &std::path::Path| {
        use std::io::IsTerminal;
        std::io::stdin()
            .is_terminal()
            .then(|| rpassword::prompt_password(format!("passphrase for {}: ", path.display())).ok())
            .flatten()
    };
    let mut setup = match Setup::load(args, tabletop, Some(&ask)) {
        Ok(s) => s,
        Err(e) => return err(e),
    };
    let tty = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if !setup.args.headless && tty {
        return tui_end(crate::tui::start(setup).await);
    }
    if !setup.args.headless {
        let _ = writeln!(anstream::stderr(), "note: not a terminal; running headless (--headless)");
        setup.args.headless = true;
    }
    setup.preflight().await;
    let choice = setup.default_choice();
    let started = match setup.start(choice).await {
        Ok(s) => s,
        Err(e) => return err(e),
    };
    headless(started).await
}

/// `lifeboat` with no command: the home screen.
pub fn home(dir: &std::path::Path, incidents: &std::path::Path) -> u8 {
    if !(std::io::stdout().is_terminal() && std::io::stdin().is_terminal()) {
        return err("the home screen needs a terminal; see `lifeboat --help` for the commands");
    }
    let runtime = super::runtime();
    runtime.block_on(async { tui_end(crate::tui::home(dir, incidents).await) })
}

/// After the terminal is restored: the same closing lines as a headless run.
fn tui_end(end: crate::tui::TuiEnd) -> u8 {
    match end {
        crate::tui::TuiEnd::Ran(outcome, meta) => summarize(outcome, &meta),
        crate::tui::TuiEnd::Cancelled => exit::OK,
        crate::tui::TuiEnd::Failed(e) => err(e),
    }
}

async fn headless(st: Started) -> u8 {
    let Started { engine, commands, first, sink, tracker, answers, mut meta, copy, clock, .. } = st;
    let progress = super::headless::progress(sink.subscribe(), tracker);
    let answerer = super::headless::answerer(
        clock.as_ref(),
        answers,
        meta.answers_path.clone(),
        meta.operator.clone(),
        meta.await_approvals,
        sink.subscribe(),
        commands.clone(),
    );
    detach_on_signal(commands, meta.operator.clone());
    let outcome = engine.run(first).await;
    drop(sink);
    if let Some(c) = copy {
        meta.copy_problems = c.finish().await;
    }
    answerer.abort();
    let _ = progress.await;
    summarize(outcome, &meta)
}

/// The closing lines on stderr, the JUnit and GitHub summaries, and the exit code.
pub fn summarize(outcome: Result<crate::engine::Outcome, crate::engine::Fatal>, meta: &RunMeta) -> u8 {
    let RunMeta { runbook, runbook_path, log_path, signed, tabletop, answers_path, junit, copy_problems, .. } = meta;
    let (signed, tabletop) = (*signed, *tabletop);
    let mut out = anstream::stderr();
    for p in copy_problems {
        let _ = writeln!(out, "warning: {}", crate::printable::line(p));
    }
    let outcome = match outcome {
        Ok(o) => o,
        Err(fatal) => {
            let _ = writeln!(out, "error: the incident log failed; the run stopped: {}", fatal.0);
            return exit::PROBLEM;
        }
    };
    // Streamed: the end of a long run does not read its whole log into memory.
    let mut summary = crate::report::summarize(crate::journal::stream_records(log_path));
    if let Ok(v) = crate::journal::verify::verify_file(log_path, None) {
        super::verify::attach(&mut summary, &v);
    }
    if let Some(path) = junit
        && let Err(e) = crate::ownfile::replace(path, crate::report::junit(&summary).as_bytes())
    {
        let _ = writeln!(out, "warning: cannot write {}: {e}", path.display());
    }
    if let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        let _ = writeln!(f, "{}", crate::report::markdown(&summary));
    }
    let s = &outcome.objectives;
    let _ = writeln!(out);
    if outcome.detached {
        let _ = writeln!(out, "stopped: {}", crate::printable::line(outcome.reason.as_deref().unwrap_or_default()));
        let _ = writeln!(
            out,
            "the log is kept and can be resumed: lifeboat {} {} --resume {}{}",
            if tabletop { "tabletop" } else { "run" },
            runbook_path.display(),
            log_path.display(),
            answers_path.as_ref().map(|a| format!(" --headless --answers {}", a.display())).unwrap_or_default()
        );
        // No `--cloud` or `--mode` to remember: a resume takes both from the log.
        let _ = writeln!(
            out,
            "(it goes on in {} mode on {}, as the log began; no --cloud or --mode needed)",
            meta.mode.as_str(),
            if meta.cloud == "aws" { "AWS" } else { "the simulated cloud" }
        );
        return exit::PROBLEM;
    }
    let ending = crate::objectives::ending(outcome.status, s.rto_met(), s.rpo_met());
    let _ = writeln!(
        out,
        "{} {}: RTO {}, RPO {}",
        runbook.id,
        crate::objectives::ending_words(outcome.status, s.rto_met(), s.rpo_met()),
        s.rto_words(),
        s.rpo_words()
    );
    if let Some(r) = &outcome.reason {
        let _ = writeln!(out, "reason: {}", crate::printable::line(r));
    }
    let _ = writeln!(
        out,
        "log: {} ({})",
        log_path.display(),
        if signed { "signed and sealed" } else { "chained and sealed, unsigned: pass --sign-key to sign it" }
    );
    if let Some(diag) = crate::diagnostics::current_path() {
        let _ = writeln!(out, "diagnostics: {} (not evidence: for finding out why)", diag.display());
    }
    crate::objectives::exit_code(ending)
}
