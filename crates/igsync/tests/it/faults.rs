//! Graph API faults against `igsync worker` processes, on SQLite and PostgreSQL: 30 %
//! transient faults (5xx, timeouts, dropped connections, transient errors, malformed JSON),
//! rate-limit storms with a time to regain access, a token expiring mid-sync and metrics
//! withdrawn between two syncs. Each sync ends in complete data equal to the ground truth or
//! in a clear, recorded failure; partial data is never marked complete.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use simulator::{FaultKind, FaultMix};
use store::{
    AlertQuery, JobQuery, JobSelector, JobState, RunStatus, StepStatus, Store, SyncStatus,
};

use crate::both_dialects;
use crate::support::{
    Dialect, Harness, active_sync_jobs, eventually, fleet_settled, pick, record_figures,
    sim_config, start_sim,
};
use crate::truth::{
    Catalogs, Checked, VERSION, assert_fleet_matches_truth, assert_matches_truth,
    assert_run_complete, idle_account, last_succeeded_run, runs_of,
};

both_dialects!(
    thirty_percent_transient_faults_end_complete_or_clearly_failed,
    rate_limit_storms_are_waited_out_and_never_marked_complete,
    a_token_expiring_mid_sync_fails_that_account_clearly_and_only_it,
    a_metric_withdrawn_between_two_syncs_costs_nothing_but_its_values,
);

/// The runs of an account, newest first.
/// Every failed account carries a one-line reason naming the step, its run failed with that
/// reason, and no step after the failure claims complete data.
async fn assert_clear_failure(store: &dyn Store, account: &store::Account) {
    let error = account.last_sync_error.clone().unwrap_or_default();
    assert!(
        error.starts_with("step ") && !error.contains('\n'),
        "@{}: a clear error: {error:?}",
        account.username
    );
    let runs = runs_of(store, account.id).await;
    assert_eq!(runs[0].status, RunStatus::Failed, "{:?}", runs[0]);
    assert!(runs[0].error.as_deref().is_some_and(|e| !e.is_empty()));
    let (_, steps) = store.sync_run_get(runs[0].id).await.unwrap().unwrap();
    let failed = steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .unwrap_or_else(|| panic!("@{}: no failed step in {steps:?}", account.username));
    assert!(failed.error.is_some(), "{failed:?}");
    assert!(
        steps
            .iter()
            .filter(|s| s.position > failed.position)
            .all(|s| s.complete != Some(true)),
        "{steps:?}"
    );
}

async fn thirty_percent_transient_faults_end_complete_or_clearly_failed(d: Dialect) {
    let (accounts, media) = pick((3, 40), (8, 120));
    let mut config = sim_config(41, accounts, media);
    config.fault_rate = 0.3;
    config.faults = FaultMix::only(&[
        FaultKind::ServerError,
        FaultKind::Timeout,
        FaultKind::DroppedConnection,
        FaultKind::TransientError,
        FaultKind::MalformedJson,
    ]);
    let sim = start_sim(config).await;
    let mut h = Harness::new(d, "faults").await;
    h.graph(&sim);
    // Registration verifies each token against the API: without faults.
    sim.set_faults(0.0, FaultMix::none());
    h.register(&sim).await;
    sim.set_faults(0.3, FaultMix::default());
    sim.reset_stats();
    let store = h.db.open().await;
    h.ok(&["sync", "--all"], None).await;
    let mut worker = h.spawn(&["worker"]);
    eventually("the fleet sync ends", Duration::from_secs(600), || async {
        fleet_settled(&*store).await.then_some(())
    })
    .await;
    assert!(worker.terminate().await.success(), "{}", worker.stderr());
    let stats = sim.stats();
    sim.set_faults(0.0, FaultMix::none());

    let catalogs = Catalogs::new(&sim);
    let (mut complete, mut failed) = (0, 0);
    let mut checked = Checked::default();
    for a in sim.accounts() {
        let account = store
            .account_get_by_ig(&a.ig_user_id)
            .await
            .unwrap()
            .unwrap();
        let runs = runs_of(&*store, account.id).await;
        assert_eq!(runs.len(), 1, "@{}", account.username);
        match account.status {
            SyncStatus::Idle => {
                assert_eq!(runs[0].status, RunStatus::Succeeded);
                let (_, steps) = last_succeeded_run(&store, account.id).await;
                assert_run_complete(&steps, &account.username);
                let truth = sim.ground_truth(&a.ig_user_id, VERSION).unwrap();
                checked.add(assert_matches_truth(&store, &catalogs, account.id, &truth, 1).await);
                complete += 1;
            }
            SyncStatus::Failed => {
                assert_clear_failure(&*store, &account).await;
                failed += 1;
            }
            other => panic!("@{} left {other:?}", account.username),
        }
    }
    for kind in [
        "server_error",
        "timeout",
        "dropped_connection",
        "transient_error",
        "malformed_json",
    ] {
        assert!(
            stats.faults_by_kind.get(kind).copied().unwrap_or(0) > 0,
            "{kind} injected: {:?}",
            stats.faults_by_kind
        );
    }
    assert!(
        complete > 0,
        "at least one account completes through 30 % faults"
    );
    record_figures(
        &format!("graph_faults_{}", d.name()),
        serde_json::json!({
            "accounts": accounts,
            "api_requests": stats.requests_total,
            "faults_injected": stats.faults_by_kind,
            "faults_total": stats.faults_by_kind.values().sum::<u64>(),
            "accounts_complete_and_equal_to_truth": complete,
            "accounts_failed_with_recorded_reason": failed,
            "rows_checked_against_ground_truth": checked.json(),
        }),
    );
    h.db.teardown().await;
}

async fn rate_limit_storms_are_waited_out_and_never_marked_complete(d: Dialect) {
    let (accounts, media) = pick((3, 40), (6, 100));
    let sim = start_sim(sim_config(42, accounts, media)).await;
    let mut h = Harness::new(d, "storms").await;
    h.graph(&sim);
    h.register(&sim).await;
    let store = h.db.open().await;
    sim.set_faults(0.15, FaultMix::only(&[FaultKind::RateLimitStorm]));
    sim.reset_stats();
    h.ok(&["sync", "--all"], None).await;
    let mut worker = h.spawn(&["worker"]);
    let mut storms = 0;
    let mut snoozes_seen = 0;
    let mut rounds = 0;
    loop {
        rounds += 1;
        // Wait until every chain has either finished or is waiting for Meta.
        let waiting: Vec<store::Job> = eventually(
            "every chain is finished or snoozed",
            Duration::from_secs(300),
            || async {
                let active = active_sync_jobs(&*store).await;
                let soon = Utc::now() + chrono::Duration::seconds(30);
                (active
                    .iter()
                    .all(|j| j.state == JobState::Pending && j.run_at > soon))
                .then_some(active)
            },
        )
        .await;
        storms += sim
            .stats()
            .faults_by_kind
            .get("rate_limit_storm")
            .copied()
            .unwrap_or(0);
        sim.reset_stats();
        if waiting.is_empty() {
            break;
        }
        for job in &waiting {
            snoozes_seen += 1;
            // Meta said to come back in one to ten minutes: the chain waits that long,
            // without using an attempt, and nothing about it claims to be complete.
            assert!(
                job.run_at > Utc::now() + chrono::Duration::seconds(40),
                "{job:?}"
            );
            let account = store
                .account_get(job.account_id.unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(account.status, SyncStatus::Syncing, "@{}", account.username);
            let (run, steps) = store
                .sync_run_get(job.run_id.unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(run.status, RunStatus::Running);
            let position = job.args["position"].as_i64().unwrap_or(-1);
            if let Some(step) = steps.iter().find(|s| i64::from(s.position) == position) {
                // The job's own step waits; or it finished and a step read beside it was
                // limited, which its row names.
                match step.status {
                    StepStatus::Running => assert_ne!(step.complete, Some(true), "{step:?}"),
                    StepStatus::Succeeded | StepStatus::Skipped => {}
                    _ => panic!("the waiting job's step {step:?}"),
                }
                assert!(
                    step.error.as_deref().unwrap_or("").contains("rate limited"),
                    "{step:?}"
                );
            }
            // No step that has not finished claims to be complete.
            for step in &steps {
                if step.status == StepStatus::Running {
                    assert_ne!(step.complete, Some(true), "{step:?}");
                }
            }
        }
        assert!(rounds < 20, "storms never end");
        // Access is regained: the operator's "run now" (what time would do) after a restart
        // of the worker, whose in-memory pauses would otherwise hold the calls.
        assert!(worker.terminate().await.success(), "{}", worker.stderr());
        if rounds >= 2 {
            sim.set_faults(0.0, FaultMix::none());
        }
        let n = store
            .jobs_retry(
                JobSelector::Ids(waiting.iter().map(|j| j.id).collect()),
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(n as usize, waiting.len());
        worker = h.spawn(&["worker"]);
    }
    assert!(worker.terminate().await.success(), "{}", worker.stderr());
    assert!(
        storms > 0 && snoozes_seen > 0,
        "storms {storms}, snoozes {snoozes_seen}"
    );

    let catalogs = Catalogs::new(&sim);
    let mut checked = Checked::default();
    checked.add(assert_fleet_matches_truth(&store, &sim, &catalogs).await);
    record_figures(
        &format!("rate_limit_storms_{}", d.name()),
        serde_json::json!({
            "accounts": accounts,
            "storm_responses": storms,
            "chains_snoozed_until_access_regained": snoozes_seen,
            "rounds": rounds,
            "rows_checked_against_ground_truth": checked.json(),
        }),
    );
    h.db.teardown().await;
}

async fn a_token_expiring_mid_sync_fails_that_account_clearly_and_only_it(d: Dialect) {
    let mut config = sim_config(43, 3, 60);
    config.latency = Duration::from_millis(120);
    let sim = start_sim(config).await;
    let mut h = Harness::new(d, "token").await;
    h.graph(&sim);
    h.register(&sim).await;
    let store = h.db.open().await;
    let victim = sim.accounts()[0].clone();
    let victim_id = store
        .account_get_by_ig(&victim.ig_user_id)
        .await
        .unwrap()
        .unwrap()
        .id;
    h.ok(&["sync", "--all"], None).await;
    // Under a filter that keeps warnings only, a warning still names its job and account.
    h.set("RUST_LOG", "warn");
    let mut worker = h.spawn(&["worker"]);
    // Once the victim's profile is stored, Meta stops accepting its token.
    eventually(
        "the victim's profile step succeeds",
        Duration::from_secs(120),
        || async {
            let runs = runs_of(&*store, victim_id).await;
            let run = runs.first()?;
            let (_, steps) = store.sync_run_get(run.id).await.ok()??;
            steps
                .iter()
                .any(|s| s.step == "profile" && s.status == StepStatus::Succeeded)
                .then_some(())
        },
    )
    .await;
    sim.expire_token(&victim.ig_user_id);
    eventually("the fleet sync ends", Duration::from_secs(300), || async {
        fleet_settled(&*store).await.then_some(())
    })
    .await;
    assert!(worker.terminate().await.success(), "{}", worker.stderr());
    let log = worker.stderr();
    let warning = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("authorize the account again"))
        .unwrap_or_else(|| panic!("a warning about the victim's token:\n{log}"));
    assert!(
        warning.contains("job{id=") && warning.contains(&format!("account={victim_id}")),
        "the warning names its job and account: {warning}"
    );

    let account = store.account_get(victim_id).await.unwrap().unwrap();
    assert_eq!(account.status, SyncStatus::NeedsReauth);
    let error = account.last_sync_error.clone().unwrap_or_default();
    assert!(
        error.contains("authorize the account again") && !error.contains('\n'),
        "{error}"
    );
    assert!(
        !error.contains(&victim.access_token),
        "the token is not in the error"
    );
    let runs = runs_of(&*store, victim_id).await;
    assert_eq!(runs[0].status, RunStatus::Failed);
    let (_, steps) = store.sync_run_get(runs[0].id).await.unwrap().unwrap();
    let failed: Vec<_> = steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{steps:?}");
    assert!(
        failed[0].position > 0,
        "the token expired after the profile step"
    );
    assert!(
        steps.iter().all(|s| s.position <= failed[0].position),
        "the chain stopped at the failure: {steps:?}"
    );
    // No blind retries: the rejected step ran once.
    let jobs = store
        .job_list(JobQuery {
            account_id: Some(victim_id),
            states: vec![JobState::Failed],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].attempt, 1, "{:?}", jobs[0]);
    let alerts = store
        .alert_list(AlertQuery {
            account_id: Some(victim_id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        alerts.iter().any(|a| a.alert.kind == "needs_reauth"),
        "{alerts:?}"
    );
    // A manual sync is refused with one clear line until the account is authorized again.
    let refused = h
        .run(&["sync", "--account", &victim.ig_user_id, "--wait"], None)
        .await;
    assert!(!refused.status.success(), "{refused}");
    assert_eq!(refused.stderr.trim().lines().count(), 1, "{refused}");
    assert!(refused.stderr.contains("re-authorization"), "{refused}");

    // The other accounts are unaffected.
    let catalogs = Catalogs::new(&sim);
    let mut checked = Checked::default();
    for a in &sim.accounts()[1..] {
        let account = idle_account(&*store, &a.ig_user_id).await;
        let truth = sim.ground_truth(&a.ig_user_id, VERSION).unwrap();
        checked.add(assert_matches_truth(&store, &catalogs, account.id, &truth, 1).await);
    }
    record_figures(
        &format!("expired_token_{}", d.name()),
        serde_json::json!({
            "accounts": 3,
            "token_expired_after_step": "profile",
            "failed_step": failed[0].step,
            "attempts_of_the_rejected_step": jobs[0].attempt,
            "other_accounts_complete": 2,
            "rows_checked_against_ground_truth": checked.json(),
        }),
    );
    h.db.teardown().await;
}

async fn a_metric_withdrawn_between_two_syncs_costs_nothing_but_its_values(d: Dialect) {
    let sim = start_sim(sim_config(44, 3, 50)).await;
    let mut h = Harness::new(d, "metric").await;
    h.graph(&sim);
    let accounts = sim.accounts();
    for a in &accounts[..2] {
        h.register_one(a).await;
    }
    let store = h.db.open().await;
    let first = h.ok(&["sync", "--all", "--wait"], None).await;
    let catalogs = Catalogs::new(&sim);
    let mut checked = Checked::default();
    for a in &accounts[..2] {
        let id = store
            .account_get_by_ig(&a.ig_user_id)
            .await
            .unwrap()
            .unwrap()
            .id;
        let truth = sim.ground_truth(&a.ig_user_id, VERSION).unwrap();
        checked.add(assert_matches_truth(&store, &catalogs, id, &truth, 1).await);
    }

    // Meta withdraws a post metric and an account metric; a new account joins.
    let withdrawn = ["saved", "profile_links_taps"];
    for m in withdrawn {
        sim.remove_metric(m);
    }
    h.register_one(&accounts[2]).await;
    let before = Utc::now();
    let second = h
        .ok(&["--log-format", "json", "sync", "--all", "--wait"], None)
        .await;
    for a in &accounts {
        let account = idle_account(&*store, &a.ig_user_id).await;
        let (run, steps) = last_succeeded_run(&store, account.id).await;
        assert!(
            run.started_at >= before,
            "the second sync succeeded: {run:?}"
        );
        assert_run_complete(&steps, &account.username);
    }
    // The new account's data equals the truth, which no longer has the withdrawn metrics.
    let newcomer = store
        .account_get_by_ig(&accounts[2].ig_user_id)
        .await
        .unwrap()
        .unwrap();
    let truth = sim.ground_truth(&accounts[2].ig_user_id, VERSION).unwrap();
    checked.add(assert_matches_truth(&store, &catalogs, newcomer.id, &truth, 1).await);
    // Nothing captured by the second sync names a withdrawn metric.
    let mut after_rows = 0;
    for a in &accounts {
        let account = store
            .account_get_by_ig(&a.ig_user_id)
            .await
            .unwrap()
            .unwrap();
        let media = store
            .media_list(store::MediaQuery {
                account_id: Some(account.id),
                ..Default::default()
            })
            .await
            .unwrap();
        let ids: Vec<String> = media.iter().map(|m| m.record.ig_media_id.clone()).collect();
        for row in store.media_insight_history(&ids, &[]).await.unwrap() {
            if row.captured_at >= before {
                after_rows += 1;
                assert!(!withdrawn.contains(&row.metric.as_str()), "{row:?}");
            }
        }
        let today = Utc::now().date_naive();
        for day in store
            .account_insight_days(
                account.id,
                &["profile_links_taps".to_string()],
                today - chrono::Duration::days(120),
                today + chrono::Duration::days(1),
            )
            .await
            .unwrap()
        {
            // Days read before the withdrawal keep their values (history is never erased).
            assert!(
                account.id != newcomer.id,
                "the newcomer never read a withdrawn metric: {day:?}"
            );
        }
    }
    assert!(after_rows > 0, "the second sync captured insights");
    // The decision is recorded in the log, once per metric and scope.
    let log = format!("{}{}", second.stdout, second.stderr);
    let mut decisions = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains("no longer requested")) {
        for m in withdrawn {
            if line.contains(&format!("\"metric\":\"{m}\"")) {
                *decisions.entry(m).or_insert(0) += 1;
            }
        }
    }
    for m in withdrawn {
        assert!(decisions.contains_key(m), "{m} dropped and logged:\n{log}");
    }
    assert!(first.status.success());
    record_figures(
        &format!("withdrawn_metric_{}", d.name()),
        serde_json::json!({
            "metrics_withdrawn": withdrawn,
            "logged_decisions": decisions,
            "accounts_complete_after_withdrawal": 3,
            "snapshot_rows_of_the_second_sync": after_rows,
            "rows_checked_against_ground_truth": checked.json(),
        }),
    );
    h.db.teardown().await;
}
