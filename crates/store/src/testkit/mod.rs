//! The conformance suite: behaviour every [`crate::Store`] implementation must show.
//!
//! A dialect's test binary calls [`conformance_suite!`](crate::conformance_suite) with an
//! async factory returning a [`Fixture`]; the macro expands to one `#[tokio::test]` per case,
//! so failures are reported by name. Each case gets a fresh, migrated, empty database.

mod data;
mod queue;

pub use data::*;
pub use queue::*;

use crate::DynStore;

/// A fresh database for one test; `teardown` drops it.
#[async_trait::async_trait]
pub trait Fixture: Send {
    fn store(&self) -> DynStore;
    async fn teardown(self: Box<Self>);
}

/// Expands to one test per conformance case for a dialect. `$factory` is an async fn
/// returning `Box<dyn Fixture>`.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path) => {
        $crate::data_cases!($factory);
        $crate::queue_cases!($factory);
    };
}

/// Shared expansion: one test function per case name.
#[doc(hidden)]
#[macro_export]
macro_rules! conformance_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $factory().await;
                $crate::testkit::$case(fixture.store()).await;
                fixture.teardown().await;
            }
        )*
    };
}
