//! lifeboat: disaster-recovery runbooks you can rehearse, run and prove.
pub mod runbook;
