//! Approvals: who may say yes (the role, how many, four eyes), asked and recorded.

use super::*;

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
/// and the run cannot go on past it.
pub(super) async fn approve(ctx: &Ctx, step: &Step, a: &Approval) -> Result<Attempt, Fatal> {
    let role = &a.role;
    let operators = ctx.operators.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let operator = operators.last().cloned().unwrap_or_else(|| ctx.spec.operator.clone());
    let operator = &operator;
    let mut given: Vec<String> = Vec::new();
    while given.len() < a.approvers as usize {
        let prompt = match (a.approvers, given.as_slice()) {
            (1, _) => format!("Approval needed from the {role}"),
            (n, []) => format!("Approval 1 of {n} needed from the {role}"),
            (n, done) => {
                format!("Approval {} of {n} needed from the {role} (given by {})", done.len() + 1, done.join(", "))
            }
        };
        let prompt = if a.four_eyes { format!("{prompt}; not {operator}, who runs this (four eyes)") } else { prompt };
        match ctx.answer(step, Waiting::Approval, Some(prompt)).await? {
            Command::Approve { by, role: claimed, .. } => {
                let refusal = if by.trim().is_empty() {
                    Some("an approval needs the approver's name".to_string())
                } else if let Some(g) = claimed.as_ref().filter(|g| !g.trim().eq_ignore_ascii_case(role)) {
                    Some(format!("{by} approved as `{g}`, but this step needs the `{role}`"))
                } else if a.four_eyes && operators.iter().any(|o| same_person(&by, o)) {
                    Some(format!("{by} runs this incident and cannot approve it: four eyes needs someone else"))
                } else {
                    None
                };
                if let Some(why) = refusal {
                    ctx.record(step, Verdict::Deny, &by, claimed.or(Some(role.clone())), Some(why.clone()))?;
                    return Ok(failed(format!("not approved: {why}")));
                }
                if given.iter().any(|g| same_person(g, &by)) {
                    ctx.emit(Event::Warning {
                        code: "same_approver".into(),
                        message: format!(
                            "{by} has already approved `{}`; it needs {} different people",
                            step.id, a.approvers
                        ),
                    })?;
                    continue;
                }
                ctx.record(step, Verdict::Approve, &by, Some(role.clone()), None)?;
                given.push(by);
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
