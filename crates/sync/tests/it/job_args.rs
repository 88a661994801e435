//! Typed job arguments against real queues: jobs queued with the JSON an older igsync wrote
//! still run, and a job whose arguments do not decode is discarded with the reason on it.

use serde_json::json;
use store::{AccountId, JobQuery, JobState, NewJob, RunStatus};

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    jobs_queued_with_the_old_json_shape_still_run,
    a_job_whose_arguments_do_not_decode_is_discarded_with_the_reason,
);

/// A job as an older igsync inserted it: kind and JSON written by hand.
fn raw_job(
    queue: &str,
    kind: &str,
    args: serde_json::Value,
    account_id: Option<AccountId>,
    env: &Env,
) -> NewJob {
    NewJob {
        queue: queue.to_string(),
        kind: kind.to_string(),
        args,
        account_id,
        unique_key: None,
        run_id: None,
        run_at: env.now(),
        max_attempts: 1,
        priority: 0,
        now: env.now(),
    }
}

async fn jobs_queued_with_the_old_json_shape_still_run(d: Dialect) {
    let env = Env::new(d, sim_config(31, 2, 8), test_settings()).await;
    let (a, _) = env.account(0);
    let (b, _) = env.account(1);
    let store = &env.db.store;
    // An account sync narrowed to a day range, as `sync --only` queued it.
    let today = env.now().date_naive();
    let scoped = json!({
        "plan": "account_insights",
        "trigger": "manual",
        "scope": { "media": [], "since": (today - chrono::Duration::days(3)).to_string(), "until": today.to_string() },
    });
    store
        .job_insert(raw_job(
            "instagram-sync",
            "sync_account",
            scoped,
            Some(a),
            &env,
        ))
        .await
        .unwrap();
    // A full sync's chain as earlier versions queued it, one job per stage: its run and
    // the job of its first step.
    let old_run = store
        .sync_run_create(store::NewSyncRun {
            account_id: a,
            plan: "full".into(),
            trigger: "manual".into(),
            steps: sync::Plan::Full
                .steps()
                .iter()
                .map(|s| s.name().to_string())
                .collect(),
            started_at: env.now(),
            job_id: None,
        })
        .await
        .unwrap();
    let first_step = json!({ "plan": "full", "trigger": "manual", "position": 0 });
    store
        .job_insert(NewJob {
            run_id: Some(old_run),
            ..raw_job("instagram-sync", "sync_profile", first_step, Some(a), &env)
        })
        .await
        .unwrap();
    // A light sync schedule's tick, with the fields the scheduler adds.
    let tick = json!({ "plan": "light", "schedule": "light_sync", "tick": env.now().to_rfc3339() });
    store
        .job_insert(raw_job("maintenance", "sync_fan_out", tick, None, &env))
        .await
        .unwrap();
    env.engine.run_until_idle().await.unwrap();

    let all = store
        .job_list(JobQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs;
    let failed: Vec<_> = all
        .iter()
        // Stories' final reads wait for their stories' expiry, hours ahead.
        .filter(|j| j.state != JobState::Completed && j.kind != "story_final_read")
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    // The scoped sync ran as one job; the old chain went on with its media stage's job;
    // the fan-out started a light sync of each account.
    let kinds_of = |account| {
        let mut kinds: Vec<&str> = all
            .iter()
            .filter(|j| j.account_id == Some(account))
            .map(|j| j.kind.as_str())
            .collect();
        kinds.sort();
        kinds
    };
    assert_eq!(
        kinds_of(a),
        ["sync_account", "sync_account", "sync_media", "sync_profile"]
    );
    assert_eq!(kinds_of(b), ["sync_account"]);
    let (run, steps) = store.sync_run_get(old_run).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(steps.len(), sync::Plan::Full.steps().len(), "{steps:?}");
    let runs = store
        .sync_runs_list(store::RunQuery {
            account_id: Some(b),
            accounts: None,
            status: None,
            limit: 10,
            before_id: None,
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].trigger, "schedule:light_sync");
    env.teardown().await;
}

async fn a_job_whose_arguments_do_not_decode_is_discarded_with_the_reason(d: Dialect) {
    let env = Env::new(d, sim_config(32, 1, 4), test_settings()).await;
    let (a, _) = env.account(0);
    let store = &env.db.store;
    let cases = [
        (
            "instagram-sync",
            "sync_account",
            json!({ "plan": "weekly", "trigger": "manual" }),
            "unknown sync plan `weekly`",
        ),
        (
            "instagram-sync",
            "sync_media",
            json!({ "plan": "full", "trigger": "manual" }),
            "missing field `position`",
        ),
        (
            "maintenance",
            "sync_fan_out",
            json!({ "schedule": "full_sync" }),
            "missing field `plan`",
        ),
        (
            "maintenance",
            "deliver_webhook",
            json!({ "alert_id": "seven", "body": {} }),
            "invalid type: string \"seven\"",
        ),
    ];
    let mut ids = Vec::new();
    for (queue, kind, args, _) in &cases {
        let account = (*queue == "instagram-sync").then_some(a);
        let id = store
            .job_insert(raw_job(queue, kind, args.clone(), account, &env))
            .await
            .unwrap()
            .id();
        ids.push(id);
    }
    env.engine.run_until_idle().await.unwrap();
    for (id, (_, kind, _, reason)) in ids.into_iter().zip(&cases) {
        let job = store.job_get(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Failed, "{job:?}");
        let error = &job.errors.last().expect("the reason is on the job").error;
        assert!(
            error.contains(&format!("the arguments of a `{kind}` job are not valid")),
            "{error}"
        );
        assert!(error.contains(reason), "{error}");
    }
    // Nothing ran on their behalf: no run was opened, the account is not left syncing.
    let runs = store
        .sync_runs_list(store::RunQuery {
            account_id: Some(a),
            accounts: None,
            status: None,
            limit: 10,
            before_id: None,
        })
        .await
        .unwrap();
    assert!(runs.is_empty(), "{runs:?}");
    let account = store.account_get(a).await.unwrap().unwrap();
    assert_eq!(account.status, store::SyncStatus::Idle);
    env.teardown().await;
}
