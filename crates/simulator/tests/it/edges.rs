//! The real Graph API's edges (`SimConfig::edges`): whole-request failures of multi-ID reads,
//! errors that list what a product type accepts, empty data for young posts, thresholds and
//! the top 45, the online-followers gap, breakdown refusals, revisions, per-version
//! withdrawals, Business Discovery per login kind, and the ground truth's missing reasons.

use std::collections::BTreeMap;

use serde_json::Value;
use simulator::{
    ApiVersion, GroundTruth, InsightsTruth, LoginKind, MissingKind, MissingReason, SimAccount,
    SimServer,
};

use crate::{
    account, assert_graph_error, config, converted_account, get, media_ok, media_with_error, start,
    truth,
};

async fn edges_server(seed: u64, accounts: usize, media: usize) -> SimServer {
    let mut c = config(seed, accounts, media);
    c.edges = true;
    start(c).await
}

fn insights_url(a: &SimAccount, query: &str) -> String {
    format!(
        "/v25.0/{}/insights?{query}&access_token={}",
        a.ig_user_id, a.access_token
    )
}

#[tokio::test]
async fn one_failing_id_fails_the_whole_multi_id_request() {
    let server = edges_server(301, 3, 400).await;
    let a = converted_account(&server);
    let t = truth(&server, &a);
    let ok = media_ok(&t, "FEED", "IMAGE");
    let old = media_with_error(&t, 2_108_006);
    assert!(ok.len() >= 3 && !old.is_empty());
    let tok = &a.access_token;
    let fields = "fields=id,insights.metric(reach,likes)";

    // Every id readable: one entry per id.
    let r = get(
        &server,
        &format!(
            "/v25.0/?ids={},{}&{fields}&access_token={tok}",
            ok[0], ok[1]
        ),
    )
    .await;
    let b = r.ok();
    assert_eq!(b[&ok[0]]["insights"]["data"][0]["name"], "reach");
    assert_eq!(b[&ok[1]]["id"], ok[1].as_str());

    // One pre-conversion post among them: the whole request fails with its error.
    let r = get(
        &server,
        &format!(
            "/v25.0/?ids={},{},{}&{fields}&access_token={tok}",
            ok[0], old[0], ok[1]
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = assert_graph_error(&r, 100);
    assert_eq!(e["error_subcode"], 2_108_006);
    assert_eq!(
        e["error_user_title"],
        "Media Posted Before Business Account Conversion"
    );
    assert!(r.body.get(&ok[0]).is_none());

    // The edge form too.
    let r = get(
        &server,
        &format!(
            "/v25.0/insights?ids={},{}&metric=reach&access_token={tok}",
            ok[0], old[0]
        ),
    )
    .await;
    assert_eq!(assert_graph_error(&r, 100)["error_subcode"], 2_108_006);

    // A post deleted since it was listed: subcode 33 for all.
    assert!(server.delete_media(&ok[2]));
    let r = get(
        &server,
        &format!(
            "/v25.0/?ids={},{}&{fields}&access_token={tok}",
            ok[0], ok[2]
        ),
    )
    .await;
    let e = assert_graph_error(&r, 100);
    assert_eq!(e["error_subcode"], 33);
    assert_eq!(e["type"], "GraphMethodException");

    // An album child: no insights of its own, the whole request fails.
    let child = t
        .media
        .iter()
        .find(|m| !m.children.is_empty())
        .map(|m| m.children[0].clone())
        .expect("an album");
    let r = get(
        &server,
        &format!("/v25.0/?ids={},{child}&{fields}&access_token={tok}", ok[0]),
    )
    .await;
    assert!(
        assert_graph_error(&r, 100)["message"]
            .as_str()
            .unwrap()
            .contains("album")
    );

    // An id that names nothing at all.
    let r = get(
        &server,
        &format!("/v25.0/?ids={},12345&access_token={tok}", ok[0]),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 803)["message"],
        "(#803) Some of the aliases you requested do not exist: 12345"
    );

    // A story with too few viewers among live stories.
    let small = t
        .stories
        .iter()
        .find(|s| matches!(s.insights, InsightsTruth::Error { code: 10, .. }))
        .expect("a story with too few viewers");
    let fine = t
        .stories
        .iter()
        .find(|s| matches!(s.insights, InsightsTruth::Values { .. }))
        .expect("a story with insights");
    let r = get(
        &server,
        &format!(
            "/v25.0/insights?ids={},{}&metric=reach&access_token={tok}",
            fine.id, small.id
        ),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 10)["message"],
        "(#10) Not enough viewers for the media to show insights"
    );

    // Without the edges the same request answers per id.
    server.set_edges(false);
    let r = get(
        &server,
        &format!(
            "/v25.0/?ids={},{}&{fields}&access_token={tok}",
            ok[0], old[0]
        ),
    )
    .await;
    assert_eq!(r.ok()[&old[0]]["error"]["error_subcode"], 2_108_006);
}

#[tokio::test]
async fn an_unknown_metric_lists_what_the_product_type_accepts() {
    let server = edges_server(302, 2, 300).await;
    let a = account(&server, LoginKind::Instagram);
    let t = truth(&server, &a);
    let reel = &media_ok(&t, "REELS", "VIDEO")[0];
    let image = &media_ok(&t, "FEED", "IMAGE")[0];
    let tok = &a.access_token;
    let r = get(
        &server,
        &format!("/v25.0/{reel}/insights?metric=reach,bogus&access_token={tok}"),
    )
    .await;
    let msg = assert_graph_error(&r, 100)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed: Vec<&str> = msg
        .strip_prefix("(#100) metric[1] must be one of the following values: ")
        .expect("Meta's wording")
        .split(", ")
        .collect();
    assert!(listed.contains(&"ig_reels_avg_watch_time"), "{msg}");
    assert!(listed.contains(&"reels_skip_rate"), "{msg}");
    // Not for reels, and Facebook Login only.
    assert!(!listed.contains(&"profile_visits"), "{msg}");
    assert!(!listed.contains(&"total_likes"), "{msg}");
    assert!(!listed.contains(&"navigation"), "{msg}");

    let r = get(
        &server,
        &format!("/v25.0/{image}/insights?metric=bogus&access_token={tok}"),
    )
    .await;
    let msg = assert_graph_error(&r, 100)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        msg.contains("profile_visits") && !msg.contains("ig_reels_avg_watch_time"),
        "{msg}"
    );

    // A real metric of another product type says so.
    let r = get(
        &server,
        &format!("/v25.0/{reel}/insights?metric=profile_visits&access_token={tok}"),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 100)["message"],
        "(#100) The Media Insights API does not support the profile_visits metric for this media product type."
    );
}

/// Advances the clock in 5-minute steps until the account publishes a new post; returns it.
async fn next_new_post(server: &SimServer, a: &SimAccount) -> String {
    let newest = |body: &Value| body["data"][0]["id"].as_str().unwrap().to_owned();
    let url = format!(
        "/v25.0/{}/media?limit=1&access_token={}",
        a.ig_user_id, a.access_token
    );
    let before = newest(get(server, &url).await.ok());
    for _ in 0..(8 * 24 * 12) {
        server.advance_clock(chrono::Duration::minutes(5));
        let now = newest(get(server, &url).await.ok());
        if now != before {
            return now;
        }
    }
    panic!("no new post within 8 days");
}

#[tokio::test]
async fn a_young_post_answers_an_empty_data_set() {
    let server = edges_server(303, 2, 400).await;
    let a = account(&server, LoginKind::Facebook);
    let post = next_new_post(&server, &a).await;
    let tok = &a.access_token;
    let url = format!("/v25.0/{post}/insights?metric=reach,likes&access_token={tok}");
    let r = get(&server, &url).await;
    assert_eq!(r.ok(), &serde_json::json!({ "data": [] }));
    // Field expansion too.
    let r = get(
        &server,
        &format!("/v25.0/{post}?fields=id,insights.metric(reach)&access_token={tok}"),
    )
    .await;
    assert_eq!(r.ok()["insights"], serde_json::json!({ "data": [] }));

    // The truth says why, and holds no invented zero.
    let t = truth(&server, &a);
    let m = t.media.iter().find(|m| m.id == post).unwrap();
    assert!(
        matches!(&m.insights, InsightsTruth::Values { values, .. } if values.is_empty()),
        "{:?}",
        m.insights
    );
    assert!(
        t.missing
            .iter()
            .any(|x| x.kind == MissingKind::MediaInsights
                && x.id.as_deref() == Some(post.as_str())
                && x.reason == MissingReason::NoDataYet)
    );

    // Without the edges the same post already has numbers.
    server.set_edges(false);
    let r = get(&server, &url).await;
    assert_eq!(r.ok()["data"][0]["name"], "reach");
    server.set_edges(true);

    // Hours later Meta has numbers.
    server.advance_clock(chrono::Duration::hours(6));
    let r = get(&server, &url).await;
    assert_eq!(r.ok()["data"][0]["name"], "reach");
    assert!(r.body["data"][0]["values"][0]["value"].is_u64());
}

fn missing_of(t: &GroundTruth, kind: MissingKind) -> Vec<&simulator::MissingValue> {
    t.missing.iter().filter(|m| m.kind == kind).collect()
}

#[tokio::test]
async fn thresholds_and_the_top_45_are_missing_values_not_zeros() {
    let mut c = config(304, 4, 200);
    c.edges = true;
    c.tight_budget_accounts = 1;
    let server = start(c).await;
    let accounts = server.accounts();
    let small = accounts.last().unwrap().clone();
    assert!(small.followers_count < 100);
    let now = server.now().timestamp();

    // follower_count and demographics of a small account are absent, not zero.
    let r = get(
        &server,
        &insights_url(
            &small,
            &format!(
                "metric=reach,follower_count&period=day&since={}&until={now}",
                now - 5 * 86_400
            ),
        ),
    )
    .await;
    let names: Vec<&str> = r.data_texts("name");
    assert_eq!(names, vec!["reach"]);
    let r = get(
        &server,
        &insights_url(
            &small,
            "metric=follower_demographics&period=lifetime&metric_type=total_value&breakdown=age",
        ),
    )
    .await;
    assert_eq!(r.ok()["data"], serde_json::json!([]));
    let t = truth(&server, &small);
    assert!(t.demographics.is_empty());
    let demo = missing_of(&t, MissingKind::Demographics);
    assert_eq!(demo.len(), 5, "{demo:?}");
    assert!(
        demo.iter()
            .all(|m| m.reason == MissingReason::BelowThreshold)
    );
    let fc: Vec<_> = missing_of(&t, MissingKind::AccountInsight)
        .into_iter()
        .filter(|m| m.metric.as_deref() == Some("follower_count"))
        .collect();
    assert_eq!(fc.len(), 30);
    assert!(fc.iter().all(|m| m.reason == MissingReason::BelowThreshold));
    assert!(
        missing_of(&t, MissingKind::OnlineFollowers)
            .iter()
            .all(|m| m.reason == MissingReason::BelowThreshold)
    );

    // A large account's city breakdown is cut to the top 45, and the truth says how many
    // keys were dropped.
    let big = accounts
        .iter()
        .max_by_key(|a| a.followers_count)
        .unwrap()
        .clone();
    let r = get(
        &server,
        &insights_url(
            &big,
            "metric=follower_demographics&period=lifetime&metric_type=total_value&breakdown=city",
        ),
    )
    .await;
    let results = r.ok()["data"][0]["total_value"]["breakdowns"][0]["results"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(results.len(), 45);
    let t = truth(&server, &big);
    let cut = missing_of(&t, MissingKind::Demographics)
        .into_iter()
        .find(|m| {
            m.metric.as_deref() == Some("follower_demographics")
                && m.breakdown.as_deref() == Some("city")
        })
        .expect("city is truncated");
    assert_eq!(cut.reason, MissingReason::TruncatedTop45);
    assert!(cut.dropped.unwrap() >= 1);
    let rows = &t
        .demographics
        .iter()
        .find(|d| d.metric == "follower_demographics" && d.breakdown == "city")
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 45);
    assert_eq!(rows[0].value, results[0]["value"].as_u64().unwrap());
}

#[tokio::test]
async fn online_followers_withholds_the_latest_two_days() {
    let server = edges_server(305, 2, 100).await;
    let a = account(&server, LoginKind::Facebook);
    let now = server.now().timestamp();
    let day = 86_400;
    let r = get(
        &server,
        &insights_url(
            &a,
            &format!(
                "metric=online_followers&period=lifetime&since={}&until={now}",
                now - 4 * day
            ),
        ),
    )
    .await;
    assert!(
        assert_graph_error(&r, 100)["message"]
            .as_str()
            .unwrap()
            .contains("last 2 days")
    );
    // Days before the gap are served.
    let r = get(
        &server,
        &insights_url(
            &a,
            &format!(
                "metric=online_followers&period=lifetime&since={}&until={}",
                now - 10 * day,
                now - 4 * day
            ),
        ),
    )
    .await;
    let values = r.ok()["data"][0]["values"].as_array().unwrap();
    assert!(values.len() >= 5);
    assert_eq!(values[0]["value"].as_object().unwrap().len(), 24);
    let t = truth(&server, &a);
    let gap = missing_of(&t, MissingKind::OnlineFollowers);
    assert_eq!(gap.len(), 2);
    assert!(gap.iter().all(|m| m.reason == MissingReason::NotReadyYet));
    assert_eq!(t.online_followers.len(), 28);
}

#[tokio::test]
async fn breakdowns_refuse_incompatible_combinations_and_serve_age_gender() {
    let server = edges_server(306, 2, 200).await;
    let a = account(&server, LoginKind::Facebook);
    let now = server.now().timestamp();
    let week = format!("since={}&until={now}", now - 7 * 86_400);
    let r = get(
        &server,
        &insights_url(
            &a,
            &format!(
                "metric=reach,replies&period=day&metric_type=total_value&breakdown=media_product_type&{week}"
            ),
        ),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(
        assert_graph_error(&r, 1)["message"],
        "An unknown error has occurred."
    );
    let r = get(
        &server,
        &insights_url(
            &a,
            "metric=engaged_audience_demographics&period=lifetime&metric_type=total_value&timeframe=this_month&breakdown=age,gender",
        ),
    )
    .await;
    let b = &r.ok()["data"][0]["total_value"]["breakdowns"][0];
    assert_eq!(
        b["dimension_keys"],
        serde_json::json!(["timeframe", "age", "gender"])
    );
    let first = &b["results"][0]["dimension_values"];
    assert_eq!(first[0], "THIS_MONTH");
    assert!(["F", "M", "U"].contains(&first[2].as_str().unwrap()));
}

/// Steps the clock a day at a time for 30 days, reading daily reach each time; returns how
/// many days changed after they had settled (48 h after they ended) and how many settled.
async fn changes_after_settling(server: &SimServer, a: &SimAccount) -> (usize, usize) {
    let mut seen: BTreeMap<String, (u64, bool)> = BTreeMap::new();
    let mut changed = std::collections::BTreeSet::new();
    for _ in 0..30 {
        server.advance_clock(chrono::Duration::days(1));
        let now = server.now().timestamp();
        let r = get(
            server,
            &insights_url(
                a,
                &format!(
                    "metric=reach&period=day&since={}&until={now}",
                    now - 30 * 86_400
                ),
            ),
        )
        .await;
        for v in r.ok()["data"][0]["values"].as_array().unwrap() {
            let end = v["end_time"].as_str().unwrap().to_owned();
            let value = v["value"].as_u64().unwrap();
            let ended = chrono::DateTime::parse_from_str(&end, "%Y-%m-%dT%H:%M:%S%z")
                .unwrap()
                .timestamp();
            let settled = now - ended >= 48 * 3600;
            if let Some((old, was_settled)) = seen.get(&end)
                && *was_settled
                && *old != value
            {
                changed.insert(end.clone());
            }
            seen.insert(end, (value, settled));
        }
    }
    let settled = seen.values().filter(|(_, s)| *s).count();
    (changed.len(), settled)
}

#[tokio::test]
async fn settled_days_are_revised_late_and_on_demand() {
    let server = edges_server(307, 2, 400).await;
    let a = account(&server, LoginKind::Facebook);
    let (changed, settled) = changes_after_settling(&server, &a).await;
    assert!(
        changed >= 1 && changed < settled / 3,
        "{changed} of {settled} settled days revised"
    );

    // Without the edges, settled days never change.
    let server = start(config(307, 2, 400)).await;
    let a = account(&server, LoginKind::Facebook);
    let (changed, settled) = changes_after_settling(&server, &a).await;
    assert_eq!(changed, 0, "{settled}");

    // Revising yesterday on demand scales the day as the API serves it.
    let before = truth(&server, &a);
    let yesterday = server
        .revise_day(&a.ig_user_id, None, 1.2)
        .expect("revised");
    let old = before
        .account_insights
        .iter()
        .find(|d| d.date == yesterday)
        .unwrap()
        .values["reach"];
    let now = server.now().timestamp();
    let r = get(
        &server,
        &insights_url(
            &a,
            &format!(
                "metric=reach&period=day&since={}&until={now}",
                now - 3 * 86_400
            ),
        ),
    )
    .await;
    let t = truth(&server, &a);
    let day = t
        .account_insights
        .iter()
        .find(|d| d.date == yesterday)
        .unwrap();
    let served = r.ok()["data"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["end_time"] == day.end_time.as_str())
        .unwrap()["value"]
        .as_u64()
        .unwrap();
    assert_eq!(served, day.values["reach"]);
    assert!(served as f64 > old as f64 * 1.1, "{served} vs {old}");
    assert!(server.revise_day(&a.ig_user_id, None, 9.0).is_none());
}

#[tokio::test]
async fn a_metric_withdrawn_for_a_version_stays_on_older_versions() {
    let server = edges_server(308, 2, 100).await;
    let a = account(&server, LoginKind::Instagram);
    server.withdraw_metric("shares", ApiVersion::V24);
    let t = truth(&server, &a);
    let image = &media_ok(&t, "FEED", "IMAGE")[0];
    let tok = &a.access_token;
    for (v, ok) in [("v23.0", true), ("v24.0", false), ("v25.0", false)] {
        let r = get(
            &server,
            &format!("/{v}/{image}/insights?metric=reach,shares&access_token={tok}"),
        )
        .await;
        if ok {
            assert_eq!(r.ok()["data"][1]["name"], "shares");
        } else {
            assert!(
                assert_graph_error(&r, 100)["message"]
                    .as_str()
                    .unwrap()
                    .contains("shares metric is no longer supported")
            );
        }
    }
    let values = |t: GroundTruth| match &t.media.iter().find(|m| &m.id == image).unwrap().insights {
        InsightsTruth::Values { values, .. } => values.clone(),
        other => panic!("{other:?}"),
    };
    let v23 = server.ground_truth(&a.ig_user_id, ApiVersion::V23).unwrap();
    assert!(values(v23).contains_key("shares"));
    assert!(!values(truth(&server, &a)).contains_key("shares"));
}

#[tokio::test]
async fn business_discovery_needs_facebook_login() {
    let server = edges_server(309, 3, 60).await;
    let fb = account(&server, LoginKind::Facebook);
    let ig = account(&server, LoginKind::Instagram);
    let other = server.accounts()[2].clone();
    let field = format!(
        "business_discovery.username({}){{id,username,followers_count,media_count,media.limit(3){{id,like_count,view_count}}}}",
        other.username
    );
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields={}&access_token={}",
            fb.ig_user_id,
            crate::urlencode(&field),
            fb.access_token
        ),
    )
    .await;
    let d = &r.ok()["business_discovery"];
    assert_eq!(d["id"], other.ig_user_id.as_str());
    assert_eq!(d["followers_count"], other.followers_count);
    assert_eq!(d["media_count"], other.media_count);
    let media = d["media"]["data"].as_array().unwrap();
    assert_eq!(media.len(), 3);
    assert!(media[0]["view_count"].is_u64() && media[0]["like_count"].is_u64());

    // A username that is not a professional account.
    let missing = "business_discovery.username(nobody_here){followers_count}";
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields={}&access_token={}",
            fb.ig_user_id,
            crate::urlencode(missing),
            fb.access_token
        ),
    )
    .await;
    let e = assert_graph_error(&r, 110);
    assert_eq!(e["error_subcode"], 2_207_013);
    assert_eq!(e["error_user_title"], "Cannot find User");

    // Instagram Login has no Business Discovery, nor the total_* metrics.
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields={}&access_token={}",
            ig.ig_user_id,
            crate::urlencode(&field),
            ig.access_token
        ),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 100)["message"],
        "(#100) Tried accessing nonexisting field (business_discovery) on node type (IGUser)"
    );
    let t = truth(&server, &ig);
    let image = &media_ok(&t, "FEED", "IMAGE")[0];
    let r = get(
        &server,
        &format!(
            "/v25.0/{image}/insights?metric=total_likes&access_token={}",
            ig.access_token
        ),
    )
    .await;
    assert!(
        assert_graph_error(&r, 100)["message"]
            .as_str()
            .unwrap()
            .starts_with("(#100) metric[0] must be one of the following values:")
    );
}

#[tokio::test]
async fn the_truth_gives_every_refusal_its_reason() {
    let server = edges_server(310, 3, 400).await;
    let a = converted_account(&server);
    let t = truth(&server, &a);
    let old = media_with_error(&t, 2_108_006);
    assert!(!old.is_empty());
    let reason_of = |t: &GroundTruth, id: &str| {
        t.missing
            .iter()
            .find(|m| m.id.as_deref() == Some(id))
            .map(|m| m.reason)
    };
    assert_eq!(
        reason_of(&t, &old[0]),
        Some(MissingReason::BeforeConversion)
    );
    let small = t
        .stories
        .iter()
        .find(|s| matches!(s.insights, InsightsTruth::Error { code: 10, .. }))
        .unwrap();
    assert_eq!(
        reason_of(&t, &small.id),
        Some(MissingReason::NotEnoughViewers)
    );
    assert!(matches!(
        small.insights,
        InsightsTruth::Error {
            reason: MissingReason::NotEnoughViewers,
            ..
        }
    ));
    let ok = media_ok(&t, "FEED", "IMAGE");
    assert!(server.delete_media(&ok[0]));
    let t = truth(&server, &a);
    assert!(t.media.iter().all(|m| m.id != ok[0]));
    assert_eq!(reason_of(&t, &ok[0]), Some(MissingReason::Deleted));
    // Every missing value names its reason in Meta's words.
    let json = serde_json::to_value(&t).unwrap();
    let reasons: Vec<&str> = json["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"before_conversion"));
    assert!(reasons.contains(&"not_enough_viewers"));
    assert!(reasons.contains(&"deleted"));
}

#[tokio::test]
async fn the_edges_revisions_and_withdrawals_are_steered_over_http() {
    let server = start(config(311, 2, 60)).await;
    let base = server.url();
    let http = crate::client();
    let post = |path: &str, body: Value| {
        let req = http.post(format!("{base}{path}")).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    assert!(!server.edges());
    let (status, b) = post("/__sim/edges", serde_json::json!({ "edges": true })).await;
    assert_eq!((status.as_u16(), b["edges"].as_bool()), (200, Some(true)));
    assert!(server.edges());

    let a = account(&server, LoginKind::Facebook);
    let (status, b) = post(
        "/__sim/revise",
        serde_json::json!({ "ig_user_id": a.ig_user_id, "factor": 1.1 }),
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{b}");
    let yesterday = server.now().date_naive() - chrono::Duration::days(1);
    let day = b["date"].as_str().unwrap();
    assert!(
        day == yesterday.to_string() || day == (yesterday - chrono::Duration::days(1)).to_string(),
        "{day}"
    );
    let (status, b) = post(
        "/__sim/revise",
        serde_json::json!({ "ig_user_id": a.ig_user_id, "factor": 3.0 }),
    )
    .await;
    assert_eq!(status.as_u16(), 400);
    assert!(b["error"].as_str().unwrap().contains("factor"));
    let (status, _) = post(
        "/__sim/revise",
        serde_json::json!({ "ig_user_id": "1", "factor": 1.1 }),
    )
    .await;
    assert_eq!(status.as_u16(), 404);

    let (status, _) = post(
        "/__sim/remove-metric",
        serde_json::json!({ "metric": "likes", "version": "v25.0" }),
    )
    .await;
    assert_eq!(status.as_u16(), 200);
    let (status, b) = post(
        "/__sim/remove-metric",
        serde_json::json!({ "metric": "likes", "version": "v99.0" }),
    )
    .await;
    assert_eq!(status.as_u16(), 400, "{b}");
    let t = truth(&server, &a);
    let image = &media_ok(&t, "FEED", "IMAGE")[0];
    let r = get(
        &server,
        &format!(
            "/v24.0/{image}/insights?metric=likes&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_eq!(r.ok()["data"][0]["name"], "likes");
    let r = get(
        &server,
        &format!(
            "/v25.0/{image}/insights?metric=likes&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_graph_error(&r, 100);
}
