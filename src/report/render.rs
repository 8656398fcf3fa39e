//! A summary as Markdown, JSON and JUnit XML: the same verdict in each.

use super::*;

pub(super) fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "—",
    }
}

/// The RTO's verdict as the report and JUnit say it; "—" while the run is unfinished.
pub(super) fn rto_words(s: &Summary) -> Option<String> {
    Some(crate::objectives::rto_words(s.rto_ms?, s.rto_objective_ms, s.service_restored.unwrap_or(false)))
}

pub(super) fn rto_cell(s: &Summary) -> String {
    match (s.rto_met, s.rto_ms, s.service_restored) {
        (Some(true), ..) => "met".into(),
        (Some(false), _, Some(false) | None) => "**not met: service not restored**".into(),
        (Some(false), Some(ms), _) => {
            format!("**not met: {} over**", human_ms(ms.saturating_sub(s.rto_objective_ms)))
        }
        _ => yes_no(s.rto_met).into(),
    }
}

pub fn markdown(s: &Summary) -> String {
    let mut md = String::new();
    md += &format!("# {} — {}\n\n", s.runbook_id, s.verdict());
    use crate::printable::cell;
    md += &format!(
        "| | |\n|---|---|\n| run | `{}` |\n| dataset | `{}` |\n| mode | {} on {} |\n| operator | {} |\n| incident started | {} |\n",
        cell(&s.run_id),
        cell(&s.dataset),
        cell(&s.mode),
        cell(&s.cloud),
        cell(&s.operator),
        cell(&s.incident_started_at)
    );
    if let Some(r) = &s.reason {
        md += &format!("| outcome | {} |\n", cell(r));
    }
    if let Some(e) = &s.endpoint {
        md += &format!("| **endpoint** | {} (not AWS's own: this run proves nothing about AWS) |\n", cell(e));
    }
    for a in &s.adopted {
        md += &format!("| **unsigned lines** | {} |\n", cell(a));
    }
    md += &format!(
        "| log | {} |\n\n",
        cell(&s.verification.clone().unwrap_or_else(|| if s.signed {
            "signed".into()
        } else {
            "chained, unsigned".into()
        }))
    );
    md += "## Objectives\n\n| | objective | achieved | |\n|---|---|---|---|\n";
    md += &format!(
        "| RTO | {} | {} | {} |\n",
        human_ms(s.rto_objective_ms),
        s.rto_ms.map(human_ms).unwrap_or("—".into()),
        rto_cell(s)
    );
    md += &format!(
        "| RPO | {} | {} | {} |\n\n",
        human_ms(s.rpo_objective_ms),
        s.rpo_ms.map(human_ms).unwrap_or("—".into()),
        yes_no(s.rpo_met)
    );
    if !s.inputs.is_empty() {
        md += "## Inputs\n\n| input | value |\n|---|---|\n";
        for (k, v) in &s.inputs {
            md += &format!("| {} | {} |\n", cell(k), cell(&json_text(v)));
        }
        md += "\n";
    }
    md += "## Phases\n\n| phase | budget | took | |\n|---|---|---|---|\n";
    for p in &s.phases {
        md += &format!(
            "| {} | {} | {} | {} |\n",
            p.id,
            human_ms(p.budget_ms),
            p.elapsed_ms.map(human_ms).unwrap_or("—".into()),
            if p.over_budget { "**over budget**" } else { "" }
        );
    }
    md += "\n## Steps\n\n| step | phase | status | took | detail |\n|---|---|---|---|---|\n";
    for st in &s.steps {
        let status = st.status.map(|x| format!("{x:?}").to_lowercase()).unwrap_or_else(|| "interrupted".into());
        let mut detail = st.reason.clone().unwrap_or_default();
        if let Some(rp) = &st.recovery_point {
            detail = format!("recovery point {rp}");
        }
        if let Some(h) = &st.hint {
            detail += &format!(" (hint: {h})");
        }
        md +=
            &format!("| {} | {} | {} | {} | {} |\n", st.id, st.phase, status, human_ms(st.duration_ms), cell(&detail));
    }
    if s.steps.iter().any(|st| !st.outputs.is_empty()) {
        md += "\n## Outputs\n\n| step | output | value |\n|---|---|---|\n";
        for st in s.steps.iter().filter(|st| !st.outputs.is_empty()) {
            for (k, v) in &st.outputs {
                md += &format!("| {} | {} | {} |\n", cell(&st.id), cell(k), cell(&json_text(v)));
            }
        }
    }
    if !s.created.is_empty() {
        md += "\n## Resources created\n\n| step | kind | id | region | when (UTC) |\n|---|---|---|---|---|\n";
        for c in &s.created {
            md += &format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&c.step),
                cell(&c.kind),
                cell(&c.id),
                cell(&c.region),
                cell(&c.time)
            );
        }
    }
    if !s.sign_offs.is_empty() {
        md += "\n## Sign-offs\n\n";
        for line in &s.sign_offs {
            md += &format!("- {}\n", cell(line).replace('<', "&lt;"));
        }
    }
    if !s.teardown.is_empty() {
        md += "\n## Teardown\n\n| outcome | kind | id | region | why | when (UTC) |\n|---|---|---|---|---|---|\n";
        for t in &s.teardown {
            let id = match &t.version {
                Some(v) => format!("{} (version {v})", t.id),
                None => t.id.clone(),
            };
            md += &format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                format!("{:?}", t.outcome).to_lowercase(),
                cell(&t.kind),
                cell(&id),
                cell(&t.region),
                cell(t.reason.as_deref().unwrap_or("")),
                cell(&t.time)
            );
        }
    }
    if !s.participants.is_empty() {
        md += "\n## Participants\n\n| who | what they did |\n|---|---|\n";
        for p in &s.participants {
            md += &format!("| {} | {} |\n", cell(&p.name), cell(&p.did.join("; ")));
        }
    }
    if !s.checklists.is_empty() {
        md += "\n## Checklists\n\n| step | item | state | by | when (UTC) |\n|---|---|---|---|---|\n";
        for c in &s.checklists {
            md += &format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&c.step),
                cell(&c.text),
                if c.ticked { "☑ ticked" } else { "☐ unticked" },
                cell(&c.by),
                cell(&c.time)
            );
        }
    }
    md += "\n## Timeline\n\n| time (UTC) | who | what |\n|---|---|---|\n";
    for e in &s.timeline {
        md += &format!("| {} | {} | {} |\n", cell(&e.time), cell(&e.who.clone().unwrap_or_default()), cell(&e.what));
    }
    md
}

pub fn json(s: &Summary) -> String {
    serde_json::to_string_pretty(s).expect("summaries serialize")
}

pub fn junit(s: &Summary) -> String {
    let mut suite = TestSuite::new(s.runbook_id.clone());
    for st in &s.steps {
        let mut status = match st.status {
            Some(StepStatus::Done) => TestCaseStatus::success(),
            Some(StepStatus::Skipped) => TestCaseStatus::skipped(),
            Some(StepStatus::Failed) => TestCaseStatus::non_success(NonSuccessKind::Failure),
            None => TestCaseStatus::non_success(NonSuccessKind::Error),
        };
        if let Some(reason) = &st.reason {
            status.set_message(reason.clone());
        } else if st.status.is_none() {
            status.set_message("interrupted: the step did not finish");
        }
        let mut case = TestCase::new(st.id.clone(), status);
        case.set_classname(format!("{}.{}", s.runbook_id, st.phase));
        case.set_time(StdDuration::from_millis(st.duration_ms));
        suite.add_test_case(case);
    }
    for (name, met, achieved, objective) in
        [("RTO", s.rto_met, s.rto_ms, s.rto_objective_ms), ("RPO", s.rpo_met, s.rpo_ms, s.rpo_objective_ms)]
    {
        let met = if s.unsigned_decides { Some(false) } else { met };
        let mut status = match met {
            Some(true) => TestCaseStatus::success(),
            Some(false) => TestCaseStatus::non_success(NonSuccessKind::Failure),
            None => TestCaseStatus::skipped(),
        };
        status.set_message(match (name, rto_words(s)) {
            _ if s.unsigned_decides => format!("{name} not proven: {}", s.verdict()),
            ("RTO", Some(words)) => format!("RTO {words}"),
            _ => format!(
                "{name} {} against an objective of {}",
                achieved.map(human_ms).unwrap_or("not measured".into()),
                human_ms(objective)
            ),
        });
        let mut case = TestCase::new(format!("objective {name}"), status);
        case.set_classname(format!("{}.objectives", s.runbook_id));
        suite.add_test_case(case);
    }
    if s.tampered {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(s.verification.clone().unwrap_or_else(|| "the incident log does not verify".into()));
        let mut case = TestCase::new("incident log verifies", status);
        case.set_classname(format!("{}.evidence", s.runbook_id));
        suite.add_test_case(case);
    }
    let mut report = Report::new("lifeboat");
    report.add_test_suite(suite);
    report.to_string().expect("junit serializes")
}
