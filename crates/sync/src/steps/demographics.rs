//! Demographics step: a daily snapshot of the audience (followers, engaged and reached
//! accounts by age, gender, country and city); skipped when today's snapshot exists, unless
//! asked for on its own.

use graph::DemographicTimeframe;
use store::{DemographicBatch, DemographicValue};

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
    for (i, timeframe) in [
        DemographicTimeframe::ThisMonth,
        DemographicTimeframe::ThisWeek,
    ]
    .into_iter()
    .enumerate()
    {
        let values = ctx.client.demographics(&ctx.acct, timeframe).await?;
        rows.extend(
            values
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
    let count = rows.len() as i64;
    let written = if rows.is_empty() {
        0
    } else {
        store
            .demographics_apply(DemographicBatch {
                account_id: ctx.account.id,
                captured_on: today,
                rows,
            })
            .await?
    };
    Ok(StepReport {
        rows_written: written,
        expected: Some(count),
        stored: Some(count),
        complete: Some(true),
        detail: serde_json::json!({ "values": count, "captured_on": today.to_string() }),
        skipped: false,
    })
}
