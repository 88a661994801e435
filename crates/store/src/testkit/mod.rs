//! The conformance suite: behaviour every [`crate::Store`] implementation must show.
//!
//! A dialect's test binary calls [`conformance_suite!`](crate::conformance_suite) with an
//! async factory returning a [`Fixture`]; the macro expands to one `#[tokio::test]` per case,
//! so failures are reported by name. Each case gets a fresh, migrated, empty database.
//! The queue's cases are the `queue` crate's own suite (`queue::testkit`), run here on the
//! store through [`queue_fixture`].

mod data;

pub use data::*;
#[doc(hidden)]
pub use queue::queue_cases;
pub use queue::testkit::Fixture as QueueFixture;

use chrono::{TimeZone, Utc};
use queue::DynQueueStore;

use crate::{
    AccountId, AccountType, DynStore, EncryptedToken, LoginKind, NewAccount, NewSyncRun, RunId,
};

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
        async fn queue_fixture() -> Box<dyn $crate::testkit::QueueFixture> {
            $crate::testkit::queue_fixture($factory().await)
        }
        $crate::testkit::queue_cases!(queue_fixture);
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

/// A store fixture as the queue suite's fixture: accounts and runs are the store's own.
pub fn queue_fixture(fixture: Box<dyn Fixture>) -> Box<dyn QueueFixture> {
    Box::new(QueueOfStore {
        store: fixture.store(),
        fixture: std::sync::Mutex::new(fixture),
    })
}

struct QueueOfStore {
    store: DynStore,
    /// Only torn down (the suite's fixture is shared across tasks, a dialect's need not be).
    fixture: std::sync::Mutex<Box<dyn Fixture>>,
}

#[async_trait::async_trait]
impl QueueFixture for QueueOfStore {
    fn store(&self) -> DynQueueStore {
        self.store.clone()
    }

    async fn account(&self, n: u32) -> AccountId {
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
        self.store
            .account_upsert(NewAccount {
                ig_user_id: format!("1784{n:010}"),
                username: format!("account_{n}"),
                name: None,
                account_type: AccountType::Business,
                login: LoginKind::Facebook,
                page_id: None,
                timezone: None,
                token: EncryptedToken(vec![1; 40]),
                token_expires_at: None,
                now: at,
            })
            .await
            .unwrap()
            .id
    }

    async fn run(&self, account: AccountId) -> RunId {
        self.store
            .sync_run_create(NewSyncRun {
                account_id: account,
                plan: "full".into(),
                trigger: "manual".into(),
                steps: vec!["profile".into()],
                started_at: Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap(),
                job_id: None,
            })
            .await
            .unwrap()
    }

    async fn account_delete(&self, account: AccountId) -> bool {
        self.store.account_delete(account).await.unwrap()
    }

    async fn teardown(self: Box<Self>) {
        let fixture = match self.fixture.into_inner() {
            Ok(fixture) => fixture,
            Err(poisoned) => poisoned.into_inner(),
        };
        fixture.teardown().await;
    }
}
