//! Webhooks: the sender that delivers Meta-style signed notifications to a callback.

use tokio::sync::Notify;

/// The webhook sender's shared state.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    wake: Notify,
}

impl Hub {
    /// Wakes the sender (the clock moved).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }
}
