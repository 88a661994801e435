//! `igsync competitors` against the simulator: tracked through a Facebook Login account,
//! refused through an Instagram Login one before any request, snapshotted with `sync --wait`,
//! listed with their counters or their failure's reason, removed.

use simulator::{CompetitorKind, LoginKind};

use crate::support::{Dialect, Harness, sim_config, start_sim};

#[tokio::test]
async fn competitors_from_the_command_line() {
    let sim = start_sim(sim_config(1803, 2, 4)).await;
    let mut h = Harness::new(Dialect::Sqlite, "competitors").await;
    h.graph(&sim);
    h.register(&sim).await;
    let accounts = sim.accounts();
    let fb = accounts
        .iter()
        .find(|a| a.login == LoginKind::Facebook)
        .unwrap();
    let ig = accounts
        .iter()
        .find(|a| a.login == LoginKind::Instagram)
        .unwrap();
    let all = sim.competitors();
    let biz = all
        .iter()
        .find(|c| c.kind == CompetitorKind::Creator)
        .unwrap();
    let personal = all
        .iter()
        .find(|c| c.kind == CompetitorKind::Personal)
        .unwrap();

    sim.reset_stats();
    let refused = h
        .run(
            &["competitors", "add", &biz.username, "--via", &ig.ig_user_id],
            None,
        )
        .await;
    assert!(!refused.status.success());
    assert!(refused.stderr.contains("Instagram Login"), "{refused}");
    assert_eq!(sim.stats().requests_total, 0);

    h.ok(
        &[
            "competitors",
            "add",
            &format!("@{}", biz.username),
            "--via",
            &fb.ig_user_id,
        ],
        None,
    )
    .await;
    h.ok(
        &[
            "competitors",
            "add",
            &personal.username,
            "--via",
            &fb.ig_user_id,
        ],
        None,
    )
    .await;
    // One competitor cannot be read: the command says so with a failing exit status.
    let run = h.run(&["competitors", "sync", "--wait"], None).await;
    assert!(!run.status.success(), "{run}");
    assert!(run.stdout.contains("not_found"), "{run}");

    let list = h.ok(&["competitors", "list", "--json"], None).await;
    let list: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let get = |u: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["username"] == u)
            .unwrap()
            .clone()
    };
    let truth = sim.competitor_truth(&biz.username).unwrap();
    let ok = get(&biz.username);
    assert_eq!(ok["status"], "ok");
    assert_eq!(ok["followers_count"].as_u64(), truth.followers_count);
    assert_eq!(ok["media_count"].as_u64(), truth.media_count);
    let failed = get(&personal.username);
    assert_eq!(failed["last_reason"], "not_found");
    assert!(failed["followers_count"].is_null());

    h.ok(&["competitors", "remove", &personal.username], None)
        .await;
    let gone = h
        .run(&["competitors", "remove", &personal.username], None)
        .await;
    assert!(!gone.status.success());
    let run = h.ok(&["competitors", "sync", "--wait"], None).await;
    assert!(run.stdout.contains(&biz.username));
}
