//! Conformance cases for accounts, their sealed tokens and their deletion.

use super::*;

pub async fn migrate_is_a_no_op_the_second_time(store: DynStore) {
    assert_eq!(store.migrate().await.unwrap(), 0);
    store.ping().await.unwrap();
}

pub async fn accounts_upsert_get_and_list(store: DynStore) {
    let created = account(&store, "1001").await;
    assert_eq!(created.ig_user_id, "1001");
    assert_eq!(created.username, "user_1001");
    assert_eq!(created.name.as_deref(), Some("User 1001"));
    assert_eq!(created.account_type, AccountType::Business);
    assert_eq!(created.login, LoginKind::Facebook);
    assert_eq!(created.page_id.as_deref(), Some("page_1001"));
    assert_eq!(created.timezone, "UTC", "time zone defaults to UTC");
    assert_eq!(created.token, Some(EncryptedToken(vec![1, 2, 3, 4])));
    assert_eq!(created.token_expires_at, Some(at(60 * 24 * 60)));
    assert_eq!(created.token_refreshed_at, None);
    assert_eq!(created.status, SyncStatus::Idle);
    assert_eq!(created.last_synced_at, None);
    assert_eq!(created.followers_count, None);
    assert_eq!(
        created.created_at,
        t0(),
        "microseconds survive the round trip"
    );
    assert_eq!(created.updated_at, t0());

    let other = store
        .account_upsert(NewAccount {
            timezone: Some("Europe/Berlin".into()),
            account_type: AccountType::Creator,
            login: LoginKind::Instagram,
            page_id: None,
            ..new_account("1002")
        })
        .await
        .unwrap();
    assert_ne!(other.id, created.id);
    assert_eq!(other.timezone, "Europe/Berlin");
    assert_eq!(other.login, LoginKind::Instagram);

    assert_eq!(
        store.account_get(created.id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        store.account_get_by_ig("1002").await.unwrap(),
        Some(other.clone())
    );
    assert_eq!(
        store
            .account_get(AccountId::new(created.id.get() + other.id.get() + 1000))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.account_get_by_ig("nope").await.unwrap(), None);
    let listed = store.account_list().await.unwrap();
    assert_eq!(listed, vec![created.clone(), other.clone()], "listed by id");

    // Re-registering keeps id, status, time zone and creation time; replaces the rest.
    store
        .account_status_set(
            created.id,
            StatusChange {
                status: SyncStatus::Paused,
                error: None,
                synced_at: None,
                only_if: vec![],
                now: at(1),
            },
        )
        .await
        .unwrap();
    store
        .account_timezone_set(created.id, "America/New_York")
        .await
        .unwrap();
    let again = store
        .account_upsert(NewAccount {
            username: "renamed".into(),
            name: None,
            token: EncryptedToken(vec![9, 9]),
            token_expires_at: None,
            now: at(5),
            ..new_account("1001")
        })
        .await
        .unwrap();
    assert_eq!(again.id, created.id);
    assert_eq!(again.username, "renamed");
    assert_eq!(again.name, None);
    assert_eq!(again.token, Some(EncryptedToken(vec![9, 9])));
    assert_eq!(again.token_expires_at, None);
    assert_eq!(again.status, SyncStatus::Paused, "status is kept");
    assert_eq!(again.timezone, "America/New_York", "time zone is kept");
    assert_eq!(again.created_at, t0());
    assert_eq!(again.updated_at, at(5));
    assert_eq!(
        store.account_get(created.id).await.unwrap(),
        Some(again.clone())
    );

    let zoned = store
        .account_upsert(NewAccount {
            timezone: Some("Asia/Tokyo".into()),
            now: at(6),
            ..new_account("1001")
        })
        .await
        .unwrap();
    assert_eq!(
        zoned.timezone, "Asia/Tokyo",
        "a given time zone replaces the old one"
    );
    assert_eq!(store.account_list().await.unwrap().len(), 2);
}

pub async fn account_status_guard_and_timezone(store: DynStore) {
    let a = account(&store, "2001").await;
    let change = |status, only_if: Vec<SyncStatus>| StatusChange {
        status,
        error: None,
        synced_at: None,
        only_if,
        now: at(1),
    };

    assert!(
        store
            .account_status_set(a.id, change(SyncStatus::Syncing, vec![SyncStatus::Idle]))
            .await
            .unwrap()
    );
    assert_eq!(
        store.account_get(a.id).await.unwrap().unwrap().status,
        SyncStatus::Syncing
    );

    // The guard does not match: nothing changes.
    assert!(
        !store
            .account_status_set(
                a.id,
                change(
                    SyncStatus::Syncing,
                    vec![SyncStatus::Idle, SyncStatus::Failed]
                )
            )
            .await
            .unwrap()
    );

    let failed = StatusChange {
        error: Some("media_insights: rate limited for good".into()),
        ..change(SyncStatus::Failed, vec![SyncStatus::Syncing])
    };
    assert!(store.account_status_set(a.id, failed).await.unwrap());
    let now = store.account_get(a.id).await.unwrap().unwrap();
    assert_eq!(now.status, SyncStatus::Failed);
    assert_eq!(
        now.last_sync_error.as_deref(),
        Some("media_insights: rate limited for good")
    );
    assert_eq!(now.last_synced_at, None);

    let synced = StatusChange {
        synced_at: Some(at(7)),
        ..change(SyncStatus::Idle, vec![])
    };
    assert!(store.account_status_set(a.id, synced).await.unwrap());
    let now = store.account_get(a.id).await.unwrap().unwrap();
    assert_eq!(now.status, SyncStatus::Idle);
    assert_eq!(now.last_sync_error, None, "no error clears the error");
    assert_eq!(now.last_synced_at, Some(at(7)));

    // Without synced_at the last sync time is kept.
    assert!(
        store
            .account_status_set(a.id, change(SyncStatus::NeedsReauth, vec![]))
            .await
            .unwrap()
    );
    let now = store.account_get(a.id).await.unwrap().unwrap();
    assert_eq!(now.status, SyncStatus::NeedsReauth);
    assert_eq!(now.last_synced_at, Some(at(7)));

    assert!(
        !store
            .account_status_set(
                AccountId::new(a.id.get() + 100),
                change(SyncStatus::Idle, vec![])
            )
            .await
            .unwrap()
    );

    assert!(
        store
            .account_timezone_set(a.id, "Australia/Sydney")
            .await
            .unwrap()
    );
    assert_eq!(
        store.account_get(a.id).await.unwrap().unwrap().timezone,
        "Australia/Sydney"
    );
    assert!(
        !store
            .account_timezone_set(AccountId::new(a.id.get() + 100), "UTC")
            .await
            .unwrap()
    );
}

pub async fn account_token_update_and_count(store: DynStore) {
    let a = account(&store, "3001").await;
    let b = account(&store, "3002").await;
    assert_eq!(store.account_count_with_token().await.unwrap(), 2);

    let sealed = seal(&cipher(), "EAAB-refreshed");
    assert!(
        store
            .account_token_set(TokenUpdate {
                account_id: a.id,
                token: sealed.clone(),
                expires_at: Some(at(90 * 24 * 60)),
                refreshed_at: at(3),
            })
            .await
            .unwrap()
    );
    let now = store.account_get(a.id).await.unwrap().unwrap();
    assert_eq!(now.token, Some(sealed.clone()));
    assert_eq!(now.token_expires_at, Some(at(90 * 24 * 60)));
    assert_eq!(now.token_refreshed_at, Some(at(3)));
    let untouched = store.account_get(b.id).await.unwrap().unwrap();
    assert_eq!(untouched.token, b.token);

    assert!(
        !store
            .account_token_set(TokenUpdate {
                account_id: AccountId::new(a.id.get() + b.id.get() + 100),
                token: sealed,
                expires_at: None,
                refreshed_at: at(3),
            })
            .await
            .unwrap()
    );
}

pub async fn tokens_are_stored_sealed_and_round_trip(store: DynStore) {
    let cipher = cipher();
    let plain = "IGQVJ-very-secret-long-lived-token";
    let sealed = seal(&cipher, plain);
    assert!(!sealed.0.windows(11).any(|w| w == b"very-secret"));
    let a = store
        .account_upsert(NewAccount {
            token: sealed.clone(),
            ..new_account("4001")
        })
        .await
        .unwrap();
    let stored = store
        .account_get(a.id)
        .await
        .unwrap()
        .unwrap()
        .token
        .unwrap();
    assert_eq!(
        stored, sealed,
        "the stored bytes are exactly the sealed bytes"
    );
    assert!(!stored.0.windows(11).any(|w| w == b"very-secret"));
    assert_eq!(cipher.decrypt(&stored).unwrap().expose(), plain);
}

pub async fn tokens_reencrypt_rotates_every_token(store: DynStore) {
    let old = cipher();
    let new = cipher();
    let mut accounts = Vec::new();
    for n in 0..3 {
        let a = store
            .account_upsert(NewAccount {
                token: seal(&old, &format!("token-{n}")),
                ..new_account(&format!("500{n}"))
            })
            .await
            .unwrap();
        accounts.push(a.id);
    }
    assert_eq!(store.account_tokens_reencrypt(&old, &new).await.unwrap(), 3);
    for (n, id) in accounts.iter().enumerate() {
        let token = store
            .account_get(*id)
            .await
            .unwrap()
            .unwrap()
            .token
            .unwrap();
        assert_eq!(new.decrypt(&token).unwrap().expose(), format!("token-{n}"));
        assert!(
            old.decrypt(&token).is_err(),
            "the old key no longer opens it"
        );
    }
    assert_eq!(store.account_count_with_token().await.unwrap(), 3);
}

pub async fn tokens_reencrypt_fails_atomically(store: DynStore) {
    let old = cipher();
    let new = cipher();
    let stranger = cipher();
    for (n, sealer) in [&old, &stranger, &old].into_iter().enumerate() {
        store
            .account_upsert(NewAccount {
                token: seal(sealer, &format!("token-{n}")),
                ..new_account(&format!("600{n}"))
            })
            .await
            .unwrap();
    }
    let before = store.account_list().await.unwrap();
    let err = store
        .account_tokens_reencrypt(&old, &new)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Crypto(_)), "{err:?}");
    assert_eq!(
        store.account_list().await.unwrap(),
        before,
        "nothing changed"
    );
    let first = before[0].token.clone().unwrap();
    assert_eq!(old.decrypt(&first).unwrap().expose(), "token-0");
}

pub async fn account_delete_cascades_everything(store: DynStore) {
    let gone = populate(&store, "7001").await;
    let kept = populate(&store, "7002").await;
    let before = store.totals().await.unwrap();
    assert_eq!(before.accounts, 2);
    assert_eq!(before.media_insight_snapshots, 2);

    assert!(store.account_delete(gone).await.unwrap());
    assert!(!store.account_delete(gone).await.unwrap(), "already gone");
    assert_eq!(store.account_get(gone).await.unwrap(), None);

    let after = store.totals().await.unwrap();
    assert_eq!(after.accounts, 1);
    assert_eq!(after.profile_snapshots, 1);
    assert_eq!(after.media, 1);
    assert_eq!(after.media_insight_snapshots, 1);
    assert_eq!(after.stories, 1);
    assert_eq!(after.story_insight_snapshots, 1);
    assert_eq!(after.account_insight_days, 1);
    assert_eq!(after.demographic_values, 1);
    assert_eq!(after.sync_runs, 1);
    assert_eq!(after.alerts, 1);

    assert_eq!(store.media_get("7001_m").await.unwrap(), None);
    assert!(
        store
            .media_insight_history(&ids(&["7001_m"]), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .story_insight_history(&ids(&["7001_s"]))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.demographics_latest(gone).await.unwrap(), None);
    let jobs = store
        .job_list(crate::JobQuery {
            account_id: Some(gone),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(jobs.total, 0, "the account's jobs are gone");
    let all_jobs = store
        .job_list(crate::JobQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all_jobs.total, 1, "the other account's job stays");
    assert!(
        store
            .alert_list(AlertQuery {
                account_id: Some(gone),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    let usage = store.api_usage_latest().await.unwrap();
    assert_eq!(
        usage.iter().map(|u| u.account_id).collect::<Vec<_>>(),
        vec![Some(kept)]
    );
    assert!(
        store
            .api_calls_days(Some(gone), day(1), day(31))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .api_calls_days(None, day(1), day(31))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .sync_runs_list(RunQuery {
                account_id: Some(gone),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .profile_snapshots(kept, at(-10), at(10))
            .await
            .unwrap()
            .len(),
        1
    );
}
