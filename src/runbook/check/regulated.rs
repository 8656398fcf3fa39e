//! The rules regulated datasets add: no restore skipped without a recorded acceptance,
//! no change to existing data behind an approval the operator could give alone.

use super::*;

/// Regulated records are restored, never quietly lost: a restore that can be skipped
/// needs an approval after it that records who accepted the loss.
pub(super) fn regulated_skips(cx: &mut Cx, raw_phases: &[raw::Phase], phases: &[Phase], dataset: &Dataset) {
    let order: Vec<&Step> = phases.iter().flat_map(|p| p.steps.iter()).collect();
    for (i, s) in order.iter().enumerate() {
        let skippable = s.when.is_some() || s.on_failure == Some(OnFailure::Continue);
        if !s.restores_data() || !skippable {
            continue;
        }
        if order[i + 1..].iter().any(|t| matches!(t.kind, StepKind::Approval { .. })) {
            continue;
        }
        let span = raw_phases
            .iter()
            .flat_map(|p| p.steps.iter().flatten())
            .find(|r| r.id.as_ref().is_some_and(|x| x.value == s.id))
            .and_then(|r| r.when.as_ref().map(|w| w.span).or(r.on_failure.as_ref().map(|o| o.span)));
        cx.push(Diag::new(Kind::RegulatedSkip(s.id.clone()), span).label("this lets the restore be skipped").help(
            format!(
                "`{}` is regulated: add an approval step after `{}` so whoever accepts the loss is on record",
                dataset.id, s.id
            ),
        ));
    }
}

/// A regulated dataset's change to existing data (`Effect::Modify`) behind an approval the
/// run's own operator could give: the contract asks for `four_eyes` there.
pub(super) fn regulated_four_eyes(cx: &mut Cx, raw_phases: &[raw::Phase], phases: &[Phase], dataset: &Dataset) {
    let order: Vec<&Step> = phases.iter().flat_map(|p| p.steps.iter()).collect();
    for (i, s) in order.iter().enumerate() {
        let StepKind::Approval(a) = &s.kind else { continue };
        let changes = order[i + 1..].iter().find(|t| {
            matches!(&t.kind, StepKind::Action { action, .. } if action.effect == crate::runbook::action_spec::Effect::Modify)
        });
        let Some(change) = changes.filter(|_| !a.four_eyes) else { continue };
        let span = raw_phases
            .iter()
            .flat_map(|p| p.steps.iter().flatten())
            .find(|r| r.id.as_ref().is_some_and(|x| x.value == s.id))
            .and_then(|r| r.approval.as_ref().map(|a| a.span));
        cx.push(
            Diag::new(Kind::NoFourEyes(change.id.clone()), span)
                .label("the run's own operator could give this approval")
                .help(format!(
                    "`{}` is regulated: write `four_eyes: true` so someone other than the operator approves `{}`",
                    dataset.id, change.id
                )),
        );
    }
}
