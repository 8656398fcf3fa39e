//! The terminal UI: set-up and unconditional restore, one event loop per screen, and the
//! wiring from keys to engine commands. Draws once after draining what is pending; ticks
//! only as fast as something on screen moves.

pub mod app;
mod dialogs;
pub mod field;
pub mod form;
pub mod home;
pub mod keys;
pub mod layout;
pub mod markdown;
pub mod output;
pub mod theme;
pub mod view;

#[cfg(test)]
mod snapshots;

use std::io::Stdout;
use std::path::Path;
use std::time::Duration as StdDuration;

use crossterm::event::Event as TermEvent;
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use crate::engine::{Fatal, Outcome};
use crate::event::Record;
use crate::launch::{RunArgs, RunMeta, Setup, Started};
use app::{Msg, RunApp};
use theme::Theme;

/// How a TUI session ended, for the binary edge to report.
pub enum TuiEnd {
    Ran(Result<Outcome, Fatal>, Box<RunMeta>),
    Cancelled,
    Failed(crate::launch::Refused),
}

type Term = Terminal<CrosstermBackend<Stdout>>;

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        crossterm::event::DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Raw mode and the alternate screen while it lives; restored on drop and on panic.
struct Screen {
    term: Term,
    keys: mpsc::UnboundedReceiver<TermEvent>,
    /// SIGTERM on the home screen and the form: leave, nothing has started.
    sigterm: tokio::signal::unix::Signal,
}

impl Screen {
    fn enter() -> std::io::Result<Screen> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode()?;
        // Bracketed paste: a paste arrives as one text, never as keys that could act.
        execute!(
            std::io::stdout(),
            EnterAlternateScreen,
            crossterm::event::EnableBracketedPaste,
            crossterm::event::EnableMouseCapture
        )?;
        let term = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        // A blocking reader on its own thread: no polling, no busy loop.
        let (tx, keys) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            while let Ok(ev) = crossterm::event::read() {
                if tx.send(ev).is_err() {
                    return;
                }
            }
        });
        let sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        Ok(Screen { term, keys, sigterm })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// `lifeboat` with no command: the home screen, then the start form, then the run.
pub async fn home(dir: &Path, incidents: &Path) -> TuiEnd {
    let shelf = match crate::shelf::shelf(dir, incidents, crate::runbook::time::Timestamp::now()) {
        Ok(s) => s,
        Err(e) => return TuiEnd::Failed(format!("cannot read folder `{}`: {e}", dir.display()).into()),
    };
    let theme = Theme::from_env();
    let mut screen = match Screen::enter() {
        Ok(s) => s,
        Err(e) => return TuiEnd::Failed(format!("cannot open the terminal: {e}").into()),
    };
    let mut home = home::Home::new(dir.display().to_string(), shelf);
    loop {
        let _ = screen.term.draw(|f| home.draw(f, &theme));
        let ev = tokio::select! {
            ev = screen.keys.recv() => ev,
            _ = screen.sigterm.recv() => return TuiEnd::Cancelled,
        };
        let Some(ev) = ev else { return TuiEnd::Cancelled };
        if let TermEvent::Paste(text) = &ev {
            home.paste(text);
            continue;
        }
        let TermEvent::Key(k) = ev else { continue };
        if k.kind != crossterm::event::KeyEventKind::Press {
            continue;
        }
        match home.key(k) {
            Some(home::HomeEnd::Quit) => return TuiEnd::Cancelled,
            Some(home::HomeEnd::Start(path)) => {
                let args = RunArgs::for_runbook(path, dir.to_path_buf());
                let setup = match Setup::load(args, false, None) {
                    Ok(s) => s,
                    Err(e) => return TuiEnd::Failed(e),
                };
                match form_then_run(&mut screen, setup, &theme).await {
                    TuiEnd::Cancelled => continue,
                    end => return end,
                }
            }
            None => {}
        }
    }
}

/// `lifeboat run RUNBOOK` / `tabletop` at a terminal: the form (unless resuming), then the run.
pub async fn start(setup: Setup) -> TuiEnd {
    let theme = Theme::from_env();
    let mut screen = match Screen::enter() {
        Ok(s) => s,
        Err(e) => return TuiEnd::Failed(format!("cannot open the terminal: {e}").into()),
    };
    form_then_run(&mut screen, setup, &theme).await
}

async fn form_then_run(screen: &mut Screen, mut setup: Setup, theme: &Theme) -> TuiEnd {
    setup.preflight().await;
    let choice = if setup.resumed.is_some() {
        setup.default_choice()
    } else {
        let d = setup.default_choice();
        let mut form = form::Form::new(
            setup.runbook.id.clone(),
            setup.prefill(crate::runbook::time::Timestamp::now()),
            d.operator,
            d.mode,
            setup.modes(),
        );
        loop {
            let _ = screen.term.draw(|f| form.draw(f, theme));
            let ev = tokio::select! {
                ev = screen.keys.recv() => ev,
                _ = screen.sigterm.recv() => return TuiEnd::Cancelled,
            };
            let k = match ev {
                Some(TermEvent::Key(k)) => k,
                Some(TermEvent::Paste(text)) => {
                    form.paste(&text);
                    continue;
                }
                Some(_) => continue,
                None => return TuiEnd::Cancelled,
            };
            if k.kind != crossterm::event::KeyEventKind::Press {
                continue;
            }
            let check = |n: &str, v: &str| setup.check_input(n, v);
            let target = |m| setup.target(m);
            match form.key(k, &check, &target) {
                // What `start` would refuse is said on the form, which stays: the
                // operator puts it right (or goes back) without losing what they typed.
                Some(form::FormEnd::Go(c)) => match setup.refusal(&c) {
                    Some(why) => form.refused = Some(why),
                    None => break c,
                },
                Some(form::FormEnd::Back) => return TuiEnd::Cancelled,
                None => {}
            }
        }
    };
    match setup.start(choice).await {
        Ok(started) => run_screen(screen, started, theme).await,
        Err(e) => TuiEnd::Failed(e),
    }
}

async fn run_screen(screen: &mut Screen, st: Started, theme: &Theme) -> TuiEnd {
    let Started { engine, commands, first, sink, tracker, prior_records, clock, mut meta, copy, .. } = st;
    let mut records = sink.subscribe();
    // The tracker has seen the log's earlier records already; the tree and the event log
    // are shown them too, so a resumed run reads as one.
    let mut app = RunApp::new(meta.clone(), tracker, clock.now());
    for r in &prior_records {
        app.show(r);
    }
    crate::launch::detach_on_signal(commands.clone(), meta.operator.clone());
    let mut run = tokio::spawn(engine.run(first));
    drop(sink);
    let mut outcome = None;
    let mut records_open = true;
    loop {
        let _ = screen.term.draw(|f| view::draw_run(f, &app, theme));
        if app.leave && outcome.is_some() {
            break;
        }
        // Fast ticks only while a spinner turns; otherwise one a second for the clocks.
        let busy = app.steps.iter().any(|s| s.status == app::StepState::Running);
        let wait = tokio::time::sleep(StdDuration::from_millis(if busy { 250 } else { 1000 }));
        tokio::select! {
            ev = screen.keys.recv() => match ev {
                Some(TermEvent::Key(k)) => {
                    for c in app.update(Msg::Key(k)) {
                        let _ = commands.send(c);
                    }
                }
                Some(TermEvent::Paste(text)) => {
                    app.update(Msg::Paste(text));
                }
                Some(TermEvent::Mouse(m)) => {
                    let area = screen.term.size().map(|s| ratatui::layout::Rect::new(0, 0, s.width, s.height));
                    if let Ok(area) = area {
                        app.update(Msg::Mouse(m, app.regions(area)));
                    }
                }
                Some(_) => {}
                None => app.leave = true,
            },
            r = records.recv(), if records_open => match r {
                Some(r) => {
                    app.observe(&r);
                    drain(&mut records, &mut app);
                }
                None => records_open = false,
            },
            _ = wait => {
                app.update(Msg::Tick(clock.now()));
            }
            done = &mut run, if outcome.is_none() => {
                drain(&mut records, &mut app);
                outcome = Some(done.unwrap_or_else(|e| Err(Fatal(format!("the engine stopped: {e}")))));
                if app.finished.is_none() {
                    app.leave = true; // detached: nothing more to show
                }
            }
        }
    }
    if let Some(c) = copy {
        meta.copy_problems = c.finish().await;
    }
    TuiEnd::Ran(outcome.expect("the loop ends after the engine"), Box::new(meta))
}

/// Each record into the screen; the last one's time is where the run's clock was.
fn take(
    app: &mut RunApp,
    records: Vec<Record>,
    age: StdDuration,
    last: &mut (crate::runbook::time::Timestamp, std::time::Instant),
) {
    let written = std::time::Instant::now().checked_sub(age).unwrap_or_else(std::time::Instant::now);
    for r in &records {
        app.observe(r);
        if let Ok(t) = r.time.parse() {
            *last = (t, written);
        }
    }
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Record>, app: &mut RunApp) {
    while let Ok(r) = rx.try_recv() {
        app.observe(&r);
    }
}

/// `lifeboat watch`: the run screen over a log someone else's session is writing. Keys
/// move about and read; none reaches an engine (there is none here). Returns what the
/// watcher could say about the log when the screen was left.
pub async fn watch(
    mut follow: crate::watch::Follow,
    meta: RunMeta,
    tracker: crate::objectives::Tracker,
    first: Vec<Record>,
    doubt: Option<String>,
) -> Result<crate::watch::WatchState, String> {
    let theme = Theme::from_env();
    let mut screen = Screen::enter().map_err(|e| format!("cannot open the terminal: {e}"))?;
    let speed = meta.speed.max(1);
    let start = first.first().and_then(|r| r.time.parse().ok()).unwrap_or_else(crate::runbook::time::Timestamp::now);
    let mut app = RunApp::new(meta, tracker, start);
    let source = follow.source.name();
    let every = follow.source.every();
    // The run's clock as the watcher guesses it: the last line's time, moved on at the
    // run's speed. Only for the clocks on screen; nothing is written.
    let mut last = (start, std::time::Instant::now());
    take(&mut app, first, follow.source.age(), &mut last);
    let banner = |app: &mut RunApp, status: &crate::watch::WatchState| {
        let mut words = status.words();
        if let Some(d) = &doubt {
            words.push_str(&format!(" · {d}"));
        }
        app.watching =
            Some(app::Watching { source: source.clone(), words, alarming: status.alarming() || doubt.is_some() });
    };
    banner(&mut app, &follow.status());
    let mut next_poll = tokio::time::Instant::now() + every;
    loop {
        let _ = screen.term.draw(|f| view::draw_run(f, &app, &theme));
        if app.leave {
            break;
        }
        // Catching up on a long log: read on at once, drawing between chunks.
        let pause = if follow.source.behind() { 0 } else { 250 };
        let tick = tokio::time::sleep(StdDuration::from_millis(pause));
        tokio::select! {
            ev = screen.keys.recv() => match ev {
                // Whatever a key asks for, nothing is sent: a watcher has no engine.
                Some(TermEvent::Key(k)) => drop(app.update(Msg::Key(k))),
                Some(TermEvent::Paste(text)) => drop(app.update(Msg::Paste(text))),
                Some(TermEvent::Mouse(m)) => {
                    let area = screen.term.size().map(|s| ratatui::layout::Rect::new(0, 0, s.width, s.height));
                    if let Ok(area) = area {
                        drop(app.update(Msg::Mouse(m, app.regions(area))));
                    }
                }
                Some(_) => {}
                None => app.leave = true,
            },
            _ = screen.sigterm.recv() => app.leave = true,
            _ = tick => {
                if tokio::time::Instant::now() >= next_poll {
                    let records = follow.poll().await;
                    take(&mut app, records, follow.source.age(), &mut last);
                    banner(&mut app, &follow.status());
                    next_poll = tokio::time::Instant::now() + if follow.source.behind() { StdDuration::ZERO } else { every };
                }
                // The run's clock runs at its speed only while a step works; a person
                // waited for holds it at real time (clock.rs).
                let pace = if app.steps.iter().any(|s| s.status == app::StepState::Waiting)
                    || !app.steps.iter().any(|s| s.status == app::StepState::Running)
                {
                    1
                } else {
                    speed
                };
                let moved = last.1.elapsed().saturating_mul(pace);
                let guess = jiff::SignedDuration::try_from(moved).ok().and_then(|d| last.0.checked_add(d).ok());
                if app.finished.is_none() {
                    app.update(Msg::Tick(guess.unwrap_or(last.0)));
                }
            }
        }
    }
    Ok(follow.status())
}
