//! One attempt of a `run:` step: the command bound (values through the environment,
//! never the shell's syntax), run under its gate, its output batched to the log and kept
//! aside past the cap, its expectations checked; in a rehearsal, asked instead.

use super::*;

pub(super) async fn run(
    ctx: &Ctx,
    step: &Step,
    attempt: u32,
    command: &str,
    expect: &crate::runbook::model::Expect,
    limit: Option<StdDuration>,
) -> Result<Attempt, Fatal> {
    let bound = {
        let outputs = ctx.outputs.lock().unwrap();
        Scope { spec: &ctx.spec, outputs: &outputs, poll: None }.command(command)
    };
    let bound = match bound {
        Ok(c) => c,
        Err(e) => return Ok(failed(format!("the command cannot be resolved: {e}"))),
    };
    ctx.emit(Event::StepStarted { step: step.id.clone(), attempt, detail: Some(bound.shown.clone()) })?;
    if !ctx.spec.execute_commands {
        let prompt = format!("Rehearsal: not executed. How did `{}` go?", bound.shown);
        let said = ctx.answer(step, Waiting::Outcome, Some(prompt)).await?;
        return confirmed(ctx, step, said, "reported failed by", "a rehearsed command");
    }
    let mut env = bound.env;
    env.extend([
        ("LIFEBOAT_RUN_ID".to_string(), ctx.spec.run_id.clone()),
        ("LIFEBOAT_STEP".to_string(), step.id.clone()),
        ("LIFEBOAT_MODE".to_string(), ctx.spec.mode.as_str().to_string()),
        ("LIFEBOAT_CLOUD".to_string(), ctx.cloud.name().to_string()),
    ]);
    let sid = step.id.clone();
    let aside = Mutex::new(Aside::new(ctx.sink.log_path(), &step.id, attempt));
    let on_output = |stream: Stream, text: String| {
        let route = aside.lock().unwrap_or_else(|e| e.into_inner()).route(text, |t| ctx.sink.redact(t));
        let _ = match route {
            Route::Log(text) => ctx.emit(Event::StepOutput { step: sid.clone(), stream, text }),
            Route::Notice(text) => ctx.emit(Event::StepOutput { step: sid.clone(), stream: Stream::Info, text }),
            Route::Aside => return,
        };
    };
    // The group goes on record before the command may start (shell.rs holds it
    // at a gate until then): a resume after lifeboat dies must find and stop it
    // before anything runs again.
    let on_start = |pid: u32| {
        let (boot_id, start_ticks) = shell::identity(pid).unwrap_or_default();
        ctx.emit(Event::ProcessStarted { step: sid.clone(), pgid: pid, boot_id, start_ticks }).is_ok()
    };
    // A real command takes real time, whatever the rehearsal's speed.
    let _real = ctx.clock.real_time();
    let mut r = match shell::run(
        &bound.script,
        &ctx.spec.workdir,
        &env,
        ctx.clock.as_ref(),
        limit,
        &on_start,
        &on_output,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return Ok(failed(format!("cannot start `sh`: {e}"))),
    };
    if let Some(e) = aside.into_inner().unwrap_or_else(|e| e.into_inner()).finish() {
        ctx.emit(e)?;
    }
    // An output's name is structure, never redacted: one that holds a secret is
    // dropped and the step fails, rather than the secret go to the log as a key.
    let named: Vec<String> = r.outputs.keys().filter(|k| ctx.sink.holds_secret(k)).cloned().collect();
    if !named.is_empty() {
        r.outputs.retain(|k, _| !named.contains(k));
        return Ok(Attempt::Failed {
            error: StepError {
                message: format!(
                    "the command wrote {} output(s) to $LIFEBOAT_OUTPUT whose name holds a secret: dropped, not recorded",
                    named.len()
                ),
                code: Some("SecretInOutputName".into()),
                hint: Some(
                    "name outputs with fixed words (`dsn=…`) and put the secret in the value, where it is redacted"
                        .into(),
                ),
            },
            retryable: false,
            outputs: r.outputs,
        });
    }
    let left = &r.leftovers;
    if left.killed > 0 || !left.survivors.is_empty() {
        let survived = if left.survivors.is_empty() {
            String::new()
        } else {
            format!(
                "; {} could not be killed and still run (pid {})",
                left.survivors.len(),
                left.survivors.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            )
        };
        ctx.emit(Event::Warning {
            code: "leftover_processes".into(),
            message: format!(
                "`{}`: `sh` exited but {} process(es) it started were still running: killed, and seen gone \
                 (the step ends with its command){survived}",
                step.id, left.killed
            ),
        })?;
    }
    if r.timed_out {
        return Ok(timed_out(step, "the command"));
    }
    let code = r.exit_code.map_or(-1, |c| c);
    if code != expect.exit_code as i32 {
        return Ok(Attempt::Failed {
            error: StepError {
                message: format!("exit code {code}, expected {}", expect.exit_code),
                code: None,
                hint: Some("see the command's output above".into()),
            },
            retryable: true,
            outputs: r.outputs,
        });
    }
    if let Some(want) = &expect.stdout_contains {
        let want = ctx.scope_render(want).unwrap_or_else(|_| want.clone());
        if !r.stdout.contains(&want) {
            return Ok(Attempt::Failed {
                error: StepError { message: format!("the output does not contain `{want}`"), code: None, hint: None },
                retryable: true,
                outputs: r.outputs,
            });
        }
    }
    Ok(Attempt::Done { outputs: r.outputs, recovery_point: None })
}
