//! A fresh, migrated database for each test on either dialect (`testsupport`'s), with the
//! store the test's engine uses already open.

use store::DynStore;
pub(crate) use testsupport::Dialect;

/// One fresh database for one test.
pub(crate) struct TestDb {
    pub(crate) store: DynStore,
    db: testsupport::TestDb,
}

impl TestDb {
    pub(crate) async fn new(dialect: Dialect) -> TestDb {
        let db = testsupport::TestDb::new(dialect, "synctest").await;
        TestDb {
            store: db.open().await,
            db,
        }
    }

    /// A second, independent connection to the same database (another "process").
    pub(crate) async fn connect_again(&self) -> DynStore {
        self.db.open().await
    }

    pub(crate) async fn teardown(self) {
        // PostgreSQL drops the database WITH (FORCE): open connections do not hold it.
        drop(self.store);
        self.db.teardown().await;
    }
}
