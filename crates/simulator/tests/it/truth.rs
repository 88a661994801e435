//! The ground truth equals what the endpoints serve.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use simulator::{ApiVersion, GroundTruth, InsightsTruth, LoginKind, SimAccount, SimServer};

use crate::{account, client, config, get, get_url, start};

/// Metric → value of one media.
type Values = BTreeMap<String, Value>;

fn ts(s: &str) -> i64 {
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .unwrap()
        .timestamp()
}

async fn check_media(server: &SimServer, a: &SimAccount, t: &GroundTruth) {
    let mut url = format!(
        "{}/v25.0/{}/media?fields=id,media_type,media_product_type,timestamp,permalink,caption,like_count,comments_count,children{{id}}&limit=100&access_token={}",
        server.url(),
        a.ig_user_id,
        a.access_token
    );
    let mut served = Vec::new();
    loop {
        let r = get_url(&url).await;
        served.extend(r.ok()["data"].as_array().unwrap().clone());
        match r.body["paging"].get("next").and_then(Value::as_str) {
            Some(n) => url = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(served.len(), t.media.len());
    assert_eq!(t.profile.media_count as usize, t.media.len());
    for (s, m) in served.iter().zip(&t.media) {
        assert_eq!(s["id"], m.id.as_str());
        assert_eq!(s["media_type"], m.media_type.as_str());
        assert_eq!(s["media_product_type"], m.media_product_type.as_str());
        assert_eq!(s["timestamp"], m.timestamp.as_str());
        assert_eq!(s["permalink"], m.permalink.as_str());
        assert_eq!(
            s.get("caption").and_then(Value::as_str),
            m.caption.as_deref()
        );
        assert_eq!(s["like_count"], m.like_count);
        assert_eq!(s["comments_count"], m.comments_count);
        let kids: Vec<&str> = s
            .get("children")
            .map(|c| {
                c["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k["id"].as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            kids,
            m.children.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    // Insights through multi-ID reads grouped by metric set, as a correct sync does.
    let mut groups: BTreeMap<Vec<String>, Vec<(String, Values)>> = BTreeMap::new();
    let mut errors = Vec::new();
    for m in &t.media {
        match &m.insights {
            InsightsTruth::Values { values, .. } => {
                let names: Vec<String> = values.keys().cloned().collect();
                groups
                    .entry(names)
                    .or_default()
                    .push((m.id.clone(), values.clone()));
            }
            InsightsTruth::Error { code, subcode, .. } => {
                errors.push((m.id.clone(), *code, *subcode))
            }
        }
    }
    let mut checked = 0;
    for (names, items) in &groups {
        for chunk in items.chunks(50) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
            let r = get(
                server,
                &format!(
                    "/v25.0/insights?ids={}&metric={}&access_token={}",
                    ids.join(","),
                    names.join(","),
                    a.access_token
                ),
            )
            .await;
            let b = r.ok();
            for (id, values) in chunk {
                let data = b[id]["data"].as_array().unwrap();
                assert_eq!(data.len(), values.len());
                for d in data {
                    let name = d["name"].as_str().unwrap();
                    assert_eq!(&d["values"][0]["value"], &values[name], "{id} {name}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
    for (id, code, subcode) in errors.iter().take(10) {
        let r = get(
            server,
            &format!(
                "/v25.0/{id}/insights?metric=reach&access_token={}",
                a.access_token
            ),
        )
        .await;
        assert_eq!(r.error()["code"], *code);
        assert_eq!(
            r.error().get("error_subcode").and_then(Value::as_u64),
            subcode.map(u64::from)
        );
    }
}

async fn check_stories(server: &SimServer, a: &SimAccount, t: &GroundTruth) {
    let r = get(
        server,
        &format!(
            "/v25.0/{}/stories?fields=id,timestamp&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    let served: Vec<&str> = r.data_texts("id");
    assert_eq!(
        served,
        t.stories.iter().map(|s| s.id.as_str()).collect::<Vec<_>>()
    );
    for s in &t.stories {
        match &s.insights {
            InsightsTruth::Values { values, breakdowns } => {
                let names: Vec<&str> = values.keys().map(String::as_str).collect();
                let r = get(
                    server,
                    &format!(
                        "/v25.0/{}/insights?metric={}&access_token={}",
                        s.id,
                        names.join(","),
                        a.access_token
                    ),
                )
                .await;
                for d in r.ok()["data"].as_array().unwrap() {
                    assert_eq!(
                        &d["values"][0]["value"],
                        &values[d["name"].as_str().unwrap()]
                    );
                }
                let r = get(
                    server,
                    &format!("/v25.0/{}/insights?metric=navigation&breakdown=story_navigation_action_type&access_token={}", s.id, a.access_token),
                )
                .await;
                let served: BTreeMap<String, u64> = r.ok()["data"][0]["total_value"]["breakdowns"]
                    [0]["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| {
                        (
                            x["dimension_values"][0].as_str().unwrap().to_owned(),
                            x["value"].as_u64().unwrap(),
                        )
                    })
                    .collect();
                assert_eq!(&served, &breakdowns["navigation"]);
            }
            InsightsTruth::Error { code, .. } => {
                let r = get(
                    server,
                    &format!(
                        "/v25.0/{}/insights?metric=reach&access_token={}",
                        s.id, a.access_token
                    ),
                )
                .await;
                assert_eq!(r.error()["code"], *code);
            }
        }
    }
}

async fn check_account(server: &SimServer, a: &SimAccount, t: &GroundTruth) {
    let p = get(
        server,
        &format!("/v25.0/{}?fields=id,username,name,biography,website,followers_count,follows_count,media_count&access_token={}", a.ig_user_id, a.access_token),
    )
    .await;
    let p = p.ok();
    assert_eq!(p["id"], t.profile.id.as_str());
    assert_eq!(p["username"], t.profile.username.as_str());
    assert_eq!(p["followers_count"], t.profile.followers_count);
    assert_eq!(p["follows_count"], t.profile.follows_count);
    assert_eq!(p["media_count"], t.profile.media_count);
    assert_eq!(
        p.get("website").and_then(Value::as_str),
        t.profile.website.as_deref()
    );

    // Total-value metrics of single days, with breakdowns.
    // 90 complete days in Meta's day buckets, then today's partial day.
    let days = &t.account_insights;
    assert_eq!(days.len(), 91);
    let (today, complete) = days.split_last().unwrap();
    assert!(today.partial, "today is partial");
    assert!(
        complete.iter().all(|d| !d.partial),
        "every earlier day is complete"
    );
    assert_eq!((today.date - complete[0].date).num_days(), 90);
    for pair in days[days.len() - 8..].windows(2) {
        let (prev, day) = (&pair[0], &pair[1]);
        let since = ts(&prev.end_time);
        let until = ts(&day.end_time);
        let tv: Vec<&str> = day
            .values
            .keys()
            .map(String::as_str)
            .filter(|m| !matches!(*m, "follower_count"))
            .collect();
        let r = get(
            server,
            &format!(
                "/v25.0/{}/insights?metric={}&period=day&metric_type=total_value&since={since}&until={until}&access_token={}",
                a.ig_user_id,
                tv.join(","),
                a.access_token
            ),
        )
        .await;
        for d in r.ok()["data"].as_array().unwrap() {
            let name = d["name"].as_str().unwrap();
            assert_eq!(
                d["total_value"]["value"], day.values[name],
                "{} {name}",
                day.date
            );
        }
        for (metric, dim) in [
            ("likes", "media_product_type"),
            ("follows_and_unfollows", "follow_type"),
            ("views", "follower_type"),
        ] {
            let r = get(
                server,
                &format!(
                    "/v25.0/{}/insights?metric={metric}&period=day&metric_type=total_value&breakdown={dim}&since={since}&until={until}&access_token={}",
                    a.ig_user_id, a.access_token
                ),
            )
            .await;
            let served: BTreeMap<String, u64> =
                r.ok()["data"][0]["total_value"]["breakdowns"][0]["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| {
                        (
                            x["dimension_values"][0].as_str().unwrap().to_owned(),
                            x["value"].as_u64().unwrap(),
                        )
                    })
                    .collect();
            assert_eq!(
                served, day.breakdowns[metric][dim],
                "{} {metric} by {dim}",
                day.date
            );
        }
    }

    // Time series over the last 30 days.
    let last = days.last().unwrap();
    let first = &days[days.len() - 30];
    let since = ts(&days[days.len() - 31].end_time);
    let until = ts(&last.end_time);
    let r = get(
        server,
        &format!(
            "/v25.0/{}/insights?metric=reach,follower_count&period=day&since={since}&until={until}&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    let data = r.ok()["data"].as_array().unwrap();
    let reach: Vec<(String, u64)> = data[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["end_time"].as_str().unwrap().to_owned(),
                v["value"].as_u64().unwrap(),
            )
        })
        .collect();
    let expect: Vec<(String, u64)> = days[days.len() - 30..]
        .iter()
        .map(|d| (d.end_time.clone(), d.values["reach"]))
        .collect();
    assert_eq!(reach, expect);
    assert_eq!(reach[0].0, first.end_time);
    let fc: Vec<u64> = data[1]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_u64().unwrap())
        .collect();
    let expect_fc: Vec<u64> = days
        .iter()
        .filter_map(|d| d.values.get("follower_count").copied())
        .collect();
    assert_eq!(fc, expect_fc[expect_fc.len() - fc.len()..]);
    assert_eq!(fc.len(), 29, "30 days minus the current one");

    // Online followers.
    let r = get(
        server,
        &format!("/v25.0/{}/insights?metric=online_followers&period=lifetime&since={since}&until={until}&access_token={}", a.ig_user_id, a.access_token),
    )
    .await;
    let served: Vec<(String, BTreeMap<String, u64>)> = r.ok()["data"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let hours = v["value"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, x)| (k.clone(), x.as_u64().unwrap()))
                .collect();
            (v["end_time"].as_str().unwrap().to_owned(), hours)
        })
        .collect();
    let expect: Vec<(String, BTreeMap<String, u64>)> = t
        .online_followers
        .iter()
        .filter(|o| served.iter().any(|s| s.0 == o.end_time))
        .map(|o| (o.end_time.clone(), o.by_hour.clone()))
        .collect();
    assert_eq!(served.len(), 29);
    assert_eq!(served, expect);

    // Demographics.
    for d in t
        .demographics
        .iter()
        .filter(|d| d.breakdown == "age" || d.breakdown == "age,gender")
    {
        let tf = d
            .timeframe
            .as_deref()
            .map(|x| format!("&timeframe={x}"))
            .unwrap_or_default();
        let r = get(
            server,
            &format!(
                "/v25.0/{}/insights?metric={}&period=lifetime&metric_type=total_value&breakdown={}{tf}&access_token={}",
                a.ig_user_id, d.metric, d.breakdown, a.access_token
            ),
        )
        .await;
        let skip = usize::from(d.timeframe.is_some());
        let served: Vec<(Vec<String>, u64)> =
            r.ok()["data"][0]["total_value"]["breakdowns"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    let keys = x["dimension_values"].as_array().unwrap()[skip..]
                        .iter()
                        .map(|k| k.as_str().unwrap().to_owned())
                        .collect();
                    (keys, x["value"].as_u64().unwrap())
                })
                .collect();
        let expect: Vec<(Vec<String>, u64)> =
            d.rows.iter().map(|r| (r.keys.clone(), r.value)).collect();
        assert_eq!(served, expect, "{} {}", d.metric, d.breakdown);
    }
    let metrics: BTreeSet<&str> = t.demographics.iter().map(|d| d.metric.as_str()).collect();
    assert!(metrics.contains("follower_demographics"), "{metrics:?}");
}

#[tokio::test]
async fn ground_truth_equals_what_the_endpoints_serve() {
    let server = start(config(121, 3, 250)).await;
    for login in [LoginKind::Facebook, LoginKind::Instagram] {
        let a = account(&server, login);
        let t = server.ground_truth(&a.ig_user_id, ApiVersion::V25).unwrap();
        assert_eq!(t.ig_user_id, a.ig_user_id);
        check_media(&server, &a, &t).await;
        check_stories(&server, &a, &t).await;
        check_account(&server, &a, &t).await;
    }
    // Account 0 (Facebook Login) has posts from before its business conversion.
    let a0 = server.accounts().remove(0);
    let t0 = server
        .ground_truth(&a0.ig_user_id, ApiVersion::V25)
        .unwrap();
    assert!(t0.media.iter().any(|m| matches!(
        m.insights,
        InsightsTruth::Error {
            subcode: Some(2108006),
            ..
        }
    )));

    // The control endpoint serves the same truth.
    let r = client()
        .get(format!(
            "{}/__sim/ground-truth/{}?version=v25.0",
            server.url(),
            a0.ig_user_id
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let served: GroundTruth = r.json().await.unwrap();
    assert_eq!(served, t0);
    assert!(server.ground_truth("nope", ApiVersion::V25).is_none());
}
