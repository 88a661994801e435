//! `sync --only …`: one kind of data on its own, narrowed to given posts or days, recorded
//! in `history` like any sync (with each step's duration); arguments that do not fit are one
//! clear error line.

use chrono::Duration;
use store::RunStatus;

use crate::support::{Dialect, Harness, sim_config, start_sim};
use crate::truth::runs_of;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_only_one_kind_of_data_and_see_it_in_the_history() {
    let sim = start_sim(sim_config(191, 1, 20)).await;
    let mut h = Harness::new(Dialect::Sqlite, "only").await;
    h.graph(&sim);
    h.register(&sim).await;
    let store = h.db.open().await;
    let who = sim.accounts()[0].ig_user_id.clone();
    h.ok(&["sync", "--account", &who, "--wait"], None).await;
    let account = store.account_get_by_ig(&who).await.unwrap().unwrap();
    let ids: Vec<String> = store
        .media_index(account.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| !e.deleted && e.product_type != store::ProductType::Ad)
        .map(|e| e.ig_media_id)
        .take(2)
        .collect();
    let media = ids.join(",");

    let run = h
        .ok(
            &[
                "sync",
                "--account",
                &who,
                "--only",
                "media-insights",
                "--media",
                &media,
            ],
            None,
        )
        .await;
    assert!(
        run.stdout.contains("media_insights sync (media "),
        "the request names its scope: {run}"
    );
    // The same request with --wait joins the queued one and runs it.
    let run = h
        .ok(
            &[
                "sync",
                "--account",
                &who,
                "--only",
                "media-insights",
                "--media",
                &media,
                "--wait",
            ],
            None,
        )
        .await;
    assert!(run.stdout.contains("sync succeeded"), "{run}");
    let since = (chrono::Utc::now() - Duration::days(9))
        .date_naive()
        .to_string();
    let until = (chrono::Utc::now() - Duration::days(3))
        .date_naive()
        .to_string();
    let run = h
        .ok(
            &[
                "sync",
                "--account",
                &who,
                "--only",
                "account-insights",
                "--since",
                &since,
                "--until",
                &until,
                "--wait",
            ],
            None,
        )
        .await;
    assert!(run.stdout.contains("sync succeeded"), "{run}");

    let runs = runs_of(&*store, account.id).await;
    let plans: Vec<&str> = runs.iter().map(|r| r.plan.as_str()).collect();
    assert_eq!(plans, ["account_insights", "media_insights", "full"]);
    assert!(
        runs.iter().all(|r| r.status == RunStatus::Succeeded),
        "{runs:?}"
    );

    let table = h
        .ok(&["history", "--account", &who, "--steps"], None)
        .await
        .stdout;
    assert!(table.contains("account_insights"), "{table}");
    assert!(
        table.contains(&format!("[media {}]", ids.join(", "))),
        "the scope is shown: {table}"
    );
    let step_lines: Vec<&str> = table.lines().filter(|l| l.contains("attempts")).collect();
    assert_eq!(step_lines.len(), 6 + 1 + 1, "{table}");
    for line in &step_lines {
        let before = line.split("s attempts").next().unwrap();
        let secs = before.split_whitespace().last().unwrap();
        assert!(
            secs.parse::<f64>().is_ok_and(|s| s >= 0.0),
            "each step shows its duration: {line}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(
        &h.ok(&["history", "--account", &who, "--steps", "--json"], None)
            .await
            .stdout,
    )
    .unwrap();
    for run in json.as_array().unwrap() {
        assert!(run["duration_ms"].as_i64().is_some(), "{run}");
        for step in run["steps"].as_array().unwrap() {
            assert!(
                step["duration_ms"].as_i64().is_some_and(|ms| ms >= 0),
                "{step}"
            );
        }
    }
    assert_eq!(json[0]["steps"][0]["detail"]["since"], since);

    // What does not fit is one clear line and a non-zero exit; nothing is queued.
    for (args, says) in [
        (
            vec![
                "sync",
                "--account",
                &who,
                "--only",
                "profile",
                "--media",
                "1",
            ],
            "media insights",
        ),
        (
            vec![
                "sync",
                "--account",
                &who,
                "--only",
                "media-insights",
                "--media",
                "42",
            ],
            "42 is not a stored post",
        ),
        (vec!["sync", "--account", &who, "--media", "1"], "--only"),
        (
            vec![
                "sync",
                "--account",
                &who,
                "--only",
                "media",
                "--plan",
                "light",
            ],
            "--plan",
        ),
        (
            vec![
                "sync",
                "--account",
                &who,
                "--only",
                "account-insights",
                "--since",
                "May 1",
            ],
            "YYYY-MM-DD",
        ),
    ] {
        let run = h.run(&args, None).await;
        assert!(!run.status.success(), "{run}");
        let stderr = run.stderr.trim();
        assert!(stderr.contains(says), "{args:?} says {says:?}: {run}");
        assert!(!stderr.contains("panicked"), "{run}");
    }
    assert_eq!(
        store
            .job_list(store::JobQuery {
                states: vec![store::JobState::Pending],
                ..Default::default()
            })
            .await
            .unwrap()
            .jobs
            .iter()
            .filter(|j| j.kind != "story_final_read")
            .count(),
        0
    );
    drop(store);
    sim.shutdown().await;
    h.db.teardown().await;
}
