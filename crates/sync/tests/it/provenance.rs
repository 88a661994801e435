//! Provenance of every stored number: after a sync, each value of the tables that hold
//! Meta's numbers carries the Graph API version the client used and the source `poll`; a
//! story's final numbers from Meta's `story_insights` notification carry `webhook` and no
//! version; a day Meta revised answers, as known before the revision, the provenance of the
//! value it had then.

use std::collections::BTreeMap;

use store::{CopyValue, Provenance, ValueSource};
use sync::Plan;

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

/// The version the test clients are pinned to.
const VERSION: &str = "v25.0";

/// Every row of `table` as column → value.
async fn rows(env: &Env, table: &str) -> Vec<BTreeMap<String, CopyValue>> {
    let schema = env.db.store.copy_schema().await.unwrap();
    let t = schema
        .tables
        .iter()
        .find(|t| t.name == table)
        .unwrap_or_else(|| panic!("no table {table}"));
    let rows = env
        .db
        .store
        .copy_read(table, &[], None, 100_000)
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| {
            t.columns
                .iter()
                .map(|c| c.name.clone())
                .zip(r)
                .collect::<BTreeMap<_, _>>()
        })
        .collect()
}

both_dialects!(synced_values_carry_the_clients_version_and_poll);

async fn synced_values_carry_the_clients_version_and_poll(d: Dialect) {
    let env = Env::new(d, sim_config(47, 1, 12), test_settings()).await;
    env.engine.enqueue_all(Plan::Full, "test").await.unwrap();
    env.run_until_settled(50).await;
    let (id, sim_account) = env.account(0);
    for table in [
        "profile_snapshots",
        "media_insight_snapshots",
        "account_insight_days",
        "demographic_snapshots",
    ] {
        let rows = rows(&env, table).await;
        assert!(!rows.is_empty(), "{table} has rows");
        for r in &rows {
            assert_eq!(
                r["api_version"],
                CopyValue::Text(VERSION.into()),
                "{table}: {r:?}"
            );
            assert_eq!(
                r["source"],
                CopyValue::Text("poll".into()),
                "{table}: {r:?}"
            );
        }
    }
    // Stories read while live, and their final numbers from those reads.
    for r in rows(&env, "story_insight_snapshots").await {
        assert_eq!(r["api_version"], CopyValue::Text(VERSION.into()), "{r:?}");
        assert_eq!(r["source"], CopyValue::Text("poll".into()), "{r:?}");
    }
    let far = env.now() + chrono::Duration::days(2);
    let finals = env
        .db
        .store
        .story_final_list(id, env.now() - chrono::Duration::days(2), far)
        .await
        .unwrap();
    for f in finals.iter().filter(|f| f.provenance == Provenance::Poll) {
        assert_eq!(f.api_version.as_deref(), Some(VERSION), "{f:?}");
    }

    // A revised day: as known now, and as known before the revision.
    let first_read = env.now();
    let day = env
        .sim
        .revise_day(&sim_account.ig_user_id, None, 1.5)
        .expect("a day to revise");
    // A light sync once the account insights' rest is over reads the day again.
    env.advance(chrono::Duration::hours(6));
    env.engine.enqueue_all(Plan::Light, "test").await.unwrap();
    env.run_until_settled(50).await;
    for (as_of, revisions) in [(None, 1), (Some(first_read), 0)] {
        let readings = env
            .db
            .store
            .account_insight_as_of(id, "reach", day, day, as_of)
            .await
            .unwrap();
        let total = readings
            .iter()
            .find(|r| r.breakdown.is_none())
            .unwrap_or_else(|| panic!("reach on {day}: {readings:?}"));
        assert_eq!(total.revisions, revisions, "{total:?}");
        assert_eq!(total.api_version.as_deref(), Some(VERSION), "{total:?}");
        assert_eq!(total.source, ValueSource::Poll);
    }

    // Meta's notification of a story's final numbers.
    let body = serde_json::json!({
        "object": "instagram",
        "entry": [{
            "id": sim_account.ig_user_id,
            "time": env.now().timestamp(),
            "changes": [{
                "field": "story_insights",
                "value": {
                    "media_id": "17990000000000001",
                    "impressions": 40, "reach": 30, "replies": 1,
                    "taps_forward": 5, "taps_back": 2, "exits": 3,
                },
            }],
        }],
    })
    .to_string();
    sync::webhooks::receive(&env.db.store, &body, env.now())
        .await
        .unwrap();
    env.run_until_settled(10).await;
    let finals = env
        .db
        .store
        .story_final_list(id, env.now() - chrono::Duration::days(2), far)
        .await
        .unwrap();
    let hooked = finals
        .iter()
        .find(|f| f.ig_media_id == "17990000000000001")
        .unwrap_or_else(|| panic!("the notified story has final numbers: {finals:?}"));
    assert_eq!(hooked.provenance, Provenance::Webhook);
    assert_eq!(
        hooked.api_version, None,
        "Meta sent them: no read's version"
    );
    let stored = rows(&env, "story_finals").await;
    let row = stored
        .iter()
        .find(|r| r["ig_media_id"] == CopyValue::Text("17990000000000001".into()))
        .unwrap();
    assert_eq!(row["provenance"], CopyValue::Text("webhook".into()));
    assert_eq!(row["api_version"], CopyValue::Null);
    env.teardown().await;
}
