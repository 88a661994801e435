//! Account insights: Pacific-day buckets, metric_type and period rules, windows,
//! breakdowns, online followers and demographics.

use serde_json::Value;
use simulator::LoginKind;

use crate::{account, assert_graph_error, config, get, start};

fn url(a: &simulator::SimAccount, query: &str) -> String {
    format!(
        "/v25.0/{}/insights?{query}&access_token={}",
        a.ig_user_id, a.access_token
    )
}

#[tokio::test]
async fn time_series_reach_per_pacific_day() {
    let server = start(config(71, 2, 300)).await;
    let a = account(&server, LoginKind::Facebook);
    let now = server.now().timestamp();
    let r = get(
        &server,
        &url(
            &a,
            &format!(
                "metric=reach,follower_count&period=day&since={}&until={now}",
                now - 7 * 86_400
            ),
        ),
    )
    .await;
    let data = r.ok()["data"].as_array().unwrap();
    assert_eq!(data[0]["name"], "reach");
    assert_eq!(data[0]["period"], "day");
    assert_eq!(
        data[0]["id"],
        format!("{}/insights/reach/day", a.ig_user_id)
    );
    let values = data[0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 8, "7 days back plus today");
    for v in values {
        let end = v["end_time"].as_str().unwrap();
        assert!(
            end.ends_with("T07:00:00+0000") || end.ends_with("T08:00:00+0000"),
            "{end}"
        );
        assert!(v["value"].is_u64());
    }
    // follower_count excludes the current day.
    assert_eq!(data[1]["values"].as_array().unwrap().len(), 7);
    assert!(
        r.body["paging"]["next"]
            .as_str()
            .unwrap()
            .contains("since=")
    );
}

#[tokio::test]
async fn total_value_rules() {
    let server = start(config(72, 2, 300)).await;
    let a = account(&server, LoginKind::Instagram);
    let now = server.now().timestamp();
    let week = format!("since={}&until={now}", now - 7 * 86_400);

    // total_value-only metrics in a time_series request fail the whole request.
    let r = get(
        &server,
        &url(
            &a,
            &format!("metric=reach,views,profile_views&period=day&{week}"),
        ),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 100)["message"],
        "(#100) The following metrics (views,profile_views) should be specified with parameter metric_type=total_value"
    );
    // With total_value they work, with breakdowns.
    let r = get(
        &server,
        &url(&a, &format!("metric=views,likes,total_interactions&period=day&metric_type=total_value&breakdown=media_product_type&{week}")),
    )
    .await;
    let data = r.ok()["data"].as_array().unwrap();
    let tv = &data[1]["total_value"];
    let total = tv["value"].as_u64().unwrap();
    let results = tv["breakdowns"][0]["results"].as_array().unwrap();
    assert_eq!(
        tv["breakdowns"][0]["dimension_keys"][0],
        "media_product_type"
    );
    let sum: u64 = results.iter().map(|x| x["value"].as_u64().unwrap()).sum();
    assert_eq!(sum, total, "likes by product type add up");
    // A metric that does not support the breakdown: unknown error.
    let r = get(
        &server,
        &url(
            &a,
            &format!(
                "metric=likes&period=day&metric_type=total_value&breakdown=follow_type&{week}"
            ),
        ),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 1)["message"],
        "An unknown error has occurred."
    );
    // Breakdowns are ignored by time_series.
    let r = get(
        &server,
        &url(
            &a,
            &format!("metric=reach&period=day&breakdown=media_product_type&{week}"),
        ),
    )
    .await;
    assert!(r.ok()["data"][0].get("total_value").is_none());
    // Reach over the week is less than the sum of daily reach (not additive).
    let daily = get(
        &server,
        &url(&a, &format!("metric=reach&period=day&{week}")),
    )
    .await;
    let sum: u64 = daily.ok()["data"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_u64().unwrap())
        .sum();
    let whole = get(
        &server,
        &url(
            &a,
            &format!("metric=reach&period=day&metric_type=total_value&{week}"),
        ),
    )
    .await;
    let total = whole.ok()["data"][0]["total_value"]["value"]
        .as_u64()
        .unwrap();
    assert!(total < sum, "{total} < {sum}");
    // Unknown metric and bad period.
    let r = get(&server, &url(&a, "metric=impressions&period=day")).await;
    assert!(
        assert_graph_error(&r, 100)["message"]
            .as_str()
            .unwrap()
            .starts_with("(#100) Starting from version 22")
    );
    let r = get(&server, &url(&a, "metric=reach&period=fortnight")).await;
    assert_graph_error(&r, 100);
    let r = get(
        &server,
        &url(
            &a,
            "metric=profile_visits&period=day&metric_type=total_value",
        ),
    )
    .await;
    assert!(
        assert_graph_error(&r, 100)["message"]
            .as_str()
            .unwrap()
            .contains("metric[0] must be one of")
    );
}

#[tokio::test]
async fn windows_are_limited_to_30_days() {
    let server = start(config(73, 2, 100)).await;
    let a = account(&server, LoginKind::Facebook);
    let now = server.now().timestamp();
    let r = get(
        &server,
        &url(
            &a,
            &format!(
                "metric=reach&period=day&since={}&until={now}",
                now - 31 * 86_400
            ),
        ),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 100)["message"],
        "(#100) There cannot be more than 30 days (2592000 s) between since and until"
    );
    let r = get(
        &server,
        &url(
            &a,
            &format!(
                "metric=follower_count&period=day&since={}&until={}",
                now - 50 * 86_400,
                now - 40 * 86_400
            ),
        ),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 100)["message"],
        "(#100) (follower_count) metric only supports querying data for the last 30 days excluding the current day"
    );
    // Older reach is fine in 30-day windows.
    let r = get(
        &server,
        &url(
            &a,
            &format!(
                "metric=reach&period=day&since={}&until={}",
                now - 80 * 86_400,
                now - 60 * 86_400
            ),
        ),
    )
    .await;
    assert_eq!(r.ok()["data"][0]["values"].as_array().unwrap().len(), 21);
}

#[tokio::test]
async fn recent_days_change_settled_days_do_not() {
    let server = start(config(74, 2, 300)).await;
    let a = account(&server, LoginKind::Facebook);
    let now = server.now().timestamp();
    let q = format!(
        "metric=reach&period=day&since={}&until={now}",
        now - 6 * 86_400
    );
    let before = get(&server, &url(&a, &q)).await.ok()["data"][0]["values"].clone();
    server.advance_clock(chrono::Duration::hours(12));
    let after = get(&server, &url(&a, &q)).await.ok()["data"][0]["values"].clone();
    let vals = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x["value"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let (b, f) = (vals(&before), vals(&after));
    assert_eq!(b.len(), f.len());
    assert_eq!(b[..3], f[..3], "days older than 48 h are settled");
    assert_ne!(
        b[b.len() - 2..],
        f[f.len() - 2..],
        "the last two days still move"
    );
}

#[tokio::test]
async fn online_followers_and_demographics() {
    let mut c = config(75, 4, 600);
    c.tight_budget_accounts = 1; // the last account is tiny
    let server = start(c).await;
    // The account with the largest audience has engaged-audience demographics.
    let a = server
        .accounts()
        .into_iter()
        .max_by_key(|a| a.followers_count)
        .unwrap();
    let now = server.now().timestamp();
    let r = get(
        &server,
        &url(
            &a,
            &format!(
                "metric=online_followers&period=lifetime&since={}&until={now}",
                now - 3 * 86_400
            ),
        ),
    )
    .await;
    let values = r.ok()["data"][0]["values"].as_array().unwrap();
    assert!(!values.is_empty());
    let hours = values[0]["value"].as_object().unwrap();
    let mut keys: Vec<u32> = hours.keys().map(|k| k.parse().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, (0..24).collect::<Vec<_>>());

    let r = get(
        &server,
        &url(&a, "metric=engaged_audience_demographics&period=lifetime&metric_type=total_value&timeframe=this_month&breakdown=city"),
    )
    .await;
    let b = &r.ok()["data"][0]["total_value"]["breakdowns"][0];
    assert_eq!(
        b["dimension_keys"],
        serde_json::json!(["timeframe", "city"])
    );
    let results = b["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 45);
    assert_eq!(results[0]["dimension_values"][0], "THIS_MONTH");
    let r = get(
        &server,
        &url(&a, "metric=follower_demographics&period=lifetime&metric_type=total_value&breakdown=age,gender"),
    )
    .await;
    let b = &r.ok()["data"][0]["total_value"]["breakdowns"][0];
    assert_eq!(b["dimension_keys"], serde_json::json!(["age", "gender"]));
    let r = get(
        &server,
        &url(&a, "metric=reached_audience_demographics&period=lifetime&metric_type=total_value&timeframe=last_90_days&breakdown=age"),
    )
    .await;
    assert_graph_error(&r, 100);
    let r = get(
        &server,
        &url(
            &a,
            "metric=follower_demographics&period=day&metric_type=total_value&breakdown=age",
        ),
    )
    .await;
    assert_graph_error(&r, 100);

    // Under 100 followers: no follower_count, online_followers or demographics.
    let tiny = server.accounts().pop().unwrap();
    assert!(tiny.followers_count < 100);
    let r = get(
        &server,
        &url(
            &tiny,
            &format!(
                "metric=reach,follower_count&period=day&since={}&until={now}",
                now - 3 * 86_400
            ),
        ),
    )
    .await;
    let names: Vec<&str> = r.data_texts("name");
    assert_eq!(names, ["reach"]);
    let r = get(
        &server,
        &url(
            &tiny,
            "metric=follower_demographics&period=lifetime&metric_type=total_value&breakdown=age",
        ),
    )
    .await;
    assert_eq!(r.ok()["data"].as_array().unwrap().len(), 0);
}
