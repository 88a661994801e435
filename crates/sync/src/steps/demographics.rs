//! Demographics step: a daily snapshot of the audience (followers, engaged and reached
//! accounts by age, gender, country and city); skipped when today's snapshot exists.

use graph::DemographicTimeframe;
use store::{DemographicBatch, DemographicValue};

use crate::steps::{StepCtx, StepError, StepReport};

pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    let today = ctx.now.date_naive();
    let store = &ctx.deps.store;
    if let Some((day, values)) = store.demographics_latest(ctx.account.id).await?
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
    ctx.progress(0, 1).await;
    let values = ctx
        .client
        .demographics(&ctx.acct, DemographicTimeframe::ThisMonth)
        .await?;
    let rows: Vec<DemographicValue> = values
        .into_iter()
        .map(|v| DemographicValue {
            metric: v.metric,
            breakdown: v.breakdown,
            timeframe: v.timeframe.as_str().to_string(),
            key: v.key,
            value: v.value,
        })
        .collect();
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
    ctx.progress(1, 1).await;
    Ok(StepReport {
        rows_written: written,
        expected: Some(count),
        stored: Some(count),
        complete: Some(true),
        detail: serde_json::json!({ "values": count, "captured_on": today.to_string() }),
        skipped: false,
    })
}
