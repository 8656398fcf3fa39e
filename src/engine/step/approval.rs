//! Approvals: who may say yes (the role, how many, four eyes), asked and recorded.

use super::*;
use crate::journal::approval::{self as approval_doc, Decision, Document};

/// "needs a yes from 2 different people with the role incident-commander, not the operator".
pub(super) fn approval_needs(a: &Approval) -> String {
    let who = if a.approvers > 1 {
        format!("{} different people with the role {}", a.approvers, a.role)
    } else {
        format!("the {}", a.role)
    };
    format!("needs a yes from {who}{}", if a.four_eyes { ", not the run's operator (four eyes)" } else { "" })
}

/// Two typed names that a person would read as one are one person: case, runs of white
/// space, invisible characters and the look-alike dashes and full-width forms are folded
/// (`ci‐drill` with U+2010 is `ci-drill`), so four eyes cannot be passed by a name that
/// only differs where no one can see it. Look-alike letters of other scripts are not
/// folded: a typed name is a claim, and only a signed approval proves who gave it.
pub(super) fn same_person(a: &str, b: &str) -> bool {
    skeleton(a) == skeleton(b)
}

fn skeleton(name: &str) -> String {
    let folded: String = name
        .chars()
        .filter(|c| !matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'))
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => '-',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Collects `approvers` yeses from different people with the role. A no, an answer in
/// another role, or the operator's own yes under `four_eyes` is a denial: the step fails
/// and the run cannot go on past it. Under `four_eyes` or `approvers > 1` only signed
/// approvals count, each from a distinct key the trust root names whose principal the
/// roles file gives the role (never the run's key); a typed name there is a denial. A
/// signed approval that does not hold is refused with a warning and the step asks again.
pub(super) async fn approve(ctx: &Ctx, step: &Step, a: &Approval) -> Result<Attempt, Fatal> {
    let role = &a.role;
    let operators = ctx.operators.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let operator = operators.last().cloned().unwrap_or_else(|| ctx.spec.operator.clone());
    let operator = &operator;
    let signatures_only = a.four_eyes || a.approvers > 1;
    let mut given: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut first_ask: Option<u64> = None;
    while given.len() < a.approvers as usize {
        let prompt = match (a.approvers, given.as_slice()) {
            (1, _) => format!("Approval needed from the {role}"),
            (n, []) => format!("Approval 1 of {n} needed from the {role}"),
            (n, done) => {
                format!("Approval {} of {n} needed from the {role} (given by {})", done.len() + 1, done.join(", "))
            }
        };
        let prompt = if a.four_eyes { format!("{prompt}; not {operator}, who runs this (four eyes)") } else { prompt };
        let prompt = if signatures_only { format!("{prompt}; signed approvals only") } else { prompt };
        let prompt = match &a.description {
            Some(d) => format!("{prompt}\n{}", ctx.scope_render(d).unwrap_or_else(|_| d.clone())),
            None => prompt,
        };
        let (answer, asked) = ctx.answer_at(step, Waiting::Approval, Some(prompt)).await?;
        let since = *first_ask.get_or_insert(asked);
        match answer {
            Command::Approve { by, role: claimed, .. } => {
                let refusal = if by.trim().is_empty() {
                    Some("an approval needs the approver's name".to_string())
                } else if signatures_only {
                    Some(format!(
                        "{by} is a typed name, and `{}` needs signed approvals ({}): sign with `lifeboat approve LOG --step {} --sign-key KEY`, or give a standing approval (`{}: {{ signed: FILE }}`) in the answers file",
                        step.id,
                        if a.four_eyes { "four eyes".to_string() } else { format!("{} approvers", a.approvers) },
                        step.id,
                        step.id
                    ))
                } else {
                    claimed
                        .as_ref()
                        .filter(|g| !g.trim().eq_ignore_ascii_case(role))
                        .map(|g| format!("{by} approved as `{g}`, but this step needs the `{role}`"))
                };
                if let Some(why) = refusal {
                    ctx.record(step, Verdict::Deny, &by, claimed.or(Some(role.clone())), Some(why.clone()))?;
                    return Ok(failed(format!("not approved: {why}")));
                }
                ctx.record(step, Verdict::Approve, &by, Some(role.clone()), Some("typed, unverified".into()))?;
                given.push(by);
            }
            Command::Signed { document, signature, .. } => {
                let who = match signed(ctx, step, a, &operators, (&document, &signature), since) {
                    Ok(w) => w,
                    Err(why) => {
                        ctx.emit(Event::Warning {
                            code: "approval_refused".into(),
                            message: format!("a signed approval of `{}` was refused: {why}", step.id),
                        })?;
                        continue;
                    }
                };
                let word = crate::event::SignedWord { document, signature, key: who.key.clone() };
                if who.document.decision() == Decision::Deny {
                    let reason = who.document.reason().map(str::to_string);
                    ctx.record_signed(step, Verdict::Deny, &who.name, Some(role.clone()), reason.clone(), Some(word))?;
                    return Ok(failed(format!(
                        "denied by {} (signed){}",
                        who.name,
                        reason.map(|r| format!(": {r}")).unwrap_or_default()
                    )));
                }
                if keys.contains(&who.key) {
                    ctx.emit(Event::Warning {
                        code: "same_approver".into(),
                        message: format!(
                            "{} has already approved `{}` with this key; it needs {} different people",
                            who.name, step.id, a.approvers
                        ),
                    })?;
                    continue;
                }
                ctx.record_signed(step, Verdict::Approve, &who.name, Some(role.clone()), None, Some(word))?;
                keys.push(who.key);
                given.push(who.name);
            }
            Command::Deny { by, role: claimed, reason, .. } => {
                ctx.record(step, Verdict::Deny, &by, claimed.or(Some(role.clone())), reason.clone())?;
                return Ok(failed(format!("denied by {by}{}", reason.map(|r| format!(": {r}")).unwrap_or_default())));
            }
            Command::Skip { by, reason, .. } => {
                let why = format!("an approval cannot be skipped ({by}: {reason})");
                ctx.record(step, Verdict::Deny, &by, None, Some(why.clone()))?;
                return Ok(failed(format!("not approved: {why}")));
            }
            Command::Detach { reason, .. } => return Ok(Attempt::Detached(reason)),
            other => return Ok(failed(format!("an approval cannot take {other:?}"))),
        }
    }
    Ok(Attempt::Done {
        outputs: Map::from_iter([("approved_by".to_string(), Json::String(given.join(", ")))]),
        recovery_point: None,
    })
}

/// A signed approval that holds: who gave it, with which key.
struct Approver {
    document: Document,
    key: String,
    /// The roles file's principal.
    name: String,
}

/// Checks a signed approval for this step: its signature and key (trust root), its
/// signer's role (roles file), that it is not the run's key nor, under four eyes, anyone
/// who held the run; a live one names this run, this step and the log as it stood when
/// the step asked (`since`: the first time it asked); a standing one this runbook file,
/// a run that is no live one, and a time not past.
fn signed(
    ctx: &Ctx,
    step: &Step,
    a: &Approval,
    operators: &[String],
    (document, signature): (&str, &str),
    since: u64,
) -> Result<Approver, String> {
    let auth = &ctx.spec.authority;
    let Some(trust) = &auth.trust else {
        return Err("there is no trust root (allowed_signers beside datasets.yaml, or LIFEBOAT_ALLOWED_SIGNERS) to say whose key signed it".into());
    };
    let now = Timestamp::now();
    let v = approval_doc::verify(document, signature, trust, now)?;
    if auth.run_key.as_deref() == Some(v.key.as_str()) {
        return Err("it is signed with the key that signs this run's log: a run cannot approve itself".into());
    }
    if v.document.step() != step.id {
        return Err(format!("it is for step `{}`", v.document.step()));
    }
    match &v.document {
        Document::Live { run_id, waiting_seq, log_sha256, .. } => {
            if run_id != &ctx.spec.run_id {
                return Err(format!("it is for run `{run_id}`, not this one"));
            }
            if *waiting_seq < since {
                return Err("it answers an earlier question of this step".into());
            }
            let log = auth.log.as_ref().and_then(|p| std::fs::read(p).ok()).unwrap_or_default();
            let line = log.split(|b| *b == b'\n').nth(*waiting_seq as usize).unwrap_or_default();
            let asks = serde_json::from_slice::<crate::event::Record>(line).is_ok_and(|r| {
                matches!(&r.event, Event::StepWaiting { step: s, waiting_for: Waiting::Approval, .. } if *s == step.id)
            });
            if !asks || approval_doc::log_prefix_sha256(&log, *waiting_seq).as_deref() != Some(log_sha256.as_str()) {
                return Err("it does not name this log as it stood when the step asked".into());
            }
        }
        Document::Standing { runbook_id, .. } => {
            if runbook_id != &ctx.spec.runbook.id {
                return Err(format!("it is for runbook `{runbook_id}`"));
            }
            approval_doc::standing_fits(
                &v.document,
                &auth.runbook_sha256,
                ctx.spec.mode == crate::event::Mode::Live,
                now,
            )?;
        }
    }
    let Some(roles) = &auth.roles else {
        return Err(
            "there is no roles file (roles.yaml beside datasets.yaml): a signature says who, not in what role".into()
        );
    };
    let Some(name) = roles.holders(&a.role).into_iter().find(|p| crate::journal::trust::matches_list(&v.principals, p))
    else {
        return Err(format!("its signer ({}) does not hold the role `{}` in the roles file", v.principals, a.role));
    };
    if a.four_eyes
        && operators.iter().any(|o| same_person(o, name) || v.principals.split(',').any(|p| same_person(o, p)))
    {
        return Err(format!("{name} runs this incident: four eyes needs someone else"));
    }
    Ok(Approver { document: v.document, key: v.key, name: name.to_string() })
}

#[cfg(test)]
mod tests {
    use super::same_person;

    #[test]
    fn names_that_read_the_same_are_the_same_person() {
        for (a, b) in [
            ("ci-drill", "ci\u{2010}drill"),
            ("ci-drill", "CI\u{2212}Drill"),
            ("dana", "da\u{200B}na"),
            ("dana", "\u{FF44}\u{FF41}\u{FF4E}\u{FF41}"),
            ("Dana  Scully", " dana scully "),
        ] {
            assert!(same_person(a, b), "{a:?} vs {b:?}");
        }
        assert!(!same_person("dana", "erik"));
        assert!(!same_person("ci-drill", "ci_drill"));
    }
}
