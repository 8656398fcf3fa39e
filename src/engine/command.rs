//! What people and the front ends tell a run: answers, approvals, notes, detach.

/// What an operator (or the answers file) tells the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Confirm {
        step: String,
        by: String,
    },
    Skip {
        step: String,
        by: String,
        reason: String,
    },
    Fail {
        step: String,
        by: String,
        reason: String,
    },
    Approve {
        step: String,
        by: String,
        role: Option<String>,
    },
    Deny {
        step: String,
        by: String,
        role: Option<String>,
        reason: Option<String>,
    },
    Retry {
        step: String,
        by: String,
    },
    Continue {
        step: String,
        by: String,
    },
    Rerun {
        step: String,
        by: String,
    },
    Note {
        by: String,
        text: String,
    },
    /// Someone else takes over the run: every later answer is theirs.
    HandOff {
        by: String,
        to: String,
    },
    /// A checklist item of a manual step ticked or unticked.
    Tick {
        step: String,
        item: usize,
        ticked: bool,
        by: String,
    },
    /// A signed approval or denial (`lifeboat approve`, a standing approval in the
    /// answers file): checked against the trust root and the roles file before it counts.
    Signed {
        step: String,
        document: String,
        signature: String,
    },
    /// Nobody answers (a headless rehearsal's `run:` step with no outcome in the answers):
    /// lifeboat records the step as not executed, in nobody's name.
    NoAnswer {
        step: String,
    },
    /// Ends the run as aborted (the log is sealed).
    Abort {
        by: String,
        reason: String,
    },
    /// Leaves the run to be resumed later (the log is not sealed).
    Detach {
        by: String,
        reason: String,
    },
}

impl Command {
    pub fn step(&self) -> Option<&str> {
        match self {
            Command::Confirm { step, .. }
            | Command::Skip { step, .. }
            | Command::Fail { step, .. }
            | Command::Approve { step, .. }
            | Command::Signed { step, .. }
            | Command::NoAnswer { step, .. }
            | Command::Deny { step, .. }
            | Command::Retry { step, .. }
            | Command::Continue { step, .. }
            | Command::Rerun { step, .. } => Some(step),
            _ => None,
        }
    }
}
