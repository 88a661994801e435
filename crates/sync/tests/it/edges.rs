//! End-to-end syncs against the simulator with the real Graph API's edges switched on.

use simulator::ApiVersion;
use sync::Plan;

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(an_edge_world_syncs_every_value_or_its_reason);

async fn an_edge_world_syncs_every_value_or_its_reason(d: Dialect) {
    let mut c = sim_config(41, 3, 300);
    c.edges = true;
    let env = Env::new(d, c, test_settings()).await;
    env.engine.enqueue_all(Plan::Full, "test").await.unwrap();
    let stats = env.engine.run_until_idle().await.unwrap();
    eprintln!("{stats:?}");
    eprintln!("{:?}", env.sim.stats());
    for (id, sim_account) in &env.accounts {
        let account = env.db.store.account_get(*id).await.unwrap().unwrap();
        eprintln!("{:?} {:?}", account.status, account.last_sync_error);
        let truth = env
            .sim
            .ground_truth(&sim_account.ig_user_id, ApiVersion::V25)
            .unwrap();
        eprintln!(
            "missing: {}",
            serde_json::to_string(&truth.missing)
                .unwrap()
                .chars()
                .take(3000)
                .collect::<String>()
        );
        crate::e2e::assert_matches_truth(&env, *id, &truth).await;
    }
    env.teardown().await;
}
