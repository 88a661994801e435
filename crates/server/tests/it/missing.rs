//! `GET /api/v1/accounts/{id}/missing`: after a sync against the simulator with the real
//! Graph API's edges on, the API lists every value Meta did not give with the reason the
//! simulator's ground truth names, in words too. `GET /api/v1/accounts/{id}/metrics/{metric}`
//! answers a day Meta revised as it was known before and after the revision.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use simulator::{ApiVersion, MissingKind};

use crate::support::{SimApp, assert_error, json_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_lists_missing_values_with_their_reasons() {
    let env = SimApp::start(1, 24).await;
    env.sim.set_edges(true);
    let app = &env.app;
    let (id, sim_account) = env.accounts[0].clone();
    json_of(
        app.post(&format!("/api/v1/accounts/{id}/sync")).await,
        StatusCode::ACCEPTED,
    )
    .await;
    env.engine.run_until_idle().await.unwrap();

    let truth = env
        .sim
        .ground_truth(&sim_account.ig_user_id, ApiVersion::V25)
        .unwrap();
    let expected: BTreeSet<(String, String, String, String)> = truth
        .missing
        .iter()
        .filter(|m| m.kind != MissingKind::StoryInsights)
        .map(|m| {
            (
                serde_json::to_value(m.kind)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                m.date.map(|d| d.to_string()).unwrap_or_default(),
                m.metric.clone().unwrap_or_default(),
                m.reason.as_str().to_owned(),
            )
        })
        .collect();
    assert!(!expected.is_empty(), "the edge world refuses something");

    let body = app
        .get_json(&format!(
            "/api/v1/accounts/{}/missing",
            sim_account.username
        ))
        .await;
    assert_eq!(body["account_id"], id.get());
    let listed = body["missing"].as_array().unwrap();
    let got: BTreeSet<(String, String, String, String)> = listed
        .iter()
        .filter(|m| m["kind"] != "story_insights")
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_owned(),
                m["day"].as_str().unwrap_or_default().to_owned(),
                m["metric"].as_str().unwrap_or_default().to_owned(),
                m["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    for m in listed {
        assert!(
            m["reason_text"]
                .as_str()
                .unwrap()
                .starts_with("not available")
                || m["reason_text"].as_str().unwrap().starts_with("incomplete")
        );
        assert!(m["since"].is_string(), "{m}");
    }
    // The latest two days of online followers are not served yet; asked again in an hour.
    let not_ready: Vec<&serde_json::Value> = listed
        .iter()
        .filter(|m| m["reason"] == "not_ready_yet")
        .collect();
    assert_eq!(not_ready.len(), 2, "{listed:?}");
    assert!(not_ready.iter().all(|m| m["next_retry_at"].is_string()));

    // The report says it in words.
    let report = app
        .get_json(&format!("/api/v1/accounts/{id}/report?days=30"))
        .await;
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .unwrap_or_else(|| panic!("notes in {report}"))
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("online_followers (2 day(s)): not available yet")),
        "{notes:?}"
    );

    // Filtered by kind; a kind that does not exist is refused.
    let only = app
        .get_json(&format!(
            "/api/v1/accounts/{id}/missing?kind=online_followers"
        ))
        .await;
    assert!(
        only["missing"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["kind"] == "online_followers")
    );
    assert_error(
        app.get(&format!("/api/v1/accounts/{id}/missing?kind=zeros"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.get("/api/v1/accounts/@nobody/missing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revised_day_is_answered_as_known_at_any_time() {
    let env = SimApp::start(1, 12).await;
    let app = &env.app;
    let (id, sim_account) = env.accounts[0].clone();
    let sync = || async {
        json_of(
            app.post(&format!("/api/v1/accounts/{id}/sync")).await,
            StatusCode::ACCEPTED,
        )
        .await;
        env.engine.run_until_idle().await.unwrap();
    };
    sync().await;
    let first_read = env.clock.now();
    let yesterday = env
        .sim
        .revise_day(&sim_account.ig_user_id, None, 1.5)
        .expect("a day to revise");
    env.advance(chrono::Duration::hours(2));
    sync().await;

    let url = format!("/api/v1/accounts/{id}/metrics/reach?from={yesterday}&to={yesterday}");
    let now = app.get_json(&url).await;
    let total = |body: &serde_json::Value| -> serde_json::Value {
        body["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["breakdown"].is_null())
            .cloned()
            .unwrap_or_else(|| panic!("no total in {body}"))
    };
    let latest = total(&now);
    assert_eq!(latest["revisions"], 1, "{now}");
    assert_eq!(latest["source"], "poll");
    // Its provenance: the version the client read it with, when, settled or not, source.
    let provenance = &latest["provenance"];
    assert_eq!(provenance["api_version"], "v25.0", "{latest}");
    assert_eq!(provenance["source"], "poll");
    assert_eq!(provenance["settled"], latest["settled"]);
    assert_eq!(provenance["captured_at"], latest["fetched_at"]);
    assert!(
        provenance["text"]
            .as_str()
            .unwrap()
            .starts_with("Graph API v25.0 · read "),
        "{provenance}"
    );
    assert_eq!(latest["partial"], false, "yesterday is complete");
    // Today's day, read before it ended, is flagged partial.
    let truth = env
        .sim
        .ground_truth(&sim_account.ig_user_id, ApiVersion::V25)
        .unwrap();
    let today = truth.account_insights.last().unwrap();
    assert!(
        today.partial && today.values.contains_key("reach"),
        "{today:?}"
    );
    let body = app
        .get_json(&format!(
            "/api/v1/accounts/{id}/metrics/reach?from={0}&to={0}",
            today.date
        ))
        .await;
    let partial = total(&body);
    assert_eq!(partial["partial"], true, "{body}");
    assert_eq!(
        partial["value"].as_f64(),
        Some(today.values["reach"] as f64)
    );
    let (value, first) = (
        latest["value"].as_f64().unwrap(),
        latest["first_value"].as_f64().unwrap(),
    );
    assert!(value > first, "revised upwards: {latest}");
    assert_eq!(
        now["moved_since_first_read"].as_f64().unwrap(),
        value - first
    );
    let before = app
        .get_json(&format!(
            "{url}&as_of={}",
            first_read.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        ))
        .await;
    let then = total(&before);
    assert_eq!(
        (then["value"].as_f64().unwrap(), then["revisions"].as_i64()),
        (first, Some(0))
    );
    assert_eq!(then["provenance"]["api_version"], "v25.0", "{then}");
    assert_eq!(
        then["provenance"]["captured_at"].as_str(),
        then["fetched_at"].as_str()
    );
    assert_eq!(before["moved_since_first_read"].as_f64().unwrap(), 0.0);
    // Before the first sync nothing was known.
    let earlier = app
        .get_json(&format!(
            "{url}&as_of={}",
            (first_read - chrono::Duration::hours(1))
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        ))
        .await;
    assert!(earlier["days"].as_array().unwrap().is_empty(), "{earlier}");
    assert_error(
        app.get(&format!("/api/v1/accounts/{id}/metrics/Reach;drop"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.get(&format!(
            "/api/v1/accounts/{id}/metrics/reach?from=2026-02-01&to=2026-01-01"
        ))
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
}

/// Deprecation early warning: Meta's newest version refuses a metric the pinned version
/// (v25) still serves; after the daily sync `GET /api/v1/deprecations` and the overview
/// page name it with the day the pinned version expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_metric_the_newest_version_refuses_is_listed_at_risk() {
    let env = SimApp::start(1, 12).await;
    let app = &env.app;
    let (id, _) = env.accounts[0].clone();
    let empty = app.get_json("/api/v1/deprecations").await;
    assert_eq!(empty["metrics"], serde_json::json!([]), "{empty}");
    let browser = crate::dashboard::Browser::sign_in(app).await;
    assert!(!browser.page("/").await.contains("Metrics at risk"));

    env.sim
        .withdraw_metric("profile_views", simulator::ApiVersion::V26);
    json_of(
        app.post(&format!("/api/v1/accounts/{id}/sync")).await,
        StatusCode::ACCEPTED,
    )
    .await;
    env.engine.run_until_idle().await.unwrap();

    let body = app.get_json("/api/v1/deprecations").await;
    let metrics = body["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 1, "{body}");
    let m = &metrics[0];
    assert_eq!(m["metric"], "profile_views");
    assert_eq!(m["scope"], "account/total_value");
    assert_eq!(m["pinned_version"], "v25.0");
    assert_eq!(m["refused_on"], "v26.0");
    assert_eq!(m["removal_date"], "2028-07-29");
    assert!(
        m["message"]
            .as_str()
            .unwrap()
            .contains("no longer supported"),
        "{m}"
    );
    let page = browser.page("/").await;
    assert!(page.contains("Metrics at risk"), "{page}");
    assert!(page.contains("profile_views") && page.contains("2028-07-29"));
}

/// The account page shows each stored value's provenance on hover: the Graph API version
/// that read it, when, whether Meta may still revise it, and its source.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_account_page_shows_each_values_provenance_on_hover() {
    let env = SimApp::start(1, 12).await;
    let app = &env.app;
    let (id, _) = env.accounts[0].clone();
    json_of(
        app.post(&format!("/api/v1/accounts/{id}/sync")).await,
        StatusCode::ACCEPTED,
    )
    .await;
    env.engine.run_until_idle().await.unwrap();
    let read = env.clock.now().format("%Y-%m-%d %H:%M UTC").to_string();
    let browser = crate::dashboard::Browser::sign_in(app).await;
    let page = browser.page(&format!("/accounts/{id}")).await;
    assert!(page.contains("Where the numbers come from"), "{page}");
    // Days older than Meta's 48-hour window are settled; yesterday's are not yet.
    for state in ["settled", "not settled"] {
        let hover = format!("title=\"Graph API v25.0 · read {read} · {state} · poll\"");
        assert!(page.contains(&hover), "{hover} in the page");
    }
}
