//! Demographics step: a daily snapshot of the audience (followers, engaged and reached
//! accounts by age, gender, country, city and age with gender); skipped when today's
//! snapshot exists, unless asked for on its own. Each breakdown is asked for on its own: one
//! Meta refuses is recorded as missing with its reason and costs the others nothing. The
//! daily step also probes the account metrics on the newest Graph API version when the
//! client is pinned to an older one (deprecation early warning).

use std::collections::{BTreeMap, BTreeSet};

use graph::{CatalogScope, DemographicTimeframe};
use store::{
    DemographicBatch, DemographicValue, MissingBatch, MissingKey, MissingKind, MissingReason,
    MissingValue,
};

use crate::plan::{Plan, Step};
use crate::steps::{StepCtx, StepError, StepReport};

pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    let today = ctx.now.date_naive();
    let store = &ctx.deps.store;
    // A demographics sync asked for on its own reads today's snapshot again.
    if ctx.plan != Plan::Only(Step::Demographics)
        && let Some((day, values)) = store.demographics_latest(ctx.account.id).await?
        && day == today
    {
        return Ok(StepReport {
            rows_written: 0,
            expected: None,
            stored: Some(values.len() as i64),
            complete: Some(true),
            detail: serde_json::json!({ "skipped": "today's snapshot is already stored" }),
            skipped: true,
        });
    }
    ctx.progress(0, 2).await;
    // Engaged and reached audiences are read for the last week and the last month; follower
    // demographics have no time frame (the month read carries them).
    let mut rows: Vec<DemographicValue> = Vec::new();
    // (metric, timeframe, breakdown) → Meta's message, for each breakdown Meta refused.
    let mut refused: BTreeMap<(String, String, String), String> = BTreeMap::new();
    // One time frame after the other: a breakdown the first read learns Meta refuses is
    // not asked again by the second (the step runs beside the listing, off its path).
    for (i, timeframe) in [
        DemographicTimeframe::ThisMonth,
        DemographicTimeframe::ThisWeek,
    ]
    .into_iter()
    .enumerate()
    {
        let read = ctx
            .read(ctx.client.demographics_read(&ctx.acct, timeframe))
            .await?;
        for (metric, breakdown, message) in read.refused {
            let follower = metric == "follower_demographics";
            if follower && timeframe != DemographicTimeframe::ThisMonth {
                continue;
            }
            let tf = if follower { "" } else { timeframe.as_str() };
            refused.insert((metric, tf.to_owned(), breakdown), message);
        }
        rows.extend(
            read.values
                .into_iter()
                .filter(|v| {
                    timeframe == DemographicTimeframe::ThisMonth
                        || v.metric != "follower_demographics"
                })
                .map(|v| DemographicValue {
                    timeframe: if v.metric == "follower_demographics" {
                        String::new()
                    } else {
                        v.timeframe.as_str().to_string()
                    },
                    metric: v.metric,
                    breakdown: v.breakdown,
                    key: v.key,
                    value: v.value,
                }),
        );
        ctx.progress(i as u64 + 1, 2).await;
    }
    let missing_rows = record_missing(ctx, &rows, &refused).await?;
    let probe = probe_newest_version(ctx).await;
    let count = rows.len() as i64;
    let written = if rows.is_empty() {
        0
    } else {
        store
            .demographics_apply(DemographicBatch {
                account_id: ctx.account.id,
                captured_on: today,
                rows,
                origin: ctx.origin(),
            })
            .await?
    };
    Ok(StepReport {
        rows_written: written + missing_rows,
        expected: Some(count),
        stored: Some(count),
        complete: Some(true),
        detail: serde_json::json!({
            "values": count,
            "captured_on": today.to_string(),
            "version_probe": probe,
        }),
        skipped: false,
    })
}

/// The daily deprecation early warning, when the client is pinned to an older version
/// than the newest: the account metrics it requests, `online_followers` and the media
/// metrics of each product type the account has (on one stored sample post of each) are
/// asked for on both versions; what
/// the newest refuses is learnt (stored with the other catalog decisions once the step
/// ends) and named here with the day it is gone for good. A failed probe costs the snapshot
/// nothing: it is reported in the step's detail.
async fn probe_newest_version(ctx: &StepCtx<'_>) -> serde_json::Value {
    let pinned = ctx.client.version();
    let newest = graph::ApiVersion::LATEST;
    if pinned >= newest {
        return serde_json::Value::Null;
    }
    let samples = match probe_samples(ctx).await {
        Ok(s) => s,
        Err(e) => {
            return serde_json::json!({
                "pinned": pinned.to_string(),
                "newest": newest.to_string(),
                "error": e.to_string(),
            });
        }
    };
    let probed = async {
        let on_pinned = ctx
            .read(ctx.client.probe_version(&ctx.acct, pinned, &samples))
            .await?;
        let on_newest = ctx
            .read(ctx.client.probe_version(&ctx.acct, newest, &samples))
            .await?;
        Ok::<_, graph::GraphError>(graph::metrics_at_risk(&on_pinned, &on_newest))
    };
    match probed.await {
        Ok(at_risk) => serde_json::json!({
            "pinned": pinned.to_string(),
            "newest": newest.to_string(),
            "at_risk": at_risk
                .iter()
                .map(|r| serde_json::json!({
                    "scope": r.scope.to_string(),
                    "metric": r.metric,
                    "removal_date": r.removal_date.map(|d| d.to_string()),
                }))
                .collect::<Vec<_>>(),
        }),
        Err(e) => serde_json::json!({
            "pinned": pinned.to_string(),
            "newest": newest.to_string(),
            "error": e.to_string(),
        }),
    }
}

/// One stored post per media category the account has, the newest that is not deleted and
/// has no insights refusal of its own, for the probe of media metrics.
async fn probe_samples(ctx: &StepCtx<'_>) -> Result<Vec<graph::MediaTarget>, store::StoreError> {
    // Beside the media step, the samples are among the posts it lists: wait for its write.
    if let Some(link) = ctx.link {
        link.written().await;
    }
    let mut index = ctx.deps.store.media_index(ctx.account.id).await?;
    index.retain(|m| !m.deleted && m.insights_error.is_none());
    index.sort_by_key(|m| std::cmp::Reverse(m.published_at));
    let mut samples: Vec<graph::MediaTarget> = Vec::new();
    for m in index {
        let category = match (m.product_type, m.media_type) {
            (store::ProductType::Reels, _) => graph::MediaCategory::Reels,
            (store::ProductType::Feed, store::MediaType::CarouselAlbum) => {
                graph::MediaCategory::CarouselAlbum
            }
            (store::ProductType::Feed, _) => graph::MediaCategory::Feed,
            // Stories expire within a day and ads have no organic insights.
            (store::ProductType::Story | store::ProductType::Ad, _) => continue,
        };
        if !samples.iter().any(|s| s.category == category) {
            samples.push(graph::MediaTarget::new(m.ig_media_id, category));
        }
    }
    Ok(samples)
}

/// Meta's cap on the values of one demographic breakdown ("top 45").
const TOP: usize = 45;

/// Records what the read did not give: a breakdown Meta refused, with its message; a
/// metric without any row (and no refusal) is below Meta's threshold (100 followers, or 100
/// engagements in the timeframe); a breakdown of exactly 45 rows is cut to the top 45 (how
/// many values were dropped Meta does not say). Clears earlier records the read
/// contradicts. Returns rows written.
async fn record_missing(
    ctx: &StepCtx<'_>,
    rows: &[DemographicValue],
    refused: &BTreeMap<(String, String, String), String>,
) -> Result<u64, StepError> {
    let store = &ctx.deps.store;
    let mut per_breakdown: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    for r in rows {
        *per_breakdown
            .entry((&r.metric, &r.timeframe, &r.breakdown))
            .or_default() += 1;
    }
    let metrics = ctx.client.requested_metrics(CatalogScope::Demographics);
    let mut missing = Vec::new();
    let mut answered = BTreeSet::new();
    for metric in metrics {
        let timeframes: &[&str] = if metric == "follower_demographics" {
            &[""]
        } else {
            &["this_week", "this_month"]
        };
        for tf in timeframes {
            let key = MissingKey::demographic(metric, *tf, "");
            if per_breakdown
                .keys()
                .any(|(m, t, _)| *m == metric && t == tf)
            {
                answered.insert(key);
            } else if refused
                .keys()
                .filter(|(m, t, _)| m == metric && t == tf)
                .count()
                < graph::DEMOGRAPHIC_BREAKDOWNS.len()
            {
                // No row from any breakdown Meta did not refuse: below its threshold.
                missing.push(MissingValue::seen(
                    key,
                    MissingReason::BelowThreshold,
                    ctx.now,
                ));
            }
        }
    }
    for ((metric, tf, breakdown), n) in &per_breakdown {
        let key = MissingKey::demographic(*metric, *tf, *breakdown);
        if *n >= TOP {
            missing.push(
                MissingValue::seen(key, MissingReason::TruncatedTop45, ctx.now)
                    .with_detail(format!("{n} values served; the rest are not given")),
            );
        } else {
            answered.insert(key);
        }
    }
    for ((metric, tf, breakdown), message) in refused {
        missing.push(
            MissingValue::seen(
                MissingKey::demographic(metric.as_str(), tf.as_str(), breakdown.as_str()),
                MissingReason::UnsupportedBreakdown,
                ctx.now,
            )
            .with_detail(message.clone()),
        );
    }
    let present: Vec<MissingKey> = store
        .missing_list(ctx.account.id, &[MissingKind::Demographics])
        .await?
        .into_iter()
        .map(|m| m.key)
        .filter(|k| answered.contains(k))
        .collect();
    if missing.is_empty() && present.is_empty() {
        return Ok(0);
    }
    Ok(store
        .missing_apply(MissingBatch {
            account_id: ctx.account.id,
            missing,
            present,
        })
        .await?)
}
