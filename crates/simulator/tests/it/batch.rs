//! Batch requests: `POST /` with `batch=[...]`, each operation counted, per-item answers.

use serde_json::{Value, json};
use simulator::LoginKind;

use crate::{
    account, assert_graph_error, config, converted_account, media_with_error, post_form, start,
    truth,
};

#[tokio::test]
async fn runs_each_operation_and_answers_per_item() {
    let server = start(config(31, 3, 200)).await;
    let a = converted_account(&server);
    let t = truth(&server, &a);
    let old = &media_with_error(&t, 2108006)[0];
    let batch = json!([
        { "method": "GET", "relative_url": "me?fields=id,name" },
        { "method": "GET", "relative_url": format!("{}/media?limit=2&fields=id", a.ig_user_id) },
        { "method": "GET", "relative_url": format!("v25.0/{old}/insights?metric=reach") },
    ]);
    server.reset_stats();
    let r = post_form(
        &server,
        "/v25.0/",
        &[
            ("access_token", a.access_token.as_str()),
            ("batch", &batch.to_string()),
        ],
    )
    .await;
    let items = r.ok().as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["code"], 200);
    assert_eq!(items[1]["code"], 200);
    assert_eq!(items[2]["code"], 400);
    let b1: Value = serde_json::from_str(items[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(b1["data"].as_array().unwrap().len(), 2);
    let b2: Value = serde_json::from_str(items[2]["body"].as_str().unwrap()).unwrap();
    assert_eq!(b2["error"]["error_subcode"], 2108006);
    let headers = items[0]["headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h["name"] == "x-business-use-case-usage")
    );
    let stats = server.stats();
    assert_eq!(stats.calls_total, 3, "the envelope is not an operation");
    assert_eq!(stats.rate_limit_units_total, 3);
    assert_eq!(stats.by_endpoint.get("POST / (batch)"), Some(&1));

    let r = post_form(
        &server,
        "/",
        &[
            ("access_token", a.access_token.as_str()),
            ("include_headers", "false"),
            (
                "batch",
                &json!([{ "method": "GET", "relative_url": "me" }]).to_string(),
            ),
        ],
    )
    .await;
    assert!(r.ok()[0].get("headers").is_none());
}

#[tokio::test]
async fn malformed_batches_get_graph_errors() {
    let server = start(config(32, 2, 20)).await;
    let a = account(&server, LoginKind::Instagram);
    let r = post_form(
        &server,
        "/v25.0/",
        &[
            ("access_token", a.access_token.as_str()),
            ("batch", "[{oops"),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_graph_error(&r, 100);
    let ops: Vec<Value> = (0..51)
        .map(|_| json!({ "method": "GET", "relative_url": "me" }))
        .collect();
    let r = post_form(
        &server,
        "/v25.0/",
        &[
            ("access_token", a.access_token.as_str()),
            ("batch", &Value::Array(ops).to_string()),
        ],
    )
    .await;
    let e = assert_graph_error(&r, 100);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Maximum batch size is 50")
    );
    // A top-level token is required.
    let r = post_form(&server, "/v25.0/", &[("batch", "[]")]).await;
    assert_graph_error(&r, 104);
    // An operation without relative_url is answered in its item.
    let r = post_form(
        &server,
        "/v25.0/",
        &[
            ("access_token", a.access_token.as_str()),
            ("batch", r#"[{"method":"GET"},{"relative_url":"me"}]"#),
        ],
    )
    .await;
    let items = r.ok();
    assert_eq!(items[0]["code"], 400);
    assert_eq!(items[1]["code"], 200);
}
