//! A run begun or resumed from a checked setup: the log opened (or adopted), the cloud
//! connected, the evidence copy started, the clock set, the engine made.

use super::*;

/// A run under way: the engine and everything a front end needs to watch and steer it.
pub struct Started {
    pub engine: Engine,
    pub commands: tokio::sync::mpsc::UnboundedSender<crate::engine::Command>,
    pub first: Event,
    pub sink: Sink,
    pub tracker: crate::objectives::Tracker,
    pub prior_records: Vec<crate::event::Record>,
    pub clock: Arc<dyn Clock>,
    pub answers: Option<Answers>,
    pub meta: RunMeta,
    /// The log's copy to the catalog's evidence bucket, finished after the run.
    pub copy: Option<crate::offsite::Copier>,
}

/// What a front end shows about a run, and what the closing summary needs.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub runbook: Runbook,
    pub runbook_path: PathBuf,
    pub log_path: PathBuf,
    pub signed: bool,
    pub operator: String,
    pub mode: Mode,
    pub cloud: &'static str,
    pub speed: u32,
    pub tabletop: bool,
    pub answers_path: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    /// Headless: how long an approval the answers do not give is waited for in the inbox.
    pub await_approvals: Option<std::time::Duration>,
    /// What the log's copy to the evidence bucket could not write (said at the end).
    pub copy_problems: Vec<String>,
}

impl Setup {
    /// Writes the genesis (or the resume line) and builds the engine; nothing runs until
    /// `engine.run`.
    pub async fn start(self, choice: Choice) -> Result<Started, Refused> {
        let caller = self.refused_before_start(&choice)?;
        let tabletop = choice.mode == ChosenMode::Tabletop;
        let cloud = if tabletop { CloudArg::Sim } else { self.cloud() };
        let Setup {
            args,
            runbook,
            runbook_path,
            catalog,
            dataset,
            answers,
            injects,
            resumed,
            signer: self_signer,
            mut authority,
            ..
        } = self;
        let mode = match (choice.mode, cloud) {
            (ChosenMode::Tabletop, _) => Mode::Tabletop,
            (ChosenMode::Drill, _) => Mode::Drill,
            (ChosenMode::Live, CloudArg::Sim) => Mode::Replay,
            (ChosenMode::Live, CloudArg::Aws) => Mode::Live,
        };
        if let Some(g) = &resumed
            && g.mode != mode
        {
            return Err(format!("this log is a {} run; resume it the same way", g.mode.as_str()).into());
        }
        let pinned = CatalogPin::of(&runbook_path, &dataset);
        if let Some(g) = &resumed {
            pinned.same_as(&g.provenance)?;
        }
        // A resumed rehearsal keeps the pace it was started at unless told otherwise.
        let speed =
            args.speed.or(resumed.as_ref().map(|g| g.clock_speed)).unwrap_or(if tabletop { 60 } else { 600 }).max(1);
        let operator = choice.operator.clone();
        let signer = self_signer;

        // The clock. A rehearsal starts a few minutes after the incident (the time it takes
        // to be paged), so a past incident time replays as if it were tonight; a resumed
        // rehearsal continues from the log's last moment.
        let start = match (&args.resume, &answers) {
            (Some(log), _) => last_time(log).unwrap_or_else(Timestamp::now),
            (None, a) if cloud == CloudArg::Sim => a
                .as_ref()
                .and_then(|a| a.input("incident_at"))
                .and_then(|t| parse_timestamp(t).ok())
                .unwrap_or_else(Timestamp::now)
                .checked_add(jiff::SignedDuration::from_secs(PAGING_DELAY_SECS))
                .unwrap_or_else(|_| Timestamp::now()),
            (None, _) => Timestamp::now(),
        };
        let clock: Arc<dyn Clock> = match cloud {
            CloudArg::Sim => Arc::new(VirtualClock::new(start, speed as f64)),
            CloudArg::Aws => Arc::new(SystemClock),
        };

        let (inputs, incident_started_at, run_id) = match &resumed {
            Some(g) => {
                let mut inputs: BTreeMap<String, String> =
                    g.inputs.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect();
                // Secrets are not in the log: they come from the environment again, and
                // so does any value a secret was redacted out of.
                let again: Vec<&crate::runbook::model::InputDef> = runbook
                    .inputs
                    .iter()
                    .filter(|d| {
                        d.secret || inputs.get(&d.name).is_some_and(|v| v.contains(crate::engine::sink::REDACTED))
                    })
                    .collect();
                for def in again {
                    match input_value(def, answers.as_ref(), start) {
                        Some(v) => {
                            inputs.insert(def.name.clone(), v);
                        }
                        None => {
                            return Err(format!(
                                "input `{}` is not in the log (a secret, or redacted); set it again to resume",
                                def.name
                            )
                            .into());
                        }
                    }
                }
                let t = parse_timestamp(&g.incident_started_at).unwrap_or(start);
                (inputs, t, g.run_id.clone())
            }
            None => {
                let inputs = match &choice.inputs {
                    Some(given) => {
                        for (k, v) in given {
                            check_input(&runbook, k, v)?;
                        }
                        given.clone()
                    }
                    None => resolve_inputs(&runbook, answers.as_ref(), clock.now())?,
                };
                let default_start = if cloud == CloudArg::Sim {
                    start.checked_sub(jiff::SignedDuration::from_secs(PAGING_DELAY_SECS)).unwrap_or(start)
                } else {
                    clock.now()
                };
                let t = inputs
                    .get("incident_at")
                    .filter(|_| runbook.inputs.iter().any(|d| d.name == "incident_at" && d.ty == InputType::Timestamp))
                    .and_then(|v| parse_timestamp(v).ok())
                    .unwrap_or(default_start);
                // An incident cannot have begun after now: such a time would make every
                // objective look met (an RTO of 0ms) and every restore too late.
                let real_now = Timestamp::now();
                if t.duration_since(real_now).as_secs() > FUTURE_SKEW_SECS {
                    return Err(format!(
                        "the incident start {} is in the future (it is {} now); give the time the incident began (`incident_at`), nothing was run",
                        format_timestamp(t),
                        format_timestamp(real_now)
                    ).into());
                }
                let run_id =
                    format!("{}-{}-{:04x}", runbook.id, clock.now().strftime("%Y%m%dT%H%M%SZ"), fastrand::u16(..));
                (inputs, t, run_id)
            }
        };
        let secrets: Vec<String> =
            runbook.inputs.iter().filter(|d| d.secret).filter_map(|d| inputs.get(&d.name).cloned()).collect();
        if let Some(def) =
            runbook.inputs.iter().filter(|d| d.secret).find(|d| {
                inputs.get(&d.name).is_some_and(|v| v.chars().count() < crate::engine::sink::MIN_SECRET_CHARS)
            })
        {
            return Err(format!(
                "secret input `{}` is shorter than {} characters: so short a value cannot be told apart from \
                 ordinary text, and redacting it would rewrite the log; use the real secret (nothing was run)",
                def.name,
                crate::engine::sink::MIN_SECRET_CHARS
            )
            .into());
        }

        // The log.
        let mut adopted = None;
        let (journal, prior) = match &args.resume {
            Some(log) => match Journal::resume(log, signer, clock.now()) {
                Ok((j, existing)) => {
                    adopted = existing.adopted.clone();
                    let prior = Prior::from_records(&runbook, existing.records);
                    if args.headless {
                        lost_needs_rerun(&prior, answers.as_ref())?;
                    }
                    (j, prior)
                }
                Err(e) => return Err(e.to_string().into()),
            },
            None => {
                let path = args.log.clone().unwrap_or_else(|| PathBuf::from(format!("incidents/{run_id}.jsonl")));
                match Journal::create(&path, signer) {
                    Ok(j) => (j, Prior::default()),
                    Err(e) => return Err(e.to_string().into()),
                }
            }
        };
        let log_path = journal.path().to_path_buf();
        // What a command inherits but must never be written: the key's passphrase, AWS's
        // secret credentials.
        let secrets: Vec<String> = secrets.into_iter().chain(crate::engine::sink::environment_secrets()).collect();
        crate::diagnostics::attach(&log_path, &secrets)?;
        tracing::info!(run_id = %run_id, log = %log_path.display(), "run starting");
        let signer_public = journal.signer_public();
        let signed = journal.is_signed();
        let sink = Sink::new(Some(journal), Redactor::new(secrets));

        let mut aws_backend: Option<Arc<crate::cloud::aws::Aws>> = None;
        let provider: Cloud = match cloud {
            CloudArg::Sim => {
                let damage = crate::cloud::sim::Damage::of(runbook.scenario);
                let sim = Sim::seeded_for(&catalog, clock.now(), incident_started_at, Some(&runbook.dataset), damage);
                for inject in injects {
                    sim.inject(inject);
                }
                sim.into()
            }
            CloudArg::Aws if !injects.is_empty() => {
                return Err("--injects plays failures on the simulated cloud only".into());
            }
            CloudArg::Aws => {
                let aws = Arc::new(crate::cloud::aws::Aws::from_env().await);
                aws_backend = Some(aws.clone());
                aws.into()
            }
        };
        let endpoint = aws_backend.as_ref().and_then(|a| a.custom_endpoint());
        // The log's immutable copy, for runs against AWS (a rehearsal needs no account);
        // its `inbox/` takes approvals from people who cannot reach this machine.
        let mut bucket_inbox = None;
        let copy = match (&catalog.evidence, aws_backend) {
            (Some(e), Some(aws)) => {
                let place =
                    crate::offsite::Place { bucket: e.bucket.clone(), prefix: format!("{}{run_id}/", e.prefix) };
                let warner = sink.clone();
                let at_clock = clock.clone();
                let warn = Box::new(move |message: String| {
                    let _ = warner.emit(at_clock.now(), Event::Warning { code: "evidence_copy".into(), message });
                });
                let reach =
                    crate::cloud::port::Reach { region: e.region.clone(), role_arn: None, clock: clock.clone() };
                match crate::cloud::port::Backend::s3(aws.as_ref(), &reach).await {
                    Ok(s3) => {
                        bucket_inbox = Some((s3.clone(), place.clone()));
                        Some(crate::offsite::Copier::start(s3, place, log_path.clone(), sink.subscribe(), warn))
                    }
                    Err(err) => {
                        // Said once the log has begun (its first line is the genesis).
                        let mut first = sink.subscribe();
                        tokio::spawn(async move {
                            if first.recv().await.is_some() {
                                warn(format!("no copy of this log goes to {}: {err}", place.url()));
                            }
                        });
                        None
                    }
                }
            }
            _ => None,
        };
        authority.run_key = signer_public.as_deref().map(crate::journal::key_only);
        authority.runbook_sha256 = std::fs::read(&runbook_path).map(|b| sha256_hex(&b)).unwrap_or_default();
        authority.log = Some(log_path.clone());
        // Each step's p90 in the runbook's trusted history (the logs beside this one), so
        // a step that runs past it is said while there is time to act.
        let history = {
            let logs = log_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let trust = runbook_path
                .parent()
                .and_then(|dir| crate::journal::trust::load(None, dir).ok().flatten())
                .map(|(_, t)| t);
            crate::forecast::forecast(&runbook, &authority.runbook_sha256, logs, trust.as_ref(), &[]).ok()
        };
        let steps = history.map(|f| f.steps).unwrap_or_default();
        let step_p90_ms: BTreeMap<String, u64> = steps.iter().filter_map(|s| Some((s.id.clone(), s.p90_ms?))).collect();
        let step_p50_ms: BTreeMap<String, u64> = steps.iter().filter_map(|s| Some((s.id.clone(), s.p50_ms?))).collect();
        let spec_p90 = step_p90_ms.clone();
        let spec = RunSpec {
            step_p90_ms,
            authority,
            runbook: runbook.clone(),
            catalog,
            dataset,
            mode,
            interactive: !args.headless,
            execute_commands: mode != Mode::Tabletop,
            workdir: runbook_path
                .parent()
                .map(Path::to_path_buf)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from(".")),
            run_id,
            operator: operator.clone(),
            inputs,
            incident_started_at,
            skips: answers
                .iter()
                .flat_map(|a| a.steps.iter())
                .filter_map(|(id, ans)| match ans {
                    crate::runbook::model::Answer::Skip(reason)
                        if runbook.step(id).is_some_and(|s| {
                            !matches!(s.kind, StepKind::Manual { .. } | StepKind::Approval { .. })
                        }) =>
                    {
                        Some((id.clone(), reason.clone()))
                    }
                    _ => None,
                })
                .collect(),
        };
        let first = if resumed.is_some() {
            Event::Resumed {
                by: operator.clone(),
                interrupted: {
                    let mut v: Vec<String> = prior.interrupted.iter().cloned().collect();
                    v.sort();
                    v
                },
                adopted,
            }
        } else {
            let runbook_sha = std::fs::read(&runbook_path).map(|b| sha256_hex(&b)).unwrap_or_default();
            let answers_sha = args.answers.as_ref().and_then(|p| std::fs::read(p).ok()).map(|b| sha256_hex(&b));
            let mut genesis =
                Engine::genesis(&spec, runbook_sha, answers_sha, signer_public, provider.name(), speed, caller);
            if let Event::Genesis(g) = &mut genesis {
                g.provenance = crate::event::Provenance {
                    wall: Some(format_timestamp(Timestamp::now())),
                    catalog_sha256: pinned.sha256.clone(),
                    resources: pinned.resources.clone(),
                    endpoint,
                };
            }
            genesis
        };
        let mut tracker = crate::objectives::Tracker::new(&runbook, incident_started_at);
        tracker.step_p50_ms = step_p50_ms;
        tracker.step_p90_ms = spec_p90;
        let mut tracker_for_progress = tracker.clone();
        for r in &prior.vouched {
            tracker_for_progress.observe(r);
        }
        let prior_records = prior.records.clone();
        let (engine, commands) = Engine::new(spec, clock.clone(), provider, sink.clone(), prior);
        crate::inbox::watch(log_path.clone(), &commands);
        if let Some((s3, place)) = bucket_inbox {
            crate::inbox::watch_bucket(s3, place, &commands);
        }
        Ok(Started {
            engine,
            commands,
            first,
            sink,
            tracker: tracker_for_progress,
            prior_records,
            clock,
            answers,
            copy,
            meta: RunMeta {
                runbook,
                runbook_path,
                log_path,
                signed,
                operator,
                mode,
                cloud: if cloud == CloudArg::Sim { "sim" } else { "aws" },
                speed,
                tabletop,
                answers_path: args.answers.clone(),
                junit: args.junit.clone(),
                await_approvals: args.await_approvals,
                copy_problems: vec![],
            },
        })
    }
}

/// The catalog a run begins under, as its genesis records it.
pub(super) struct CatalogPin {
    sha256: Option<String>,
    resources: Vec<String>,
}

impl CatalogPin {
    pub(super) fn of(runbook_path: &Path, dataset: &crate::runbook::model::Dataset) -> CatalogPin {
        let dir = runbook_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let sha256 = std::fs::read(dir.join(crate::runbook::load::CATALOG_FILE)).ok().map(|b| sha256_hex(&b));
        let resources = dataset
            .resources
            .iter()
            .map(|r| {
                format!("{} {} {} {}", r.kind, r.id, r.role, r.region.as_deref().unwrap_or(&dataset.primary.region))
            })
            .collect();
        CatalogPin { sha256, resources }
    }

    /// A resume goes on under the catalog the run began under, or not at all: a bucket
    /// relabelled from `production` to `drill` in between would let a drill write to it.
    pub(super) fn same_as(&self, then: &crate::event::Provenance) -> Result<(), Refused> {
        let Some(was) = &then.catalog_sha256 else { return Ok(()) };
        if self.sha256.as_ref() == Some(was) {
            return Ok(());
        }
        let gone: Vec<&String> = then.resources.iter().filter(|r| !self.resources.contains(r)).collect();
        let new: Vec<&String> = self.resources.iter().filter(|r| !then.resources.contains(r)).collect();
        let what = if gone.is_empty() && new.is_empty() {
            "this dataset's resources are the same; another part of the file changed".to_string()
        } else {
            let list = |v: &[&String]| {
                v.iter().map(|r| format!("`{}`", crate::printable::line(r))).collect::<Vec<_>>().join(", ")
            };
            format!("then {}; now {}", list(&gone), list(&new))
        };
        Err(format!(
            "the catalog ({}) changed since this run began (SHA-256 {} then, {} now): {what}. Resume under the catalog \
             the run began with, or start a new run; nothing was run",
            crate::runbook::load::CATALOG_FILE,
            &was[..was.len().min(16)],
            self.sha256.as_deref().map(|s| &s[..s.len().min(16)]).unwrap_or("none")
        )
        .into())
    }
}

/// Ctrl-C or SIGTERM: stop cleanly, leave the log resumable.
pub fn detach_on_signal(commands: tokio::sync::mpsc::UnboundedSender<crate::engine::Command>, by: String) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = commands.send(crate::engine::Command::Detach { by, reason: "interrupted by a signal".into() });
    });
}

pub fn read_records(path: &Path) -> Vec<crate::event::Record> {
    crate::journal::records(&std::fs::read(path).unwrap_or_default())
}

/// Where a resumed clock goes on from: the last line a signature vouched for. An
/// appended line's time could be anything (an early one would shorten the RTO).
pub(super) fn last_time(log: &Path) -> Option<Timestamp> {
    crate::journal::vouch::Vouched::new(crate::journal::stream_records(log))
        .filter(|(r, vouched)| *vouched && !matches!(r.event, crate::event::Event::Checkpoint { .. }))
        .last()
        .and_then(|(r, _)| parse_timestamp(&r.time).ok())
}

/// A headless resume stops before anything runs when a finished step's outputs held a
/// secret (the log keeps them redacted) and the answers do not say to run it again:
/// the steps after it would otherwise be handed `[redacted]`.
pub(super) fn lost_needs_rerun(prior: &Prior, answers: Option<&Answers>) -> Result<(), Refused> {
    let rerun = |step: &str| {
        answers.is_some_and(|a| {
            a.steps.iter().any(|(s, ans)| s == step && matches!(ans, crate::runbook::model::Answer::Rerun))
        })
    };
    let missing: Vec<&String> = prior.lost.iter().filter(|s| !rerun(s)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names = missing.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    let answer = missing.iter().map(|s| format!("{s}: rerun")).collect::<Vec<_>>().join(", ");
    Err(format!(
        "cannot resume: {names} gave outputs holding a secret, which the log keeps only redacted, and the steps after it would be given `[redacted]`; nothing was run. Run it again by adding `{answer}` under `steps:` in the answers file"
    ).into())
}
