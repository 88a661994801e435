//! Conformance cases for accounts, content, history, sync runs and operational records.
//!
//! Readings of the contract these cases pin down (both dialects must agree):
//! - a list `limit` of 0 in [`RunQuery`] and [`AlertQuery`] means "no limit";
//! - an account's latest counters, a media item's `latest` values and an API usage row
//!   always show the newest capture: an older one applied late only adds history;
//! - an older fetch of an account insight day does not overwrite a fresher one;
//! - an insight row or error naming media that is not the batch account's is
//!   `InvalidInput`, listing another account's media id is `Conflict`, and writes for an
//!   unknown account are `NotFound` — in every case nothing is written;
//! - acknowledging or revoking twice keeps the first time.

/// The data cases, by name (each is a `pub async fn(DynStore)` in this module).
#[doc(hidden)]
#[macro_export]
macro_rules! data_cases {
    ($factory:path) => {
        $crate::conformance_cases!($factory;
            migrate_is_a_no_op_the_second_time,
            accounts_upsert_get_and_list,
            account_status_guard_and_timezone,
            account_token_update_and_count,
            tokens_are_stored_sealed_and_round_trip,
            tokens_reencrypt_rotates_every_token,
            tokens_reencrypt_fails_atomically,
            account_delete_cascades_everything,
            profile_snapshots_append_history_and_update_latest,
            media_upsert_is_idempotent,
            media_from_another_account_is_a_conflict,
            media_deletions_are_marked_and_history_kept,
            insight_snapshots_append_history_and_latest_is_newest,
            insight_batch_twice_leaves_the_same_rows,
            insight_batch_with_a_bad_row_writes_nothing,
            insight_errors_are_recorded_and_cleared,
            stories_and_their_snapshots,
            account_insight_days_settle_in_place,
            demographics_snapshots_by_day,
            sync_runs_and_steps,
            alerts_dedup_filters_ack_and_delivery,
            api_keys_lifecycle,
            sessions_and_prune,
            api_usage_keeps_the_latest_per_scope,
            api_call_days_add_up,
            media_list_filters_and_paging,
            media_index_lists_what_planning_needs,
            media_summaries_match_the_full_listing,
            history_window_selects_the_period_and_each_types_baseline,
            totals_count_rows,
            writes_for_an_unknown_account_are_not_found,
            a_large_insight_batch_is_written_whole,
        );
    };
}

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;

use crate::{
    Account, AccountId, AccountInsightBatch, AccountInsightDay, AccountType, AlertQuery,
    ApiCallsDelta, ApiKey, ApiUsage, Cipher, DemographicBatch, DemographicValue, DynStore,
    EncryptedToken, InsightBatch, InsightSnapshot, LoginKind, MediaBatch, MediaChild, MediaQuery,
    MediaRecord, MediaSummary, MediaType, NewAccount, NewAlert, NewJob, NewSyncRun, PostWindow,
    ProductType, ProfileSnapshot, ProfileUpdate, RunFinish, RunQuery, RunStatus, SecretKey,
    SecretString, Session, Severity, StatusChange, StepStatus, StoreError, StoryBatch, StoryRecord,
    SyncStatus, SyncStep, TokenUpdate,
};

// ----- helpers -----

/// A fixed instant with sub-millisecond digits, so microsecond round trips are checked.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + Duration::microseconds(123_456)
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn cipher() -> Cipher {
    Cipher::new(&SecretKey::generate().unwrap())
}

fn seal(cipher: &Cipher, plain: &str) -> EncryptedToken {
    cipher.encrypt(&SecretString::new(plain)).unwrap()
}

fn new_account(ig: &str) -> NewAccount {
    NewAccount {
        ig_user_id: ig.to_owned(),
        username: format!("user_{ig}"),
        name: Some(format!("User {ig}")),
        account_type: AccountType::Business,
        login: LoginKind::Facebook,
        page_id: Some(format!("page_{ig}")),
        timezone: None,
        token: EncryptedToken(vec![1, 2, 3, 4]),
        token_expires_at: Some(at(60 * 24 * 60)),
        now: t0(),
    }
}

async fn account(store: &DynStore, ig: &str) -> Account {
    store.account_upsert(new_account(ig)).await.unwrap()
}

fn record(id: &str, published: DateTime<Utc>, product: ProductType) -> MediaRecord {
    MediaRecord {
        ig_media_id: id.to_owned(),
        media_type: if product == ProductType::Reels {
            MediaType::Video
        } else {
            MediaType::Image
        },
        product_type: product,
        published_at: published,
        caption: Some(format!("caption of {id} — ünïcödé ✓")),
        permalink: Some(format!("https://instagram.example/p/{id}")),
        media_url: Some(format!("https://cdn.example/{id}.jpg")),
        thumbnail_url: None,
        shortcode: Some(format!("sc{id}")),
        like_count: Some(10),
        comments_count: Some(2),
        children: Vec::new(),
    }
}

async fn add_media(store: &DynStore, account: AccountId, records: Vec<MediaRecord>) {
    store
        .media_apply(MediaBatch {
            account_id: account,
            seen_at: at(0),
            upserts: records,
            deleted: Vec::new(),
        })
        .await
        .unwrap();
}

fn snap(
    media: &str,
    metric: &str,
    breakdown: &str,
    captured: DateTime<Utc>,
    value: f64,
) -> InsightSnapshot {
    InsightSnapshot {
        ig_media_id: media.to_owned(),
        metric: metric.to_owned(),
        breakdown: breakdown.to_owned(),
        captured_at: captured,
        value,
    }
}

fn insights(
    account: AccountId,
    captured: DateTime<Utc>,
    rows: Vec<InsightSnapshot>,
) -> InsightBatch {
    InsightBatch {
        account_id: account,
        captured_at: captured,
        rows,
        errors: Vec::new(),
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn latest(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn profile(
    account: AccountId,
    captured: DateTime<Utc>,
    followers: i64,
    username: &str,
) -> ProfileUpdate {
    ProfileUpdate {
        snapshot: ProfileSnapshot {
            account_id: account,
            captured_at: captured,
            followers_count: followers,
            follows_count: followers / 10,
            media_count: 40,
        },
        username: username.to_owned(),
        name: Some("Name".into()),
        profile_picture_url: Some(format!("https://cdn.example/{username}.jpg")),
    }
}

fn job(account: Option<AccountId>, run: Option<i64>) -> NewJob {
    NewJob {
        queue: "instagram-sync".into(),
        kind: "sync_profile".into(),
        args: json!({"account": account}),
        account_id: account,
        unique_key: None,
        run_id: run,
        run_at: at(0),
        max_attempts: 3,
        priority: 0,
        now: at(0),
    }
}

fn alert(account: Option<AccountId>, kind: &str, key: &str, created: DateTime<Utc>) -> NewAlert {
    NewAlert {
        account_id: account,
        kind: kind.to_owned(),
        severity: Severity::Warning,
        dedup_key: key.to_owned(),
        title: format!("{kind} title"),
        message: format!("{kind} message"),
        payload: json!({"key": key, "n": 3, "nested": {"ok": true}}),
        created_at: created,
    }
}

fn step(run: i64, name: &str, position: i32, calls: i64) -> SyncStep {
    SyncStep {
        run_id: run,
        step: name.to_owned(),
        position,
        status: StepStatus::Succeeded,
        attempts: 1,
        started_at: at(position as i64),
        finished_at: Some(at(position as i64) + Duration::seconds(5)),
        api_calls: calls,
        rate_limit_units: calls * 2,
        rows_written: calls * 10,
        expected: Some(100),
        stored: Some(100),
        complete: Some(true),
        error: None,
        detail: json!({"pages": 2, "dropped_metrics": ["impressions"]}),
    }
}

fn usage(account: Option<AccountId>, observed: DateTime<Utc>, pct: f64) -> ApiUsage {
    ApiUsage {
        account_id: account,
        observed_at: observed,
        usage_pct: pct,
        call_count_pct: pct,
        total_cputime_pct: pct / 2.0,
        total_time_pct: pct / 4.0,
        regain_access_minutes: if pct >= 100.0 { Some(12) } else { None },
    }
}

fn calls(
    account: AccountId,
    d: NaiveDate,
    requests: i64,
    units: i64,
    errors: i64,
) -> ApiCallsDelta {
    ApiCallsDelta {
        account_id: account,
        day: d,
        requests,
        units,
        errors,
    }
}

fn key(id: &str, created: DateTime<Utc>) -> ApiKey {
    ApiKey {
        id: id.to_owned(),
        name: format!("key {id}"),
        hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${id}"),
        created_at: created,
        last_used_at: None,
        revoked_at: None,
    }
}

fn session(id: &str, key: &str, expires: DateTime<Utc>) -> Session {
    Session {
        id_hash: id.to_owned(),
        api_key_id: key.to_owned(),
        csrf_token: format!("csrf-{id}"),
        created_at: at(0),
        expires_at: expires,
    }
}

// ----- cases -----

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
            .account_get(created.id + other.id + 1000)
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
            .account_status_set(a.id + 100, change(SyncStatus::Idle, vec![]))
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
    assert!(!store.account_timezone_set(a.id + 100, "UTC").await.unwrap());
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
                account_id: a.id + b.id + 100,
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

/// Everything an account owns, so deletion can be checked table by table.
async fn populate(store: &DynStore, ig: &str) -> AccountId {
    let a = account(store, ig).await.id;
    store
        .profile_apply(profile(a, at(0), 100, ig))
        .await
        .unwrap();
    let media = format!("{ig}_m");
    add_media(store, a, vec![record(&media, at(-60), ProductType::Feed)]).await;
    store
        .media_insights_apply(insights(
            a,
            at(1),
            vec![snap(&media, "reach", "", at(1), 5.0)],
        ))
        .await
        .unwrap();
    let story = format!("{ig}_s");
    store
        .stories_apply(StoryBatch {
            account_id: a,
            captured_at: at(1),
            stories: vec![StoryRecord {
                ig_media_id: story.clone(),
                media_type: MediaType::Image,
                published_at: at(-10),
                permalink: None,
                caption: None,
                media_url: None,
            }],
            rows: vec![snap(&story, "reach", "", at(1), 3.0)],
            errors: vec![],
        })
        .await
        .unwrap();
    store
        .account_insights_apply(AccountInsightBatch {
            account_id: a,
            fetched_at: at(1),
            rows: vec![AccountInsightDay {
                metric: "reach".into(),
                day: day(1),
                breakdown: String::new(),
                key: String::new(),
                value: 50.0,
            }],
        })
        .await
        .unwrap();
    store
        .demographics_apply(DemographicBatch {
            account_id: a,
            captured_on: day(1),
            rows: vec![DemographicValue {
                metric: "follower_demographics".into(),
                breakdown: "country".into(),
                timeframe: String::new(),
                key: "US".into(),
                value: 10.0,
            }],
        })
        .await
        .unwrap();
    let run = store
        .sync_run_create(NewSyncRun {
            account_id: a,
            plan: "full".into(),
            trigger: "manual".into(),
            steps: vec!["profile".into()],
            started_at: at(0),
        })
        .await
        .unwrap();
    store
        .sync_step_record(step(run, "profile", 0, 1))
        .await
        .unwrap();
    store.job_insert(job(Some(a), Some(run))).await.unwrap();
    store
        .alert_insert(alert(Some(a), "sync_failed", &format!("{ig}-alert"), at(0)))
        .await
        .unwrap();
    store
        .api_usage_record(vec![usage(Some(a), at(0), 10.0)])
        .await
        .unwrap();
    store
        .api_calls_add(vec![calls(a, day(1), 5, 5, 0)])
        .await
        .unwrap();
    a
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

pub async fn profile_snapshots_append_history_and_update_latest(store: DynStore) {
    let a = account(&store, "8001").await.id;
    store
        .profile_apply(profile(a, at(0), 100, "first"))
        .await
        .unwrap();
    store
        .profile_apply(profile(a, at(120), 130, "third"))
        .await
        .unwrap();
    // An older read applied late adds history but does not roll the account back.
    store
        .profile_apply(profile(a, at(60), 120, "second"))
        .await
        .unwrap();
    // The same read twice is one snapshot.
    store
        .profile_apply(profile(a, at(60), 120, "second"))
        .await
        .unwrap();

    let history = store.profile_snapshots(a, at(0), at(120)).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|s| (s.captured_at, s.followers_count))
            .collect::<Vec<_>>(),
        vec![(at(0), 100), (at(60), 120), (at(120), 130)],
        "oldest first, inclusive range"
    );
    assert_eq!(history[1].follows_count, 12);
    assert_eq!(history[1].media_count, 40);
    assert_eq!(history[1].account_id, a);
    assert_eq!(
        store
            .profile_snapshots(a, at(1), at(119))
            .await
            .unwrap()
            .len(),
        1
    );

    let acc = store.account_get(a).await.unwrap().unwrap();
    assert_eq!(acc.followers_count, Some(130));
    assert_eq!(acc.follows_count, Some(13));
    assert_eq!(acc.media_count, Some(40));
    assert_eq!(acc.username, "third");
    assert_eq!(
        acc.profile_picture_url.as_deref(),
        Some("https://cdn.example/third.jpg")
    );
    assert_eq!(store.totals().await.unwrap().profile_snapshots, 3);
}

pub async fn media_upsert_is_idempotent(store: DynStore) {
    let a = account(&store, "9001").await.id;
    let mut carousel = record("c1", at(-30), ProductType::Feed);
    carousel.media_type = MediaType::CarouselAlbum;
    carousel.children = vec![
        MediaChild {
            ig_media_id: "c1-a".into(),
            media_type: MediaType::Image,
            media_url: Some("https://cdn.example/c1-a.jpg".into()),
        },
        MediaChild {
            ig_media_id: "c1-b".into(),
            media_type: MediaType::Video,
            media_url: None,
        },
    ];
    let mut hidden_likes = record("r1", at(-20), ProductType::Reels);
    hidden_likes.like_count = None;
    hidden_likes.thumbnail_url = Some("https://cdn.example/r1-thumb.jpg".into());
    let batch = MediaBatch {
        account_id: a,
        seen_at: at(0),
        upserts: vec![
            record("p1", at(-40), ProductType::Feed),
            carousel.clone(),
            hidden_likes.clone(),
        ],
        deleted: vec![],
    };
    assert_eq!(store.media_apply(batch.clone()).await.unwrap(), 3);
    let first = store
        .media_list(MediaQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(store.media_apply(batch.clone()).await.unwrap(), 3);
    let second = store
        .media_list(MediaQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first, second, "the same batch twice leaves the same rows");
    assert_eq!(store.totals().await.unwrap().media, 3);

    let c1 = store.media_get("c1").await.unwrap().unwrap();
    assert_eq!(c1.record, carousel, "children and fields round trip");
    assert_eq!(c1.account_id, a);
    assert_eq!(c1.first_seen_at, at(0));
    assert_eq!(c1.deleted_at, None);
    assert!(c1.latest.is_empty());
    assert_eq!(
        store.media_get("r1").await.unwrap().unwrap().record,
        hidden_likes
    );
    assert_eq!(store.media_get("missing").await.unwrap(), None);

    // A later listing updates counters and last_seen_at, keeps first_seen_at.
    let mut changed = record("p1", at(-40), ProductType::Feed);
    changed.like_count = Some(99);
    changed.caption = None;
    store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(30),
            upserts: vec![changed.clone()],
            deleted: vec![],
        })
        .await
        .unwrap();
    let p1 = store.media_get("p1").await.unwrap().unwrap();
    assert_eq!(p1.record, changed);
    assert_eq!(p1.first_seen_at, at(0));
    assert_eq!(p1.last_seen_at, at(30));
}

pub async fn media_from_another_account_is_a_conflict(store: DynStore) {
    let a = account(&store, "9101").await.id;
    let b = account(&store, "9102").await.id;
    add_media(&store, a, vec![record("shared", at(-5), ProductType::Feed)]).await;
    let err = store
        .media_apply(MediaBatch {
            account_id: b,
            seen_at: at(1),
            upserts: vec![
                record("own", at(-4), ProductType::Feed),
                record("shared", at(-5), ProductType::Feed),
            ],
            deleted: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(
        store.media_get("own").await.unwrap(),
        None,
        "nothing was written"
    );
    assert_eq!(
        store.media_get("shared").await.unwrap().unwrap().account_id,
        a
    );
}

pub async fn media_deletions_are_marked_and_history_kept(store: DynStore) {
    let a = account(&store, "9201").await.id;
    add_media(
        &store,
        a,
        vec![
            record("d1", at(-50), ProductType::Feed),
            record("d2", at(-40), ProductType::Feed),
        ],
    )
    .await;
    store
        .media_insights_apply(insights(
            a,
            at(1),
            vec![snap("d1", "reach", "", at(1), 7.0)],
        ))
        .await
        .unwrap();
    let written = store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(10),
            upserts: vec![record("d2", at(-40), ProductType::Feed)],
            deleted: ids(&["d1", "never-stored"]),
        })
        .await
        .unwrap();
    assert_eq!(written, 2, "one upsert and one deletion marked");
    let visible = store
        .media_list(MediaQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        visible
            .iter()
            .map(|m| m.record.ig_media_id.as_str())
            .collect::<Vec<_>>(),
        vec!["d2"]
    );
    let all = store
        .media_list(MediaQuery {
            account_id: Some(a),
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let d1 = store.media_get("d1").await.unwrap().unwrap();
    assert_eq!(d1.deleted_at, Some(at(10)));
    assert_eq!(
        d1.latest,
        latest(&[("reach", 7.0)]),
        "history and latest values are kept"
    );
    assert_eq!(
        store
            .media_insight_history(&ids(&["d1"]), &[])
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.totals().await.unwrap().media_deleted, 1);

    // Marking again keeps the first deletion time.
    store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(20),
            upserts: vec![],
            deleted: ids(&["d1"]),
        })
        .await
        .unwrap();
    assert_eq!(
        store.media_get("d1").await.unwrap().unwrap().deleted_at,
        Some(at(10))
    );

    // Listed again: no longer deleted.
    store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(30),
            upserts: vec![record("d1", at(-50), ProductType::Feed)],
            deleted: vec![],
        })
        .await
        .unwrap();
    assert_eq!(
        store.media_get("d1").await.unwrap().unwrap().deleted_at,
        None
    );
    assert_eq!(store.totals().await.unwrap().media_deleted, 0);
}

pub async fn insight_snapshots_append_history_and_latest_is_newest(store: DynStore) {
    let a = account(&store, "9301").await.id;
    add_media(
        &store,
        a,
        vec![
            record("h1", at(-120), ProductType::Feed),
            record("h2", at(-100), ProductType::Reels),
        ],
    )
    .await;
    let exotic = 0.1 + 0.2;
    let first = store
        .media_insights_apply(insights(
            a,
            at(0),
            vec![
                snap("h1", "reach", "", at(0), 100.0),
                snap("h1", "likes", "", at(0), 10.0),
                snap(
                    "h1",
                    "profile_activity",
                    "action_type:BIO_LINK_CLICKED",
                    at(0),
                    4.0,
                ),
                snap("h2", "views", "", at(0), exotic),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(first, 4);
    store
        .media_insights_apply(insights(
            a,
            at(60),
            vec![
                snap("h1", "reach", "", at(60), 150.0),
                snap("h1", "likes", "", at(60), 12.0),
                snap(
                    "h1",
                    "profile_activity",
                    "action_type:BIO_LINK_CLICKED",
                    at(60),
                    6.0,
                ),
            ],
        ))
        .await
        .unwrap();
    // An older capture applied late is history, not the latest value.
    store
        .media_insights_apply(insights(
            a,
            at(-30),
            vec![snap("h1", "reach", "", at(-30), 50.0)],
        ))
        .await
        .unwrap();

    let h1 = store.media_get("h1").await.unwrap().unwrap();
    assert_eq!(
        h1.latest,
        latest(&[("likes", 12.0), ("reach", 150.0)]),
        "breakdown rows are not in latest"
    );
    assert_eq!(h1.insights_captured_at, Some(at(60)));
    let h2 = store.media_get("h2").await.unwrap().unwrap();
    assert_eq!(
        h2.latest,
        latest(&[("views", exotic)]),
        "values round trip exactly"
    );
    assert_eq!(h2.insights_captured_at, Some(at(0)));

    let history = store
        .media_insight_history(&ids(&["h1", "h2"]), &[])
        .await
        .unwrap();
    let got: Vec<(&str, &str, &str, DateTime<Utc>, f64)> = history
        .iter()
        .map(|s| {
            (
                s.ig_media_id.as_str(),
                s.metric.as_str(),
                s.breakdown.as_str(),
                s.captured_at,
                s.value,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("h1", "likes", "", at(0), 10.0),
            ("h1", "likes", "", at(60), 12.0),
            (
                "h1",
                "profile_activity",
                "action_type:BIO_LINK_CLICKED",
                at(0),
                4.0
            ),
            (
                "h1",
                "profile_activity",
                "action_type:BIO_LINK_CLICKED",
                at(60),
                6.0
            ),
            ("h1", "reach", "", at(-30), 50.0),
            ("h1", "reach", "", at(0), 100.0),
            ("h1", "reach", "", at(60), 150.0),
            ("h2", "views", "", at(0), exotic),
        ],
        "ordered by media, metric, breakdown, captured_at"
    );
    let reach = store
        .media_insight_history(&ids(&["h1"]), &ids(&["reach"]))
        .await
        .unwrap();
    assert_eq!(reach.len(), 3);
    assert!(reach.iter().all(|s| s.metric == "reach"));
    assert!(
        store
            .media_insight_history(&ids(&["unknown"]), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.totals().await.unwrap().media_insight_snapshots, 8);
}

pub async fn insight_batch_twice_leaves_the_same_rows(store: DynStore) {
    let a = account(&store, "9401").await.id;
    add_media(&store, a, vec![record("i1", at(-60), ProductType::Feed)]).await;
    let batch = insights(
        a,
        at(0),
        vec![
            snap("i1", "reach", "", at(0), 10.0),
            snap("i1", "saved", "", at(0), 1.0),
        ],
    );
    store.media_insights_apply(batch.clone()).await.unwrap();
    let history = store
        .media_insight_history(&ids(&["i1"]), &[])
        .await
        .unwrap();
    let media = store.media_get("i1").await.unwrap();
    store.media_insights_apply(batch).await.unwrap();
    assert_eq!(
        store
            .media_insight_history(&ids(&["i1"]), &[])
            .await
            .unwrap(),
        history
    );
    assert_eq!(store.media_get("i1").await.unwrap(), media);
    assert_eq!(store.totals().await.unwrap().media_insight_snapshots, 2);
}

pub async fn insight_batch_with_a_bad_row_writes_nothing(store: DynStore) {
    let a = account(&store, "9501").await.id;
    let b = account(&store, "9502").await.id;
    add_media(&store, a, vec![record("ok1", at(-60), ProductType::Feed)]).await;
    add_media(
        &store,
        b,
        vec![record("theirs", at(-60), ProductType::Feed)],
    )
    .await;
    let before = store.media_get("ok1").await.unwrap();

    let good = |value: f64| snap("ok1", "reach", "", at(0), value);
    let cases = [
        vec![good(1.0), snap("unknown-media", "reach", "", at(0), 1.0)],
        vec![good(1.0), snap("theirs", "reach", "", at(0), 1.0)],
        vec![good(1.0), snap("ok1", "likes", "", at(0), f64::NAN)],
        vec![snap("ok1", "likes", "", at(0), f64::INFINITY), good(1.0)],
        vec![good(1.0), snap("ok1", "", "", at(0), 1.0)],
    ];
    for rows in cases {
        let err = store
            .media_insights_apply(insights(a, at(0), rows.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidInput { .. }),
            "{rows:?}: {err:?}"
        );
    }
    let err = store
        .media_insights_apply(InsightBatch {
            errors: vec![("unknown-media".into(), "boom".into())],
            ..insights(a, at(0), vec![good(1.0)])
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");

    assert!(
        store
            .media_insight_history(&ids(&["ok1", "theirs"]), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.media_get("ok1").await.unwrap(),
        before,
        "latest values untouched"
    );
    assert_eq!(store.totals().await.unwrap().media_insight_snapshots, 0);
}

pub async fn insight_errors_are_recorded_and_cleared(store: DynStore) {
    let a = account(&store, "9601").await.id;
    add_media(
        &store,
        a,
        vec![
            record("e1", at(-60), ProductType::Feed),
            record("e2", at(-50), ProductType::Feed),
        ],
    )
    .await;
    store
        .media_insights_apply(InsightBatch {
            account_id: a,
            captured_at: at(0),
            rows: vec![snap("e2", "reach", "", at(0), 3.0)],
            errors: vec![(
                "e1".into(),
                "media posted before the business conversion".into(),
            )],
        })
        .await
        .unwrap();
    let e1 = store.media_get("e1").await.unwrap().unwrap();
    assert_eq!(
        e1.insights_error.as_deref(),
        Some("media posted before the business conversion")
    );
    assert_eq!(e1.insights_captured_at, None);
    assert_eq!(
        store.media_get("e2").await.unwrap().unwrap().insights_error,
        None
    );
    let index = store.media_index(a).await.unwrap();
    let entry = index.iter().find(|e| e.ig_media_id == "e1").unwrap();
    assert_eq!(
        entry.insights_error.as_deref(),
        Some("media posted before the business conversion")
    );

    store
        .media_insights_apply(insights(
            a,
            at(60),
            vec![snap("e1", "reach", "", at(60), 1.0)],
        ))
        .await
        .unwrap();
    let e1 = store.media_get("e1").await.unwrap().unwrap();
    assert_eq!(e1.insights_error, None, "a success clears the error");
    assert_eq!(e1.insights_captured_at, Some(at(60)));
}

pub async fn stories_and_their_snapshots(store: DynStore) {
    let a = account(&store, "9701").await.id;
    let story = |id: &str, published: DateTime<Utc>| StoryRecord {
        ig_media_id: id.to_owned(),
        media_type: MediaType::Video,
        published_at: published,
        permalink: Some(format!("https://instagram.example/s/{id}")),
        caption: Some("story".into()),
        media_url: Some(format!("https://cdn.example/{id}.mp4")),
    };
    let written = store
        .stories_apply(StoryBatch {
            account_id: a,
            captured_at: at(0),
            stories: vec![story("s1", at(-120)), story("s2", at(-60))],
            rows: vec![
                snap("s1", "reach", "", at(0), 40.0),
                snap(
                    "s1",
                    "navigation",
                    "story_navigation_action_type:TAP_FORWARD",
                    at(0),
                    8.0,
                ),
                snap("s2", "reach", "", at(0), 20.0),
            ],
            errors: vec![],
        })
        .await
        .unwrap();
    assert!(
        written >= 3,
        "at least the snapshot rows are counted: {written}"
    );
    store
        .stories_apply(StoryBatch {
            account_id: a,
            captured_at: at(60),
            stories: vec![story("s1", at(-120))],
            rows: vec![snap("s1", "reach", "", at(60), 55.0)],
            errors: vec![("s2".into(), "story expired".into())],
        })
        .await
        .unwrap();

    let listed = store.story_list(a, at(-180), at(0)).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|s| s.record.ig_media_id.as_str())
            .collect::<Vec<_>>(),
        vec!["s2", "s1"],
        "newest first"
    );
    let s1 = &listed[1];
    assert_eq!(s1.record, story("s1", at(-120)));
    assert_eq!(s1.account_id, a);
    assert_eq!(s1.first_seen_at, at(0));
    assert_eq!(s1.last_seen_at, at(60));
    assert_eq!(s1.latest, latest(&[("reach", 55.0)]));
    assert_eq!(s1.insights_captured_at, Some(at(60)));
    assert_eq!(listed[0].insights_error.as_deref(), Some("story expired"));
    assert_eq!(
        store.story_list(a, at(-90), at(0)).await.unwrap().len(),
        1,
        "inclusive range on published_at"
    );
    assert_eq!(
        store.story_list(a, at(-60), at(-60)).await.unwrap().len(),
        1
    );

    let history = store
        .story_insight_history(&ids(&["s1", "s2"]))
        .await
        .unwrap();
    let got: Vec<(&str, &str, DateTime<Utc>, f64)> = history
        .iter()
        .map(|s| {
            (
                s.ig_media_id.as_str(),
                s.metric.as_str(),
                s.captured_at,
                s.value,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("s1", "navigation", at(0), 8.0),
            ("s1", "reach", at(0), 40.0),
            ("s1", "reach", at(60), 55.0),
            ("s2", "reach", at(0), 20.0),
        ]
    );
    let totals = store.totals().await.unwrap();
    assert_eq!((totals.stories, totals.story_insight_snapshots), (2, 4));

    // A row for an unknown story fails the whole batch.
    let err = store
        .stories_apply(StoryBatch {
            account_id: a,
            captured_at: at(120),
            stories: vec![story("s3", at(100))],
            rows: vec![
                snap("s3", "reach", "", at(120), 1.0),
                snap("nope", "reach", "", at(120), 1.0),
            ],
            errors: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
    let totals = store.totals().await.unwrap();
    assert_eq!(
        (totals.stories, totals.story_insight_snapshots),
        (2, 4),
        "nothing half-written"
    );
}

pub async fn account_insight_days_settle_in_place(store: DynStore) {
    let a = account(&store, "9801").await.id;
    let row = |metric: &str, d: u32, breakdown: &str, key: &str, value: f64| AccountInsightDay {
        metric: metric.to_owned(),
        day: day(d),
        breakdown: breakdown.to_owned(),
        key: key.to_owned(),
        value,
    };
    let first = AccountInsightBatch {
        account_id: a,
        fetched_at: at(0),
        rows: vec![
            row("reach", 1, "", "", 100.0),
            row("reach", 2, "", "", 200.0),
            row("reach", 3, "", "", 300.0),
            row("reach", 3, "media_product_type", "REELS", 120.0),
            row("online_followers", 2, "hour", "13", 42.0),
            row("reels_skip_rate", 1, "", "", 0.1 + 0.2),
        ],
    };
    assert_eq!(
        store.account_insights_apply(first.clone()).await.unwrap(),
        6
    );
    let exact = store
        .account_insight_days(a, &["reels_skip_rate".to_owned()], day(1), day(1))
        .await
        .unwrap();
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].value, 0.1 + 0.2, "values round-trip exactly");
    // The settling window is fetched again: days 2 and 3 change, day 1 is untouched.
    store
        .account_insights_apply(AccountInsightBatch {
            account_id: a,
            fetched_at: at(60),
            rows: vec![
                row("reach", 2, "", "", 210.0),
                row("reach", 3, "", "", 333.0),
                row("reach", 4, "", "", 400.0),
            ],
        })
        .await
        .unwrap();
    // A stale fetch of day 3 arriving late does not undo the fresher value.
    store
        .account_insights_apply(AccountInsightBatch {
            account_id: a,
            fetched_at: at(30),
            rows: vec![row("reach", 3, "", "", 301.0)],
        })
        .await
        .unwrap();

    let reach = store
        .account_insight_days(a, &ids(&["reach"]), day(1), day(4))
        .await
        .unwrap();
    assert_eq!(
        reach,
        vec![
            row("reach", 1, "", "", 100.0),
            row("reach", 2, "", "", 210.0),
            row("reach", 3, "", "", 333.0),
            row("reach", 3, "media_product_type", "REELS", 120.0),
            row("reach", 4, "", "", 400.0),
        ],
        "ordered by metric, day, breakdown, key"
    );
    let all = store
        .account_insight_days(a, &[], day(2), day(3))
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .map(|r| (r.metric.as_str(), r.day))
            .collect::<Vec<_>>(),
        vec![
            ("online_followers", day(2)),
            ("reach", day(2)),
            ("reach", day(3)),
            ("reach", day(3))
        ]
    );
    assert_eq!(store.totals().await.unwrap().account_insight_days, 7);
    assert_eq!(
        store.account_insight_last_day(a, "reach").await.unwrap(),
        Some(day(4))
    );
    assert_eq!(
        store
            .account_insight_last_day(a, "online_followers")
            .await
            .unwrap(),
        Some(day(2))
    );
    assert_eq!(
        store.account_insight_last_day(a, "views").await.unwrap(),
        None
    );

    let err = store
        .account_insights_apply(AccountInsightBatch {
            account_id: a,
            fetched_at: at(90),
            rows: vec![
                row("reach", 5, "", "", 1.0),
                row("reach", 6, "", "", f64::NAN),
            ],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
    assert_eq!(
        store.account_insight_last_day(a, "reach").await.unwrap(),
        Some(day(4))
    );
}

pub async fn demographics_snapshots_by_day(store: DynStore) {
    let a = account(&store, "9901").await.id;
    let value = |breakdown: &str, key: &str, v: f64| DemographicValue {
        metric: "follower_demographics".into(),
        breakdown: breakdown.to_owned(),
        timeframe: String::new(),
        key: key.to_owned(),
        value: v,
    };
    assert_eq!(store.demographics_latest(a).await.unwrap(), None);
    store
        .demographics_apply(DemographicBatch {
            account_id: a,
            captured_on: day(1),
            rows: vec![value("country", "US", 10.0), value("country", "DE", 5.0)],
        })
        .await
        .unwrap();
    let day2 = vec![
        value("age,gender", "F.25-34", 7.0),
        value("country", "DE", 6.0),
        value("country", "US", 11.0),
        DemographicValue {
            metric: "engaged_audience_demographics".into(),
            breakdown: "city".into(),
            timeframe: "this_month".into(),
            key: "Berlin, Germany".into(),
            value: 3.0,
        },
    ];
    store
        .demographics_apply(DemographicBatch {
            account_id: a,
            captured_on: day(2),
            rows: day2.clone(),
        })
        .await
        .unwrap();
    // Re-applying an older day does not make it the latest; the same day upserts.
    store
        .demographics_apply(DemographicBatch {
            account_id: a,
            captured_on: day(1),
            rows: vec![value("country", "US", 10.0)],
        })
        .await
        .unwrap();
    store
        .demographics_apply(DemographicBatch {
            account_id: a,
            captured_on: day(2),
            rows: vec![value("country", "US", 12.0)],
        })
        .await
        .unwrap();

    let (on, values) = store.demographics_latest(a).await.unwrap().unwrap();
    assert_eq!(on, day(2));
    let mut expected = day2;
    expected[2].value = 12.0;
    expected.sort_by(|x, y| {
        (&x.metric, &x.breakdown, &x.timeframe, &x.key).cmp(&(
            &y.metric,
            &y.breakdown,
            &y.timeframe,
            &y.key,
        ))
    });
    assert_eq!(
        values, expected,
        "ordered by metric, breakdown, timeframe, key"
    );
    assert_eq!(store.totals().await.unwrap().demographic_values, 6);
}

pub async fn sync_runs_and_steps(store: DynStore) {
    let a = account(&store, "10001").await.id;
    let b = account(&store, "10002").await.id;
    let new_run = |account: AccountId, minute: i64| NewSyncRun {
        account_id: account,
        plan: "full".into(),
        trigger: "schedule:full-sync".into(),
        steps: ids(&["profile", "media", "media_insights"]),
        started_at: at(minute),
    };
    let r1 = store.sync_run_create(new_run(a, 0)).await.unwrap();
    let r2 = store.sync_run_create(new_run(b, 1)).await.unwrap();
    let r3 = store.sync_run_create(new_run(a, 2)).await.unwrap();
    assert!(r1 < r2 && r2 < r3);

    store
        .sync_step_record(step(r1, "media", 1, 3))
        .await
        .unwrap();
    store
        .sync_step_record(step(r1, "profile", 0, 1))
        .await
        .unwrap();
    // A retried step overwrites its row.
    let retried = SyncStep {
        status: StepStatus::Failed,
        attempts: 2,
        error: Some("HTTP 500".into()),
        complete: Some(false),
        stored: Some(40),
        ..step(r1, "media", 1, 5)
    };
    store.sync_step_record(retried.clone()).await.unwrap();
    let err = store
        .sync_step_record(step(r1 + r2 + r3 + 100, "profile", 0, 1))
        .await;
    assert!(err.is_err(), "a step needs its run");

    let (run, steps) = store.sync_run_get(r1).await.unwrap().unwrap();
    assert_eq!(run.account_id, a);
    assert_eq!(run.plan, "full");
    assert_eq!(run.trigger, "schedule:full-sync");
    assert_eq!(
        run.steps_planned,
        ids(&["profile", "media", "media_insights"])
    );
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(run.started_at, at(0));
    assert_eq!(run.finished_at, None);
    assert_eq!(
        (run.api_calls, run.rate_limit_units, run.rows_written),
        (6, 12, 60),
        "sums over steps"
    );
    assert_eq!(
        steps,
        vec![step(r1, "profile", 0, 1), retried],
        "ordered by position"
    );

    assert!(
        store
            .sync_run_finish(RunFinish {
                run_id: r1,
                status: RunStatus::Failed,
                error: Some("media: HTTP 500".into()),
                finished_at: at(9),
            })
            .await
            .unwrap()
    );
    assert!(
        !store
            .sync_run_finish(RunFinish {
                run_id: r3 + 100,
                status: RunStatus::Succeeded,
                error: None,
                finished_at: at(9)
            })
            .await
            .unwrap()
    );
    let (run, _) = store.sync_run_get(r1).await.unwrap().unwrap();
    assert_eq!(
        (run.status, run.error.as_deref(), run.finished_at),
        (RunStatus::Failed, Some("media: HTTP 500"), Some(at(9)))
    );
    let (empty, no_steps) = store.sync_run_get(r2).await.unwrap().unwrap();
    assert_eq!((empty.api_calls, empty.rows_written), (0, 0));
    assert!(no_steps.is_empty());
    assert_eq!(store.sync_run_get(r3 + 100).await.unwrap(), None);

    let list = |query: RunQuery| {
        let store = store.clone();
        async move {
            store
                .sync_runs_list(query)
                .await
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(RunQuery::default()).await,
        vec![r3, r2, r1],
        "newest first; limit 0 = all"
    );
    assert_eq!(
        list(RunQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await,
        vec![r3, r1]
    );
    assert_eq!(
        list(RunQuery {
            status: Some(RunStatus::Running),
            ..Default::default()
        })
        .await,
        vec![r3, r2]
    );
    assert_eq!(
        list(RunQuery {
            limit: 2,
            ..Default::default()
        })
        .await,
        vec![r3, r2]
    );
    assert_eq!(
        list(RunQuery {
            limit: 2,
            before_id: Some(r2),
            ..Default::default()
        })
        .await,
        vec![r1]
    );
    let listed = store
        .sync_runs_list(RunQuery {
            account_id: Some(a),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed[1], run, "listed runs carry the same sums");
    assert_eq!(store.totals().await.unwrap().sync_runs, 3);
}

pub async fn alerts_dedup_filters_ack_and_delivery(store: DynStore) {
    let a = account(&store, "11001").await.id;
    let first = store
        .alert_insert(alert(
            Some(a),
            "follower_growth",
            "growth:a:2026-03-01",
            at(0),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.alert,
        alert(Some(a), "follower_growth", "growth:a:2026-03-01", at(0))
    );
    assert_eq!(
        (
            first.acknowledged_at,
            first.delivered_at,
            first.delivery_error.as_deref()
        ),
        (None, None, None)
    );
    assert_eq!(
        store
            .alert_insert(alert(
                Some(a),
                "follower_growth",
                "growth:a:2026-03-01",
                at(5)
            ))
            .await
            .unwrap(),
        None,
        "deduplicated by key"
    );
    let app = store
        .alert_insert(alert(None, "rate_limit_pressure", "rate:app", at(1)))
        .await
        .unwrap()
        .unwrap();
    let trend = store
        .alert_insert(alert(Some(a), "trending_post", "trend:a:p1", at(2)))
        .await
        .unwrap()
        .unwrap();

    let list = |query: AlertQuery| {
        let store = store.clone();
        async move {
            store
                .alert_list(query)
                .await
                .unwrap()
                .iter()
                .map(|x| x.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(AlertQuery::default()).await,
        vec![trend.id, app.id, first.id],
        "newest first; limit 0 = all"
    );
    assert_eq!(
        list(AlertQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await,
        vec![trend.id, first.id]
    );
    assert_eq!(
        list(AlertQuery {
            kind: Some("rate_limit_pressure".into()),
            ..Default::default()
        })
        .await,
        vec![app.id]
    );
    assert_eq!(
        list(AlertQuery {
            limit: 1,
            ..Default::default()
        })
        .await,
        vec![trend.id]
    );

    assert!(store.alert_ack(first.id, at(10)).await.unwrap());
    assert!(store.alert_ack(first.id, at(20)).await.unwrap());
    assert!(!store.alert_ack(trend.id + 100, at(10)).await.unwrap());
    assert_eq!(
        list(AlertQuery {
            unacknowledged_only: true,
            ..Default::default()
        })
        .await,
        vec![trend.id, app.id]
    );

    assert!(
        store
            .alert_delivery_set(app.id, Some(at(3)), None)
            .await
            .unwrap()
    );
    assert!(
        store
            .alert_delivery_set(trend.id, None, Some("webhook answered 500".into()))
            .await
            .unwrap()
    );
    assert!(
        !store
            .alert_delivery_set(trend.id + 100, None, None)
            .await
            .unwrap()
    );
    let all = store.alert_list(AlertQuery::default()).await.unwrap();
    assert_eq!(
        all[2].acknowledged_at,
        Some(at(10)),
        "the first acknowledgement counts"
    );
    assert_eq!(
        (all[1].delivered_at, all[1].delivery_error.as_deref()),
        (Some(at(3)), None)
    );
    assert_eq!(
        (all[0].delivered_at, all[0].delivery_error.as_deref()),
        (None, Some("webhook answered 500"))
    );
    assert_eq!(
        all[0].alert.payload,
        json!({"key": "trend:a:p1", "n": 3, "nested": {"ok": true}})
    );
    assert_eq!(store.totals().await.unwrap().alerts, 3);
}

pub async fn api_keys_lifecycle(store: DynStore) {
    store.api_key_insert(key("k_one", at(0))).await.unwrap();
    store.api_key_insert(key("k_two", at(1))).await.unwrap();
    let dup = store.api_key_insert(key("k_one", at(2))).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { .. }), "{dup:?}");

    assert_eq!(
        store.api_key_get("k_one").await.unwrap(),
        Some(key("k_one", at(0)))
    );
    assert_eq!(store.api_key_get("k_none").await.unwrap(), None);
    assert_eq!(
        store.api_key_list().await.unwrap(),
        vec![key("k_one", at(0)), key("k_two", at(1))]
    );

    store.api_key_touch("k_one", at(5)).await.unwrap();
    store.api_key_touch("k_none", at(5)).await.unwrap();
    assert_eq!(
        store
            .api_key_get("k_one")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(at(5))
    );

    // A hash is replaced only while it is still the one the caller read.
    let old = key("k_one", at(0)).hash;
    assert!(
        store
            .api_key_rehash("k_one", &old, "sha256:0a0b")
            .await
            .unwrap()
    );
    assert!(
        !store
            .api_key_rehash("k_one", &old, "sha256:0c0d")
            .await
            .unwrap(),
        "a stale compare-and-set changes nothing"
    );
    assert!(
        !store
            .api_key_rehash("k_none", &old, "sha256:0c0d")
            .await
            .unwrap()
    );
    let one = store.api_key_get("k_one").await.unwrap().unwrap();
    assert_eq!(one.hash, "sha256:0a0b");
    assert_eq!(
        (one.name.as_str(), one.last_used_at),
        ("key k_one", Some(at(5))),
        "nothing else changed"
    );

    assert!(store.api_key_revoke("k_two", at(6)).await.unwrap());
    assert!(store.api_key_revoke("k_two", at(7)).await.unwrap());
    assert!(!store.api_key_revoke("k_none", at(6)).await.unwrap());
    let two = store.api_key_get("k_two").await.unwrap().unwrap();
    assert_eq!(two.revoked_at, Some(at(6)), "the first revocation counts");
    assert_eq!(
        store
            .api_key_get("k_one")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
}

pub async fn sessions_and_prune(store: DynStore) {
    store.api_key_insert(key("k_live", at(0))).await.unwrap();
    store.api_key_insert(key("k_revoked", at(0))).await.unwrap();
    let now = at(60);
    store
        .session_insert(session("s_ok", "k_live", now + Duration::hours(8)))
        .await
        .unwrap();
    store
        .session_insert(session("s_expired", "k_live", now - Duration::seconds(1)))
        .await
        .unwrap();
    store
        .session_insert(session("s_at_expiry", "k_live", now))
        .await
        .unwrap();
    store
        .session_insert(session(
            "s_of_revoked",
            "k_revoked",
            now + Duration::hours(8),
        ))
        .await
        .unwrap();
    assert!(
        store
            .session_insert(session("s_orphan", "k_missing", now))
            .await
            .is_err(),
        "a session needs its key"
    );
    assert_eq!(
        store.session_get("s_ok").await.unwrap(),
        Some(session("s_ok", "k_live", now + Duration::hours(8)))
    );

    store.api_key_revoke("k_revoked", at(30)).await.unwrap();
    assert_eq!(store.session_prune(now).await.unwrap(), 3);
    assert!(store.session_get("s_ok").await.unwrap().is_some());
    for gone in ["s_expired", "s_at_expiry", "s_of_revoked"] {
        assert_eq!(store.session_get(gone).await.unwrap(), None, "{gone}");
    }
    assert_eq!(store.session_prune(now).await.unwrap(), 0);
    store.session_delete("s_ok").await.unwrap();
    store.session_delete("s_ok").await.unwrap();
    assert_eq!(store.session_get("s_ok").await.unwrap(), None);
}

pub async fn api_usage_keeps_the_latest_per_scope(store: DynStore) {
    let a = account(&store, "12001").await.id;
    let b = account(&store, "12002").await.id;
    store
        .api_usage_record(vec![
            usage(None, at(0), 20.0),
            usage(Some(a), at(0), 30.0),
            usage(Some(b), at(0), 5.0),
        ])
        .await
        .unwrap();
    store
        .api_usage_record(vec![usage(Some(a), at(10), 100.0)])
        .await
        .unwrap();
    // An older observation arriving late is ignored.
    store
        .api_usage_record(vec![usage(Some(a), at(5), 50.0), usage(None, at(1), 25.0)])
        .await
        .unwrap();
    let mut latest = store.api_usage_latest().await.unwrap();
    latest.sort_by_key(|u| u.account_id);
    assert_eq!(
        latest,
        vec![
            usage(None, at(1), 25.0),
            usage(Some(a), at(10), 100.0),
            usage(Some(b), at(0), 5.0)
        ]
    );
    let err = store
        .api_usage_record(vec![usage(Some(a), at(20), f64::NAN)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
}

pub async fn api_call_days_add_up(store: DynStore) {
    let a = account(&store, "13001").await.id;
    let b = account(&store, "13002").await.id;
    store
        .api_calls_add(vec![
            calls(a, day(1), 2, 3, 0),
            calls(a, day(1), 1, 1, 1),
            calls(a, day(2), 4, 4, 0),
            calls(b, day(1), 7, 7, 2),
        ])
        .await
        .unwrap();
    store
        .api_calls_add(vec![calls(a, day(1), 1, 0, 0)])
        .await
        .unwrap();
    store.api_calls_add(vec![]).await.unwrap();
    let got: Vec<_> = store
        .api_calls_days(Some(a), day(1), day(2))
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.account_id, d.day, d.requests, d.units, d.errors))
        .collect();
    assert_eq!(got, vec![(a, day(1), 4, 4, 1), (a, day(2), 4, 4, 0)]);
    let day1: Vec<_> = store
        .api_calls_days(None, day(1), day(1))
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.account_id, d.requests))
        .collect();
    assert_eq!(
        day1,
        vec![(a, 4), (b, 7)],
        "all accounts, by account then day"
    );
    assert!(
        store
            .api_calls_days(Some(a), day(3), day(9))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn media_list_filters_and_paging(store: DynStore) {
    let a = account(&store, "14001").await.id;
    let b = account(&store, "14002").await.id;
    let products = [
        ProductType::Feed,
        ProductType::Reels,
        ProductType::Feed,
        ProductType::Reels,
        ProductType::Feed,
    ];
    let records: Vec<MediaRecord> = products
        .iter()
        .enumerate()
        .map(|(i, p)| record(&format!("l{i}"), at(i as i64 * 10), *p))
        .collect();
    add_media(&store, a, records).await;
    add_media(&store, b, vec![record("other", at(25), ProductType::Feed)]).await;
    store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(100),
            upserts: vec![],
            deleted: ids(&["l4"]),
        })
        .await
        .unwrap();

    let list = |query: MediaQuery| {
        let store = store.clone();
        async move {
            store
                .media_list(query)
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.record.ig_media_id)
                .collect::<Vec<_>>()
        }
    };
    let mine = MediaQuery {
        account_id: Some(a),
        ..Default::default()
    };
    assert_eq!(
        list(mine.clone()).await,
        ids(&["l3", "l2", "l1", "l0"]),
        "newest first, deleted hidden"
    );
    assert_eq!(
        list(MediaQuery {
            include_deleted: true,
            ..mine.clone()
        })
        .await,
        ids(&["l4", "l3", "l2", "l1", "l0"])
    );
    assert_eq!(
        list(MediaQuery {
            published_from: Some(at(10)),
            published_to: Some(at(30)),
            ..mine.clone()
        })
        .await,
        ids(&["l3", "l2", "l1"]),
        "inclusive range on published_at"
    );
    assert_eq!(
        list(MediaQuery {
            product_type: Some(ProductType::Reels),
            ..mine.clone()
        })
        .await,
        ids(&["l3", "l1"])
    );
    assert_eq!(
        list(MediaQuery {
            limit: Some(2),
            offset: 1,
            ..mine.clone()
        })
        .await,
        ids(&["l2", "l1"])
    );
    assert_eq!(
        list(MediaQuery {
            limit: Some(0),
            ..mine.clone()
        })
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(MediaQuery {
            offset: 3,
            ..mine.clone()
        })
        .await,
        ids(&["l0"])
    );
    assert_eq!(
        list(MediaQuery::default()).await,
        ids(&["l3", "other", "l2", "l1", "l0"]),
        "all accounts"
    );
}

pub async fn media_summaries_match_the_full_listing(store: DynStore) {
    let a = account(&store, "15101").await.id;
    let other = account(&store, "15102").await.id;
    let mut captioned = record("s1", at(-30), ProductType::Feed);
    captioned.caption = Some("Quotes \" and ' and \\ and emoji ✨ and\nnew lines".to_owned());
    captioned.permalink = Some("https://www.instagram.com/p/abc/".to_owned());
    captioned.like_count = None;
    add_media(
        &store,
        a,
        vec![
            captioned,
            record("s2", at(-20), ProductType::Reels),
            record("s3", at(-10), ProductType::Feed),
        ],
    )
    .await;
    add_media(&store, other, vec![record("s9", at(-5), ProductType::Feed)]).await;
    store
        .media_insights_apply(insights(
            a,
            at(1),
            vec![
                snap("s2", "reach", "", at(1), 1234.0),
                snap("s2", "reels_skip_rate", "", at(1), 0.1 + 0.2),
                snap("s1", "likes", "", at(1), 7.0),
            ],
        ))
        .await
        .unwrap();
    store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(2),
            upserts: vec![],
            deleted: ids(&["s3"]),
        })
        .await
        .unwrap();

    let summaries = store.media_summaries(a).await.unwrap();
    let full = store
        .media_list(MediaQuery {
            account_id: Some(a),
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let expected: Vec<MediaSummary> = full
        .into_iter()
        .map(|m| MediaSummary {
            ig_media_id: m.record.ig_media_id,
            media_type: m.record.media_type,
            product_type: m.record.product_type,
            published_at: m.record.published_at,
            caption: m.record.caption,
            permalink: m.record.permalink,
            deleted: m.deleted_at.is_some(),
            like_count: m.record.like_count,
            comments_count: m.record.comments_count,
            latest: m.latest,
        })
        .collect();
    assert_eq!(summaries, expected);
    assert_eq!(
        summaries
            .iter()
            .map(|s| s.ig_media_id.as_str())
            .collect::<Vec<_>>(),
        vec!["s3", "s2", "s1"],
        "newest first, deleted included, other accounts excluded"
    );
    assert_eq!(
        summaries[1].latest["reels_skip_rate"],
        0.1 + 0.2,
        "exact values"
    );
    assert!(store.media_summaries(999_999).await.unwrap().is_empty());
}

pub async fn history_window_selects_the_period_and_each_types_baseline(store: DynStore) {
    let a = account(&store, "15201").await.id;
    let other = account(&store, "15202").await.id;
    let feed = |id: &str, m: i64| record(id, at(m), ProductType::Feed);
    let reel = |id: &str, m: i64| record(id, at(m), ProductType::Reels);
    let posts = vec![
        feed("f1", -100),
        feed("f4", -85),
        feed("f4b", -85),
        feed("f3", -80),
        reel("r1", -70),
        reel("r2", -60),
        reel("r3", -50),
        feed("w0", -20),
        feed("w1", -10),
        reel("w2", 0),
        reel("late", 10),
    ];
    let all: Vec<String> = posts.iter().map(|p| p.ig_media_id.clone()).collect();
    add_media(&store, a, posts).await;
    add_media(&store, other, vec![feed("o1", -10), feed("o2", -30)]).await;
    for (account, list) in [(a, all.clone()), (other, ids(&["o1", "o2"]))] {
        for (n, captured) in [at(20), at(80)].into_iter().enumerate() {
            let mut rows = Vec::new();
            for id in &list {
                rows.push(snap(id, "reach", "", captured, 100.0 + n as f64));
                rows.push(snap(id, "likes", "", captured, 0.1 + 0.2));
                rows.push(snap(
                    id,
                    "profile_activity",
                    "action_type:bio",
                    captured,
                    2.0,
                ));
            }
            store
                .media_insights_apply(insights(account, captured, rows))
                .await
                .unwrap();
        }
    }

    let window = PostWindow {
        account_id: a,
        from: at(-20),
        to: at(0),
        baseline: 2,
    };
    // The period's posts (both ends included) and, per type, the two newest before it
    // (f4b over f4 at the same instant); not f1, r1, the post after the period, nor the
    // other account's.
    let wanted = ids(&["f3", "f4b", "r2", "r3", "w0", "w1", "w2"]);
    for metrics in [ids(&[]), ids(&["reach", "likes"])] {
        let got = store
            .media_insight_history_window(window, &metrics)
            .await
            .unwrap();
        let expected = store
            .media_insight_history(&wanted, &metrics)
            .await
            .unwrap();
        assert_eq!(got, expected, "metrics {metrics:?}");
        let per_post = if metrics.is_empty() { 6 } else { 4 };
        assert_eq!(got.len(), wanted.len() * per_post, "metrics {metrics:?}");
        assert!(got.iter().any(|r| r.value == 0.1 + 0.2), "exact values");
    }
    let period_only = store
        .media_insight_history_window(
            PostWindow {
                baseline: 0,
                ..window
            },
            &ids(&["reach"]),
        )
        .await
        .unwrap();
    let media: std::collections::BTreeSet<&str> =
        period_only.iter().map(|r| r.ig_media_id.as_str()).collect();
    assert_eq!(media.into_iter().collect::<Vec<_>>(), ["w0", "w1", "w2"]);
    let nobody = store
        .media_insight_history_window(
            PostWindow {
                account_id: 999_999,
                ..window
            },
            &[],
        )
        .await
        .unwrap();
    assert!(nobody.is_empty());
}

pub async fn media_index_lists_what_planning_needs(store: DynStore) {
    let a = account(&store, "15001").await.id;
    add_media(
        &store,
        a,
        vec![
            record("x1", at(-30), ProductType::Feed),
            record("x2", at(-20), ProductType::Reels),
            record("x3", at(-10), ProductType::Feed),
        ],
    )
    .await;
    store
        .media_insights_apply(insights(
            a,
            at(1),
            vec![snap("x2", "reach", "", at(1), 1.0)],
        ))
        .await
        .unwrap();
    store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(2),
            upserts: vec![],
            deleted: ids(&["x3"]),
        })
        .await
        .unwrap();

    let mut index = store.media_index(a).await.unwrap();
    index.sort_by(|x, y| x.ig_media_id.cmp(&y.ig_media_id));
    let got: Vec<_> = index
        .iter()
        .map(|e| {
            (
                e.ig_media_id.as_str(),
                e.media_type,
                e.product_type,
                e.published_at,
                e.deleted,
                e.insights_captured_at,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "x1",
                MediaType::Image,
                ProductType::Feed,
                at(-30),
                false,
                None
            ),
            (
                "x2",
                MediaType::Video,
                ProductType::Reels,
                at(-20),
                false,
                Some(at(1))
            ),
            (
                "x3",
                MediaType::Image,
                ProductType::Feed,
                at(-10),
                true,
                None
            ),
        ]
    );
    assert!(store.media_index(a + 100).await.unwrap().is_empty());
}

pub async fn totals_count_rows(store: DynStore) {
    assert_eq!(store.totals().await.unwrap(), crate::StoreTotals::default());
    populate(&store, "16001").await;
    let totals = store.totals().await.unwrap();
    assert_eq!(
        totals,
        crate::StoreTotals {
            accounts: 1,
            profile_snapshots: 1,
            media: 1,
            media_deleted: 0,
            media_insight_snapshots: 1,
            stories: 1,
            story_insight_snapshots: 1,
            account_insight_days: 1,
            demographic_values: 1,
            sync_runs: 1,
            alerts: 1,
        }
    );
}

pub async fn writes_for_an_unknown_account_are_not_found(store: DynStore) {
    let ghost = account(&store, "17001").await.id + 1000;
    let not_found = |r: Result<u64, StoreError>| matches!(r, Err(StoreError::NotFound { .. }));
    assert!(not_found(
        store
            .media_apply(MediaBatch {
                account_id: ghost,
                seen_at: at(0),
                upserts: vec![record("g1", at(0), ProductType::Feed)],
                deleted: vec![]
            })
            .await
    ));
    assert!(not_found(
        store
            .media_insights_apply(insights(
                ghost,
                at(0),
                vec![snap("g1", "reach", "", at(0), 1.0)]
            ))
            .await
    ));
    assert!(not_found(
        store
            .account_insights_apply(AccountInsightBatch {
                account_id: ghost,
                fetched_at: at(0),
                rows: vec![AccountInsightDay {
                    metric: "reach".into(),
                    day: day(1),
                    breakdown: String::new(),
                    key: String::new(),
                    value: 1.0
                }],
            })
            .await
    ));
    assert!(not_found(
        store
            .demographics_apply(DemographicBatch {
                account_id: ghost,
                captured_on: day(1),
                rows: vec![]
            })
            .await
    ));
    assert!(not_found(
        store
            .stories_apply(StoryBatch {
                account_id: ghost,
                captured_at: at(0),
                stories: vec![],
                rows: vec![],
                errors: vec![]
            })
            .await
    ));
    assert!(matches!(
        store.profile_apply(profile(ghost, at(0), 1, "ghost")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .sync_run_create(NewSyncRun {
                account_id: ghost,
                plan: "full".into(),
                trigger: "manual".into(),
                steps: vec![],
                started_at: at(0)
            })
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.totals().await.unwrap().media, 0);
}

pub async fn a_large_insight_batch_is_written_whole(store: DynStore) {
    let a = account(&store, "18001").await.id;
    let media: Vec<MediaRecord> = (0..200)
        .map(|i| record(&format!("big{i:03}"), at(-i), ProductType::Feed))
        .collect();
    add_media(&store, a, media).await;
    // 200 media × 100 metrics = 20,000 rows: far more than one statement can bind.
    let rows: Vec<InsightSnapshot> = (0..200)
        .flat_map(|i| {
            (0..100).map(move |m| {
                snap(
                    &format!("big{i:03}"),
                    &format!("metric_{m:03}"),
                    "",
                    at(0),
                    (i * 100 + m) as f64,
                )
            })
        })
        .collect();
    let batch = insights(a, at(0), rows);
    assert_eq!(
        store.media_insights_apply(batch.clone()).await.unwrap(),
        20_000
    );
    assert_eq!(
        store.totals().await.unwrap().media_insight_snapshots,
        20_000
    );
    store.media_insights_apply(batch).await.unwrap();
    assert_eq!(
        store.totals().await.unwrap().media_insight_snapshots,
        20_000
    );
    let last = store.media_get("big199").await.unwrap().unwrap();
    assert_eq!(last.latest.len(), 100);
    assert_eq!(last.latest["metric_099"], 19_999.0);
    let history = store
        .media_insight_history(&ids(&["big000", "big199"]), &ids(&["metric_050"]))
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|s| s.value).collect::<Vec<_>>(),
        vec![50.0, 19_950.0]
    );

    // A bad row at the very end fails the whole batch: nothing of it is written.
    let mut rows: Vec<InsightSnapshot> = (0..200)
        .flat_map(|i| {
            (0..100).map(move |m| {
                snap(
                    &format!("big{i:03}"),
                    &format!("metric_{m:03}"),
                    "",
                    at(60),
                    1.0,
                )
            })
        })
        .collect();
    rows.push(snap("big-unknown", "metric_000", "", at(60), 1.0));
    assert!(
        store
            .media_insights_apply(insights(a, at(60), rows))
            .await
            .is_err()
    );
    assert_eq!(
        store.totals().await.unwrap().media_insight_snapshots,
        20_000
    );
}
