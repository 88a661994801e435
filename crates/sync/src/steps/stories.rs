//! Stories step: the live stories (they expire after 24 h, so every run reads them) and
//! their insights, as snapshots.

use graph::MediaTarget;
use store::{MissingBatch, StoryBatch, StoryRecord};

use crate::steps::media_insights::Collected;
use crate::steps::{StepCtx, StepError, StepReport, media_type};

pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    ctx.progress(0, 0).await;
    let stories = ctx.read(ctx.client.stories(&ctx.acct)).await?;
    let records: Vec<StoryRecord> = stories
        .iter()
        .map(|s| StoryRecord {
            ig_media_id: s.id.clone(),
            media_type: s
                .media_type
                .as_ref()
                .and_then(media_type)
                .unwrap_or(store::MediaType::Image),
            published_at: s.timestamp.unwrap_or(ctx.now),
            permalink: s.permalink.clone(),
            caption: s.caption.clone(),
            media_url: s.media_url.clone(),
        })
        .collect();
    let targets: Vec<MediaTarget> = stories
        .iter()
        .map(|s| MediaTarget::new(s.id.clone(), graph::MediaCategory::Story))
        .collect();
    let mut collected = Collected::default();
    let failure = if targets.is_empty() {
        None
    } else {
        match ctx
            .read(ctx.client.media_insights(&ctx.acct, &targets))
            .await
        {
            Ok(insights) => {
                collected.add(insights, ctx.now);
                None
            }
            Err(e) => Some(e),
        }
    };
    let expected = records.len();
    let (ok, permanent, transient) = (collected.ok, collected.permanent, collected.transient.len());
    let rows = if records.is_empty() {
        0
    } else {
        let written = ctx
            .deps
            .store
            .stories_apply(StoryBatch {
                account_id: ctx.account.id,
                captured_at: ctx.now,
                stories: records.clone(),
                rows: collected.rows.clone(),
                errors: collected.errors.clone(),
                origin: ctx.origin(),
            })
            .await?;
        // The hourly numbers are the stories' final numbers until something stronger
        // comes, and each story gets its read shortly before it expires.
        crate::jobs::stories::after_poll(
            ctx.deps,
            ctx.account.id,
            &records,
            &collected.rows,
            &collected.errors,
            ctx.client.version().to_string(),
            ctx.now,
        )
        .await?;
        // A story Meta gives no numbers for (too few viewers, …) is stored with its
        // reason; one that has numbers now clears an earlier reason.
        let missing_rows = if collected.missing.is_empty() && collected.present.is_empty() {
            0
        } else {
            ctx.deps
                .store
                .missing_apply(MissingBatch {
                    account_id: ctx.account.id,
                    missing: std::mem::take(&mut collected.missing),
                    present: std::mem::take(&mut collected.present),
                })
                .await?
        };
        written + missing_rows
    };
    ctx.progress(ok as u64, expected as u64).await;
    let report = StepReport {
        rows_written: rows,
        expected: Some(expected as i64),
        stored: Some(ok as i64),
        complete: Some(failure.is_none() && ok + permanent == expected),
        detail: serde_json::json!({
            "live_stories": expected,
            "insights_captured": ok,
            "item_errors_permanent": permanent,
            "item_errors_transient": transient,
        }),
        skipped: false,
    };
    if let Some(e) = failure {
        return Err(StepError::Graph(e));
    }
    if transient > 0 {
        return Err(StepError::Incomplete {
            reason: format!("{transient} of {expected} stories' insights could not be read"),
            report,
        });
    }
    Ok(report)
}
