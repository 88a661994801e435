//! Operations around the syncs: schedules fanning out through the engine, the global start
//! limiter across workers, token refresh, alerts delivered to a signed webhook, retention,
//! and the history loader.

use chrono::Duration;
use store::{
    AccountId, AlertQuery, JobQuery, JobState, RunQuery, SecretString, StatusChange, SyncStatus,
};
use sync::{DailySeries, HistoryWindow, Plan, load_account_history, load_alert_history};

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    schedules_fan_out_once_across_workers_and_once_after_a_clock_jump,
    the_global_start_limiter_holds_across_workers,
    expiring_tokens_are_refreshed_and_a_failed_refresh_alerts,
    alerts_are_raised_once_and_delivered_signed_to_the_webhook,
    trending_posts_are_alerted_once_each,
    an_injected_spike_is_alerted_once_with_a_link_to_the_chart,
    anomalies_are_checked_by_the_syncs_that_read_the_daily_series,
    retention_prunes_finished_jobs_and_never_analytics_data,
    the_history_loader_maps_stored_rows_to_analytics_inputs,
    a_worker_service_fires_due_schedules_and_syncs_until_shut_down,
);

async fn jobs_of_kind(env: &Env, kind: &str) -> Vec<store::Job> {
    env.db
        .store
        .job_list(JobQuery {
            kind: Some(kind.to_string()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs
}

async fn schedules_fan_out_once_across_workers_and_once_after_a_clock_jump(d: Dialect) {
    let env = Env::new(d, sim_config(41, 3, 10), test_settings()).await;
    let (paused, _) = env.account(2);
    env.db
        .store
        .account_status_set(
            paused,
            StatusChange {
                status: SyncStatus::Paused,
                error: None,
                synced_at: None,
                only_if: Vec::new(),
                now: env.now(),
            },
        )
        .await
        .unwrap();
    let other = env.second_engine(test_settings()).await;
    env.engine.install_schedules().await.unwrap();
    other.install_schedules().await.unwrap();
    let schedules = env.db.store.schedule_list().await.unwrap();
    let names: std::collections::BTreeSet<&str> =
        schedules.iter().map(|s| s.def.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "competitors",
            "full_sync",
            "light_sync",
            "reports",
            "retention",
            "token_refresh"
        ]
        .into_iter()
        .collect()
    );
    // Noon: the light sync is next, at 13:00; the full sync at 18:00.
    let light = schedules
        .iter()
        .find(|s| s.def.name == "light_sync")
        .unwrap();
    let full = schedules
        .iter()
        .find(|s| s.def.name == "full_sync")
        .unwrap();
    assert_eq!(light.next_run_at - env.now(), Duration::hours(1));
    assert_eq!(full.next_run_at - env.now(), Duration::hours(6));

    // An account whose full chain is still waiting is skipped by the light fan-out.
    let (busy, _) = env.account(0);
    env.engine
        .enqueue_sync(busy, Plan::Full, "manual")
        .await
        .unwrap();
    env.advance_engine(Duration::hours(1));
    let (a, b) = tokio::join!(env.engine.maintain(), other.maintain());
    a.unwrap();
    b.unwrap();
    let fan_outs = jobs_of_kind(&env, "sync_fan_out").await;
    assert_eq!(fan_outs.len(), 1, "one tick, one job, two workers");
    assert_eq!(fan_outs[0].args["plan"], "light");
    env.engine.run_until_idle().await.unwrap();
    let syncs = jobs_of_kind(&env, "sync_account").await;
    let mut light_syncs: Vec<(AccountId, String)> = syncs
        .iter()
        .filter(|j| j.args["plan"] == "light")
        .map(|j| {
            (
                j.account_id.unwrap(),
                j.args["trigger"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    light_syncs.sort();
    let (only, _) = env.account(1);
    assert_eq!(light_syncs, [(only, "schedule:light_sync".to_string())]);

    // Three days pass with no worker: each schedule fires once, not once per missed tick.
    env.advance_engine(Duration::days(3));
    let (a, b) = tokio::join!(env.engine.maintain(), other.maintain());
    a.unwrap();
    b.unwrap();
    let pending = env
        .db
        .store
        .job_list(JobQuery {
            states: vec![JobState::Pending],
            queue: Some("maintenance".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut kinds: Vec<String> = pending
        .jobs
        .iter()
        .map(|j| format!("{}:{}", j.kind, j.args["plan"].as_str().unwrap_or("")))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "competitors_due:",
            "reports_due:",
            "retention:",
            "sync_fan_out:full",
            "sync_fan_out:light",
            "token_refresh_fan_out:"
        ]
    );
    for s in env.db.store.schedule_list().await.unwrap() {
        assert!(s.next_run_at > env.now(), "{s:?}");
    }
    env.teardown().await;
}

async fn the_global_start_limiter_holds_across_workers(d: Dialect) {
    let mut settings = test_settings();
    settings.syncs_per_minute = 2;
    settings.account_insights_backfill_days = 3;
    let env = Env::new(d, sim_config(42, 5, 5), settings.clone()).await;
    let other = env.second_engine(settings).await;
    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    let runs = || async {
        env.db
            .store
            .sync_runs_list(RunQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .len()
    };
    let (a, b) = tokio::join!(env.engine.run_until_idle(), other.run_until_idle());
    let snoozed = a.unwrap().snoozed + b.unwrap().snoozed;
    assert_eq!(
        runs().await,
        2,
        "two syncs start in the first minute, across both workers"
    );
    assert!(snoozed >= 3);
    let waiting = jobs_of_kind(&env, "sync_account").await;
    let waiting: Vec<_> = waiting
        .iter()
        .filter(|j| j.state == JobState::Pending)
        .collect();
    assert_eq!(waiting.len(), 3);
    for j in &waiting {
        assert_eq!(j.attempt, 0, "waiting for the limiter uses no attempt");
        assert!(j.run_at > env.now() && j.run_at <= env.now() + Duration::seconds(61));
    }
    env.advance_engine(Duration::seconds(61));
    let (a, b) = tokio::join!(env.engine.run_until_idle(), other.run_until_idle());
    a.unwrap();
    b.unwrap();
    assert_eq!(runs().await, 4);
    env.advance_engine(Duration::seconds(61));
    env.engine.run_until_idle().await.unwrap();
    assert_eq!(runs().await, 5);
    for (id, _) in &env.accounts {
        let account = env.db.store.account_get(*id).await.unwrap().unwrap();
        assert_eq!(account.status, SyncStatus::Idle);
    }
    env.teardown().await;
}

async fn expiring_tokens_are_refreshed_and_a_failed_refresh_alerts(d: Dialect) {
    let mut sim = sim_config(43, 3, 5);
    sim.expiring_token_accounts = 2;
    let env = Env::new(d, sim, test_settings()).await;
    let (refreshed, _) = env.account(0);
    let (revoked, revoked_sim) = env.account(1);
    let (fresh, _) = env.account(2);
    let store = env.db.store.clone();
    let before = |id| {
        let store = store.clone();
        async move { store.account_get(id).await.unwrap().unwrap() }
    };
    let old = before(refreshed).await;
    let untouched = before(fresh).await;
    env.sim.expire_token(&revoked_sim.ig_user_id);

    env.engine.refresh_tokens_now().await.unwrap();
    env.run_until_settled(5).await;

    let now = env.now();
    let a = before(refreshed).await;
    assert_ne!(a.token, old.token);
    let plain = env.cipher.decrypt(a.token.as_ref().unwrap()).unwrap();
    assert_ne!(
        plain,
        SecretString::new(env.accounts[0].1.access_token.clone())
    );
    assert!(
        a.token_expires_at.unwrap() > now + Duration::days(50),
        "{:?}",
        a.token_expires_at
    );
    assert_eq!(a.token_refreshed_at, Some(now));
    assert_eq!(a.status, SyncStatus::Idle);
    let c = before(fresh).await;
    assert_eq!(
        c.token, untouched.token,
        "tokens far from expiry are left alone"
    );
    let b = before(revoked).await;
    assert_eq!(b.status, SyncStatus::NeedsReauth);
    let alerts = env
        .db
        .store
        .alert_list(AlertQuery {
            account_id: Some(revoked),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].alert.kind, "needs_reauth");
    assert_eq!(jobs_of_kind(&env, "token_refresh").await.len(), 2);

    // The refreshed token works for the next sync.
    env.engine
        .enqueue_sync(refreshed, Plan::Light, "manual")
        .await
        .unwrap();
    env.run_until_settled(3).await;
    assert_eq!(before(refreshed).await.status, SyncStatus::Idle);
    env.teardown().await;
}

/// A seed whose first account has an injected spike of its reach on one of the final days
/// the detector checks after a sync at the simulator's start (noon UTC: the Pacific days
/// three to five days back, the last one Meta no longer revises and the two before it),
/// large enough to stand out of the account's own series.
fn seed_with_a_recent_spike() -> (simulator::SimConfig, chrono::NaiveDate) {
    seed_with_a_spike(5.0, |day, last_final| {
        day < last_final && day >= last_final - Duration::days(3)
    })
}

/// A seed whose first account has an injected spike of its reach, `k` robust deviations
/// out of its series at least, on a day that `wanted(day, last final day at the
/// simulator's start)` accepts.
fn seed_with_a_spike(
    k: f64,
    wanted: impl Fn(chrono::NaiveDate, chrono::NaiveDate) -> bool,
) -> (simulator::SimConfig, chrono::NaiveDate) {
    for seed in 1..2000 {
        let mut config = sim_config(seed, 1, 30);
        config.anomalies = true;
        config.history_days = 80;
        let last_final = (config.now - Duration::days(2)).date_naive();
        // The series as settled three days after the start: it reaches the start's eve.
        let series =
            simulator::daily_series_as_of(&config, config.now + Duration::days(3)).remove(0);
        let Some(spike) = series
            .anomalies
            .iter()
            .find(|a| a.kind == simulator::InjectedKind::Spike && wanted(a.day, last_final))
        else {
            continue;
        };
        let reach = analytics::DailySeries::new(
            series.first_day,
            series.metrics["reach"]
                .iter()
                .map(|v| Some(*v as f64))
                .collect(),
        );
        let Some(idx) = reach.index_of(spike.day) else {
            continue;
        };
        let strict = analytics::AnomalyConfig {
            k,
            ..Default::default()
        };
        if let Ok(Some(_)) =
            analytics::assess_day(&reach, idx, analytics::SeriesKind::Count, "reach", &strict)
        {
            return (config, spike.day);
        }
    }
    panic!("no seed below 2000 has a clear spike on the day wanted");
}

/// The anomaly detector checks the daily series after the syncs that read them, and only
/// the days Meta no longer revises (48 hours after their Pacific end): a read just before
/// that checks nothing, nor does a sync that leaves the account insights alone once the
/// spike is final; the next sync that reads them alerts it.
async fn anomalies_are_checked_by_the_syncs_that_read_the_daily_series(d: Dialect) {
    // A spike the day before the simulator's start (noon UTC on day D): final from Pacific
    // midnight two days after its end, on D + 2 at 08:00 UTC (07:00 in summer time).
    let k = analytics::AnomalyConfig::default().k;
    let (config, day) =
        seed_with_a_spike(k, |day, last_final| day == last_final + Duration::days(1));
    // Light syncs read the account insights on a new day in Los Angeles only.
    let settings = sync::SyncSettings {
        account_insights_light_interval: std::time::Duration::from_secs(24 * 3600),
        ..test_settings()
    };
    let env = Env::new(d, config, settings).await;
    let (id, _) = env.account(0);
    let start = env.now();
    let key = format!("{id}:anomaly:reach:{day}");
    let spike_alerts = |env: &Env| {
        let store = env.db.store.clone();
        let key = key.clone();
        async move {
            store
                .alert_list(AlertQuery {
                    kind: Some("anomaly".into()),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .filter(|a| a.alert.dedup_key == key)
                .count()
        }
    };
    let light = |env: &Env| {
        let engine = env.engine.clone();
        async move { engine.enqueue_sync(id, Plan::Light, "test").await.unwrap() }
    };
    // Noon UTC: the full sync reads the spike's day, not final yet. The day after, just
    // before midnight UTC (the UTC date of 48 hours before is the spike's), and on D + 2 at
    // 06:50 UTC, ten minutes before it is final in summer time, the account insights are
    // read on their own: not final yet.
    env.full_sync(id, 5).await;
    for after_start in [
        Duration::hours(35) + Duration::minutes(50),
        Duration::hours(42) + Duration::minutes(50),
    ] {
        env.advance_to(start + after_start);
        env.engine
            .enqueue_sync(id, Plan::Only(sync::Step::AccountInsights), "test")
            .await
            .unwrap();
        env.run_until_settled(5).await;
        let step = env.last_run_step(id, "account_insights").await;
        assert_eq!(step.status, store::StepStatus::Succeeded, "{step:?}");
        assert_eq!(
            spike_alerts(&env).await,
            0,
            "not final yet at {}",
            env.now()
        );
    }

    // On D + 2 at 08:05 UTC the day is final, and the stored series holds the spike; a sync
    // of the profile alone leaves the account insights alone and checks nothing.
    env.advance_to(start + Duration::hours(44) + Duration::minutes(5));
    env.engine
        .enqueue_sync(id, Plan::Only(sync::Step::Profile), "test")
        .await
        .unwrap();
    env.run_until_settled(5).await;
    assert_eq!(
        spike_alerts(&env).await,
        0,
        "checked by a sync that read nothing"
    );

    // The light sync (a new day in Los Angeles) reads the days again and alerts the spike.
    env.advance_to(start + Duration::hours(44) + Duration::minutes(10));
    light(&env).await;
    env.run_until_settled(5).await;
    let step = env.last_run_step(id, "account_insights").await;
    assert_eq!(step.status, store::StepStatus::Succeeded, "{step:?}");
    assert_eq!(spike_alerts(&env).await, 1);
    env.teardown().await;
}

async fn an_injected_spike_is_alerted_once_with_a_link_to_the_chart(d: Dialect) {
    let (config, day) = seed_with_a_recent_spike();
    let env = Env::new(d, config, test_settings()).await;
    let (id, _) = env.account(0);
    for _ in 0..2 {
        env.full_sync(id, 5).await;
    }
    let alerts = env
        .db
        .store
        .alert_list(AlertQuery {
            kind: Some("anomaly".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let key = format!("{id}:anomaly:reach:{day}");
    let reach: Vec<_> = alerts.iter().filter(|a| a.alert.dedup_key == key).collect();
    assert_eq!(reach.len(), 1, "{alerts:#?}");
    let a = &reach[0].alert;
    assert_eq!(a.payload["direction"], "above");
    assert_eq!(a.payload["baseline"], "weekday");
    assert!(a.payload["value"].as_f64().unwrap() > a.payload["band"][1].as_f64().unwrap());
    assert!(
        a.message
            .starts_with(&format!("Reach on {} was ", day.format("%a %-d %b %Y"))),
        "{}",
        a.message
    );
    assert!(
        a.message
            .ends_with(&format!("Chart: /accounts/{id}?days=90#acct-reach-views")),
        "{}",
        a.message
    );
    env.teardown().await;
}

async fn alerts_are_raised_once_and_delivered_signed_to_the_webhook(d: Dialect) {
    let hook = crate::webhook::start(&[500]).await;
    let mut settings = test_settings();
    settings.alerts.webhook_url = Some(sync::WebhookUrl::parse(&hook.url).unwrap());
    settings.alerts.webhook_secret = Some(SecretString::new("s3cret"));
    settings.alerts.follower_growth_threshold = 1;
    let env = Env::new(d, sim_config(44, 2, 10), settings).await;
    let (bad, bad_sim) = env.account(0);
    let (good, good_sim) = env.account(1);
    env.sim.expire_token(&bad_sim.ig_user_id);
    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    env.run_until_settled(5).await;

    // Followers move on; the next sync of the good account sees the growth.
    let followers_before = env.truth(good_sim).profile.followers_count;
    env.advance(Duration::days(3));
    let followers_after = env.truth(good_sim).profile.followers_count;
    assert!(
        followers_after > followers_before + 1,
        "{followers_before} → {followers_after}"
    );
    env.engine
        .enqueue_sync(good, Plan::Light, "manual")
        .await
        .unwrap();
    env.run_until_settled(5).await;
    // The same state again raises nothing new.
    env.engine
        .enqueue_sync(good, Plan::Light, "manual")
        .await
        .unwrap();
    env.run_until_settled(5).await;

    let alerts = env
        .db
        .store
        .alert_list(AlertQuery {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    let growth: Vec<_> = alerts
        .iter()
        .filter(|a| a.alert.kind == "follower_growth")
        .collect();
    assert_eq!(growth.len(), 1, "{alerts:?}");
    assert_eq!(growth[0].alert.account_id, Some(good));
    assert_eq!(
        growth[0].alert.payload["growth"].as_i64(),
        Some((followers_after - followers_before) as i64)
    );
    let reauth: Vec<_> = alerts
        .iter()
        .filter(|a| a.alert.kind == "needs_reauth")
        .collect();
    assert_eq!(reauth.len(), 1);
    assert_eq!(reauth[0].alert.account_id, Some(bad));

    // Every alert was delivered, signed; the first attempt got a 500 and was retried.
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), alerts.len() + 1);
    let mut delivered_ids = std::collections::BTreeSet::new();
    for r in &received {
        let signature = r.headers.get("x-igsync-signature").unwrap();
        assert_eq!(*signature, sync::webhook_signature("s3cret", &r.body));
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        delivered_ids.insert(body["id"].as_i64().unwrap());
        assert!(body["kind"].is_string() && body["message"].is_string());
    }
    assert_eq!(delivered_ids.len(), alerts.len());
    for a in &alerts {
        assert!(a.delivered_at.is_some(), "{a:?}");
    }
    let deliveries = jobs_of_kind(&env, "deliver_webhook").await;
    assert_eq!(deliveries.len(), alerts.len());
    assert!(
        deliveries
            .iter()
            .any(|j| j.errors.iter().any(|e| e.error.contains("500")))
    );
    env.teardown().await;
}

/// After a sync, every post that analytics finds trending in the stored history has exactly
/// one `trending_post` alert, and syncing again raises none twice.
async fn trending_posts_are_alerted_once_each(d: Dialect) {
    let mut settings = test_settings();
    // Only trending alerts here.
    settings.alerts.follower_growth_threshold = u32::MAX;
    let env = Env::new(d, sim_config(42, 5, 300), settings).await;
    let trending_alerts = || async {
        let alerts = env
            .db
            .store
            .alert_list(AlertQuery {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut found: Vec<(AccountId, String)> = alerts
            .iter()
            .filter(|a| a.alert.kind == "trending_post")
            .map(|a| {
                let media = a.alert.payload["ig_media_id"].as_str().unwrap().to_string();
                assert!(
                    a.alert.payload["why"].is_string() && !a.alert.message.is_empty(),
                    "{a:?}"
                );
                (a.alert.account_id.unwrap(), media)
            })
            .collect();
        found.sort();
        found
    };
    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    env.run_until_settled(5).await;
    let first = trending_alerts().await;

    // What the detector finds in the stored history, account by account.
    let config = analytics::AlertConfig::default();
    let now = env.now();
    let from = now - config.trending_window;
    let mut expected = Vec::new();
    for n in 0..5 {
        let (id, _) = env.account(n);
        let window = HistoryWindow {
            from,
            to: now,
            trending_from: from,
        };
        let history = load_account_history(env.db.store.as_ref(), id, window)
            .await
            .unwrap();
        for alert in analytics::detect_alerts(&history, now, &config) {
            if let analytics::AlertKind::PostTrending { assessment } = alert.kind {
                expected.push((id, assessment.ig_media_id));
            }
        }
    }
    expected.sort();
    assert!(!expected.is_empty(), "this world has trending posts");
    assert_eq!(first, expected);

    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    env.run_until_settled(5).await;
    assert_eq!(trending_alerts().await, first, "no alert raised twice");
    env.teardown().await;
}

async fn retention_prunes_finished_jobs_and_never_analytics_data(d: Dialect) {
    let mut settings = test_settings();
    settings.retention.completed_keep = 1;
    settings.retention.completed_max_age = std::time::Duration::from_secs(86_400);
    // A margin past the stories' lifetime queues no final reads: the counts below are the
    // jobs of the syncs alone.
    settings.story_final_read_margin = std::time::Duration::from_secs(25 * 3600);
    let env = Env::new(d, sim_config(45, 2, 10), settings).await;
    env.engine.install_schedules().await.unwrap();
    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    env.run_until_settled(3).await;
    let totals = env.db.store.totals().await.unwrap();
    let completed = |env: &Env| {
        let store = env.db.store.clone();
        async move {
            store
                .job_list(JobQuery {
                    states: vec![JobState::Completed],
                    limit: 1000,
                    ..Default::default()
                })
                .await
                .unwrap()
                .total
        }
    };
    // Two syncs, one job each.
    assert_eq!(completed(&env).await, 2);
    env.advance_engine(Duration::days(2));
    env.engine.scheduler().run_now("retention").await.unwrap();
    env.engine.run_until_idle().await.unwrap();
    let retention = jobs_of_kind(&env, "retention").await;
    assert_eq!(retention[0].state, JobState::Completed);
    assert_eq!(retention[0].result.as_ref().unwrap()["completed"], 2 - 1);
    assert_eq!(
        completed(&env).await,
        2,
        "the newest kept, plus the retention job"
    );
    let after = env.db.store.totals().await.unwrap();
    assert_eq!(after, totals, "analytics data is never pruned");
    env.teardown().await;
}

async fn the_history_loader_maps_stored_rows_to_analytics_inputs(d: Dialect) {
    // More posts of each type before the trending window than the alerts' baseline reads.
    let mut sim = sim_config(46, 1, 320);
    sim.history_days = 60;
    let env = Env::new(d, sim, test_settings()).await;
    let (id, sim_account) = env.account(0);
    env.full_sync(id, 3).await;
    let truth = env.truth(sim_account);
    let window = HistoryWindow::trailing(env.now(), 30);
    let history = load_account_history(env.db.store.as_ref(), id, window)
        .await
        .unwrap();
    assert_eq!(
        history.account.followers_now,
        Some(truth.profile.followers_count as i64)
    );
    assert_eq!(history.account.time_zone, chrono_tz::UTC);
    let posts: Vec<_> = history
        .posts
        .iter()
        .filter(|p| p.product_type != analytics::MediaProductType::Story)
        .collect();
    assert_eq!(posts.len(), truth.media.len());
    let stories = history.posts.len() - posts.len();
    assert_eq!(stories, truth.stories.len());
    for p in &posts {
        let t = truth.media.iter().find(|m| m.id == p.ig_media_id).unwrap();
        assert_eq!(p.metrics.likes, Some(t.like_count as i64));
        assert_eq!(p.metrics.comments, Some(t.comments_count as i64));
        if let simulator::InsightsTruth::Values { values, .. } = &t.insights {
            assert_eq!(
                p.metrics.reach,
                values.get("reach").and_then(|v| v.as_i64()),
                "{}",
                p.ig_media_id
            );
            if p.product_type == analytics::MediaProductType::Feed {
                assert_eq!(
                    p.metrics.saves,
                    values.get("saved").and_then(|v| v.as_i64())
                );
            }
        }
        // Snapshots are loaded for the window and the trending baseline (all 80 here).
        let captured = !matches!(t.insights, simulator::InsightsTruth::Error { .. });
        assert_eq!(
            p.snapshots.len(),
            usize::from(captured),
            "{}",
            p.ig_media_id
        );
    }
    assert_eq!(history.follower_samples.len(), 1);
    let reach_days = history
        .daily_metrics
        .iter()
        .filter(|m| m.metric == analytics::AccountMetric::Reach)
        .count();
    assert!((30..=33).contains(&reach_days), "{reach_days}");
    assert!(
        history
            .daily_metrics
            .iter()
            .any(|m| m.metric == analytics::AccountMetric::Follows)
    );
    assert!(!history.online_followers.is_empty());
    assert!(!history.demographics.is_empty());
    // One value per audience, dimension and key, though two timeframes are stored.
    let mut seen = std::collections::HashSet::new();
    for d in &history.demographics {
        assert!(
            seen.insert((d.audience, d.dimension, d.key.clone())),
            "demographic {:?} {:?} {} loaded twice",
            d.audience,
            d.dimension,
            d.key
        );
    }
    // The loaded history feeds the analytics as is.
    let period = analytics::Period::last_days(env.now(), history.account.time_zone, 30).unwrap();
    let report = analytics::performance_report(
        &history,
        period,
        env.now(),
        &analytics::ReportConfig::default(),
    );
    assert_eq!(
        report.account.followers_now.value,
        Some(truth.profile.followers_count as f64)
    );
    let in_period = truth
        .media
        .iter()
        .filter(|m| period.contains_instant(chrono_tz::UTC, sync::testkit::parse_ts(&m.timestamp)))
        .count();
    // Posts, reels and the live stories published in the period.
    assert_eq!(
        report.content.posts_published.value,
        Some((in_period + truth.stories.len()) as f64)
    );
    let reach = report
        .account
        .metric(analytics::AccountMetric::Reach)
        .unwrap();
    assert_eq!(reach.daily.len(), 30);

    // The alerts' load reads only what the detectors look at, and they find the same.
    let now = env.now();
    let window = HistoryWindow {
        from: now - Duration::days(70),
        to: now,
        trending_from: now - Duration::days(7),
    };
    let store = env.db.store.as_ref();
    let full = load_account_history(store, id, window).await.unwrap();
    let config = analytics::AlertConfig::default();
    let trend = config.trending.metric;
    let account = store.account_get(id).await.unwrap().unwrap();
    let lean = load_alert_history(store, &account, window, DailySeries::Read, trend)
        .await
        .unwrap();
    assert_eq!(lean.account, full.account);
    // The posts of the trending window and, per type, the baseline's posts before it: the
    // same values as in the full load, in the same order, and no other post.
    let key = |p: &analytics::Post| (p.published_at, p.ig_media_id.clone());
    let oldest_in_baseline = |product| {
        let mut earlier: Vec<_> = full
            .posts
            .iter()
            .filter(|p| p.product_type == product && p.published_at < window.trending_from)
            .map(key)
            .collect();
        earlier.sort_unstable_by(|a, b| b.cmp(a));
        earlier.get(sync::BASELINE_POSTS - 1).cloned()
    };
    // The posts' snapshots carry the trend metric's sources alone (engagement: likes,
    // comments, saves, shares), and a capture with none of them is no snapshot; stories
    // come with all of theirs.
    let engagement_only = |p: &analytics::Post| {
        let mut p = p.clone();
        if p.product_type == analytics::MediaProductType::Story {
            return p;
        }
        p.snapshots.retain_mut(|s| {
            let m = s.metrics;
            s.metrics = analytics::PostMetrics {
                likes: m.likes,
                comments: m.comments,
                saves: m.saves,
                shares: m.shares,
                ..Default::default()
            };
            s.metrics != analytics::PostMetrics::default()
        });
        p
    };
    let expected: Vec<_> = full
        .posts
        .iter()
        .filter(|p| {
            p.product_type == analytics::MediaProductType::Story
                || p.published_at >= window.trending_from
                || oldest_in_baseline(p.product_type).is_none_or(|b| key(p) >= b)
        })
        .map(engagement_only)
        .collect();
    assert!(
        full.posts
            .iter()
            .any(|p| p.snapshots.iter().any(|s| s.metrics.reach.is_some())),
        "the full load has snapshots of other metrics"
    );
    assert!(
        expected.len() < full.posts.len(),
        "the account has posts beyond the baselines ({} of {})",
        expected.len(),
        full.posts.len()
    );
    assert_eq!(lean.posts, expected);
    assert_eq!(lean.follower_samples, full.follower_samples);
    let checked: Vec<_> = full
        .daily_metrics
        .iter()
        .filter(|m| analytics::CHECKED_METRICS.contains(&m.metric))
        .cloned()
        .collect();
    assert!(checked.len() >= 60, "{}", checked.len());
    assert!(checked.len() < full.daily_metrics.len());
    // The checked series (and unfollows, read with follows), in the same order.
    let lean_checked: Vec<_> = lean
        .daily_metrics
        .iter()
        .filter(|m| analytics::CHECKED_METRICS.contains(&m.metric))
        .cloned()
        .collect();
    assert!(lean_checked == checked, "the checked series differ");
    assert!(
        lean.daily_metrics
            .iter()
            .all(|m| full.daily_metrics.contains(m))
    );
    assert!(lean.daily_metrics.len() < full.daily_metrics.len());
    assert!(lean.online_followers.is_empty() && !full.online_followers.is_empty());
    assert!(lean.demographics.is_empty() && !full.demographics.is_empty());
    let last_final_day = (now - Duration::days(2)).date_naive();
    let anomalies = |h: &analytics::AccountHistory| {
        format!(
            "{:?}",
            analytics::account_anomalies(
                h,
                last_final_day,
                60,
                &analytics::AnomalyConfig::default()
            )
        )
    };
    assert_eq!(anomalies(&lean), anomalies(&full));
    // The same findings; a trending assessment's index is into the history it was given.
    let alerts = |h: &analytics::AccountHistory| {
        let found = analytics::detect_alerts(h, now, &config);
        found
            .into_iter()
            .map(|mut a| {
                if let analytics::AlertKind::PostTrending { assessment } = &mut a.kind {
                    assessment.post_idx = 0;
                }
                format!("{a:?}")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(alerts(&lean), alerts(&full));
    // After a sync that left the account insights alone, the same without the daily series:
    // the post and follower detectors find the same, the anomaly detector gets nothing.
    let unchanged = load_alert_history(store, &account, window, DailySeries::Unchanged, trend)
        .await
        .unwrap();
    assert!(unchanged.daily_metrics.is_empty());
    assert_eq!(unchanged.posts, lean.posts);
    assert_eq!(unchanged.follower_samples, lean.follower_samples);
    assert_eq!(alerts(&unchanged), alerts(&lean));
    let trending =
        analytics::assess_trending(&lean.posts, 0..lean.posts.len(), now, &config.trending);
    assert!(
        trending.iter().any(|t| t.baseline_posts > 0),
        "the window's posts were compared with a baseline"
    );
    // Every window post is assessed the same from either load, verdict and figures alike.
    let assessed = |h: &analytics::AccountHistory| {
        let window_posts =
            (0..h.posts.len()).filter(|i| h.posts[*i].published_at >= window.trending_from);
        let mut found: Vec<String> =
            analytics::assess_trending(&h.posts, window_posts, now, &config.trending)
                .into_iter()
                .map(|mut it| {
                    it.post_idx = 0;
                    format!("{it:?}")
                })
                .collect();
        found.sort_unstable();
        found
    };
    let lean_assessed = assessed(&lean);
    assert!(!lean_assessed.is_empty());
    assert_eq!(lean_assessed, assessed(&full));

    let err = load_account_history(env.db.store.as_ref(), AccountId::new(424_242), window)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("424242"));
    env.teardown().await;
}

async fn a_worker_service_fires_due_schedules_and_syncs_until_shut_down(d: Dialect) {
    let mut settings = test_settings();
    settings.maintenance_interval = std::time::Duration::from_millis(100);
    let env = Env::new(d, sim_config(47, 2, 10), settings).await;
    env.engine.install_schedules().await.unwrap();
    env.advance_engine(Duration::hours(1));
    let store = env.db.store.clone();
    let shutdown = async move {
        loop {
            let accounts = store.account_list().await.unwrap();
            if accounts
                .iter()
                .all(|a| a.last_synced_at.is_some() && a.status == SyncStatus::Idle)
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let stats = env.engine.run_worker(shutdown).await.unwrap();
    // One fan-out, one sync job per account, and the hourly report tick when it ran before
    // the shutdown.
    let report_ticks = jobs_of_kind(&env, sync::KIND_REPORTS_DUE)
        .await
        .iter()
        .filter(|j| j.state == JobState::Completed)
        .count() as u64;
    assert!(report_ticks <= 1);
    assert_eq!(stats.completed, 1 + 2 + report_ticks, "{stats:?}");
    let runs = env.runs(None).await;
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter()
            .all(|r| r.plan == "light" && r.trigger == "schedule:light_sync")
    );
    let workers = env
        .db
        .store
        .worker_list(env.now() - Duration::days(1))
        .await
        .unwrap();
    assert!(workers.is_empty(), "the worker unregistered: {workers:?}");
    env.teardown().await;
}
