//! Conformance cases for accounts, content, history, sync runs and operational records, one
//! module per family; this module holds the list of cases and the helpers they share.
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

mod access;
mod accounts;
mod competitors;
mod content;
mod copy;
mod export;
mod jobs;
mod missing;
mod ops;
mod reads;
mod repeats;
mod reports;
mod series;
mod webhooks;

pub use access::*;
pub use accounts::*;
pub use competitors::*;
pub use content::*;
pub use copy::*;
pub use export::*;
pub use jobs::*;
pub use missing::*;
pub use ops::*;
pub use reads::*;
pub use repeats::*;
pub use reports::*;
pub use series::*;
pub use webhooks::*;

/// The data cases, by name (each is a `pub async fn(DynStore)` in one of this module's children).
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
            snapshot_repeats_confirm_the_previous_row_and_history_stays_exact,
            stories_and_their_snapshots,
            account_insight_days_settle_in_place,
            demographics_snapshots_by_day,
            missing_values_keep_their_reason_until_present,
            account_insight_revisions_answer_as_of,
            catalog_decisions_are_kept_once,
            sync_runs_and_steps,
            alerts_dedup_filters_ack_and_delivery,
            report_schedules_and_delivery_history,
            competitors_keep_status_and_append_snapshots,
            api_keys_lifecycle,
            workspaces_group_accounts_and_scope_keys,
            audit_entries_are_kept_newest_first,
            share_links_round_trip_and_revoke_once,
            sessions_and_prune,
            api_usage_keeps_the_latest_per_scope,
            api_call_days_add_up,
            a_sync_opens_and_closes_its_run_with_its_account,
            media_list_filters_and_paging,
            media_index_lists_what_planning_needs,
            media_summaries_match_the_full_listing,
            history_window_selects_the_period_and_each_types_baseline,
            totals_count_rows,
            writes_for_an_unknown_account_are_not_found,
            a_large_insight_batch_is_written_whole,
            webhook_events_are_stored_once_and_processed_atomically,
            story_finals_keep_the_strongest_provenance,
            copy_reads_writes_and_describes_every_table,
            export_pages_follow_the_key_order,
            export_batches_equal_the_pages,
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
    ProductType, ProfileSnapshot, ProfileUpdate, RunFinish, RunId, RunQuery, RunStatus, SecretKey,
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

/// Marks the account's posts `deleted` as gone, as a listing seen at `seen_at` would.
async fn delete_media(
    store: &DynStore,
    account: AccountId,
    seen_at: DateTime<Utc>,
    deleted: &[&str],
) {
    store
        .media_apply(MediaBatch {
            account_id: account,
            seen_at,
            upserts: vec![],
            deleted: ids(deleted),
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
        breakdown: crate::Breakdown::from_column(breakdown).expect("dimension:key"),
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
        origin: crate::Origin::poll("v23.0"),
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
        origin: crate::Origin::poll("v23.0"),
    }
}

fn job(account: Option<AccountId>, run: Option<RunId>) -> NewJob {
    NewJob {
        account_id: account,
        run_id: run,
        ..NewJob::new(
            "instagram-sync",
            "sync_profile",
            json!({"account": account}),
            at(0),
        )
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

fn step(run: RunId, name: &str, position: i32, calls: i64) -> SyncStep {
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
        workspace_id: None,
        role: crate::Role::Admin,
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
            origin: crate::Origin::poll("v23.0"),
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
                breakdown: None,
                value: 50.0,
            }],
            origin: crate::Origin::poll("v23.0"),
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
            origin: crate::Origin::poll("v23.0"),
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
            job_id: None,
        })
        .await
        .unwrap();
    store
        .sync_steps_record(vec![step(run, "profile", 0, 1)])
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
