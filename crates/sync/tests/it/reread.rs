//! Meta revises account insights later than its 48-hour settling window now and then: every
//! sync reads the last days again, and once a week the window widens to the re-read days
//! (28 by default), so a day revised two weeks late is stored as a revision of the value
//! first read, which stays answerable with `as_of`.

use chrono::Duration;
use simulator::ApiVersion;
use store::{AccountId, AccountInsightReading};
use sync::Plan;

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(a_weekly_wider_read_stores_a_late_revision);

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
    let env = Env::new(d, sim_config(45, 1, 20), test_settings()).await;
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
