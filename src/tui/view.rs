//! The run screen, its dialogs and the help overlay. Views draw from state; they change
//! nothing.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, List, ListItem, ListState, Paragraph, Wrap};

use super::app::{Pane, RunApp, StepState};
use super::dialogs::{dialog, help};
use super::keys::hints;
use super::layout::{self, Regions, fit_pieces, text_lines};
use super::theme::Theme;
use crate::event::{Mode, Stream, Waiting, typed_name};
use crate::format::{human_ms, thousands};
use crate::runbook::model::StepKind;
use crate::runbook::time::Timestamp;

/// Below this the run screen cannot show a step and its keys: it says so instead.
pub const MIN_SIZE: (u16, u16) = (60, 16);

pub fn draw_run(f: &mut Frame, app: &RunApp, theme: &Theme) {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let text = vec![
            Line::styled("terminal too small", theme.warn()),
            Line::from(format!(
                "{}×{} here; the run screen needs {}×{}. The run goes on; enlarge the window, or q to leave.",
                area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
            )),
        ];
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let Regions { top, banner, objectives, tree, detail, log, status } = app.regions(area);
    let tall = area.height >= 32;
    let rehearsal = matches!(app.meta.mode, Mode::Tabletop | Mode::Replay);
    title_bar(f, top, app, theme);
    if let Some(w) = &app.watching {
        let what = if rehearsal { "a rehearsal, " } else { "" };
        let text = format!(" WATCHING {what}read-only · {} ", w.words);
        let style = if w.alarming { theme.bad().add_modifier(Modifier::REVERSED) } else { theme.banner() };
        f.render_widget(Paragraph::new(crate::printable::line(&text).into_owned()).style(style), banner);
    } else if rehearsal {
        let text = if app.meta.mode == Mode::Replay {
            format!(
                " REPLAY · actions go to the simulated cloud at {}× · commands run for real on this machine ",
                app.meta.speed
            )
        } else {
            format!(" REHEARSAL · tabletop on the simulated cloud at {}× · nothing real is touched ", app.meta.speed)
        };
        f.render_widget(Paragraph::new(text).style(theme.banner()), banner);
    }
    objectives_panel(f, objectives, app, theme, tall);
    steps_tree(f, tree, app, theme);
    step_detail(f, detail, app, theme);
    event_log(f, log, app, theme);
    status_line(f, status, app, theme);
    if let Some(d) = &app.dialog {
        dialog(f, area, d, app, theme);
    }
    if let Some(v) = &app.output {
        v.draw(f, area, theme);
    }
    if app.help {
        help(f, area, app, theme);
    }
}

fn pane_block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    let b = Block::bordered().title(if focused { format!("[{title}]") } else { title.to_string() });
    if focused { b.border_style(theme.title()) } else { b.border_style(theme.dim()) }
}

fn clock(t: Timestamp) -> String {
    t.strftime("%H:%M:%S").to_string()
}

fn title_bar(f: &mut Frame, area: Rect, app: &RunApp, theme: &Theme) {
    let real = app.real_elapsed.unwrap_or_else(|| app.started_real.elapsed()).as_secs();
    let time = if app.meta.cloud == "sim" {
        // A watcher's own time, not the run's: it came in when it came in.
        let whose = if app.watching.is_some() { "watching" } else { "real" };
        format!("virtual {} · {whose} +{}", clock(app.now), human_ms(real * 1000))
    } else {
        format!("{} UTC", clock(app.now))
    };
    // Where this acts comes first and survives a narrow terminal; the title is cut instead.
    let speed = if app.meta.cloud == "sim" { format!(" at {}×", app.meta.speed) } else { String::new() };
    let left = format!(
        " lifeboat ▸ {} on {}{speed} · {} · {}",
        app.meta.mode.as_str().to_uppercase(),
        if app.meta.cloud == "sim" { "sim" } else { "AWS" },
        crate::printable::line(&app.meta.operator),
        app.meta.runbook.title,
    );
    let width = area.width as usize;
    let room = width.saturating_sub(time.chars().count() + 2);
    let left: String = if left.chars().count() > room {
        left.chars().take(room.saturating_sub(1)).chain(['…']).collect()
    } else {
        left
    };
    let pad = width.saturating_sub(left.chars().count() + time.chars().count() + 1);
    let line = Line::from(vec![
        Span::styled(left, theme.title()),
        Span::raw(" ".repeat(pad)),
        Span::raw(time),
        Span::raw(" "),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

fn objectives_panel(f: &mut Frame, area: Rect, app: &RunApp, theme: &Theme, tall: bool) {
    let s = app.tracker.status(app.now);
    let forecast = app.tracker.forecast(app.now);
    let frac = s.rto_fraction();
    let block = Block::bordered().title("objectives").border_style(theme.dim());
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rows = Layout::vertical(vec![Constraint::Length(1); inner.height as usize]).split(inner);
    let state = if s.rto_stopped && !s.service_restored {
        "NOT MET"
    } else if frac > 1.0 {
        "OVER"
    } else if frac >= 0.8 {
        "close"
    } else if !s.rto_stopped && (s.projected_ms > s.rto_ms || forecast.is_some_and(|(p50, _)| p50 > s.rto_ms)) {
        // Never "ok" while the run's own projection, or its history's, is past the RTO.
        "at risk"
    } else {
        "ok"
    };
    let rpo = match (s.achieved_rpo_ms, s.rpo_met()) {
        _ if s.recovery_after_incident && s.rpo_met() == Some(false) => {
            format!("RPO {} ✗ data from after the incident began: may hold the damage", human_ms(s.rpo_ms))
        }
        (Some(r), Some(true)) => format!("RPO {} of {} ✓", human_ms(r), human_ms(s.rpo_ms)),
        (Some(r), _) => format!("RPO {} of {} ✗ MISSED", human_ms(r), human_ms(s.rpo_ms)),
        (None, _) => format!("RPO {} (not measured yet)", human_ms(s.rpo_ms)),
    };
    let left = match s.rto_over_ms() {
        0 => format!("left {}", human_ms(s.rto_ms - s.rto_elapsed_ms)),
        over => format!("over by {}", human_ms(over)),
    };
    let label = if s.rto_stopped && !s.service_restored {
        format!("RTO not met: service not restored after {} (RTO {})", human_ms(s.rto_elapsed_ms), human_ms(s.rto_ms))
    } else {
        format!(
            "RTO {} of {} ({:.0}%, {state}) · {left} · projected {}{}{}",
            human_ms(s.rto_elapsed_ms),
            human_ms(s.rto_ms),
            frac * 100.0,
            human_ms(s.projected_ms),
            forecast.map_or(String::new(), |(p50, p90)| format!(
                " · history: restored by {}–{} (p50–p90)",
                human_ms(p50),
                human_ms(p90)
            )),
            if s.rto_stopped { " · stopped" } else { "" }
        )
    };
    if let Some(r) = rows.first() {
        f.render_widget(
            Gauge::default()
                .ratio(frac.clamp(0.0, 1.0))
                .label(label)
                .gauge_style(theme.gauge(if state == "NOT MET" { frac.max(1.01) } else { frac }))
                .use_unicode(true),
            *r,
        );
    }
    let phases: Vec<Span> = app
        .tracker
        .phases
        .iter()
        .map(|p| {
            let elapsed = p.started.map(|_| p.elapsed_ms(app.now));
            let (mark, style) = match (elapsed, p.finished.is_some()) {
                (None, _) => ("·", theme.dim()),
                (Some(e), done) if e > p.budget_ms => (if done { "✗" } else { "▶" }, theme.bad()),
                (Some(_), true) => ("✓", theme.ok()),
                (Some(_), false) => ("▶", Style::default()),
            };
            Span::styled(
                format!(
                    "{mark} {} {}/{}  ",
                    p.id,
                    elapsed.map(human_ms).unwrap_or_else(|| "-".into()),
                    human_ms(p.budget_ms)
                ),
                style,
            )
        })
        .collect();
    if tall {
        let mut lines = vec![Line::from(rpo)];
        lines.extend(phases.into_iter().map(Line::from));
        for (i, l) in lines.into_iter().enumerate() {
            if let Some(r) = rows.get(i + 1) {
                f.render_widget(Paragraph::new(l), *r);
            }
        }
    } else if let Some(r) = rows.get(1) {
        // One line: the RPO always (an objective never leaves the screen), then the
        // phases: finished ones give way first, then those not begun, so the current
        // phase is always on screen.
        let mut spans: Vec<Span> = phases;
        let width = |xs: &[Span]| xs.iter().map(|s| s.content.chars().count()).sum::<usize>();
        let rpo_part = format!("│ {rpo}");
        let room = (r.width as usize).saturating_sub(rpo_part.chars().count());
        let current = app.tracker.phases.iter().position(|p| p.started.is_some() && p.finished.is_none());
        let mut dropped = 0;
        while width(&spans) + if dropped > 0 { 2 } else { 0 } > room && current.is_some_and(|c| dropped < c) {
            spans.remove(0);
            dropped += 1;
        }
        if dropped > 0 {
            spans.insert(0, Span::styled("… ", theme.dim()));
        }
        let mut cut = false;
        while width(&spans) + if cut { 2 } else { 0 } > room && spans.len() > 1 + usize::from(dropped > 0) {
            spans.pop();
            cut = true;
        }
        if cut {
            spans.push(Span::styled("… ", theme.dim()));
        }
        spans.push(Span::raw(rpo_part));
        f.render_widget(Paragraph::new(Line::from(spans)), *r);
    }
}

fn status_style(s: StepState, theme: &Theme) -> Style {
    match s {
        StepState::Pending | StepState::Skipped => theme.dim(),
        StepState::Running => Style::default(),
        StepState::Waiting => theme.warn(),
        StepState::Done => theme.ok(),
        StepState::Failed => theme.bad(),
    }
}

fn steps_tree(f: &mut Frame, area: Rect, app: &RunApp, theme: &Theme) {
    let mut items = Vec::new();
    let mut selected_item = 0;
    let mut last_phase = usize::MAX;
    for (i, s) in app.steps.iter().enumerate() {
        if s.phase != last_phase {
            last_phase = s.phase;
            let p = &app.meta.runbook.phases[s.phase];
            items.push(ListItem::new(Line::styled(
                format!("{} ({})", p.title, human_ms(p.budget.secs() * 1000)),
                theme.title(),
            )));
        }
        if i == app.selected {
            selected_item = items.len();
        }
        let time = match (s.duration_ms, s.started) {
            (Some(d), _) => human_ms(d),
            (None, Some(t)) => human_ms(crate::objectives::ms(t, app.now)),
            _ => String::new(),
        };
        let width = area.width.saturating_sub(4) as usize;
        let name = format!(" {} {}", s.status.symbol(app.spin), s.title);
        let room = width.saturating_sub(time.chars().count() + 1);
        let name: String = if name.chars().count() > room {
            name.chars().take(room.saturating_sub(1)).chain(['…']).collect()
        } else {
            name
        };
        let pad = width.saturating_sub(name.chars().count() + time.chars().count());
        items.push(ListItem::new(Line::from(vec![
            Span::styled(name, status_style(s.status, theme)),
            Span::raw(" ".repeat(pad)),
            Span::styled(time, theme.dim()),
        ])));
    }
    let height = area.height.saturating_sub(2) as usize;
    let mut state =
        ListState::default().with_offset(layout::tree_offset(selected_item, height)).with_selected(Some(selected_item));
    let list =
        List::new(items).block(pane_block("steps", app.focus == Pane::Steps, theme)).highlight_style(theme.selected());
    f.render_stateful_widget(list, area, &mut state);
}

fn step_detail(f: &mut Frame, area: Rect, app: &RunApp, theme: &Theme) {
    let mut check_line: Option<usize> = None;
    let Some(row) = app.step() else { return };
    let Some(step) = app.meta.runbook.step(&row.id) else { return };
    let mut lines: Vec<Line> = vec![];
    let waiting = match &app.watching {
        Some(_) => format!("waiting for {}", crate::printable::line(&app.meta.operator)),
        None => "waiting for you".into(),
    };
    let status_word = match row.status {
        StepState::Pending => "pending",
        StepState::Running => "running",
        StepState::Waiting => waiting.as_str(),
        StepState::Done => "done",
        StepState::Skipped => "skipped",
        StepState::Failed => "failed",
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{} {} ", row.status.symbol(app.spin), row.title), theme.title()),
        Span::styled(
            format!(
                "· {} · {status_word}{}",
                step.kind.name(),
                if row.attempt > 1 { format!(" · attempt {}", row.attempt) } else { String::new() }
            ),
            status_style(row.status, theme),
        ),
    ]));
    if !step.needs.is_empty() {
        lines.push(Line::styled(format!("needs: {}", step.needs.join(", ")), theme.dim()));
    }
    if let Some((w, prompt)) = &row.waiting {
        let keys = match w {
            Waiting::Confirm if prompt.as_deref().and_then(typed_name).is_some() => {
                "Enter: type the name to go ahead · s skip · f fail"
            }
            Waiting::Confirm => "Enter confirm · s skip · f fail",
            Waiting::Approval => "a approve · d deny · s skip",
            Waiting::Decision => "r retry · Enter continue without it · x abort",
            Waiting::RetryOrAbort => "r retry · x abort (it cannot be continued past)",
            Waiting::Outcome => "Enter it went fine · f it failed · s skip",
            Waiting::Rerun => "Enter run it again · s skip · f fail",
        };
        lines.push(Line::default());
        if let Some(p) = prompt.as_ref().filter(|_| !matches!(step.kind, StepKind::Manual { .. })) {
            // The ask, then (for an approval) what is approved, a line each.
            for (i, l) in p.lines().enumerate() {
                lines.push(Line::styled(if i == 0 { format!("▶ {l}") } else { format!("  {l}") }, theme.warn()));
            }
        }
        // A watcher is shown what the operator is asked, not keys that would answer it.
        match &app.watching {
            Some(_) => lines.push(Line::styled(
                format!("▶ {} answers this in the run's own session", crate::printable::line(&app.meta.operator)),
                theme.dim(),
            )),
            None => lines.push(Line::styled(format!("▶ {keys}"), theme.warn())),
        }
    }
    if let Some(e) = &row.error {
        lines.push(Line::default());
        lines.extend(text_lines(
            &format!("✗ {}{}", e.message, e.code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()),
            theme.bad(),
        ));
        if let Some(h) = &e.hint {
            lines.extend(text_lines(&format!("  hint: {h}"), Style::default()));
        }
    } else if let Some(r) = &row.reason {
        lines.extend(text_lines(&format!("reason: {r}"), Style::default()));
    }
    if let Some(rp) = &row.recovery_point {
        lines.push(Line::styled(format!("recovery point: {rp}"), theme.ok()));
    }
    if !row.outputs.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled("outputs", theme.title()));
        for (k, v) in &row.outputs {
            match v {
                serde_json::Value::Array(items) => {
                    lines.push(Line::from(format!("  {k} ({}):", items.len())));
                    lines.extend(items.iter().map(|i| Line::from(format!("    {}", crate::format::json_text(i)))));
                }
                other => lines.push(Line::from(format!("  {k}: {}", crate::format::json_text(other)))),
            }
        }
    }
    lines.push(Line::default());
    match &step.kind {
        StepKind::Manual { instructions, checklist } => {
            // The engine's prompt is the instructions with `${{ }}` filled in.
            let text = row.shown_instructions.as_deref().unwrap_or(instructions);
            lines.extend(super::markdown::render(text, theme));
            if !checklist.is_empty() {
                lines.push(Line::default());
                for (i, item) in checklist.iter().enumerate() {
                    let ticked = row.ticks.get(i).copied().unwrap_or(false);
                    let mark = if i == row.check_at { "▸" } else { " " };
                    if i == row.check_at {
                        check_line = Some(lines.len());
                    }
                    lines.push(Line::from(format!("{mark}[{}] {item}", if ticked { "x" } else { " " })));
                }
            }
        }
        StepKind::Approval(a) => {
            let who =
                if a.approvers > 1 { format!("{} different people with the role", a.approvers) } else { "the".into() };
            lines.push(Line::from(format!("needs a yes from {who} {}", a.role)));
            if a.four_eyes {
                lines.push(Line::from(format!("four eyes: not {}, who runs this", app.meta.operator)));
            }
        }
        StepKind::Action { action, with } => {
            lines.push(Line::styled(action.summary.to_string(), theme.dim()));
            let args = row.detail.clone().unwrap_or_else(|| format!("{} {with}", action.name));
            lines.push(Line::styled(args, theme.code()));
        }
        StepKind::Run { command, .. } => {
            lines.push(Line::styled(format!("$ {}", row.detail.as_deref().unwrap_or(command)), theme.code()));
        }
        StepKind::Wait(_) => {
            if let Some(d) = &row.detail {
                lines.extend(text_lines(d, Style::default()));
            }
        }
    }
    if let Some((done, total, unit)) = &row.progress {
        let pct = (*done * 100).checked_div(*total).unwrap_or(100);
        lines.push(Line::from(format!("{} / {} {unit} ({pct}%)", thousands(*done), thousands(*total))));
    }
    if !row.output.is_empty() {
        lines.push(Line::default());
        for (stream, text) in &row.output {
            let mark = if *stream == Stream::Stderr { "!" } else { "│" };
            lines.push(Line::styled(format!("{mark} {text}"), theme.dim()));
        }
    }
    // The scroll as asked, held to the pane's length (`G` asks for the end), and moved
    // to keep the checklist's current item in view when it is being worked.
    let block = pane_block("detail", app.focus == Pane::Detail, theme);
    let inner = block.inner(area);
    let rows = |ls: &[Line]| Paragraph::new(ls.to_vec()).wrap(Wrap { trim: false }).line_count(inner.width) as u16;
    let last = rows(&lines).saturating_sub(inner.height);
    let mut scroll = app.detail_scroll.min(last);
    let check_row = check_line.map(|i| rows(&lines[..i]));
    if let Some(r) = check_row.filter(|_| app.detail_to_check) {
        if r < scroll {
            scroll = r;
        } else if r >= scroll + inner.height {
            scroll = (r + 1).saturating_sub(inner.height).min(last);
        }
    }
    app.detail_shown.set(scroll);
    app.check_in_view.set(check_row.is_none_or(|r| r >= scroll && r < scroll + inner.height));
    let p = Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((scroll, 0));
    f.render_widget(p, area);
}

fn event_log(f: &mut Frame, area: Rect, app: &RunApp, theme: &Theme) {
    let height = area.height.saturating_sub(2) as usize;
    let total = app.log_len();
    let end = total.saturating_sub(app.log_scroll);
    let start = end.saturating_sub(height);
    // Only the visible lines are touched: a 100,000-event log costs what 10 lines cost.
    let lines: Vec<Line> = (start..end).filter_map(|i| app.log_line(i)).map(|l| Line::raw(l.text.as_str())).collect();
    let mut title =
        if app.log_scroll > 0 { format!("events ({end} of {total}, scrolled)") } else { format!("events ({total})") };
    if !app.log_filter.is_empty() {
        let mut what = vec![];
        if let Some(s) = app.log_filter.step.and_then(|i| app.steps.get(i)) {
            what.push(format!("step `{}`", s.id));
        }
        if !app.log_filter.text.is_empty() {
            what.push(format!("“{}”", app.log_filter.text));
        }
        title = format!("{title} · only {} of {} · Esc shows all", what.join(" and "), app.log.len());
    }
    let block = pane_block(&title, app.focus == Pane::Log, theme);
    match &app.log_typing {
        Some(field) => {
            let inner = block.inner(area);
            f.render_widget(block, area);
            let [rows, bar] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
            let skip = lines.len().saturating_sub(rows.height as usize);
            f.render_widget(Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()), rows);
            let mut spans = vec![Span::styled("search events: ", theme.title())];
            spans.extend(field.spans((bar.width as usize).saturating_sub(45).max(10), false, theme.selected(), true));
            spans.push(Span::styled("  Enter filter · Esc cancel", theme.dim()));
            f.render_widget(Paragraph::new(Line::from(spans)), bar);
        }
        None => f.render_widget(Paragraph::new(lines).block(block), area),
    }
}

fn status_line(f: &mut Frame, area: Rect, app: &RunApp, theme: &Theme) {
    // How the run ended stays on the line: a later key's message comes after it.
    let text = if let Some((status, reason)) = &app.finished {
        let s = app.tracker.status(app.now);
        let verdict = crate::objectives::ending_words(*status, s.rto_met(), s.rpo_met());
        let log = match &app.watching {
            Some(w) => format!("watched from {}", w.source),
            None => format!("log sealed: {}", app.meta.log_path.display()),
        };
        Line::styled(
            format!(
                " run {verdict}{} · {log} · q to leave{}",
                reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
                app.flash.as_ref().map(|f| format!(" · {f}")).unwrap_or_default()
            ),
            theme.title(),
        )
    } else if let Some(flash) = &app.flash {
        Line::styled(format!(" {flash}"), theme.warn())
    } else {
        // Keys first (the table's order), then the log, as many whole pieces as fit: a
        // hint is never cut mid-word.
        let mut pieces: Vec<String> = hints(app.watching.is_some()).split(" · ").map(str::to_string).collect();
        // Help and leaving matter more than the rarer keys: they go right after the step's.
        let rank = |p: &String| match p.as_str() {
            p if p.starts_with("Enter") || p.starts_with("Space") || p.starts_with("s ") || p.starts_with("f ") => 0,
            p if p.starts_with("? ") || p.starts_with("q ") => 1,
            _ => 2,
        };
        pieces.sort_by_key(rank);
        pieces.push(match &app.watching {
            Some(w) => format!("read-only, from {}", w.source),
            None => {
                format!("log {} ({})", app.meta.log_path.display(), if app.meta.signed { "signed" } else { "unsigned" })
            }
        });
        Line::from(fit_pieces(&pieces, area.width as usize))
    };
    f.render_widget(Paragraph::new(text), area);
}
