//! Profile step: the account's counters (followers, follows, media count) as a snapshot.

use store::{ProfileSnapshot, ProfileUpdate};

use crate::steps::{StepCtx, StepError, StepReport, count};

pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    ctx.progress(0, 1).await;
    let profile = ctx.read(ctx.client.profile(&ctx.acct)).await?;
    let followers = count(profile.followers_count);
    let follows = count(profile.follows_count);
    let media = count(profile.media_count);
    let present = [followers, follows, media]
        .iter()
        .filter(|c| c.is_some())
        .count() as i64;
    let (Some(followers), Some(follows), Some(media)) = (followers, follows, media) else {
        // Meta omits counters only transiently or for accounts that are not professional.
        return Err(StepError::Incomplete {
            report: StepReport {
                expected: Some(3),
                stored: Some(0),
                complete: Some(false),
                detail: serde_json::json!({ "counters_returned": present }),
                ..StepReport::default()
            },
            reason: "the profile came back without followers, follows or media counts".into(),
        });
    };
    ctx.deps
        .store
        .profile_apply(ProfileUpdate {
            snapshot: ProfileSnapshot {
                account_id: ctx.account.id,
                captured_at: ctx.now,
                followers_count: followers,
                follows_count: follows,
                media_count: media,
            },
            username: profile
                .username
                .clone()
                .unwrap_or_else(|| ctx.account.username.clone()),
            name: profile.name.clone(),
            profile_picture_url: profile.profile_picture_url.clone(),
            origin: ctx.origin(),
        })
        .await?;
    // In a longer plan the next stage's lead reports its own start at once: the end is
    // recorded only when the profile ends the job.
    if ctx.position + 1 == ctx.steps_in_plan {
        ctx.progress(1, 1).await;
    }
    Ok(StepReport {
        rows_written: 1,
        expected: Some(3),
        stored: Some(3),
        complete: Some(true),
        detail: serde_json::json!({
            "followers_count": followers,
            "follows_count": follows,
            "media_count": media,
        }),
        skipped: false,
    })
}
