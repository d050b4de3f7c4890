//! Failures injected into the single writer's stages, so that tests can show that whatever
//! fails, and wherever, the served state stays the journal's replay.
//!
//! Every counter means "the next `n` passes through this stage fail"; all are zero (off) in a
//! running server. Tests reach them through [`crate::service::Shared::faults`].

use std::sync::atomic::{AtomicU32, Ordering};

/// The writer's stages that can be made to fail.
#[derive(Debug, Default)]
pub struct Faults {
    /// An action applied to the working copy is then treated as failed, as if a last step of
    /// it had failed after changing the copy (a keeper's valuation overflowing, say).
    pub apply: AtomicU32,
    /// The batch's journal transaction fails before anything is stored.
    pub append: AtomicU32,
    /// The batch's transaction commits, but its answer is lost on the way back.
    pub answer_lost: AtomicU32,
    /// Asking the store for its last entry (after a lost answer) fails.
    pub last_stored: AtomicU32,
    /// Writing a snapshot fails.
    pub snapshot: AtomicU32,
}

impl Faults {
    /// Whether this pass through `stage` fails, counting it down.
    pub fn trip(stage: &AtomicU32) -> bool {
        stage.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}
