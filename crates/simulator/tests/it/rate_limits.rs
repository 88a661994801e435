//! Rate limits: usage headers on every response, per-account budgets → 80002, app budget → 4.

use serde_json::Value;
use simulator::LoginKind;

use crate::{account, assert_graph_error, client, config, get, start};

fn buc(r: &crate::Resp, id: &str) -> Value {
    let raw = r.header("x-business-use-case-usage").expect("BUC header");
    let v: Value = serde_json::from_str(&raw).unwrap();
    let entry = v[id][0].clone();
    assert_eq!(entry["type"], "instagram");
    entry
}

#[tokio::test]
async fn a_tight_account_runs_out_with_80002() {
    let mut c = config(91, 3, 20);
    c.tight_budget_accounts = 1;
    c.tight_budget = 5;
    let server = start(c).await;
    let tight = server.accounts().pop().unwrap();
    let path = format!(
        "/v25.0/{}?fields=id&access_token={}",
        tight.ig_user_id, tight.access_token
    );
    let mut last_pct = 0;
    for i in 0..5 {
        let r = get(&server, &path).await;
        r.ok();
        let u = buc(&r, &tight.ig_user_id);
        let pct = u["call_count"].as_u64().unwrap();
        assert!(pct > last_pct);
        last_pct = pct;
        // Once the budget is used up, the header announces the wait.
        assert_eq!(u["estimated_time_to_regain_access"] == 0, i < 4, "{u}");
        assert!(r.header("x-app-usage").is_some());
        assert_eq!(r.header("facebook-api-version").unwrap(), "v25.0");
    }
    let r = get(&server, &path).await;
    assert_eq!(r.status, 400);
    let e = assert_graph_error(&r, 80002);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("(#80002) There have been too many calls")
    );
    let u = buc(&r, &tight.ig_user_id);
    assert_eq!(u["call_count"], 100);
    assert!(u["estimated_time_to_regain_access"].as_u64().unwrap() > 0);
    assert_eq!(server.stats().throttled_total, 1);

    // Others are unaffected.
    let other = account(&server, LoginKind::Facebook);
    get(
        &server,
        &format!("/v25.0/me?access_token={}", other.access_token),
    )
    .await
    .ok();

    // POST /__sim/reset restores budgets.
    let reset = client()
        .post(format!("{}/__sim/reset", server.url()))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    get(&server, &path).await.ok();
}

#[tokio::test]
async fn multi_id_reads_count_one_unit_per_id() {
    let mut c = config(92, 2, 50);
    c.tight_budget_accounts = 1;
    c.tight_budget = 4;
    let server = start(c).await;
    let tight = server.accounts().pop().unwrap();
    let t = server
        .ground_truth(&tight.ig_user_id, simulator::ApiVersion::V25)
        .unwrap();
    let ids: Vec<&str> = t.media.iter().take(4).map(|m| m.id.as_str()).collect();
    let r = get(
        &server,
        &format!(
            "/v25.0/?ids={}&access_token={}",
            ids.join(","),
            tight.access_token
        ),
    )
    .await;
    r.ok();
    assert_eq!(buc(&r, &tight.ig_user_id)["call_count"], 100);
    let r = get(
        &server,
        &format!("/v25.0/me?access_token={}", tight.access_token),
    )
    .await;
    assert_graph_error(&r, 80002);
    assert_eq!(
        server.stats().rate_limit_units_by_account[&tight.ig_user_id],
        5
    );
}

#[tokio::test]
async fn the_app_budget_fails_everyone_with_code_4() {
    let mut c = config(93, 2, 10);
    c.app_budget = 3;
    let server = start(c).await;
    let a = account(&server, LoginKind::Facebook);
    let b = account(&server, LoginKind::Instagram);
    for _ in 0..3 {
        get(
            &server,
            &format!("/v25.0/me?access_token={}", a.access_token),
        )
        .await
        .ok();
    }
    let r = get(
        &server,
        &format!("/v25.0/me?access_token={}", b.access_token),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 4)["message"],
        "(#4) Application request limit reached"
    );
    let app: Value = serde_json::from_str(&r.header("x-app-usage").unwrap()).unwrap();
    assert_eq!(app["call_count"], 100);
}
