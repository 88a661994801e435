//! Cases for the whole-database copy seam: the catalog describes every table with its key
//! and references, rows read in key order and written back come out equal, writing them
//! twice adds nothing, and bad names are errors, not panics.

use super::*;
use crate::{CopyKind, CopyValue};

pub async fn copy_reads_writes_and_describes_every_table(store: DynStore) {
    let schema = store.copy_schema().await.unwrap();
    assert_eq!(schema.migrations_applied, schema.migrations_known);
    let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    for expected in [
        "accounts",
        "media",
        "media_insight_snapshots",
        "jobs",
        "workers",
        "api_usage",
        "api_call_days",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert!(!names.contains(&"igsync_migrations"));
    for t in &schema.tables {
        assert!(!t.key.is_empty(), "{} has a key", t.name);
        for k in &t.key {
            assert!(t.column(k).is_some(), "{}: key column {k}", t.name);
        }
    }
    let media = schema.table("media").unwrap();
    assert_eq!(media.references, vec!["accounts".to_string()]);
    assert_eq!(
        schema.table("api_usage").unwrap().key,
        vec!["scope".to_string()]
    );

    let a = account(&store, "9001").await;
    let b = account(&store, "9002").await;
    store
        .api_calls_add(vec![
            ApiCallsDelta {
                account_id: a.id,
                day: day(2),
                requests: 3,
                units: 4,
                errors: 1,
            },
            ApiCallsDelta {
                account_id: b.id,
                day: day(1),
                requests: 1,
                units: 1,
                errors: 0,
            },
        ])
        .await
        .unwrap();

    let accounts = schema.table("accounts").unwrap();
    let rows = store.copy_read("accounts", &[], None, 100).await.unwrap();
    assert_eq!(rows.len(), 2);
    let id = accounts
        .columns
        .iter()
        .position(|c| c.name == "id")
        .unwrap();
    assert_eq!(rows[0][id], CopyValue::Int(a.id.get()));
    let created = accounts
        .columns
        .iter()
        .position(|c| c.name == "created_at")
        .unwrap();
    assert_eq!(rows[0][created], CopyValue::Int(t0().timestamp_micros()));
    let token = accounts
        .columns
        .iter()
        .position(|c| c.name == "token")
        .unwrap();
    assert_eq!(rows[0][token], CopyValue::Bytes(vec![1, 2, 3, 4]));
    assert!(matches!(
        accounts.column("created_at").unwrap().kind,
        CopyKind::Int | CopyKind::Time
    ));

    // Paging by key: one row at a time, then nothing after the last key.
    let first = store.copy_read("accounts", &[], None, 1).await.unwrap();
    let after = vec![first[0][id].clone()];
    let second = store
        .copy_read("accounts", &[], Some(&after), 1)
        .await
        .unwrap();
    assert_eq!(second, vec![rows[1].clone()]);
    let last = store.copy_last_key("accounts", &[]).await.unwrap().unwrap();
    assert_eq!(last, vec![CopyValue::Int(b.id.get())]);
    assert!(
        store
            .copy_read("accounts", &[], Some(&last), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Read everything, clear, write back: the same rows; writing again adds none.
    let calls_before = store
        .copy_read("api_call_days", &[], None, 100)
        .await
        .unwrap();
    assert_eq!(calls_before.len(), 2);
    let calls_columns: Vec<String> = schema
        .table("api_call_days")
        .unwrap()
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let account_columns: Vec<String> = accounts.columns.iter().map(|c| c.name.clone()).collect();
    store
        .copy_clear(&["api_call_days".into(), "accounts".into()])
        .await
        .unwrap();
    assert_eq!(store.copy_count("accounts").await.unwrap(), 0);
    assert_eq!(store.copy_last_key("accounts", &[]).await.unwrap(), None);
    assert_eq!(
        store
            .copy_write("accounts", &account_columns, rows.clone())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .copy_write("api_call_days", &calls_columns, calls_before.clone())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .copy_write("accounts", &account_columns, rows.clone())
            .await
            .unwrap(),
        0
    );
    store.copy_finish().await.unwrap();
    assert_eq!(
        store.copy_read("accounts", &[], None, 100).await.unwrap(),
        rows
    );
    assert_eq!(
        store
            .copy_read("api_call_days", &[], None, 100)
            .await
            .unwrap(),
        calls_before
    );
    assert_eq!(store.account_get(a.id).await.unwrap().unwrap(), a);
    // Ids go on after the written ones.
    let c = account(&store, "9003").await;
    assert!(c.id > b.id);

    // Bad input is an error.
    assert!(
        store
            .copy_read("no_such_table", &[], None, 1)
            .await
            .is_err()
    );
    assert!(store.copy_count("igsync_migrations").await.is_err());
    assert!(
        store
            .copy_read("accounts", &["username".into()], None, 1)
            .await
            .is_err()
    );
    assert!(
        store
            .copy_write("accounts", &["nope".into()], vec![vec![CopyValue::Null]])
            .await
            .is_err()
    );
    assert!(
        store
            .copy_write("accounts", &account_columns, vec![vec![CopyValue::Null]])
            .await
            .is_err()
    );
    assert!(store.integrity_check().await.unwrap().is_empty());
}
