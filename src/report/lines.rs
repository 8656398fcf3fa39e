//! Events as one line of text each, as the event pane, `watch` and headless output show them.

use super::*;

/// A line as a person is shown it: at most `SHOWN_CHARS` (the log keeps more).
pub(super) const SHOWN_CHARS: usize = 2000;

pub(super) fn shown_part(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => text.into(),
        Some((at, _)) => {
            format!("{} … [{} more characters in the log]", &text[..at], text[at..].chars().count()).into()
        }
    }
}

/// The lines an event is worth to a person: the progress lines, the TUI's event log
/// (none, one, or a batch of a command's output, a line each). Control characters from
/// outside are shown, never sent to the terminal.
pub fn lines(e: &Event) -> Vec<String> {
    if let Event::StepOutput { step, stream, text } = e {
        let mark = if *stream == Stream::Stderr { "!" } else { "│" };
        return text
            .split('\n')
            .map(|t| crate::printable::line(&format!("  {step} {mark} {}", shown_part(t))).into_owned())
            .collect();
    }
    raw_line(e).map(|l| crate::printable::line(&l).into_owned()).into_iter().collect()
}

pub(super) fn raw_line(e: &Event) -> Option<String> {
    Some(match e {
        Event::Genesis(g) => {
            format!("▶ {} ({} on {}, operator {})", g.runbook_id, g.mode.as_str(), g.cloud, g.operator)
        }
        Event::PhaseStarted { phase, budget_ms } => format!("── phase {phase} (budget {})", human_ms(*budget_ms)),
        Event::StepStarted { step, attempt, detail } => {
            format!(
                "▶ {step}{}{}",
                if *attempt > 1 { format!(" (attempt {attempt})") } else { String::new() },
                detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
            )
        }
        Event::StepOutput { .. } => return None,
        Event::OutputAside { step, file, bytes, lines, .. } => format!(
            "  {step} ⤷ {lines} more line(s) of output ({:.1} MiB) over the log's cap, kept in {file}",
            *bytes as f64 / (1024.0 * 1024.0)
        ),
        Event::StepWaiting { step, waiting_for, .. } => format!(
            "? {step} waits for {}",
            match waiting_for {
                Waiting::Confirm => "confirmation",
                Waiting::Approval => "approval",
                Waiting::Decision => "a decision",
                Waiting::RetryOrAbort => "a retry or an abort",
                Waiting::Outcome => "the rehearsed outcome",
                Waiting::Rerun => "a decision to re-run",
            }
        ),
        Event::Answer { step, verdict, by, role, reason, signed } => format!(
            "✎ {by}{} {}{}{}{}",
            role.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
            verdict_words(verdict),
            step.as_ref().map(|s| format!(" `{s}`")).unwrap_or_default(),
            signed.as_ref().map(signed_words).unwrap_or_default(),
            reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
        ),
        Event::Note { by, text } => format!("✎ note by {by}: {text}"),
        Event::StepRetry { step, attempt, error, backoff_ms } => {
            format!("↻ {step}: {error}; attempt {attempt} in {}", human_ms(*backoff_ms))
        }
        Event::StepFinished { step, status, reason, duration_ms, recovery_point, error, .. } => {
            let mark = match status {
                StepStatus::Done => "✓",
                StepStatus::Skipped => "↷",
                StepStatus::Failed => "✗",
            };
            let mut line =
                format!("{mark} {step} {} ({})", format!("{status:?}").to_lowercase(), human_ms(*duration_ms));
            if let Some(rp) = recovery_point {
                line.push_str(&format!(", recovery point {rp}"));
            }
            if let Some(r) = reason.as_ref().filter(|_| error.is_none()) {
                line.push_str(&format!(": {r}"));
            }
            if let Some(e) = error {
                line.push_str(&format!(": {}", e.message));
                if let Some(h) = &e.hint {
                    line.push_str(&format!(" (hint: {h})"));
                }
            }
            line
        }
        Event::PhaseFinished { phase, elapsed_ms, budget_ms, .. } => {
            format!("── {phase} took {} of its {} budget", human_ms(*elapsed_ms), human_ms(*budget_ms))
        }
        Event::Milestone { name } => format!("★ milestone {name}"),
        Event::Warning { message, .. } => format!("⚠ {message}"),
        Event::Resumed { by, interrupted, adopted } => format!(
            "▶ resumed by {by}{}{}",
            if interrupted.is_empty() { String::new() } else { format!("; interrupted: {}", interrupted.join(", ")) },
            adopted.as_ref().map(|a| format!("; ⚠ {}", a.words(by))).unwrap_or_default()
        ),
        Event::Recovered { torn_bytes, moved_to } => {
            format!("⚠ a torn last line ({torn_bytes} bytes) was moved to {moved_to}")
        }
        Event::Detached { by, reason } => format!("⏸ run left by {by}: {reason} (the log can be resumed)"),
        Event::HandOff { from, to } => format!("⇄ {from} handed the run to {to}"),
        Event::Checklist { step, text, ticked, by, .. } => {
            format!(
                "{} {step}: {text} ({} by {by})",
                if *ticked { "☑" } else { "☐" },
                if *ticked { "ticked" } else { "unticked" }
            )
        }
        Event::RunFinished { status, rto_met, rpo_met, service_restored, .. } => {
            format!("■ run {}", crate::objectives::ending_words(*status, *rto_met && *service_restored, *rpo_met))
        }
        Event::Teardown { kind, id, region, version, outcome, reason, .. } => {
            let what = match version {
                Some(v) => format!("{kind} {id} (version {v}) in {region}"),
                None => format!("{kind} {id} in {region}"),
            };
            let outcome = format!("{outcome:?}").to_lowercase();
            match reason {
                Some(why) => format!("− {outcome}: {what} ({why})"),
                None => format!("− {outcome}: {what}"),
            }
        }
        Event::ResourceCreated { step, kind, id, region, version } => match version {
            Some(v) => format!("+ {step} created {kind} {id} (version {v}) in {region}"),
            None => format!("+ {step} created {kind} {id} in {region}"),
        },
        Event::StepProgress { .. } | Event::ProcessStarted { .. } | Event::Checkpoint { .. } | Event::Sealed { .. } => {
            return None;
        }
    })
}
