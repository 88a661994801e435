//! Meta revises account insights later than its 48-hour settling window now and then: every
//! sync reads the last days again, and once a week the window widens to the re-read days
//! (28 by default), so a day revised two weeks late is stored as a revision of the value
//! first read, which stays answerable with `as_of`.

use chrono::Duration;
use simulator::ApiVersion;
use store::{AccountId, AccountInsightReading};
use sync::{Plan, SyncSettings};

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    a_weekly_wider_read_stores_a_late_revision,
    light_syncs_read_account_insights_after_their_rest_or_on_a_new_day
);

/// A light sync of every account, run to the end.
async fn light_sync(env: &Env) {
    env.engine.enqueue_all(Plan::Light, "test").await.unwrap();
    env.run_until_settled(50).await;
}

async fn reach_of(env: &Env, account: AccountId, day: chrono::NaiveDate) -> AccountInsightReading {
    env.db
        .store
        .account_insight_as_of(account, "reach", day, day, None)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.breakdown.is_none())
        .unwrap_or_else(|| panic!("reach of {day} is stored"))
}

async fn a_weekly_wider_read_stores_a_late_revision(d: Dialect) {
    // Every light sync reads the account insights: this test follows the windows they read.
    let settings = SyncSettings {
        account_insights_light_interval: std::time::Duration::ZERO,
        ..test_settings()
    };
    let env = Env::new(d, sim_config(45, 1, 20), settings).await;
    env.engine.enqueue_all(Plan::Full, "test").await.unwrap();
    env.run_until_settled(50).await;
    let (id, sim_account) = env.account(0);
    let ig = sim_account.ig_user_id.clone();
    let today = env
        .sim
        .ground_truth(&ig, ApiVersion::V25)
        .unwrap()
        .account_insights
        .last()
        .unwrap()
        .date;

    // Meta revises a day ten days back, long after its settling window.
    let late = today - Duration::days(10);
    let first = reach_of(&env, id, late).await;
    assert_eq!(
        env.sim.revise_day(&ig, Some(late), 1.3),
        Some(late),
        "the simulator revises the day"
    );

    // A sync two hours later reads only the last days: the revision is not seen yet.
    env.advance(Duration::hours(2));
    light_sync(&env).await;
    let step = env.last_run_step(id, "account_insights").await;
    assert_eq!(step.detail["reread"], false, "{step:?}");
    assert_eq!(
        step.detail["since"],
        (today - Duration::days(2)).to_string()
    );
    assert_eq!(reach_of(&env, id, late).await, first);

    // A week later the wider window is read again: the revised value is stored as a
    // revision of the first read, which `as_of` still answers.
    env.advance(Duration::days(7));
    light_sync(&env).await;
    let step = env.last_run_step(id, "account_insights").await;
    assert_eq!(step.detail["reread"], true, "{step:?}");
    let week_later = today + Duration::days(7);
    assert_eq!(
        step.detail["since"],
        (week_later - Duration::days(28)).to_string()
    );
    let truth = env.sim.ground_truth(&ig, ApiVersion::V25).unwrap();
    let revised = truth
        .account_insights
        .iter()
        .find(|d| d.date == late)
        .expect("the day is still in Meta's window")
        .values["reach"] as f64;
    assert_ne!(revised, first.value, "Meta's revision changed the value");
    let now = reach_of(&env, id, late).await;
    assert_eq!(
        (now.value, now.first_value, now.revisions),
        (revised, first.value, 1)
    );
    let then = env
        .db
        .store
        .account_insight_as_of(id, "reach", late, late, Some(first.fetched_at))
        .await
        .unwrap();
    assert!(
        then.iter()
            .any(|r| r.breakdown.is_none() && r.value == first.value)
    );

    // The next sync, an hour later, reads the last days only again.
    env.advance(Duration::hours(1));
    light_sync(&env).await;
    let step = env.last_run_step(id, "account_insights").await;
    assert_eq!(step.detail["reread"], false, "{step:?}");
    env.teardown().await;
}

/// When today's account insights were last read.
async fn read_at(
    env: &Env,
    id: AccountId,
    today: chrono::NaiveDate,
) -> Option<chrono::DateTime<chrono::Utc>> {
    env.db
        .store
        .account_insight_oldest_read(id, "reach", today, today)
        .await
        .unwrap()
}

/// Meta's account insights are daily numbers: a light sync reads them again only once the
/// configured rest (6 hours by default) has passed since their last read, or when a new
/// Pacific day has begun; in between it asks nothing and the stored read stays as it was.
async fn light_syncs_read_account_insights_after_their_rest_or_on_a_new_day(d: Dialect) {
    let settings = test_settings();
    assert_eq!(
        settings.account_insights_light_interval,
        std::time::Duration::from_secs(6 * 3600),
        "the default rest"
    );
    // The simulated world starts at noon UTC: 04:00 in Los Angeles.
    let env = Env::new(d, sim_config(46, 1, 20), settings).await;
    env.engine.enqueue_all(Plan::Full, "test").await.unwrap();
    env.run_until_settled(50).await;
    let (id, _) = env.account(0);
    let start = env.now();
    let today = start
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();
    assert_eq!(
        read_at(&env, id, today).await,
        Some(start),
        "the full sync read today"
    );

    // (hours after the full sync, whether the light sync reads the account insights)
    let mut last_read = start;
    for (hours, reads) in [
        (1, false),
        (5, false),
        (6, true),
        (7, false),
        (12, true),
        (18, true),
    ] {
        env.advance_to(start + Duration::hours(hours));
        let before = env.requests_to("account_insights");
        light_sync(&env).await;
        let step = env.last_run_step(id, "account_insights").await;
        let asked = env.requests_to("account_insights") - before;
        if reads {
            assert_eq!(
                step.status,
                store::StepStatus::Succeeded,
                "+{hours} h: {step:?}"
            );
            assert!(asked > 0, "+{hours} h: Meta is asked");
            last_read = env.now();
        } else {
            assert_eq!(
                step.status,
                store::StepStatus::Skipped,
                "+{hours} h: {step:?}"
            );
            assert_eq!(step.detail["skipped"], "read recently");
            assert_eq!(asked, 0, "+{hours} h: nothing asked");
        }
        assert_eq!(
            read_at(&env, id, today).await,
            Some(last_read),
            "+{hours} h"
        );
        let (run, _) = env.last_run(id).await;
        assert_eq!(run.status, store::RunStatus::Succeeded, "+{hours} h");
    }

    // Two hours after the last read, but a new day in Los Angeles (08:00 UTC): yesterday's
    // last partial values and today's first are read.
    env.advance_to(start + Duration::hours(20) + Duration::minutes(5));
    let before = env.requests_to("account_insights");
    light_sync(&env).await;
    let step = env.last_run_step(id, "account_insights").await;
    assert_eq!(step.status, store::StepStatus::Succeeded, "{step:?}");
    assert!(env.requests_to("account_insights") > before);
    assert_eq!(
        step.detail["since"],
        (today - Duration::days(1)).to_string()
    );
    assert_eq!(
        read_at(&env, id, today).await,
        Some(env.now()),
        "yesterday read again"
    );

    // A full sync reads them whatever the rest.
    env.advance(Duration::minutes(30));
    let before = env.requests_to("account_insights");
    env.engine.enqueue_all(Plan::Full, "test").await.unwrap();
    env.run_until_settled(50).await;
    let step = env.last_run_step(id, "account_insights").await;
    assert_eq!(step.status, store::StepStatus::Succeeded, "{step:?}");
    assert!(env.requests_to("account_insights") > before);
    env.teardown().await;
}
