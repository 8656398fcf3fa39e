//! The terminal UI.
pub async fn start(_setup: crate::launch::Setup) -> u8 {
    todo!()
}
