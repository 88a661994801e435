//! Competitors end to end on both dialects: ten competitors snapshotted daily over thirty
//! simulated days equal the simulator's truth at every snapshot; an unknown username and a
//! personal account end with their recorded reason; a via account on Instagram Login is
//! refused before any request.

use chrono::Duration;
use simulator::{CompetitorKind, LoginKind, SimAccount};
use store::{AccountId, CompetitorStatus};

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    competitors_snapshotted_daily_equal_the_truth,
    competitors_wait_while_the_via_account_uses_its_budget,
    competitors_never_push_the_via_account_past_the_throttle_while_it_syncs,
    competitor_posts_far_above_their_median_raise_one_alert_each,
);

/// The first registered account of a login flavour, with its simulated account.
fn first_on(env: &Env, login: LoginKind) -> (AccountId, SimAccount) {
    env.accounts
        .iter()
        .find(|(_, a)| a.login == login)
        .map(|(id, a)| (*id, a.clone()))
        .unwrap()
}

async fn competitors_snapshotted_daily_equal_the_truth(d: Dialect) {
    let env = Env::new(d, sim_config(1801, 2, 10), test_settings()).await;
    let (via, _) = first_on(&env, LoginKind::Facebook);
    let (ig_login, _) = first_on(&env, LoginKind::Instagram);
    let all = env.sim.competitors();
    let served: Vec<String> = all
        .iter()
        .filter(|c| matches!(c.kind, CompetitorKind::Business | CompetitorKind::Creator))
        .take(10)
        .map(|c| c.username.clone())
        .collect();
    assert_eq!(served.len(), 10);
    let personal = all
        .iter()
        .find(|c| c.kind == CompetitorKind::Personal)
        .unwrap()
        .username
        .clone();

    // Instagram Login: refused with the reason before any request.
    env.sim.reset_stats();
    let refused = env
        .engine
        .competitor_add(&served[0], ig_login)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("Instagram Login"), "{refused}");
    assert_eq!(env.sim.stats().requests_total, 0);
    let bad = env.engine.competitor_add("no){pe", via).await.unwrap_err();
    assert!(
        bad.to_string().contains("not an Instagram username"),
        "{bad}"
    );

    for u in served
        .iter()
        .chain([&personal, &"nobody_has_this_name".to_string()])
    {
        env.engine.competitor_add(u, via).await.unwrap();
    }
    let list = env.engine.competitor_list().await.unwrap();
    assert_eq!(list.len(), 12);
    let media_per_read = sync::CompetitorSettings::default().media_per_read;

    for day in 0..30 {
        assert_eq!(env.engine.competitor_sync().await.unwrap(), 12);
        env.run_until_settled(20).await;
        let now = env.now();
        for c in env.engine.competitor_list().await.unwrap() {
            if !served.contains(&c.username) {
                continue;
            }
            assert_eq!(c.status, CompetitorStatus::Ok, "{c:?}");
            let truth = env.sim.competitor_truth(&c.username).unwrap();
            let snaps = env
                .db
                .store
                .competitor_snapshots(c.id, now - Duration::days(60), now)
                .await
                .unwrap();
            assert_eq!(snaps.len(), day + 1, "one snapshot per day, appended");
            let last = snaps.last().unwrap();
            assert_eq!(last.captured_at, now);
            let as_i64 = |v: Option<u64>| v.map(|n| n as i64);
            assert_eq!(last.followers_count, as_i64(truth.followers_count));
            assert_eq!(last.follows_count, as_i64(truth.follows_count));
            assert_eq!(last.media_count, as_i64(truth.media_count));
            let media = env
                .db
                .store
                .competitor_media_snapshots(c.id, now, now)
                .await
                .unwrap();
            let want: Vec<_> = truth.media.iter().take(media_per_read).collect();
            assert_eq!(media.len(), want.len());
            for (got, want) in media.iter().zip(want) {
                assert_eq!(got.media_id, want.id);
                assert_eq!(got.posted_at, want.timestamp);
                assert_eq!(got.like_count, Some(want.like_count as i64));
                assert_eq!(got.comments_count, Some(want.comments_count as i64));
                assert_eq!(
                    got.media_product_type.as_deref(),
                    Some(want.media_product_type.as_str())
                );
            }
        }
        env.advance(Duration::days(1));
    }

    // The peer benchmark of the via account (never synced itself): its figures are
    // missing, so it has no rank; the ten competitors with snapshots form the set.
    let ranks = env.engine.peer_benchmark(via, 30).await.unwrap();
    assert_eq!(ranks.len(), 5);
    for r in &ranks {
        assert_eq!(r.rank, None, "{r:?}");
        assert_eq!(r.of, 10, "{r:?}");
        assert!(r.peer_median.is_some(), "{r:?}");
    }
    assert!(env.engine.peer_benchmark(via, 0).await.is_err());

    // The unknown username and the personal account end with their recorded reason.
    for c in env.engine.competitor_list().await.unwrap() {
        if served.contains(&c.username) {
            continue;
        }
        assert_eq!(c.status, CompetitorStatus::Error, "{c:?}");
        assert_eq!(c.last_reason.as_deref(), Some("not_found"));
        assert!(c.last_error.unwrap().contains("personal account"));
        let snaps = env
            .db
            .store
            .competitor_snapshots(c.id, env.now() - Duration::days(60), env.now())
            .await
            .unwrap();
        assert!(snaps.is_empty());
    }
    env.teardown().await;
}

/// After each snapshot, every post of the capture whose likes + comments reach N × the
/// competitor's median per post raises one alert on the via account, computed here from the
/// simulator's truth; the next day's snapshot does not alert the same posts again.
async fn competitor_posts_far_above_their_median_raise_one_alert_each(d: Dialect) {
    let mut settings = test_settings();
    settings.alerts.follower_growth_threshold = u32::MAX;
    settings.alerts.competitor_post_multiple = 2;
    let env = Env::new(d, sim_config(1802, 2, 10), settings).await;
    let (via, _) = first_on(&env, LoginKind::Facebook);
    let served: Vec<String> = env
        .sim
        .competitors()
        .iter()
        .filter(|c| matches!(c.kind, CompetitorKind::Business | CompetitorKind::Creator))
        .take(6)
        .map(|c| c.username.clone())
        .collect();
    for u in &served {
        env.engine.competitor_add(u, via).await.unwrap();
    }
    let media_per_read = sync::CompetitorSettings::default().media_per_read;
    let alerts = || async {
        let mut found: Vec<(String, String)> = env
            .db
            .store
            .alert_list(store::AlertQuery {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.alert.kind == "competitor_post")
            .map(|a| {
                assert_eq!(a.alert.account_id, Some(via), "{a:?}");
                assert!(a.alert.title.contains('×'), "{a:?}");
                let p = &a.alert.payload;
                (
                    p["username"].as_str().unwrap().to_string(),
                    p["media_id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        found.sort();
        found
    };
    let mut expected = Vec::new();
    for day in 0..2 {
        env.engine.competitor_sync().await.unwrap();
        env.run_until_settled(20).await;
        for u in &served {
            let truth = env.sim.competitor_truth(u).unwrap();
            let engagement: Vec<(String, u64)> = truth
                .media
                .iter()
                .take(media_per_read)
                .map(|m| (m.id.clone(), m.like_count + m.comments_count))
                .collect();
            let mut sorted: Vec<u64> = engagement.iter().map(|e| e.1).collect();
            sorted.sort_unstable();
            let n = sorted.len();
            if n < 5 {
                continue;
            }
            let median = if n % 2 == 1 {
                sorted[n / 2] as f64
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0
            };
            for (id, e) in engagement {
                let pair = (u.clone(), id);
                if median > 0.0 && e as f64 >= 2.0 * median && !expected.contains(&pair) {
                    expected.push(pair);
                }
            }
        }
        expected.sort();
        assert_eq!(alerts().await, expected, "day {day}");
        env.advance(Duration::days(1));
    }
    assert!(
        !expected.is_empty(),
        "the simulated posts include standouts"
    );
    env.teardown().await;
}

/// With a usage ceiling of 1 %, every reading of the via account's usage within the last
/// hour holds the competitors back: none is read right after the account's own read, and
/// afterwards at most one per hour (each read shows usage again).
async fn competitors_wait_while_the_via_account_uses_its_budget(d: Dialect) {
    let mut settings = test_settings();
    settings.competitors.usage_ceiling_percent = 1;
    settings.competitors.wait = std::time::Duration::from_secs(61 * 60);
    let mut sim = sim_config(1802, 2, 6);
    sim.tight_budget_accounts = 2;
    sim.tight_budget = 50;
    let env = Env::new(d, sim, settings).await;
    let (via, via_sim) = first_on(&env, LoginKind::Facebook);
    let names: Vec<String> = env
        .sim
        .competitors()
        .into_iter()
        .filter(|c| c.followers_count.is_some())
        .take(3)
        .map(|c| c.username)
        .collect();
    for u in &names {
        env.engine.competitor_add(u, via).await.unwrap();
    }
    // The account's own read just now: the client has a fresh usage reading.
    let client = &env.clients[&graph::LoginKind::Facebook];
    let account = graph::AccountRef::new(
        via_sim.ig_user_id.clone(),
        graph::AccessToken::new(via_sim.access_token.clone()),
    );
    client.profile(&account).await.unwrap();
    env.sim.reset_stats();
    assert_eq!(env.engine.competitor_sync().await.unwrap(), 3);
    env.engine.run_until_idle().await.unwrap();
    let stats = env.sim.stats();
    assert_eq!(
        stats
            .by_endpoint
            .get("GET /{ig-user-id}?fields=business_discovery"),
        None,
        "no competitor is read while the account's usage is fresh"
    );
    let waiting = env
        .jobs_of(via)
        .await
        .into_iter()
        .filter(|j| j.kind == sync::KIND_COMPETITOR_SNAPSHOT)
        .collect::<Vec<_>>();
    assert_eq!(waiting.len(), 3);
    assert!(
        waiting
            .iter()
            .all(|j| j.state == store::JobState::Pending && j.run_at > env.now())
    );
    // Later, one per hour: each read shows usage again and holds the next back.
    let jumps = env.run_until_settled(20).await;
    assert!(jumps >= 3, "{jumps} clock jumps");
    for c in env.engine.competitor_list().await.unwrap() {
        assert_eq!(c.status, CompetitorStatus::Ok, "{c:?}");
    }
    let stats = env.sim.stats();
    assert_eq!(
        stats
            .by_endpoint
            .get("GET /{ig-user-id}?fields=business_discovery"),
        Some(&3)
    );
    assert_eq!(stats.throttled_total, 0);
    env.teardown().await;
}

/// The via account's budget in the next test, in rate-limit units per rolling hour: its own
/// sync takes 73 % of it (167 units: its insight reads side by side ask about a few posts
/// from before the business conversion that one at a time would have been recorded from a
/// newer post's refusal), the ten competitors' reads 5 % more.
const SMALL_BUDGET: u64 = 228;
/// The account-insight days the via account's sync backfills in the next test.
const BACKFILL_DAYS: usize = 5;

/// A small budget (a rolling hour on the simulated clock), the via account's initial backfill
/// and ten competitors queued at the same moment: the account's own sync goes first and
/// stores exactly the simulator's truth, the competitors' reads wait until the usage its sync
/// left has rolled off, and the usage the simulator counted never reaches the throttle's
/// slow-down point; nothing is throttled and every competitor ends Ok. (Were the competitors
/// read between the sync's steps, or as soon as it ended regardless of usage, the usage
/// would pass the threshold: the test checks that premise from the units counted.)
async fn competitors_never_push_the_via_account_past_the_throttle_while_it_syncs(d: Dialect) {
    let mut settings = test_settings();
    // A shorter account-insights backfill keeps the sync's own units near the competitors'
    // (each Business Discovery read of up to 100 posts is one unit).
    settings.account_insights_backfill_days = BACKFILL_DAYS as u32;
    let ceiling = u64::from(sync::CompetitorSettings::default().usage_ceiling_percent);
    let mut sim = sim_config(1803, 2, 60);
    sim.tight_budget_accounts = 2;
    sim.tight_budget = SMALL_BUDGET;
    sim.rate_limit_window = std::time::Duration::from_secs(3600);
    sim.rate_limit_window_on_sim_clock = true;
    let env = Env::new(d, sim, settings).await;
    let threshold = u64::from(
        env.clients[&graph::LoginKind::Facebook]
            .config()
            .throttle()
            .slow_down_at_percent,
    );
    let (via, via_sim) = first_on(&env, LoginKind::Facebook);
    let names: Vec<String> = env
        .sim
        .competitors()
        .into_iter()
        .filter(|c| matches!(c.kind, CompetitorKind::Business | CompetitorKind::Creator))
        .take(10)
        .map(|c| c.username)
        .collect();
    assert_eq!(names.len(), 10);
    for u in &names {
        env.engine.competitor_add(u, via).await.unwrap();
    }

    // The same moment: the account's initial backfill and the competitors' snapshots.
    env.engine
        .enqueue_sync(via, sync::Plan::Full, "test")
        .await
        .unwrap();
    assert_eq!(env.engine.competitor_sync().await.unwrap(), 10);
    env.engine.run_until_idle().await.unwrap();

    // The own sync is done and equals the truth; no competitor was read beside it.
    env.idle_account(via).await;
    let mut truth = env.truth(&via_sim);
    // The account insights backfilled: the last five complete days and today's partial day.
    let backfilled = truth
        .account_insights
        .len()
        .saturating_sub(BACKFILL_DAYS + 1);
    truth.account_insights.drain(..backfilled);
    crate::e2e::assert_matches_truth(&env, via, &truth).await;
    let stats = env.sim.stats();
    let own_units = stats.rate_limit_units_by_account[&via_sim.ig_user_id];
    assert_eq!(
        stats
            .by_endpoint
            .get("GET /{ig-user-id}?fields=business_discovery"),
        None,
        "no competitor is read while the account's own sync runs"
    );
    assert!(
        own_units * 100 / SMALL_BUDGET >= ceiling,
        "the premise: the own sync uses the budget up to the ceiling ({own_units} units)"
    );

    // Then the competitors, the clocks jumping (the simulator's too) to each waiting job.
    let mut jumps = 0;
    loop {
        env.engine.run_until_idle().await.unwrap();
        let pending = env
            .jobs_of(via)
            .await
            .into_iter()
            .filter(|j| j.kind == sync::KIND_COMPETITOR_SNAPSHOT)
            .filter(|j| matches!(j.state, store::JobState::Pending | store::JobState::Running))
            .map(|j| j.run_at)
            .min();
        let Some(next) = pending else { break };
        jumps += 1;
        assert!(jumps <= 30, "competitors still waiting after {jumps} jumps");
        let wait = next - env.now();
        if wait > Duration::zero() {
            env.advance(wait + Duration::milliseconds(1));
        }
    }
    assert!(jumps >= 1, "the competitors waited");
    for c in env.engine.competitor_list().await.unwrap() {
        assert_eq!(c.status, CompetitorStatus::Ok, "{c:?}");
    }
    let stats = env.sim.stats();
    assert_eq!(
        stats
            .by_endpoint
            .get("GET /{ig-user-id}?fields=business_discovery"),
        Some(&10)
    );
    assert_eq!(stats.throttled_total, 0, "{stats:?}");
    for code in ["4", "17", "80002"] {
        assert_eq!(stats.errors_by_code.get(code), None, "{stats:?}");
    }
    let all_units = stats.rate_limit_units_by_account[&via_sim.ig_user_id];
    assert!(
        all_units * 100 / SMALL_BUDGET >= threshold,
        "the premise: the account's sync and the competitors together would pass the \
         threshold within one window ({all_units} units)"
    );
    let max = stats.max_usage_percent_by_account[&via_sim.ig_user_id];
    assert!(
        max < threshold,
        "the via account's usage reached {max} % (threshold {threshold} %)"
    );
    env.teardown().await;
}
