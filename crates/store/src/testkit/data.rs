//! Conformance cases for accounts, content, history, sync runs and operational records.

/// The data cases, by name (each is a `pub async fn(DynStore)` in this module).
#[doc(hidden)]
#[macro_export]
macro_rules! data_cases {
    ($factory:path) => {
        $crate::conformance_cases!($factory; migrate_is_a_no_op_the_second_time);
    };
}

use crate::DynStore;

pub async fn migrate_is_a_no_op_the_second_time(store: DynStore) {
    assert_eq!(store.migrate().await.unwrap(), 0);
    store.ping().await.unwrap();
}
