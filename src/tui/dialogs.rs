//! The run screen's dialogs (typed confirmations, approvals, failures, notes) and its
//! help, drawn over it: draw only.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::app::{Dialog, Purpose, RunApp};
use super::field::TextField;
use super::keys::{Action, KEYS};
use super::layout::{centered, text_lines, wrap_words};
use super::theme::Theme;
use crate::event::typed_parts;
use crate::runbook::model::StepKind;

/// Room for a field's text inside a dialog (its border, padding and label taken off).
const FIELD_ROOM: usize = 56;

fn field(label: &str, value: &TextField, active: bool, theme: &Theme) -> Line<'static> {
    field_masked(label, value, active, theme, false)
}

/// A field whose value is never drawn (a passphrase): each character as `•`.
fn secret_field(label: &str, value: &TextField, active: bool, theme: &Theme) -> Line<'static> {
    field_masked(label, value, active, theme, true)
}

fn field_masked(label: &str, value: &TextField, active: bool, theme: &Theme, mask: bool) -> Line<'static> {
    let style = if active { theme.selected() } else { Style::default() };
    let mut spans = vec![Span::raw(format!("{label}: "))];
    spans.extend(value.spans(FIELD_ROOM.saturating_sub(label.chars().count()), mask, style, active));
    Line::from(spans)
}

pub(super) fn dialog(f: &mut Frame, area: Rect, d: &Dialog, app: &RunApp, theme: &Theme) {
    let (title, mut lines): (String, Vec<Line>) = match d {
        Dialog::Reason { purpose, step, input } => (
            match purpose {
                Purpose::Skip => format!("skip `{step}`"),
                Purpose::Fail => format!("fail `{step}`"),
                Purpose::Deny => format!("deny `{step}`"),
            },
            vec![
                Line::from("Why? The reason goes into the incident log with your name."),
                Line::default(),
                field("reason", input, true, theme),
            ],
        ),
        Dialog::HandOff { input } => (
            "hand the run over".into(),
            vec![
                Line::from(format!(
                    "{} hands the run to someone else; every later answer is theirs.",
                    app.meta.operator
                )),
                Line::default(),
                field("new operator", input, true, theme),
            ],
        ),
        Dialog::Note { input } => (
            "note".into(),
            vec![
                Line::from("A note for the incident log, with the time and your name."),
                Line::default(),
                field("note", input, true, theme),
            ],
        ),
        Dialog::Approve { step, role, name, given_role, key, passphrase, focus } => (
            format!("approve `{step}`"),
            [Line::from(format!("This step needs a yes from the {role}."))]
                .into_iter()
                // What is approved, as the runbook says it: an approver must see it here.
                .chain(approval_description(app, step).into_iter().flat_map(|d| {
                    d.lines()
                        .map(|l| Line::styled(format!("  {}", crate::printable::line(l)), theme.warn()))
                        .collect::<Vec<_>>()
                }))
                .chain([
                    Line::from("Type your name (a claim), or give your key file to sign (proof; four eyes needs it)."),
                    Line::default(),
                    field("name", name, *focus == 0, theme),
                    field("role", given_role, *focus == 1, theme),
                    field("key", key, *focus == 2, theme),
                    secret_field("passphrase", passphrase, *focus == 3, theme),
                    Line::default(),
                    Line::styled("Tab switches field · Enter approves · Esc cancels", theme.dim()),
                ])
                .collect(),
        ),
        Dialog::Typed { step, expected, prompt, input } => {
            let call = app.steps.iter().find(|s| &s.id == step).and_then(|s| s.detail.clone()).unwrap_or_default();
            let typed = typed_parts(prompt);
            let mut lines =
                vec![Line::styled("This changes what exists:", theme.warn()), Line::styled(call, theme.code())];
            lines.extend(text_lines(typed.as_ref().map_or(prompt.as_str(), |t| t.change), Style::default()));
            if let Some(plan) = typed.and_then(|t| t.plan) {
                lines.extend(text_lines(plan, theme.warn()));
            }
            lines.push(Line::default());
            lines.push(Line::from(format!("Type `{expected}` to go ahead (Esc: not now).")));
            lines.push(field("name", input, true, theme));
            (format!("confirm a change: `{step}`"), lines)
        }
        Dialog::Abort { reason, second } => (
            "abort the run".into(),
            if *second {
                vec![
                    Line::styled(
                        "Really abort? Running steps are stopped and the log is sealed as aborted.",
                        theme.bad(),
                    ),
                    Line::from("A sealed run cannot be resumed."),
                    Line::from(format!("reason: {}", reason.value())),
                    Line::default(),
                    Line::from("x or y: abort now · any other key: keep going"),
                ]
            } else {
                vec![
                    Line::from("Abort the run? Why? The reason goes into the log and the report."),
                    Line::from("(To step away and come back later, use q instead: the run can be resumed.)"),
                    Line::default(),
                    field("reason", reason, true, theme),
                    Line::default(),
                    Line::styled("Enter: go on (asks once more) · Esc: keep going", theme.dim()),
                ]
            },
        ),
    };
    if !matches!(d, Dialog::Approve { .. } | Dialog::Abort { .. }) {
        lines.push(Line::default());
        lines.push(Line::styled("Enter to save · Esc to cancel", theme.dim()));
    }
    let width = area.width.saturating_sub(4).min(76);
    let height = (lines.len() as u16 + 4).min(area.height);
    let r = centered(area, width, height);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title).border_style(theme.title())),
        r,
    );
}

/// The runbook's words for what an approval step approves.
fn approval_description(app: &RunApp, step: &str) -> Option<String> {
    match app.meta.runbook.step(step).map(|s| &s.kind) {
        Some(StepKind::Approval(a)) => a.description.clone(),
        _ => None,
    }
}

pub(super) fn help(f: &mut Frame, area: Rect, app: &RunApp, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(80);
    let room = width.saturating_sub(2 + 8) as usize;
    let mut lines = vec![Line::styled("keys", theme.title().add_modifier(Modifier::UNDERLINED))];
    if app.watching.is_some() {
        lines.push(Line::styled("watching read-only: keys that answer the run are not here", theme.warn()));
    }
    for k in KEYS.iter().filter(|k| app.watching.is_none() || !k.action.answers()) {
        // A long description wraps under itself, never under the key.
        let says = match k.action {
            Action::Quit if app.watching.is_some() => "stop watching; the run goes on in its own session",
            _ => k.says,
        };
        for (i, part) in wrap_words(says, room.max(20)).into_iter().enumerate() {
            let key = if i == 0 { k.keys } else { "" };
            lines.push(Line::from(format!("{key:>6}  {part}")));
        }
    }
    lines.push(Line::default());
    lines.push(Line::styled("any key closes this", theme.dim()));
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let fits = lines.len() as u16 + 2 <= height;
    let title = if fits { "help".to_string() } else { "help · ↑↓ j k scroll · any other key closes".to_string() };
    let r = centered(area, width, height);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).scroll((if fits { 0 } else { app.help_scroll }, 0)).block(Block::bordered().title(title)),
        r,
    );
}
