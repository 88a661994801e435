//! One step on its own, asked for by hand: media insights of given posts or of the posts of
//! given days, account insights of given days, any other step alone. Each runs exactly that
//! step, reads exactly what it was narrowed to, and is recorded in the sync history; scopes
//! that do not fit the step or the account are refused with a reason.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use chrono_tz::America::Los_Angeles;
use store::{JobState, RunStatus, StepStatus};
use sync::{Plan, Scope, Step, SyncError};

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    a_step_on_its_own_reads_exactly_its_scope_and_is_recorded,
    scopes_that_do_not_fit_are_refused_with_a_reason,
);

/// Posts whose insights were captured at `at`.
async fn captured_at(
    env: &Env,
    ids: &[String],
    at: chrono::DateTime<chrono::Utc>,
) -> BTreeSet<String> {
    env.db
        .store
        .media_insight_history(ids, &[])
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.captured_at == at)
        .map(|s| s.ig_media_id)
        .collect()
}

async fn a_step_on_its_own_reads_exactly_its_scope_and_is_recorded(d: Dialect) {
    let env = Env::new(d, sim_config(41, 1, 30), test_settings()).await;
    let (a, _) = env.account(0);
    env.full_sync(a, 5).await;
    let index = env.db.store.media_index(a).await.unwrap();
    let posts: Vec<&store::MediaIndexEntry> = index
        .iter()
        .filter(|e| !e.deleted && e.product_type != store::ProductType::Ad)
        .collect();
    let all_ids: Vec<String> = posts.iter().map(|e| e.ig_media_id.clone()).collect();
    assert!(posts.len() >= 10);

    // Media insights of two given posts, an hour later: those two get a new snapshot.
    env.advance(Duration::hours(1));
    let chosen = vec![all_ids[0].clone(), all_ids[3].clone()];
    let enqueued = env
        .engine
        .enqueue_scoped(
            a,
            Plan::Only(Step::MediaInsights),
            Scope {
                media: vec![chosen[0].clone(), chosen[1].clone(), chosen[0].clone()],
                ..Scope::default()
            },
            "manual",
        )
        .await
        .unwrap();
    env.run_until_settled(5).await;
    let (run, steps) = env.last_run(a).await;
    assert_eq!(run.plan, "media_insights");
    assert_eq!(run.steps_planned, ["media_insights"]);
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(steps.len(), 1);
    let step = &steps[0];
    assert_eq!((step.expected, step.stored), (Some(2), Some(2)), "{step:?}");
    assert_eq!(step.detail["scope"]["media"], serde_json::json!(chosen));
    assert_eq!(
        captured_at(&env, &all_ids, step.started_at).await,
        chosen.iter().cloned().collect::<BTreeSet<_>>(),
        "exactly the given posts were read"
    );
    let jobs = env.jobs_of(a).await;
    let chain: Vec<&store::Job> = jobs.iter().filter(|j| j.run_id == Some(run.id)).collect();
    assert_eq!(chain.len(), 1, "one job, no other");
    assert_eq!(chain[0].kind, "sync_account");
    let progress = chain[0].progress.clone().unwrap();
    assert_eq!(progress["step"], "media_insights");
    assert_eq!(progress["step_number"], 1);
    assert_eq!(progress["steps_in_plan"], 1);
    assert_eq!(progress["items_done"], 2);
    assert_eq!(progress["items_total"], 2);
    assert_eq!(progress["items"], "posts");
    assert!(progress.get("of").is_none() && progress.get("total").is_none());
    let p = env.engine.progress(enqueued.job_id()).await.unwrap();
    assert_eq!(p.plan, Some(Plan::Only(Step::MediaInsights)));
    assert_eq!(p.steps.len(), 1);

    // Media insights of the posts published in a range of days (UTC, the account's zone).
    env.advance(Duration::hours(1));
    let mut days: Vec<NaiveDate> = posts.iter().map(|e| e.published_at.date_naive()).collect();
    days.sort();
    let (since, until) = (days[days.len() / 3], days[days.len() * 2 / 3]);
    let in_range: BTreeSet<String> = posts
        .iter()
        .filter(|e| (since..=until).contains(&e.published_at.date_naive()))
        .map(|e| e.ig_media_id.clone())
        .collect();
    env.engine
        .enqueue_scoped(
            a,
            Plan::Only(Step::MediaInsights),
            Scope {
                since: Some(since),
                until: Some(until),
                ..Scope::default()
            },
            "manual",
        )
        .await
        .unwrap();
    env.run_until_settled(5).await;
    let (run, steps) = env.last_run(a).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(steps[0].expected, Some(in_range.len() as i64));
    assert_eq!(
        captured_at(&env, &all_ids, steps[0].started_at).await,
        in_range
    );

    // Account insights of a range of Meta's days.
    env.advance(Duration::hours(1));
    let today = env.now().with_timezone(&Los_Angeles).date_naive();
    let (since, until) = (today - Duration::days(12), today - Duration::days(6));
    env.engine
        .enqueue_scoped(
            a,
            Plan::Only(Step::AccountInsights),
            Scope {
                since: Some(since),
                until: Some(until),
                ..Scope::default()
            },
            "api",
        )
        .await
        .unwrap();
    env.run_until_settled(5).await;
    let (run, steps) = env.last_run(a).await;
    assert_eq!(
        (run.plan.as_str(), run.trigger.as_str()),
        ("account_insights", "api")
    );
    assert_eq!(run.status, RunStatus::Succeeded);
    let step = &steps[0];
    assert_eq!(step.detail["since"], since.to_string());
    assert_eq!(step.detail["until"], until.to_string());
    assert_eq!((step.expected, step.stored), (Some(7), Some(7)), "{step:?}");

    // Any other step alone: the profile only, and demographics again the same day.
    for (step, plan) in [
        (Step::Profile, "profile"),
        (Step::Demographics, "demographics"),
        (Step::Stories, "stories"),
        (Step::Media, "media"),
    ] {
        env.advance(Duration::minutes(10));
        env.engine
            .enqueue_sync(a, Plan::Only(step), "manual")
            .await
            .unwrap();
        env.run_until_settled(5).await;
        let (run, steps) = env.last_run(a).await;
        assert_eq!(run.plan, plan);
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].status, StepStatus::Succeeded, "{steps:?}");
    }
    let account = env.db.store.account_get(a).await.unwrap().unwrap();
    assert_eq!(account.status, store::SyncStatus::Idle);
    let runs = env.runs(Some(a)).await;
    assert_eq!(runs.len(), 8, "each sync is one run in the history");
    assert!(
        env.jobs_of(a)
            .await
            .iter()
            .all(|j| j.state == JobState::Completed)
    );
    env.teardown().await;
}

async fn scopes_that_do_not_fit_are_refused_with_a_reason(d: Dialect) {
    let env = Env::new(d, sim_config(42, 1, 10), test_settings()).await;
    let (a, _) = env.account(0);
    env.full_sync(a, 5).await;
    let known = env.db.store.media_index(a).await.unwrap()[0]
        .ig_media_id
        .clone();
    let today = env.now().date_naive();
    let days = |since: i64, until: i64| Scope {
        since: Some(today - Duration::days(since)),
        until: Some(today - Duration::days(until)),
        ..Scope::default()
    };
    let media = |ids: &[&str]| Scope {
        media: ids.iter().map(|s| s.to_string()).collect(),
        ..Scope::default()
    };
    let cases: Vec<(Plan, Scope, &str)> = vec![
        (Plan::Full, media(&[&known]), "not a full sync"),
        (Plan::Only(Step::Profile), days(3, 1), "not a profile sync"),
        (
            Plan::Only(Step::AccountInsights),
            media(&[&known]),
            "not of account insights",
        ),
        (
            Plan::Only(Step::MediaInsights),
            media(&["999999"]),
            "999999 is not a stored post",
        ),
        (
            Plan::Only(Step::MediaInsights),
            Scope {
                media: vec![known.clone()],
                ..days(3, 1)
            },
            "not both",
        ),
        (Plan::Only(Step::MediaInsights), days(1, 3), "starts"),
        (Plan::Only(Step::AccountInsights), days(3, -5), "future"),
        (
            Plan::Only(Step::AccountInsights),
            days(1000, 990),
            "two years",
        ),
        (
            Plan::Only(Step::AccountInsights),
            Scope {
                until: Some(today),
                ..Scope::default()
            },
            "first day",
        ),
    ];
    for (plan, scope, why) in cases {
        let err = env
            .engine
            .enqueue_scoped(a, plan, scope.clone(), "manual")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SyncError::BadScope(m) if m.contains(why)),
            "{plan} {scope:?}: {err}"
        );
    }
    // Nothing was queued by the refused requests.
    assert!(
        env.jobs_of(a)
            .await
            .iter()
            .all(|j| j.state == JobState::Completed)
    );
    // The same scoped request twice while queued is one sync; another scope is another.
    let first = env
        .engine
        .enqueue_scoped(a, Plan::Only(Step::MediaInsights), media(&[&known]), "api")
        .await
        .unwrap();
    let again = env
        .engine
        .enqueue_scoped(a, Plan::Only(Step::MediaInsights), media(&[&known]), "api")
        .await
        .unwrap();
    assert_eq!(again.outcome, store::InsertOutcome::Merged(first.job_id()));
    let other = env
        .engine
        .enqueue_scoped(a, Plan::Only(Step::MediaInsights), days(5, 0), "api")
        .await
        .unwrap();
    assert!(matches!(other.outcome, store::InsertOutcome::Inserted(_)));
    env.teardown().await;
}
