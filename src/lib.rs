//! lifeboat: disaster-recovery runbooks you can rehearse, run and prove.
pub mod cli;
pub mod cloud;
pub mod runbook;
