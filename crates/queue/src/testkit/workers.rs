//! Queue conformance cases. Worker registrations.

use super::*;

pub async fn workers_register_list_and_remove(fx: &dyn Fixture) {
    let store = fx.store();
    let worker = |id: &str, seen: DateTime<Utc>| WorkerInfo {
        id: id.to_string(),
        hostname: "host-a".to_string(),
        pid: 4242,
        queues: vec!["instagram-sync".to_string(), "maintenance".to_string()],
        concurrency: 2,
        started_at: t0(),
        last_seen_at: seen,
    };
    store.worker_heartbeat(worker("w1", at(600))).await.unwrap();
    store.worker_heartbeat(worker("w2", at(0))).await.unwrap();
    assert_eq!(
        store.worker_list(at(540)).await.unwrap(),
        vec![worker("w1", at(600))]
    );
    assert_eq!(
        store.worker_list(at(-3_600)).await.unwrap(),
        vec![worker("w1", at(600)), worker("w2", at(0))]
    );
    // A heartbeat updates the registration.
    store
        .worker_heartbeat(WorkerInfo {
            concurrency: 4,
            ..worker("w2", at(700))
        })
        .await
        .unwrap();
    let listed = store.worker_list(at(540)).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].concurrency, 4);
    assert_eq!(listed[1].last_seen_at, at(700));
    store.worker_remove("w1").await.unwrap();
    store.worker_remove("never-existed").await.unwrap();
    let ids: Vec<String> = store
        .worker_list(at(-3_600))
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(ids, vec!["w2"]);
}
