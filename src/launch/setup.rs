//! What the flags mean: the runbook, answers and injects loaded and checked, inputs
//! resolved, the signer unlocked, the credentials' account known — all before anything
//! runs, so a refusal leaves nothing behind.

use super::*;

/// How long after the incident a rehearsal begins: detection and paging count too.
pub(super) const PAGING_DELAY_SECS: i64 = 5 * 60;

/// The fastest clock: beyond it, the machine's own milliseconds of work would count as
/// minutes of virtual time and decide timeouts and the RTO.
pub const MAX_SPEED: u32 = 10_000;

/// How far ahead of this machine's clock an incident time may be (clock skew between
/// the machine that noted it and this one) before it is refused as in the future.
pub(super) const FUTURE_SKEW_SECS: i64 = 5 * 60;

/// Who the AWS credentials belong to (STS GetCallerIdentity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// A message for the operator, printed as `error: …` at the binary edge.
pub(super) fn err(msg: impl std::fmt::Display) -> Refused {
    msg.to_string().into()
}

/// Who runs this: the log names a person, never a placeholder.
pub(super) fn operator(args: &RunArgs, answers: Option<&Answers>) -> Option<String> {
    named(args.operator.clone()).or_else(|| operator_named(answers.and_then(|a| a.operator.clone())))
}

pub(super) fn named(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `given`, else $LIFEBOAT_OPERATOR, else $USER (blank names are no names).
pub fn operator_named(given: Option<String>) -> Option<String> {
    named(given)
        .or_else(|| named(std::env::var("LIFEBOAT_OPERATOR").ok()))
        .or_else(|| named(std::env::var("USER").ok()))
}

/// Checks a value against an input's type and choices.
pub(super) fn check_input(rb: &Runbook, name: &str, value: &str) -> Result<(), String> {
    let Some(def) = rb.inputs.iter().find(|i| i.name == name) else { return Ok(()) };
    let ok = match def.ty {
        InputType::String => Ok(()),
        InputType::Timestamp => parse_timestamp(value).map(|_| ()),
        InputType::Duration => Duration::parse(value).map(|_| ()),
        InputType::Bool => {
            matches!(value, "true" | "false").then_some(()).ok_or_else(|| "expected true or false".into())
        }
        InputType::Int => value.parse::<i64>().map(|_| ()).map_err(|_| "expected a whole number".into()),
    };
    ok.map_err(|why| format!("input `{name}`: `{value}` is not valid: {why}"))?;
    if !def.choices.is_empty() && !def.choices.iter().any(|c| c == value) {
        return Err(format!("input `{name}` must be one of: {}", def.choices.join(", ")));
    }
    Ok(())
}

/// An input's value from the answers file, then the environment, then its default.
pub(super) fn input_value(
    def: &crate::runbook::model::InputDef,
    answers: Option<&Answers>,
    now: Timestamp,
) -> Option<String> {
    answers
        .and_then(|a| a.input(&def.name).map(str::to_string))
        .or_else(|| def.env.as_ref().and_then(|e| std::env::var(e).ok()))
        .or_else(|| match &def.default {
            Some(InputDefault::Now) => Some(format_timestamp(now)),
            Some(InputDefault::Value(v)) => Some(v.clone()),
            None => None,
        })
}

/// Inputs from the answers file, then the environment, then defaults.
pub(super) fn resolve_inputs(
    rb: &Runbook,
    answers: Option<&Answers>,
    now: Timestamp,
) -> Result<BTreeMap<String, String>, Refused> {
    let mut out = BTreeMap::new();
    for def in &rb.inputs {
        let Some(value) = input_value(def, answers, now) else {
            let from = def.env.as_ref().map(|e| format!(", or set ${e}")).unwrap_or_default();
            return Err(format!(
                "input `{}` has no value: give it under `inputs:` in the answers file{from}",
                def.name
            )
            .into());
        };
        check_input(rb, &def.name, &value)?;
        out.insert(def.name.clone(), value);
    }
    Ok(out)
}

/// Asks a person for the passphrase of a signing key (the command line does; the
/// terminal UI never does, holding the terminal in raw mode).
pub type AskPassphrase<'a> = &'a dyn Fn(&Path) -> Option<String>;

/// The signing key, unlocked now, before any screen takes the terminal.
pub(super) fn load_signer(args: &RunArgs, ask: Option<AskPassphrase>) -> Result<Option<Signer>, Refused> {
    let Some(path) = &args.sign_key else { return Ok(None) };
    Signer::load(path, || std::env::var("LIFEBOAT_SIGN_KEY_PASSPHRASE").ok().or_else(|| ask.and_then(|ask| ask(path))))
        .map(Some)
        .map_err(|e| e.to_string().into())
}

/// The trust root (as `verify` finds it) and `roles.yaml` beside the runbook's catalog,
/// checked as `validate` checks them.
pub(super) fn authority(ws: &mut Workspace, runbook_path: &Path) -> Result<crate::engine::Authority, Refused> {
    let dir = runbook_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let trust = crate::journal::trust::load(None, dir)?.map(|(_, t)| t);
    let roles = ws.roles_in(dir);
    let path = dir.join(crate::runbook::load::ROLES_FILE);
    if roles.is_none() && path.is_file() {
        let i = ws.add(&path);
        let report = ws.file(i).report();
        return Err(
            format!("{}`{}` is not a valid roles file; nothing was run", report.render(), path.display()).into()
        );
    }
    Ok(crate::engine::Authority { trust, roles, ..Default::default() })
}

/// What the operator chooses on the start form (or the flags choose for them).
#[derive(Debug, Clone)]
pub struct Choice {
    /// `None`: from the answers file, the environment and the defaults.
    pub inputs: Option<BTreeMap<String, String>>,
    pub operator: String,
    pub mode: ChosenMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenMode {
    Live,
    Drill,
    Tabletop,
}

impl ChosenMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ChosenMode::Live => "live",
            ChosenMode::Drill => "drill",
            ChosenMode::Tabletop => "tabletop",
        }
    }
}

/// Everything checked and loaded; nothing started, no log written.
pub struct Setup {
    pub args: RunArgs,
    pub tabletop: bool,
    pub runbook: Runbook,
    pub runbook_path: PathBuf,
    pub catalog: crate::runbook::model::Catalog,
    pub dataset: crate::runbook::model::Dataset,
    pub answers: Option<Answers>,
    pub(super) injects: Vec<crate::cloud::sim::Inject>,
    pub resumed: Option<crate::event::Genesis>,
    /// Who the AWS credentials belong to, asked before anything starts (`preflight`).
    pub identity: Option<Result<Identity, String>>,
    pub(super) signer: Option<Signer>,
    pub(super) operator: String,
    /// The trust root and the roles file beside the catalog: who may approve with a key.
    pub(super) authority: crate::engine::Authority,
}

impl Setup {
    /// `ask`: how to ask for a key's passphrase, where a person can be asked. An error
    /// holds the whole diagnostic (file, line, column) for the caller to show.
    pub fn load(mut args: RunArgs, tabletop: bool, ask: Option<AskPassphrase>) -> Result<Setup, Refused> {
        // One forgotten flag in CI must not be a production change: a headless run has
        // no start form where a person sees where it goes, so it names its cloud (a
        // resume goes where the run went).
        if args.headless && !tabletop && args.cloud.is_none() && args.resume.is_none() {
            return Err(err(
                "a headless run names its cloud: `--cloud aws` to run against AWS for real, `--cloud sim` to replay on the simulated cloud; nothing was run",
            ));
        }
        let cloud = args.cloud.unwrap_or(if tabletop { CloudArg::Sim } else { CloudArg::Aws });
        // A flag the command cannot honour is refused, never quietly ignored.
        if tabletop && cloud == CloudArg::Aws {
            return Err(err(
                "a tabletop rehearsal runs on the simulated cloud; use `lifeboat run --mode drill` for a drill against AWS",
            ));
        }
        if tabletop && let Some(m) = args.mode {
            return Err(err(format!(
                "`tabletop` is a rehearsal on the simulated cloud and cannot be a {} run; use `lifeboat run --mode {}`",
                if m == ModeArg::Drill { "drill" } else { "live" },
                if m == ModeArg::Drill { "drill" } else { "live" },
            )));
        }
        if cloud == CloudArg::Aws && args.speed.is_some() {
            return Err(err(
                "`--speed` sets the simulated cloud's clock; a run against AWS keeps real time (drop `--speed`, or use `--cloud sim`)",
            ));
        }
        if cloud == CloudArg::Aws && args.injects.is_some() {
            return Err(err("`--injects` plays failures on the simulated cloud only; drop it, or use `--cloud sim`"));
        }
        if args.await_approvals.is_some() && !args.headless {
            return Err(err("`--await-approvals` is for headless runs; at a terminal the approval dialog waits"));
        }
        if cloud == CloudArg::Sim && args.account_mismatch_ok {
            return Err(err("`--account-mismatch-ok` is about AWS credentials; the simulated cloud has none"));
        }
        // What the log already holds, when resuming.
        let resumed = match &args.resume {
            Some(log) => match std::fs::read(log) {
                Ok(bytes) => {
                    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
                    match serde_json::from_slice::<crate::event::Record>(first) {
                        Ok(crate::event::Record { event: Event::Genesis(g), .. }) => Some(*g),
                        _ => {
                            return Err(err(format!(
                                "`{}` does not start with a lifeboat genesis line",
                                log.display()
                            )));
                        }
                    }
                }
                Err(e) => return Err(err(format!("cannot read `{}`: {e}", log.display()))),
            },
            None => None,
        };
        // A resume without `--cloud` goes on where the run began, never to AWS by default.
        if let (None, Some(g)) = (args.cloud, &resumed) {
            args.cloud = Some(if g.cloud == "aws" { CloudArg::Aws } else { CloudArg::Sim });
        }
        let runbook_path = match (&args.runbook, &resumed) {
            (Some(p), _) => p.clone(),
            (None, Some(g)) => match find_runbook(&args.dir, &g.runbook_id) {
                Some(p) => p,
                None => {
                    return Err(err(format!(
                        "runbook `{}` is not in `{}`; name its file",
                        g.runbook_id,
                        args.dir.display()
                    )));
                }
            },
            (None, None) => return Err(err("name a runbook file (or --resume LOG)")),
        };

        if !runbook_path.is_file() {
            return Err(err(format!(
                "there is no runbook file `{}`{}; nothing was run",
                runbook_path.display(),
                if runbook_path.exists() { " (it is a folder)" } else { "" }
            )));
        }
        // Load and check everything before anything runs.
        let mut ws = Workspace::default();
        let i = ws.add(&runbook_path);
        ws.check(i);
        let Some(runbook) = ws.runbook(i).cloned() else {
            return Err(Refused {
                diagnostics: Some(ws.file(i).report().render()),
                why: format!("`{}` is not a valid runbook; nothing was run", runbook_path.display()),
            });
        };
        let catalog = ws.catalog_for(&runbook_path).cloned().expect("a valid runbook has a catalog");
        let dataset = catalog.get(&runbook.dataset).cloned().expect("a valid runbook's dataset exists");
        let answers = match &args.answers {
            Some(path) => {
                let a = ws.add(path);
                if !matches!(ws.file(a).doc, Some(Doc::Answers(_))) && ws.file(a).cx.diags.is_empty() {
                    return Err(err(format!("`{}` is not an answers file", path.display())));
                }
                ws.check(a);
                let report = ws.file(a).report();
                if report.errors() > 0 {
                    return Err(format!("{}`{}` has errors; nothing was run", report.render(), path.display()).into());
                }
                // Check the answers against this runbook too, even without `runbook:`.
                let mut cx = crate::runbook::decode::Cx::default();
                if let Some(Doc::Answers(raw)) = &ws.file(a).doc {
                    let checked = crate::runbook::check::answers(raw, Some(&runbook), &mut cx);
                    // Warnings (a typed name under four eyes) are said when the step is
                    // reached; only errors keep the run from starting.
                    cx.diags.retain(|d| d.severity() == crate::runbook::diag::Severity::Error);
                    if !cx.diags.is_empty() {
                        let r = crate::runbook::diag::FileReport {
                            path: path.clone(),
                            source: ws.file(a).source.clone(),
                            diags: cx.diags,
                        };
                        return Err(format!(
                            "{}`{}` does not fit runbook `{}`; nothing was run",
                            r.render(),
                            path.display(),
                            runbook.id
                        )
                        .into());
                    }
                    checked
                } else {
                    None
                }
            }
            None => None,
        };
        let mut injects = Vec::new();
        if let Some(path) = &args.injects {
            let k = ws.add(path);
            ws.check(k);
            let report = ws.file(k).report();
            if report.errors() > 0 {
                return Err(format!("{}`{}` has errors; nothing was run", report.render(), path.display()).into());
            }
            let Some(Doc::Injects(raw)) = &ws.file(k).doc else {
                return Err(err(format!("`{}` is not an injects file (kind: Injects)", path.display())));
            };
            for i in raw.injects.iter().flatten() {
                let text = |v: &Option<crate::runbook::yaml::Sp<String>>| v.as_ref().map(|x| x.value.clone());
                let code = text(&i.error).unwrap_or_default();
                injects.push(crate::cloud::sim::Inject {
                    action: text(&i.action),
                    step: text(&i.step),
                    operation: text(&i.operation),
                    message: text(&i.message).unwrap_or_else(|| format!("{code} (injected)")),
                    code,
                    times: i.times.as_ref().map_or(1, |t| t.value),
                    retryable: i.retryable.as_ref().is_some_and(|r| r.value),
                });
            }
        }
        if let (Some(g), Ok(bytes)) = (&resumed, std::fs::read(&runbook_path))
            && g.runbook_sha256 != sha256_hex(&bytes)
        {
            return Err(err(format!(
                "`{}` changed since this run started (its SHA-256 differs from the log's); resume with the runbook as it was",
                runbook_path.display()
            )));
        }

        let operator = operator(&args, answers.as_ref()).unwrap_or_default();
        let signer = load_signer(&args, ask)?;
        let authority = authority(&mut ws, &runbook_path)?;
        Ok(Setup {
            authority,
            operator,
            args,
            tabletop,
            runbook,
            runbook_path,
            catalog,
            dataset,
            answers,
            injects,
            resumed,
            identity: None,
            signer,
        })
    }

    /// Where actions go.
    pub fn cloud(&self) -> CloudArg {
        self.args.cloud.unwrap_or(if self.tabletop { CloudArg::Sim } else { CloudArg::Aws })
    }

    /// The modes this command can start: a rehearsal is only ever a rehearsal.
    pub fn modes(&self) -> Vec<ChosenMode> {
        if self.tabletop {
            vec![ChosenMode::Tabletop]
        } else {
            vec![ChosenMode::Live, ChosenMode::Drill, ChosenMode::Tabletop]
        }
    }

    /// Before a run against AWS: whose credentials these are (STS GetCallerIdentity), so
    /// the confirmation names the real account and a wrong one is refused.
    pub async fn preflight(&mut self) {
        if self.cloud() == CloudArg::Aws && !self.tabletop && self.identity.is_none() {
            let aws = crate::cloud::aws::Aws::from_env().await;
            self.identity = Some(caller_identity(&aws).await);
        }
    }

    /// The catalog's account for the dataset, when the credentials belong to another.
    pub(super) fn other_account(&self, id: &Identity) -> Option<&str> {
        self.dataset.primary.account.as_deref().filter(|want| *want != id.account)
    }

    /// Refuses a live or drill run whose credentials are not the catalog's account for
    /// the dataset (unless `--account-mismatch-ok`); returns what the genesis records.
    pub(super) fn check_identity(&self) -> Result<Option<crate::event::Caller>, Refused> {
        let Some(found) = &self.identity else {
            return Err("the AWS credentials were not checked (STS GetCallerIdentity); nothing was run".into());
        };
        let id = found.clone().map_err(|e| {
            format!("cannot tell whose AWS credentials these are (STS GetCallerIdentity failed: {e}); nothing was run")
        })?;
        if let Some(want) = self.other_account(&id)
            && !self.args.account_mismatch_ok
        {
            return Err(format!(
                "the AWS credentials are for account {} ({}), but the catalog puts dataset `{}` in account {want}; nothing was run. Use the right profile, or pass --account-mismatch-ok to go on (it is recorded)",
                id.account, id.arn, self.dataset.id
            ).into());
        }
        let account_mismatch_ok = self.other_account(&id).is_some();
        Ok(Some(crate::event::Caller { account: id.account, arn: id.arn, account_mismatch_ok }))
    }

    /// The operator: the flag, the answers file, `LIFEBOAT_OPERATOR`, then `$USER`.
    pub fn operator(&self) -> String {
        self.operator.clone()
    }

    pub fn default_choice(&self) -> Choice {
        let mode = match (self.tabletop, self.args.mode) {
            (true, _) => ChosenMode::Tabletop,
            (false, Some(ModeArg::Drill)) => ChosenMode::Drill,
            (false, _) => ChosenMode::Live,
        };
        Choice { inputs: None, operator: self.operator(), mode }
    }

    /// The value each input starts with on the form: answers, environment, default.
    pub fn prefill(&self, now: Timestamp) -> Vec<(crate::runbook::model::InputDef, String)> {
        self.runbook
            .inputs
            .iter()
            .map(|def| (def.clone(), input_value(def, self.answers.as_ref(), now).unwrap_or_default()))
            .collect()
    }

    /// Checks one input's value as the form and the answers file are checked.
    pub fn check_input(&self, name: &str, value: &str) -> Result<(), String> {
        check_input(&self.runbook, name, value)
    }

    /// Where a run with this choice acts: the account and region it names on the form.
    pub fn target(&self, mode: ChosenMode) -> String {
        match (mode, self.args.cloud) {
            (ChosenMode::Tabletop, _) | (_, Some(CloudArg::Sim)) => "the simulated cloud".into(),
            _ => match &self.identity {
                Some(Ok(id)) => {
                    let mismatch = self
                        .other_account(id)
                        .map(|want| format!(" — NOT the catalog's account {want}"))
                        .unwrap_or_default();
                    format!("AWS account {} as {} in {}{mismatch}", id.account, id.arn, self.dataset.primary.region)
                }
                Some(Err(e)) => format!("AWS (credentials not usable: {e})"),
                None => format!("AWS in {} (credentials not checked yet)", self.dataset.primary.region),
            },
        }
    }

    /// What `start` would refuse with this choice, before anything is written: the form
    /// says it and stays, rather than the screen closing on it.
    pub fn refusal(&self, choice: &Choice) -> Option<String> {
        self.refused_before_start(choice).err().map(|r| r.why)
    }

    pub(super) fn refused_before_start(&self, choice: &Choice) -> Result<Option<crate::event::Caller>, Refused> {
        if self.tabletop && choice.mode != ChosenMode::Tabletop {
            return Err("a tabletop rehearsal cannot become a live or drill run; use `lifeboat run`".into());
        }
        if choice.operator.trim().is_empty() {
            return Err("nobody is named as the operator, and the log must say who ran this: pass --operator NAME, \
                 set LIFEBOAT_OPERATOR, or give `operator:` in the answers file (nothing was run)"
                .into());
        }
        let tabletop = choice.mode == ChosenMode::Tabletop;
        let cloud = if tabletop { CloudArg::Sim } else { self.cloud() };
        if cloud == CloudArg::Aws { self.check_identity() } else { Ok(None) }
    }
}

/// Who the credentials belong to, through the STS port.
pub(super) async fn caller_identity(cloud: &dyn crate::cloud::port::Backend) -> Result<Identity, String> {
    let at = crate::cloud::port::Reach { region: String::new(), role_arn: None, clock: Arc::new(SystemClock) };
    let sts = cloud.sts(&at).await.map_err(|e| e.to_string())?;
    let c = sts.caller_identity().await.map_err(|e| match e.code.as_str() {
        "NoCredentialsOrNoRoute" | "InvalidResponse" => e.message,
        _ => e.to_string(),
    })?;
    Ok(Identity { account: c.account, arn: c.arn })
}

/// The runbook of a resumed log: its genesis names it.
pub(super) fn find_runbook(dir: &Path, id: &str) -> Option<PathBuf> {
    crate::runbook::load::yaml_files(dir).ok()?.into_iter().find(|p| {
        matches!(crate::runbook::load::read(p).doc, Some(Doc::Runbook(r)) if r.id.as_ref().is_some_and(|x| x.value == id))
    })
}
