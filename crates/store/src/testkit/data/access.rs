//! Cases for workspaces, keys limited to one with a role, and the audit log.

use super::*;
use crate::{AuditVia, NewAuditEntry, Role};

pub async fn workspaces_group_accounts_and_scope_keys(store: DynStore) {
    let a = account(&store, "1001").await;
    let b = account(&store, "1002").await;
    let north = store.workspace_insert("north", at(0)).await.unwrap();
    let south = store.workspace_insert("south", at(1)).await.unwrap();
    let dup = store.workspace_insert("north", at(2)).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { .. }), "{dup:?}");

    assert!(
        store
            .workspace_add_account(north.id, b.id, at(3))
            .await
            .unwrap()
    );
    assert!(
        store
            .workspace_add_account(north.id, a.id, at(3))
            .await
            .unwrap()
    );
    assert!(
        !store
            .workspace_add_account(north.id, a.id, at(4))
            .await
            .unwrap()
    );
    assert!(
        store
            .workspace_add_account(south.id, a.id, at(4))
            .await
            .unwrap()
    );
    let got = store.workspace_get(north.id).await.unwrap().unwrap();
    assert_eq!(got.name, "north");
    assert_eq!(got.created_at, at(0));
    assert_eq!(got.accounts, vec![a.id.min(b.id), a.id.max(b.id)]);
    assert!(
        store
            .workspace_remove_account(north.id, b.id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .workspace_remove_account(north.id, b.id)
            .await
            .unwrap()
    );
    let all = store.workspace_list().await.unwrap();
    let names: Vec<(&str, Vec<AccountId>)> = all
        .iter()
        .map(|w| (w.name.as_str(), w.accounts.clone()))
        .collect();
    assert_eq!(names, vec![("north", vec![a.id]), ("south", vec![a.id])]);
    assert_eq!(store.workspace_get(9_999).await.unwrap(), None);
    // An account that is removed leaves its workspaces.
    assert!(store.account_delete(a.id).await.unwrap());
    assert!(
        store
            .workspace_get(south.id)
            .await
            .unwrap()
            .unwrap()
            .accounts
            .is_empty()
    );

    // A key keeps its workspace and role; one made without them reaches all, as admin.
    let mut scoped = key("k_scoped", at(5));
    scoped.workspace_id = Some(north.id);
    scoped.role = Role::Viewer;
    store.api_key_insert(scoped.clone()).await.unwrap();
    assert_eq!(store.api_key_get("k_scoped").await.unwrap(), Some(scoped));
    store.api_key_insert(key("k_all", at(6))).await.unwrap();
    let all = store.api_key_get("k_all").await.unwrap().unwrap();
    assert_eq!((all.workspace_id, all.role), (None, Role::Admin));
    let mut unknown = key("k_nowhere", at(7));
    unknown.workspace_id = Some(9_999);
    let err = store.api_key_insert(unknown).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

pub async fn audit_entries_are_kept_newest_first(store: DynStore) {
    let entry = |minutes: i64, action: &str, via: AuditVia| NewAuditEntry {
        at: at(minutes),
        actor: "key:0123456789abcdef".into(),
        via,
        source: (via != AuditVia::Cli).then(|| "192.0.2.7".into()),
        action: action.into(),
        target: Some("17".into()),
        outcome: (via != AuditVia::Cli).then_some(200),
    };
    store
        .audit_insert(entry(0, "POST /api/v1/accounts/{id}/pause", AuditVia::Api))
        .await
        .unwrap();
    store
        .audit_insert(entry(2, "keys create", AuditVia::Cli))
        .await
        .unwrap();
    store
        .audit_insert(entry(1, "POST /accounts/{id}/sync", AuditVia::Dashboard))
        .await
        .unwrap();
    let all = store.audit_list(0, None).await.unwrap();
    let got: Vec<NewAuditEntry> = all.iter().map(|e| e.entry.clone()).collect();
    assert_eq!(
        got,
        vec![
            entry(2, "keys create", AuditVia::Cli),
            entry(1, "POST /accounts/{id}/sync", AuditVia::Dashboard),
            entry(0, "POST /api/v1/accounts/{id}/pause", AuditVia::Api),
        ]
    );
    assert_eq!(store.audit_list(1, None).await.unwrap().len(), 1);

    // One workspace's entries: its keys' changes, and changes to its accounts through an
    // account route (not a command whose target merely looks like an account id).
    let by = |minutes: i64, actor: &str, action: &str, target: &str| NewAuditEntry {
        actor: actor.into(),
        target: Some(target.into()),
        ..entry(minutes, action, AuditVia::Api)
    };
    for e in [
        by(10, "key:ours", "DELETE /api/v1/keys/{id}", "k1"),
        by(11, "key:theirs", "POST /api/v1/accounts/{id}/sync", "23"),
        by(12, "key:theirs", "POST /api/v1/accounts/{id}/sync", "42"),
        by(13, "key:theirs", "DELETE /api/v1/jobs/{id}", "42"),
    ] {
        store.audit_insert(e).await.unwrap();
    }
    let of = crate::AuditOf {
        actors: vec!["key:ours".into()],
        accounts: vec![AccountId::new(42)],
    };
    let ours: Vec<(String, String)> = store
        .audit_list(0, Some(&of))
        .await
        .unwrap()
        .iter()
        .map(|e| (e.entry.actor.clone(), e.entry.action.clone()))
        .collect();
    assert_eq!(
        ours,
        vec![
            (
                "key:theirs".to_owned(),
                "POST /api/v1/accounts/{id}/sync".to_owned()
            ),
            ("key:ours".to_owned(), "DELETE /api/v1/keys/{id}".to_owned()),
        ]
    );
    assert_eq!(store.audit_list(1, Some(&of)).await.unwrap().len(), 1);
    assert!(
        store
            .audit_list(0, Some(&crate::AuditOf::default()))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn share_links_round_trip_and_revoke_once(store: DynStore) {
    let a = account(&store, "1001").await;
    let link = crate::ShareLink {
        id: "0123456789abcdef".into(),
        account_id: a.id,
        hash: "sha256:00".into(),
        created_at: at(0),
        expires_at: at(60),
        revoked_at: None,
        created_by: "cli:ops".into(),
    };
    store.share_link_insert(link.clone()).await.unwrap();
    assert_eq!(
        store.share_link_get(&link.id).await.unwrap(),
        Some(link.clone())
    );
    assert_eq!(store.share_link_get("none").await.unwrap(), None);
    assert!(store.share_link_revoke(&link.id, at(5)).await.unwrap());
    assert!(store.share_link_revoke(&link.id, at(9)).await.unwrap());
    assert!(!store.share_link_revoke("none", at(9)).await.unwrap());
    let listed = store.share_link_list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].revoked_at,
        Some(at(5)),
        "the first revocation stands"
    );
    // A removed account takes its links with it.
    assert!(store.account_delete(a.id).await.unwrap());
    assert!(store.share_link_list().await.unwrap().is_empty());
}
