//! The sync chain against the simulator: one job running the steps in their order, merged
//! duplicate requests, a failure mid-chain that stops it and says why, and a second sync
//! that adds snapshots without duplicating anything.

use chrono::Duration;
use simulator::FaultMix;
use store::{AccountId, JobState, MediaQuery, RunId, RunStatus, StepStatus, SyncStatus};
use sync::{Plan, SyncState};

use crate::both_dialects;
use crate::db::Dialect;
use crate::e2e::assert_matches_truth;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    a_sync_is_one_job_that_runs_the_steps_in_order,
    a_second_request_while_a_chain_is_active_merges_into_it,
    a_failure_mid_chain_stops_it_and_records_the_error,
    a_second_sync_adds_snapshots_without_duplicating,
    paused_accounts_are_refused_and_a_pause_mid_chain_stops_it,
    deleted_posts_are_detected_and_light_syncs_stop_at_known_posts,
);

/// The jobs of a full sync: one, running the profile step, then the media step with every
/// later step beside it (the steps' rows are the run's, below).
const FULL: [&str; 1] = ["sync_account"];

async fn a_sync_is_one_job_that_runs_the_steps_in_order(d: Dialect) {
    let env = Env::new(d, sim_config(21, 2, 40), test_settings()).await;
    let (a, _) = env.account(0);
    let (b, _) = env.account(1);
    let full = env
        .engine
        .enqueue_sync(a, Plan::Full, "manual")
        .await
        .unwrap();
    let light = env
        .engine
        .enqueue_sync(b, Plan::Light, "manual")
        .await
        .unwrap();
    assert!(matches!(full.outcome, store::InsertOutcome::Inserted(_)));
    assert_eq!(full.run_id, None);
    env.engine.run_until_idle().await.unwrap();

    let jobs = env.jobs_of(a).await;
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, FULL);
    assert!(
        jobs.iter().all(|j| j.state == JobState::Completed),
        "{jobs:?}"
    );
    assert!(jobs.iter().all(|j| j.queue == "instagram-sync"));
    assert!(
        jobs.iter()
            .all(|j| j.unique_key.as_deref() == Some(&*format!("sync:{a}:full")))
    );
    let run_id = RunId::new(jobs[0].result.as_ref().unwrap()["run_id"].as_i64().unwrap());
    let (run, steps) = env.db.store.sync_run_get(run_id).await.unwrap().unwrap();
    // The media stage started once the profile step was done.
    let profile_done = steps
        .iter()
        .find(|s| s.step == "profile")
        .unwrap()
        .finished_at;
    assert!(
        steps
            .iter()
            .filter(|s| s.step != "profile")
            .all(|s| Some(s.started_at) >= profile_done),
        "{steps:?}"
    );
    assert_eq!(
        (run.status, run.plan.as_str(), run.trigger.as_str()),
        (RunStatus::Succeeded, "full", "manual")
    );
    assert_eq!(
        run.steps_planned,
        [
            "profile",
            "media",
            "media_insights",
            "stories",
            "demographics",
            "account_insights"
        ]
    );
    let mut steps = steps;
    steps.sort_by_key(|s| s.position);
    assert_eq!(
        steps
            .iter()
            .map(|s| (s.step.as_str(), s.position))
            .collect::<Vec<_>>(),
        [
            ("profile", 0),
            ("media", 1),
            ("media_insights", 2),
            ("stories", 3),
            ("demographics", 4),
            ("account_insights", 5)
        ]
    );
    for s in &steps {
        assert_eq!(s.status, StepStatus::Succeeded, "{s:?}");
        assert_eq!(s.complete, Some(true), "{s:?}");
        assert_eq!(s.attempts, 1);
        // The steps that ran beside the media step have their requests counted on its row.
        if s.position > 1 {
            assert_eq!(s.detail["requests_counted_with"], "media", "{s:?}");
            assert_eq!((s.api_calls, s.rate_limit_units), (0, 0), "{s:?}");
        } else {
            assert!(
                s.api_calls > 0 && s.rate_limit_units >= s.api_calls,
                "{s:?}"
            );
        }
        assert!(s.finished_at.is_some());
    }
    let media = steps.iter().find(|s| s.step == "media").unwrap();
    assert_eq!(media.expected, media.stored);
    assert_eq!(
        run.api_calls,
        steps.iter().map(|s| s.api_calls).sum::<i64>()
    );
    assert!(run.rows_written > 0);
    // Never one request per post: media insights of ≤ 50 posts of a category per request.
    let insights = steps.iter().find(|s| s.step == "media_insights").unwrap();
    let due = insights.expected.unwrap();
    // (Counted by the client for both accounts' syncs, stories' insights included.)
    let requests = env.requests_to("media_insights");
    assert!(
        requests <= 2 * (due as u64 / 50 + 5),
        "{insights:?}: {requests}"
    );

    // What the sync cost is kept per account and day, with the latest usage headers.
    let today = env.now().date_naive();
    let calls = env
        .db
        .store
        .api_calls_days(Some(a), today, today)
        .await
        .unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].requests, run.api_calls);
    assert_eq!(calls[0].units, run.rate_limit_units);
    let usage = env.db.store.api_usage_latest().await.unwrap();
    assert!(usage.iter().any(|u| u.account_id == Some(a)), "{usage:?}");

    let jobs = env.jobs_of(b).await;
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    // A light sync's chain has the same three jobs; its run has the light plan's five steps.
    assert_eq!(kinds, FULL);
    let p = env.engine.progress(light.job_id()).await.unwrap();
    assert_eq!(p.state, SyncState::Succeeded);
    assert_eq!(p.plan, Some(Plan::Light));
    assert_eq!(p.steps.len(), 5);
    let p = env.engine.progress(full.job_id()).await.unwrap();
    assert_eq!(p.run_id, Some(run_id));
    assert!(
        p.steps
            .iter()
            .all(|s| s.items_total.is_some() && s.items_done <= s.items_total),
        "{p:?}"
    );
    assert_eq!(
        p.steps[1].items_done, p.steps[1].items_total,
        "every post stored"
    );
    env.teardown().await;
}

async fn a_second_request_while_a_chain_is_active_merges_into_it(d: Dialect) {
    let env = Env::new(d, sim_config(22, 1, 20), test_settings()).await;
    let (a, _) = env.account(0);
    let first = env
        .engine
        .enqueue_sync(a, Plan::Full, "manual")
        .await
        .unwrap();
    let again = env.engine.enqueue_sync(a, Plan::Full, "api").await.unwrap();
    assert_eq!(again.outcome, store::InsertOutcome::Merged(first.job_id()));
    // Let the chain start and fail an attempt at the media step (its profile step done),
    // then ask again: the request joins the chain waiting for its next attempt.
    env.sim.set_fault_path(Some("/media"));
    env.sim
        .set_faults(1.0, FaultMix::only(&[simulator::FaultKind::ServerError]));
    let worker = env.engine.worker().unwrap();
    worker.run_once().await.unwrap();
    env.sim.set_faults(0.0, FaultMix::default());
    let mid = env.engine.enqueue_sync(a, Plan::Full, "api").await.unwrap();
    assert!(matches!(mid.outcome, store::InsertOutcome::Merged(_)));
    assert_eq!(mid.job_id(), first.job_id(), "the sync is one job");
    let run_id = mid
        .run_id
        .expect("a merged request names the running chain's run");
    let p = env.engine.progress(mid.job_id()).await.unwrap();
    assert_eq!(p.run_id, Some(run_id));
    assert_eq!(p.state, SyncState::Running);
    assert_eq!(p.steps[0].status, sync::StepState::Succeeded);
    assert_eq!(p.steps[1].status, sync::StepState::Running);
    env.run_until_settled(3).await;
    let jobs = env.jobs_of(a).await;
    assert_eq!(jobs.len(), FULL.len(), "one chain, not two");
    assert_eq!((jobs[0].state, jobs[0].attempt), (JobState::Completed, 2));
    let runs = env.runs(Some(a)).await;
    assert_eq!(runs.len(), 1);
    // Once finished, a new request starts a new chain.
    let later = env.engine.enqueue_sync(a, Plan::Full, "api").await.unwrap();
    assert!(matches!(later.outcome, store::InsertOutcome::Inserted(_)));
    env.teardown().await;
}

async fn a_failure_mid_chain_stops_it_and_records_the_error(d: Dialect) {
    let env = Env::new(d, sim_config(23, 2, 30), test_settings()).await;
    let (a, _) = env.account(0);
    let worker = env.engine.worker().unwrap();
    env.engine
        .enqueue_sync(a, Plan::Full, "manual")
        .await
        .unwrap();
    // The account's listing of posts breaks for good: the profile step succeeds, the
    // media step fails.
    env.sim.set_fault_path(Some("/media"));
    env.sim
        .set_faults(1.0, FaultMix::only(&[simulator::FaultKind::ServerError]));
    assert_eq!(worker.run_once().await.unwrap(), 1);
    env.run_until_settled(10).await;

    let account = env.db.store.account_get(a).await.unwrap().unwrap();
    assert_eq!(account.status, SyncStatus::Failed);
    let error = account.last_sync_error.unwrap();
    assert!(error.starts_with("step media failed:"), "{error}");
    assert!(error.contains("Graph API"), "{error}");
    let jobs = env.jobs_of(a).await;
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, FULL, "the chain stopped");
    let media = &jobs[0];
    assert_eq!((media.state, media.attempt), (JobState::Failed, 3));
    assert_eq!(media.errors.len(), 3);
    // Retries waited with exponential backoff.
    let gap1 = media.errors[1].at - media.errors[0].at;
    let gap2 = media.errors[2].at - media.errors[1].at;
    assert!(
        gap1 >= Duration::seconds(48) && gap2 >= Duration::seconds(96),
        "{gap1} {gap2}"
    );

    let run_id = media.run_id.unwrap();
    let (run, steps) = env.db.store.sync_run_get(run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    let profile = steps.iter().find(|s| s.step == "profile").unwrap();
    assert_eq!(
        (profile.status, profile.attempts),
        (StepStatus::Succeeded, 1),
        "the retries ran only the steps left"
    );
    assert_eq!(run.error.as_deref(), Some(error.as_str()));
    let step = steps.iter().find(|s| s.step == "media").unwrap();
    assert_eq!(
        (step.status, step.attempts, step.complete),
        (StepStatus::Failed, 3, Some(false))
    );
    assert!(step.error.is_some());
    // The steps beside it that need nothing of the listing ran; none is left running.
    assert!(
        steps
            .iter()
            .filter(|s| s.step != "media")
            .all(|s| matches!(s.status, StepStatus::Succeeded | StepStatus::Skipped)),
        "{steps:?}"
    );
    let alerts = env
        .db
        .store
        .alert_list(store::AlertQuery {
            account_id: Some(a),
            kind: Some("sync_failed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].alert.message.contains("step media failed"));

    // The API recovers: the next sync succeeds and clears the error.
    env.sim.set_faults(0.0, FaultMix::none());
    env.full_sync(a, 3).await;
    let account = env.db.store.account_get(a).await.unwrap().unwrap();
    assert_eq!(
        (account.status, account.last_sync_error),
        (SyncStatus::Idle, None)
    );
    env.teardown().await;
}

async fn a_second_sync_adds_snapshots_without_duplicating(d: Dialect) {
    let mut sim = sim_config(24, 2, 50);
    sim.history_days = 20;
    let env = Env::new(d, sim, test_settings()).await;
    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    env.run_until_settled(3).await;
    let first = env.db.store.totals().await.unwrap();
    let mut first_demographics = Vec::new();
    for (_, sim_account) in &env.accounts {
        let truth = env.truth(sim_account);
        first_demographics.push(truth.demographics);
    }

    env.advance(Duration::hours(2));
    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    env.run_until_settled(3).await;
    let second = env.db.store.totals().await.unwrap();
    assert_eq!(second.accounts, first.accounts);
    assert_eq!(second.media, first.media, "no post stored twice");
    // One read per sync and account: a new row, or a confirmation of the row before when the
    // counters did not move (the reads are counted per account below).
    assert!(
        (first.profile_snapshots..=first.profile_snapshots + 2).contains(&second.profile_snapshots),
        "one snapshot per sync: {} then {}",
        first.profile_snapshots,
        second.profile_snapshots
    );
    assert!(second.media_insight_snapshots > first.media_insight_snapshots);
    assert_eq!(second.sync_runs, 4);
    assert_eq!(
        second.demographic_values, first.demographic_values,
        "one snapshot a day"
    );

    for (n, (id, sim_account)) in env.accounts.iter().enumerate() {
        let mut truth = env.truth(sim_account);
        // Demographics are a daily snapshot: the second sync of the day kept the first.
        truth.demographics = first_demographics[n].clone();
        assert_matches_truth(&env, *id, &truth).await;
        // Posts younger than 48 h were captured again; week-old ones were not yet due.
        let media = env
            .db
            .store
            .media_list(MediaQuery {
                account_id: Some(*id),
                ..Default::default()
            })
            .await
            .unwrap();
        let young: Vec<String> = media
            .iter()
            .filter(|m| env.now() - m.record.published_at < Duration::hours(40))
            .map(|m| m.record.ig_media_id.clone())
            .collect();
        let old: Vec<String> = media
            .iter()
            .filter(|m| env.now() - m.record.published_at > Duration::days(8))
            .map(|m| m.record.ig_media_id.clone())
            .collect();
        assert!(!young.is_empty() && !old.is_empty());
        let captures = |ids: &Vec<String>| {
            let ids = ids.clone();
            let store = env.db.store.clone();
            async move {
                let rows = store
                    .media_insight_history(&ids, &["reach".to_string()])
                    .await
                    .unwrap();
                let mut per: std::collections::BTreeMap<String, usize> = Default::default();
                for r in rows.iter().filter(|r| r.breakdown.is_none()) {
                    *per.entry(r.ig_media_id.clone()).or_default() += 1;
                }
                per
            }
        };
        let young_caps = captures(&young).await;
        assert!(young_caps.values().all(|n| *n == 2), "{young_caps:?}");
        let old_caps = captures(&old).await;
        assert!(old_caps.values().all(|n| *n == 1), "{old_caps:?}");
        // Two profile snapshots, two hours apart.
        let snaps = env
            .db
            .store
            .profile_snapshots(*id, env.now() - Duration::days(1), env.now())
            .await
            .unwrap();
        assert_eq!(snaps.len(), 2);
        assert_eq!(
            snaps[1].captured_at - snaps[0].captured_at,
            Duration::hours(2)
        );
    }
    env.teardown().await;
}

async fn paused_accounts_are_refused_and_a_pause_mid_chain_stops_it(d: Dialect) {
    let env = Env::new(d, sim_config(25, 1, 20), test_settings()).await;
    let (a, _) = env.account(0);
    let pause = |status| store::StatusChange {
        status,
        error: None,
        synced_at: None,
        only_if: Vec::new(),
        now: env.now(),
    };
    env.engine
        .enqueue_sync(a, Plan::Full, "manual")
        .await
        .unwrap();
    // The first attempt stops at the media step; the account is paused before the next.
    env.sim.set_fault_path(Some("/media"));
    env.sim
        .set_faults(1.0, FaultMix::only(&[simulator::FaultKind::ServerError]));
    let worker = env.engine.worker().unwrap();
    worker.run_once().await.unwrap();
    env.sim.set_faults(0.0, FaultMix::default());
    env.db
        .store
        .account_status_set(a, pause(SyncStatus::Paused))
        .await
        .unwrap();
    env.run_until_settled(3).await;
    let jobs = env.jobs_of(a).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].result.as_ref().unwrap()["stopped"],
        "the account is paused"
    );
    assert_eq!(env.runs(Some(a)).await.len(), 1);
    let (run, steps) = env.last_run(a).await;
    assert_eq!(run.status, RunStatus::Cancelled);
    assert_eq!(
        run.error.as_deref(),
        Some("stopped before media: the account is paused")
    );
    assert!(
        steps
            .iter()
            .all(|s| s.step != "media" || s.status != StepStatus::Succeeded),
        "the chain stopped at the step after the pause"
    );
    let account = env.db.store.account_get(a).await.unwrap().unwrap();
    assert_eq!(account.status, SyncStatus::Paused);
    let err = env
        .engine
        .enqueue_sync(a, Plan::Full, "manual")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("paused"), "{err}");
    let err = env
        .engine
        .enqueue_sync(AccountId::new(999_999), Plan::Full, "manual")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("999999"), "{err}");
    env.teardown().await;
}

async fn deleted_posts_are_detected_and_light_syncs_stop_at_known_posts(d: Dialect) {
    let mut sim = sim_config(26, 1, 250);
    sim.history_days = 20;
    let env = Env::new(d, sim, test_settings()).await;
    let (a, sim_account) = env.account(0);
    env.full_sync(a, 3).await;
    let media = env
        .db
        .store
        .media_list(MediaQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(media.len() > 150, "more than one page of posts");
    let young = media
        .iter()
        .find(|m| env.now() - m.record.published_at < Duration::hours(24))
        .unwrap()
        .record
        .ig_media_id
        .clone();
    let old = media
        .iter()
        .find(|m| env.now() - m.record.published_at > Duration::days(15))
        .unwrap()
        .record
        .ig_media_id
        .clone();
    assert!(env.sim.delete_media(&young) && env.sim.delete_media(&old));
    env.advance(Duration::hours(2));

    // A light sync lists until the first known, settled post: it sees the young deletion.
    let light = env
        .engine
        .enqueue_sync(a, Plan::Light, "manual")
        .await
        .unwrap();
    env.run_until_settled(3).await;
    let run_id = env
        .engine
        .progress(light.job_id())
        .await
        .unwrap()
        .run_id
        .unwrap();
    let (run, steps) = env.db.store.sync_run_get(run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    let step = steps.iter().find(|s| s.step == "media").unwrap();
    assert_eq!(step.detail["listing_complete"], false, "{step:?}");
    assert_eq!(step.detail["pages"], 1);
    assert_eq!(step.detail["deleted"], 1);
    let get = |id: String| {
        let store = env.db.store.clone();
        async move { store.media_get(&id).await.unwrap().unwrap() }
    };
    assert!(get(young.clone()).await.deleted_at.is_some());
    assert!(
        get(old.clone()).await.deleted_at.is_none(),
        "outside the light listing's range"
    );
    // Media insights, beside the listing, saw the index as the listing left it: every
    // stored post, and the young deletion as the lasting reason its insights are missing.
    let insights = steps.iter().find(|s| s.step == "media_insights").unwrap();
    assert_eq!(
        insights.detail["known_media"],
        env.db.store.media_index(a).await.unwrap().len(),
        "{insights:?}"
    );
    let missing = env
        .db
        .store
        .missing_list(a, &[store::MissingKind::MediaInsights])
        .await
        .unwrap();
    assert!(
        missing
            .iter()
            .any(|m| m.key.object_id == young && m.reason == store::MissingReason::Deleted),
        "{missing:?}"
    );
    // Deleted posts keep their history.
    let kept = env
        .db
        .store
        .media_insight_history(std::slice::from_ref(&young), &[])
        .await
        .unwrap();
    assert!(!kept.is_empty());

    // A full sync lists everything and finds the old deletion too.
    env.full_sync(a, 3).await;
    assert!(get(old).await.deleted_at.is_some());
    // Stored live posts are exactly the simulator's (insight values of posts not due in
    // this run are, by design, those of their last capture).
    let truth = env.truth(sim_account);
    let live: std::collections::BTreeSet<String> = env
        .db
        .store
        .media_list(MediaQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.record.ig_media_id)
        .collect();
    let expected: std::collections::BTreeSet<String> =
        truth.media.iter().map(|m| m.id.clone()).collect();
    assert_eq!(live, expected);
    assert_eq!(live.len() as u64, truth.profile.media_count);
    env.teardown().await;
}
