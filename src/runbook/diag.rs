//! Every problem lifeboat finds in a file, as one enum of kinds with one message each.
//!
//! Messages are short lowercase facts with names in backticks (the habit of rustc and
//! just); the span, label and help say where and what to do.

use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use super::yaml::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Kind {
    #[error("cannot read the file: {0}")]
    Io(String),
    #[error("the file is {:.1} MiB; lifeboat files are limited to 1 MiB", *.0 as f64 / 1_048_576.0)]
    TooLarge(u64),
    #[error("the file is not UTF-8 text (invalid byte 0x{0:02x})")]
    NotUtf8(u8),
    #[error("the file is empty")]
    Empty,
    #[error("{0}")]
    Syntax(String),
    #[error("expected {expected}, found {found}")]
    WrongType { expected: String, found: String },
    #[error("unknown field `{field}` in {within}")]
    UnknownField { field: String, within: &'static str },
    #[error("missing field `{field}` in {within}")]
    MissingField { field: &'static str, within: &'static str },
    #[error("duplicate key `{0}`")]
    DuplicateKey(String),
    #[error("invalid duration `{0}`")]
    BadDuration(String),
    #[error("invalid timestamp `{0}`")]
    BadTimestamp(String),
    #[error("unknown {what} `{text}`")]
    BadKeyword { what: &'static str, text: String },
    #[error("unsupported apiVersion `{0}`")]
    BadApiVersion(String),
    #[error("unknown kind `{0}`")]
    UnknownKind(String),
    #[error("invalid id `{0}`")]
    BadId(String),
    #[error("duplicate {what} id `{id}`")]
    DuplicateId { what: &'static str, id: String },
    #[error("step `{0}` has no kind")]
    NoStepKind(String),
    #[error("step `{step}` has more than one kind: {kinds}")]
    ManyStepKinds { step: String, kinds: String },
    #[error("`needs` names unknown step `{0}`")]
    UnknownNeed(String),
    #[error("`needs` names step `{step}` of another phase (`{phase}`)")]
    NeedOtherPhase { step: String, phase: String },
    #[error("steps depend on each other in a cycle: {0}")]
    Cycle(String),
    #[error("invalid expression: {0}")]
    BadExpression(String),
    #[error("`{reference}` cannot be resolved: {why}")]
    Unresolved { reference: String, why: String },
    #[error("unknown dataset `{0}`")]
    UnknownDataset(String),
    #[error("no dataset catalog for this runbook")]
    NoCatalog,
    #[error("the runbook's {which} of {runbook} is looser than the dataset's {which} of {dataset}")]
    LooserObjective { which: &'static str, runbook: String, dataset: String },
    #[error("this plan cannot meet its RTO: budgets add up to {sum}, RTO is {rto}")]
    BudgetOverRto { sum: String, rto: String },
    #[error(
        "`operation` fails a request of the simulated cloud whichever step sends it; it cannot be combined with `{0}`"
    )]
    OperationWith(&'static str),
    #[error("unknown action `{0}`")]
    UnknownAction(String),
    #[error("unknown argument `{arg}` for action `{action}`")]
    UnknownArg { action: String, arg: String },
    #[error("missing argument `{arg}` for action `{action}`")]
    MissingArg { action: String, arg: String },
    #[error("`{field}` does not apply to {kind} steps")]
    FieldNotForKind { field: &'static str, kind: &'static str },
    #[error("more than one step is the `{0}` milestone")]
    DuplicateMilestone(String),
    #[error("`{0}` must be greater than zero")]
    Zero(&'static str),
    #[error("`sim` {0}")]
    BadSimSize(String),
    #[error("`batch` {0}")]
    BadBatch(String),
    #[error("`evidence` {0}")]
    BadEvidence(String),
    #[error("unknown step `{0}` in answers")]
    UnknownAnswerStep(String),
    #[error("secret input `{0}` has a default")]
    SecretDefault(String),
    #[error("unknown input `{0}`")]
    UnknownInput(String),
    #[error("unknown runbook `{0}`")]
    UnknownRunbook(String),
    #[error("regulated data: step `{0}` restores data but can be skipped with no approval recorded")]
    RegulatedSkip(String),
    #[error("step `{0}` deletes newer objects with no approval before it")]
    UnapprovedDelete(String),
    #[error("this answer does not fit a {0} step")]
    AnswerKind(&'static str),
    #[error("step `{step}` has no output `{output}` for a gate to check")]
    UnknownGateOutput { step: String, output: String },
    #[error("regulated data: step `{0}` changes data behind an approval without `four_eyes`")]
    NoFourEyes(String),
    #[error("a drill without a `teardown`: what it restores would linger")]
    NoTeardown,
    #[error("this approval needs {need} different approvers; the answers name {given}")]
    TooFewApprovers { need: u32, given: usize },
    #[error("a typed name cannot approve `{0}`: it needs signed approvals")]
    TypedUnderFourEyes(String),
    #[error("{0}")]
    NotAws(String),
    #[error("principal `{0}` holds a space, a comma or a control character; allowed_signers could never name it")]
    BadPrincipal(String),
    #[error("the run will stop at `{step}`: `{given}` is not the role it needs, `{want}`")]
    AnswerWrongRole { step: String, given: String, want: String },
    #[error("an approval answer is a signed file (`signed: FILE`) or a typed name (`approve`, `by`), not both")]
    SignedAndTyped,
    #[error("an approval answer needs `approve` and `by`, or `signed: FILE`")]
    ApprovalAnswerIncomplete,
    #[error("principal `{0}` is listed twice")]
    DuplicatePrincipal(String),
    #[error("`{0}` needs signed approvals, and there is no roles file to say who holds the role")]
    NoRolesFile(String),
    #[error("role `{role}` has {have} people in the roles file; this approval needs {need}")]
    TooFewHolders { role: String, need: usize, have: usize },
    #[error("a value is handed to `{0}`, which parses it again as shell text: `$(…)` in it would run")]
    ValueReparsed(String),
}

impl Kind {
    pub fn severity(&self) -> Severity {
        match self {
            Kind::RegulatedSkip(_)
            | Kind::NoFourEyes(_)
            | Kind::NoTeardown
            | Kind::TypedUnderFourEyes(_)
            | Kind::AnswerWrongRole { .. }
            | Kind::NoRolesFile(_)
            | Kind::TooFewHolders { .. }
            | Kind::ValueReparsed(_) => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One finding: what, where, and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diag {
    pub kind: Kind,
    pub span: Option<Span>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diag {
    pub fn new(kind: Kind, span: impl Into<Option<Span>>) -> Self {
        Diag { kind, span: span.into(), label: None, help: None }
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }
}

/// The findings of one file, with the text they point into.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    pub source: Option<String>,
    pub diags: Vec<Diag>,
}

impl FileReport {
    pub fn errors(&self) -> usize {
        self.diags.iter().filter(|d| d.severity() == Severity::Error).count()
    }
    pub fn warnings(&self) -> usize {
        self.diags.iter().filter(|d| d.severity() == Severity::Warning).count()
    }

    /// Renders like rustc: `error: …`, `--> file:line:col`, the line, a caret, help.
    /// Always styled; the output stream strips colour where it must not appear.
    pub fn render(&self) -> String {
        let renderer = Renderer::styled();
        let path = display_path(&self.path);
        let mut out = String::new();
        for d in &self.diags {
            let level = match d.severity() {
                Severity::Error => Level::ERROR,
                Severity::Warning => Level::WARNING,
            };
            let title = d.kind.to_string();
            let mut group = Group::with_title(level.primary_title(title));
            match (d.span, &self.source) {
                (Some(span), Some(src)) => {
                    let end = span.end.max(span.start).min(src.len());
                    let start = span.start.min(end);
                    let mut ann = AnnotationKind::Primary.span(start..end);
                    if let Some(l) = &d.label {
                        ann = ann.label(l.as_str());
                    }
                    group = group.element(Snippet::source(src.as_str()).path(path.as_str()).annotation(ann));
                }
                (Some(span), None) => {
                    group = group
                        .element(Origin::path(path.as_str()).line(span.line as usize).char_column(span.col as usize));
                }
                (None, _) => group = group.element(Origin::path(path.as_str())),
            }
            if let Some(h) = &d.help {
                group = group.element(Level::HELP.message(h.as_str()));
            }
            out.push_str(&renderer.render(&[group]));
            out.push_str("\n\n");
        }
        out
    }
}

/// Paths are shown as the user typed them, with `/` so output is the same everywhere.
pub fn display_path(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// "did you mean `budget`?" — the closest candidate that is plausibly a typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    // `snapshot_id`, `instance_name`, `table_arn`: a name for the thing itself, which is
    // what the output or argument without the suffix holds (never `snapshot_time`, which
    // is nearer by letters but a time, not an identifier).
    for suffix in ["_id", "-id", "_name", "-name", "_arn", "-arn", "id"] {
        if let Some(stem) = lower.strip_suffix(suffix)
            && let Some(c) = candidates.iter().find(|c| c.eq_ignore_ascii_case(stem))
        {
            return Some(c);
        }
    }
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn suggestions_catch_typos_not_strangers() {
        let keys = ["id", "title", "budget", "steps"];
        assert_eq!(suggest("budjet", keys), Some("budget"));
        assert_eq!(suggest("Steps", keys), Some("steps"));
        assert_eq!(suggest("owner", keys), None);
        // Candidates in capitals (AWS operation names) are compared as the word is.
        assert_eq!(suggest("CopyObjekt", ["CopyObject", "GetObject"]), Some("CopyObject"));
        // Issue 30 (6): an identifier's name finds the identifier, not a time.
        let outs = ["snapshot", "snapshot_time", "recovery_point"];
        assert_eq!(suggest("snapshot_id", outs), Some("snapshot"));
        assert_eq!(suggest("instance_name", ["instance", "endpoint", "status"]), Some("instance"));
        assert_eq!(suggest("snapshot_tim", outs), Some("snapshot_time"));
    }
}
