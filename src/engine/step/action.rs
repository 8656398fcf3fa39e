//! A step's action: its arguments resolved, the typed confirmation naming the real
//! target (after a dry run's plan where there is one), the call, its progress.

use super::*;

pub(super) fn resolve(ctx: &Ctx, with: &Json, poll: Option<&Map<String, Json>>) -> Result<Map<String, Json>, String> {
    let outputs = ctx.outputs.lock().unwrap();
    match (Scope { spec: &ctx.spec, outputs: &outputs, poll }).args(with)? {
        Json::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

/// `s3.restore_to_time bucket=orders-docs-prod time=…` for the log and the screen.
pub(super) fn describe(action: &ActionSpec, args: &Map<String, Json>) -> String {
    let mut out = action.name.to_string();
    for (k, v) in args {
        match v {
            Json::String(s) => out.push_str(&format!(" {k}={s}")),
            other => out.push_str(&format!(" {k}={other}")),
        }
    }
    out
}

/// The name an operator types to confirm a change: the first target the action names
/// (`to.bucket` is a path into the arguments), with its prefix where it has one.
pub(super) fn typed_target(action: &ActionSpec, args: &Map<String, Json>) -> String {
    let at = |path: &str| {
        let mut parts = path.split('.');
        let first = args.get(parts.next()?)?;
        parts.try_fold(first, |v, k| v.get(k))
    };
    action
        .targets
        .iter()
        .find_map(|t| match at(t) {
            Some(Json::String(s)) => Some(s.clone()),
            Some(Json::Object(o)) => o.get("bucket").and_then(Json::as_str).map(str::to_string),
            _ => None,
        })
        .unwrap_or_else(|| action.name.to_string())
}

/// The action's own dry run, summed up for the typed confirmation, and the digest of the
/// plan it wrote where it writes one; an action with no dry run says plainly that it
/// cannot be previewed. A dry run that fails says so in the plan's place: the operator
/// still decides before the real call (which a retry would otherwise make unconfirmed).
pub(super) async fn dry_run_plan(
    ctx: &Ctx,
    step: &Step,
    action: &'static ActionSpec,
    args: &Map<String, Json>,
    limit: Option<StdDuration>,
) -> Result<(Option<String>, Map<String, Json>), Fatal> {
    if !action.params.iter().any(|p| p.name == "dry_run") {
        let why =
            format!("cannot preview: {} has no dry run, so what it will change is not counted first", action.name);
        return Ok((Some(why), Map::new()));
    }
    // The runbook holds the change to a plan an earlier step made: that plan is the
    // preview (planning again would list the bucket once more for the same counts).
    if let Some((by, outputs)) = named_plan(ctx, args) {
        let text = format!("the plan is the one step `{by}` made; the change is held to it");
        ctx.emit(Event::StepOutput { step: step.id.clone(), stream: Stream::Info, text })?;
        ctx.previews.lock().unwrap().insert(step.id.clone(), outputs.clone());
        return Ok((Some(plan_summary(&outputs)), Map::new()));
    }
    let mut dry = args.clone();
    dry.insert("dry_run".into(), Json::Bool(true));
    Ok(match call_action(ctx, step, action, dry, limit, true, None).await? {
        Some(Attempt::Done { outputs, .. }) => {
            // What holds the change to this plan: its digest, and the job it created.
            let mut held = Map::new();
            for (output, param) in [("manifest_sha256", "plan_sha256"), ("batch_job", "job")] {
                if let Some(v) = outputs.get(output).filter(|v| v.is_string()) {
                    held.insert(param.to_string(), v.clone());
                }
            }
            ctx.previews.lock().unwrap().insert(step.id.clone(), outputs.clone());
            (Some(plan_summary(&outputs)), held)
        }
        Some(Attempt::Failed { error, .. }) => {
            (Some(format!("no plan: the dry run failed: {}", error.message)), Map::new())
        }
        Some(_) => (Some("no plan: the dry run did not finish".to_string()), Map::new()),
        None => (
            Some(format!("no plan: the dry run did not finish within {}", step.timeout.unwrap_or_default())),
            Map::new(),
        ),
    })
}

/// The step whose recorded outputs made the plan `args` are held to (`plan_sha256`), and
/// those outputs: a dry run's, in the log.
pub(super) fn named_plan(ctx: &Ctx, args: &Map<String, Json>) -> Option<(String, Map<String, Json>)> {
    let sha = args.get("plan_sha256")?.as_str()?;
    let outputs = ctx.outputs.lock().unwrap();
    let mut found: Vec<_> = outputs
        .iter()
        .filter(|(_, o)| o.get("manifest_sha256").and_then(Json::as_str) == Some(sha))
        .map(|(id, o)| (id.clone(), o.clone()))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.into_iter().next()
}

/// "will roll back 1,800 objects, undelete 200, keep 1 created after the time" from a
/// dry run's outputs.
pub(super) fn plan_summary(outputs: &Map<String, Json>) -> String {
    let n = |k: &str| outputs.get(k).and_then(Json::as_u64).unwrap_or(0);
    let mut s = format!("the plan: roll back {} objects, undelete {}", n("restored"), n("undeleted"));
    match n("newer_kept") {
        0 => {}
        k => s.push_str(&format!(", keep {k} created after the time (listed in the outputs)")),
    }
    // The change that follows is held to this plan: it may do less (a retry), never more.
    if let Some(sha) = outputs.get("manifest_sha256").and_then(Json::as_str) {
        s.push_str(&format!("; manifest sha256 {}…", sha.get(..16).unwrap_or(sha)));
    }
    // A Batch job's own count of what it read from the manifest: what confirming starts.
    if let Some(job) = outputs.get("batch_job").and_then(Json::as_str).filter(|j| *j != "none") {
        s.push_str(&format!(
            "; S3 Batch Operations job {} holds {} copies and starts when you confirm",
            crate::printable::line(job),
            n("batch_tasks")
        ));
    }
    s
}

/// Guard, checkpoint before a change, call with a timeout, and report progress.
/// Which of an action's counts are recorded. Each is a line the log syncs to disk
/// before anyone sees it: a roll-back of ten million objects counting every 25 would
/// write 400,000 lines and wait on as many syncs between its copies. A count is recorded
/// when it is the first, the last, a whole percent on from the last recorded, or a second
/// after it; the screen and a watcher still see it move several times a second at most.
#[derive(Debug, Default)]
struct CountGate {
    last: Option<(std::time::Instant, u64)>,
}

impl CountGate {
    fn pass(&mut self, done: u64, total: u64, now: std::time::Instant) -> bool {
        let percent = (done as u128 * 100 / total.max(1) as u128) as u64;
        let pass = match self.last {
            None => true,
            Some((at, p)) => done >= total || percent > p || now.duration_since(at) >= StdDuration::from_secs(1),
        };
        if pass {
            self.last = Some((now, percent));
        }
        pass
    }
}

/// `preview`: the dry run shown before a typed confirmation; its lines say so, so they
/// are never read as the real call's.
pub(super) async fn call_action(
    ctx: &Ctx,
    step: &Step,
    action: &'static ActionSpec,
    args: Map<String, Json>,
    limit: Option<StdDuration>,
    preview: bool,
    plan: Option<&Map<String, Json>>,
) -> Result<Option<Attempt>, Fatal> {
    let call = ActionCall { spec: action, args, run_id: ctx.spec.run_id.clone(), step: step.id.clone() };
    if let Err(e) = cloud::guard(&call, ctx.spec.mode, &ctx.spec.catalog) {
        return Ok(Some(from_action(e)));
    }
    if action.effect != Effect::Read {
        ctx.sink.checkpoint(ctx.clock.now()).map_err(Fatal)?;
    }
    let sid = step.id.clone();
    let gate = std::sync::Mutex::new(CountGate::default());
    let progress = move |p: Progress| {
        let event = match p {
            Progress::Count { done, total, unit } => {
                if !gate.lock().is_ok_and(|mut g| g.pass(done, total, std::time::Instant::now())) {
                    return;
                }
                Event::StepProgress { step: sid.clone(), done, total, unit: unit.to_string() }
            }
            Progress::Line(text) if preview => Event::StepOutput {
                step: sid.clone(),
                stream: Stream::Info,
                text: format!("preview, before you confirm: {text}"),
            },
            Progress::Line(text) => Event::StepOutput { step: sid.clone(), stream: Stream::Info, text },
            Progress::Created { kind, id, region, version } => {
                Event::ResourceCreated { step: sid.clone(), kind: kind.to_string(), id, region, version }
            }
        };
        let _ = ctx.emit(event);
    };
    let actx = ActionCtx {
        clock: ctx.clock.clone(),
        progress: &progress,
        dataset: &ctx.spec.dataset,
        incident_started_at: ctx.spec.incident_started_at,
        plan,
    };
    tracing::debug!(action = action.name, preview, "calling the cloud");
    let fut = ctx.cloud.call(&call, &actx);
    let result = match limit {
        Some(l) => match crate::clock::timeout(ctx.clock.as_ref(), l, fut).await {
            Some(r) => r,
            None => return Ok(None),
        },
        None => fut.await,
    };
    Ok(Some(match result {
        Ok(r) => Attempt::Done { outputs: r.outputs, recovery_point: r.recovery_point },
        Err(e) => from_action(e),
    }))
}

/// One attempt of an action step: arguments resolved, a restore after the incident
/// flagged, at a keyboard the typed confirmation after the plan, the call held to the plan
/// confirmed.
pub(super) async fn act(
    ctx: &Ctx,
    step: &Step,
    attempt: u32,
    action: &'static ActionSpec,
    with: &Json,
    limit: Option<StdDuration>,
) -> Result<Attempt, Fatal> {
    let mut args = match resolve(ctx, with, None) {
        Ok(a) => a,
        Err(e) => return Ok(failed(format!("arguments cannot be resolved: {e}"))),
    };
    ctx.emit(Event::StepStarted { step: step.id.clone(), attempt, detail: Some(describe(action, &args)) })?;
    if let Some(t) = args.get("time").and_then(Json::as_str).and_then(|t| t.parse::<Timestamp>().ok())
        && action.restores
        && t > ctx.spec.incident_started_at
        && damages_data(ctx)
    {
        ctx.emit(Event::Warning {
            code: "restore_after_incident".into(),
            message: format!(
                "`{}` restores to {}, after the incident began at {}: the data brought back may include the damage",
                step.id,
                format_timestamp(t),
                format_timestamp(ctx.spec.incident_started_at)
            ),
        })?;
    }
    // At a keyboard, a change to what exists waits for the operator to type the
    // resource's name: the screen shows what will change before anything does.
    // (Headless, the answers file and the runbook's review are the consent.)
    let dry = args.get("dry_run").and_then(Json::as_bool).unwrap_or(false);
    if ctx.spec.interactive && attempt == 1 && action.effect == Effect::Modify && !dry {
        // A drill refuses a production write before anyone types anything.
        let call = ActionCall { spec: action, args: args.clone(), run_id: String::new(), step: step.id.clone() };
        if let Err(e) = cloud::guard(&call, ctx.spec.mode, &ctx.spec.catalog) {
            return Ok(from_action(e));
        }
        let target = typed_target(action, &args);
        // Where the action can plan without changing anything, the plan comes
        // first: the name is typed knowing the counts, not only the bucket.
        let (plan, held) = dry_run_plan(ctx, step, action, &args, limit).await?;
        let prompt = crate::event::typed_prompt(&target, action.name, plan.as_deref());
        match ctx.answer(step, Waiting::Confirm, Some(prompt)).await? {
            Command::Confirm { by, .. } => ctx.record(step, Verdict::Confirm, &by, None, None)?,
            Command::Detach { reason, .. } => return Ok(Attempt::Detached(reason)),
            said => return confirmed(ctx, step, said, "failed by", "a change"),
        }
        if !held.is_empty() {
            ctx.confirmed_plans.lock().unwrap().insert(step.id.clone(), held);
        }
    }
    // The change is held to the plan its operator confirmed, on every attempt
    // (unless the runbook names one itself): its digest, and its Batch job.
    let held = ctx.confirmed_plans.lock().unwrap().get(&step.id).cloned().unwrap_or_default();
    for (param, value) in held {
        if !action.params.iter().any(|p| p.name == param) || args.contains_key(&param) {
            continue;
        }
        let text = match (param.as_str(), value.as_str()) {
            ("plan_sha256", Some(sha)) => format!("held to the plan confirmed: manifest sha256 {sha}"),
            (_, Some(job)) => format!("held to the confirmed S3 Batch Operations job {job}"),
            _ => continue,
        };
        ctx.emit(Event::StepOutput { step: step.id.clone(), stream: Stream::Info, text })?;
        args.insert(param, value);
    }
    // A first attempt carries out the confirmed plan as it stands: the preview's,
    // else the plan step's the runbook names (both as the log holds them).
    let plan = (attempt == 1 && !ctx.interrupted.contains(&step.id))
        .then(|| ctx.previews.lock().unwrap().get(&step.id).cloned().or_else(|| named_plan(ctx, &args).map(|p| p.1)))
        .flatten();
    let call = match call_action(ctx, step, action, args, limit, false, plan.as_ref()).await? {
        Some(r) => r,
        None => return Ok(timed_out(step, action.name)),
    };
    Ok(call)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_recorded_first_last_each_percent_and_each_second() {
        let mut g = CountGate::default();
        let t0 = std::time::Instant::now();
        let passed: Vec<u64> = (0..=10_000u64).step_by(25).filter(|d| g.pass(*d, 10_000, t0)).collect();
        assert_eq!(passed.len(), 101, "the first and one a percent: {passed:?}");
        assert_eq!(passed.last(), Some(&10_000), "the last always");
        assert!(g.pass(10_000, 10_000, t0), "the last again, as a retry may say it");
        let mut g = CountGate::default();
        assert!(g.pass(1, 1_000_000, t0));
        assert!(!g.pass(2, 1_000_000, t0 + StdDuration::from_millis(999)));
        assert!(g.pass(3, 1_000_000, t0 + StdDuration::from_secs(1)), "a second on, however little moved");
        assert!(g.pass(0, 0, t0), "nothing to do is its own last count");
    }
}
