//! Comparisons of what a sync stored with the simulator's ground truth, shared by the sync
//! engine's end-to-end tests and the process-level reliability tests of `igsync` (behind the
//! `testkit` feature). Each helper panics with the account, post or metric that differs, so a
//! lost, doubled or wrong value fails the calling test.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use graph::MediaCategory;
use simulator::{GroundTruth, MediaTruth};
use store::{Account, AccountId, InsightSnapshot, Media, MediaRecord, Store};

/// A simulator timestamp (`2026-01-02T03:04:05+0000`).
pub fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .unwrap_or_else(|e| panic!("not a Graph API timestamp {s:?}: {e}"))
        .with_timezone(&Utc)
}

/// The metric catalog category a stored post is read with.
pub fn category(r: &MediaRecord) -> MediaCategory {
    match (r.product_type, r.media_type) {
        (store::ProductType::Reels, _) => MediaCategory::Reels,
        (_, store::MediaType::CarouselAlbum) => MediaCategory::CarouselAlbum,
        _ => MediaCategory::Feed,
    }
}

/// The Graph client of an account's login flavour.
pub fn client_for<'a>(
    clients: &'a std::collections::HashMap<graph::LoginKind, graph::GraphClient>,
    account: &Account,
) -> &'a graph::GraphClient {
    &clients[&crate::accounts::graph_login(account.login)]
}

/// The truth's values of the metrics a client requests (its catalog decides which metrics
/// are read; every one it reads must match). Fails when the client reads under half of them.
pub fn requested(
    metrics: &[&str],
    values: &BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, f64> {
    let out: BTreeMap<String, f64> = values
        .iter()
        .filter(|(k, _)| metrics.contains(&k.as_str()))
        .map(|(k, v)| {
            let n = v
                .as_f64()
                .unwrap_or_else(|| panic!("{k}: not a number: {v}"));
            (k.clone(), n)
        })
        .collect();
    assert!(
        out.len() * 2 > values.len(),
        "the client reads too few of {values:?}"
    );
    out
}

/// The account is idle: a failed sync's error is the message otherwise.
pub fn assert_idle(account: &Account) {
    assert_eq!(
        account.status,
        store::SyncStatus::Idle,
        "{:?}",
        account.last_sync_error
    );
}

/// The profile counters stored on the account equal the truth's.
pub fn assert_profile_counters(account: &Account, truth: &GroundTruth) {
    let who = &truth.profile.username;
    assert_eq!(
        account.followers_count,
        Some(truth.profile.followers_count as i64),
        "{who}: followers"
    );
    assert_eq!(
        account.follows_count,
        Some(truth.profile.follows_count as i64),
        "{who}: follows"
    );
    assert_eq!(
        account.media_count,
        Some(truth.profile.media_count as i64),
        "{who}: media count"
    );
}

/// The stored posts by id, whose ids are the truth's.
pub fn posts_by_id<'a>(media: &'a [Media], truth: &GroundTruth) -> BTreeMap<&'a str, &'a Media> {
    let who = &truth.profile.username;
    let by_id: BTreeMap<&str, &Media> = media
        .iter()
        .map(|m| (m.record.ig_media_id.as_str(), m))
        .collect();
    let stored_ids: std::collections::BTreeSet<&str> = by_id.keys().copied().collect();
    let truth_ids: std::collections::BTreeSet<&str> =
        truth.media.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(stored_ids, truth_ids, "{who}: media ids");
    by_id
}

/// A stored post's fields, counters and children equal the truth's.
pub fn assert_post_record(m: &Media, t: &MediaTruth) {
    let r = &m.record;
    assert_eq!(r.media_type.as_str(), t.media_type, "{}", t.id);
    assert_eq!(r.product_type.as_str(), t.media_product_type, "{}", t.id);
    assert_eq!(r.published_at, parse_ts(&t.timestamp), "{}", t.id);
    assert_eq!(
        r.permalink.as_deref(),
        Some(t.permalink.as_str()),
        "{}",
        t.id
    );
    assert_eq!(r.caption, t.caption, "{}", t.id);
    assert_eq!(r.like_count, Some(t.like_count as i64), "{}", t.id);
    assert_eq!(r.comments_count, Some(t.comments_count as i64), "{}", t.id);
    let children: Vec<&str> = r.children.iter().map(|c| c.ig_media_id.as_str()).collect();
    assert_eq!(
        children,
        t.children.iter().map(String::as_str).collect::<Vec<_>>(),
        "{}",
        t.id
    );
}

/// Every breakdown row stored for a post equals the truth's
/// value for that metric and key. Returns how many were compared.
pub fn assert_breakdown_rows(
    id: &str,
    rows: &[&InsightSnapshot],
    breakdowns: &BTreeMap<String, BTreeMap<String, u64>>,
) -> usize {
    let mut n = 0;
    for row in rows.iter() {
        let Some(breakdown) = &row.breakdown else {
            continue;
        };
        let key = breakdown.key.as_str();
        let want = breakdowns.get(&row.metric).and_then(|b| b.get(key));
        assert_eq!(want.map(|v| *v as f64), Some(row.value), "{id}: {row:?}");
        n += 1;
    }
    n
}

/// The latest demographic snapshot holds exactly the truth's single-dimension rows (the
/// client reads age, gender, country and city one at a time). Returns how many.
pub async fn assert_demographics(
    store: &dyn Store,
    account_id: AccountId,
    truth: &GroundTruth,
) -> usize {
    let who = &truth.profile.username;
    let (_, stored) = store
        .demographics_latest(account_id)
        .await
        .unwrap_or_else(|e| panic!("{who}: reading demographics: {e}"))
        .unwrap_or_default();
    let mut expected = 0;
    // Every breakdown, the combined `age,gender` included.
    for t in &truth.demographics {
        let timeframe = t.timeframe.clone().unwrap_or_default();
        for row in &t.rows {
            expected += 1;
            let key = row.keys.join(",");
            let found = stored.iter().any(|d| {
                d.metric == t.metric
                    && d.breakdown == t.breakdown
                    && d.key == key
                    && d.value == row.value as f64
                    && d.timeframe == timeframe
            });
            assert!(
                found,
                "{who}: demographic {} {} {:?} {key}={} missing",
                t.metric, t.breakdown, t.timeframe, row.value
            );
        }
    }
    assert_eq!(stored.len(), expected, "{who}: demographics stored");
    expected
}

/// Account insight days keyed by (metric, day, breakdown dimension, key).
pub type DayKey = (String, chrono::NaiveDate, String, String);

/// Stored account insight days as a map, failing on a doubled row.
pub fn day_map(days: &[store::AccountInsightDay]) -> BTreeMap<DayKey, f64> {
    let map: BTreeMap<DayKey, f64> = days
        .iter()
        .map(|d| {
            (
                {
                    let (breakdown, key) = store::Breakdown::to_columns(d.breakdown.as_ref());
                    (
                        d.metric.clone(),
                        d.day,
                        breakdown.to_owned(),
                        key.to_owned(),
                    )
                },
                d.value,
            )
        })
        .collect();
    assert_eq!(map.len(), days.len(), "no doubled account insight rows");
    map
}
