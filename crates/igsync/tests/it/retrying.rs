//! While a sync waits for its next attempt after a failed one, `accounts list` says so: the
//! step, the last error and when the next attempt starts (the status stays `syncing`).

use std::time::Duration;

use store::{JobQuery, JobState};

use crate::support::{Dialect, Harness, eventually, sim_config, start_sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accounts_list_shows_a_retrying_sync() {
    let sim = start_sim(sim_config(193, 1, 10)).await;
    let mut h = Harness::new(Dialect::Sqlite, "retrying").await;
    h.graph(&sim);
    // The next attempt is ten minutes away: the test looks in between.
    h.set("IGSYNC_SYNC_BACKOFF_SECS", "600");
    h.register(&sim).await;
    let store = h.db.open().await;
    let who = sim.accounts()[0].ig_user_id.clone();
    sim.set_faults(
        1.0,
        simulator::FaultMix::only(&[simulator::FaultKind::ServerError]),
    );
    h.ok(&["sync", "--account", &who], None).await;
    let mut worker = h.spawn(&["worker"]);
    let job = eventually("an attempt fails", Duration::from_secs(60), || async {
        store
            .job_list(JobQuery {
                states: vec![JobState::Pending],
                ..Default::default()
            })
            .await
            .unwrap()
            .jobs
            .into_iter()
            .find(|j| !j.errors.is_empty())
    })
    .await;
    assert!(worker.terminate().await.success(), "{}", worker.stderr());

    let table = h.ok(&["accounts", "list"], None).await.stdout;
    assert!(table.contains("syncing"), "{table}");
    let line = table
        .lines()
        .find(|l| l.contains("retrying:"))
        .unwrap_or_else(|| panic!("a retry line: {table}"));
    assert!(
        line.contains("step profile: 1 of 3 attempts failed"),
        "{line}"
    );
    assert!(line.contains(&job.errors[0].error), "{line}");
    assert!(
        line.contains(
            &job.run_at
                .format("next attempt at %Y-%m-%d %H:%M:%S UTC")
                .to_string()
        ),
        "{line}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&h.ok(&["accounts", "list", "--json"], None).await.stdout).unwrap();
    let retrying = &json[0]["retrying"];
    assert_eq!(retrying["step"], "profile", "{json}");
    assert_eq!(retrying["failed_attempts"], 1);
    assert_eq!(retrying["last_error"], job.errors[0].error);
    assert_eq!(
        retrying["next_attempt_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        job.run_at
    );
    drop(store);
    sim.shutdown().await;
    h.db.teardown().await;
}
