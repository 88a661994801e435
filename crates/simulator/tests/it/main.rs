//! Integration tests of the simulator: real HTTP against `SimServer::start` on port 0.

mod account_insights;
mod batch;
mod control;
mod determinism;
mod discovery;
mod edges;
mod expansion;
mod faults;
mod login;
mod malformed;
mod media_metrics;
mod multi_id;
mod paging;
mod rate_limits;
mod settling;
mod stories;
mod tokens;
mod truth;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Once;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use simulator::{
    FaultMix, GroundTruth, InsightsTruth, LoginKind, SimAccount, SimConfig, SimServer,
};

/// The clock every test starts at unless it says otherwise: all versions are released and
/// every 2025–2026 metric exists.
pub(crate) fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 15, 18, 0, 0).unwrap()
}

/// A configuration with a fixed clock.
pub(crate) fn config(seed: u64, accounts: usize, media: usize) -> SimConfig {
    let mut c = SimConfig::new(seed, accounts, media);
    c.now = default_now();
    c.faults = FaultMix::default();
    c
}

pub(crate) async fn start(config: SimConfig) -> SimServer {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    SimServer::start(config, addr)
        .await
        .expect("simulator starts")
}

static PROVIDER: Once = Once::new();

/// An HTTP client (plain HTTP; the TLS provider is installed because reqwest requires one).
pub(crate) fn client() -> reqwest::Client {
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A response: status, headers and JSON body.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// The error object, asserting there is one.
    pub(crate) fn error(&self) -> &Value {
        assert!(
            self.body.get("error").is_some(),
            "expected an error, got {} {}",
            self.status,
            self.body
        );
        &self.body["error"]
    }

    pub(crate) fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        &self.body
    }

    /// The text `field` of each entry of a successful answer's `data`, in order.
    pub(crate) fn data_texts(&self, field: &str) -> Vec<&str> {
        self.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d[field].as_str().unwrap())
            .collect()
    }
}

/// `GET {url}{path_and_query}`; the body must be JSON.
pub(crate) async fn get(server: &SimServer, path_and_query: &str) -> Resp {
    get_url(&format!("{}{}", server.url(), path_and_query)).await
}

pub(crate) async fn get_url(url: &str) -> Resp {
    let r = client().get(url).send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    Resp {
        status,
        headers,
        body,
    }
}

/// `POST {url}{path}` with a form body.
pub(crate) async fn post_form(server: &SimServer, path: &str, form: &[(&str, &str)]) -> Resp {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let r = client()
        .post(format!("{}{}", server.url(), path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    Resp {
        status,
        headers,
        body,
    }
}

/// Percent-encodes a form value.
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn account(server: &SimServer, login: LoginKind) -> SimAccount {
    server
        .accounts()
        .into_iter()
        .find(|a| a.login == login)
        .expect("an account with that login")
}

/// An account that has posts predating its business conversion (every third account does).
pub(crate) fn converted_account(server: &SimServer) -> SimAccount {
    server.accounts().into_iter().next().unwrap()
}

pub(crate) fn truth(server: &SimServer, a: &SimAccount) -> GroundTruth {
    server
        .ground_truth(&a.ig_user_id, simulator::ApiVersion::V25)
        .expect("ground truth")
}

/// Ids of media whose insights fail with the given subcode in the ground truth.
pub(crate) fn media_with_error(t: &GroundTruth, subcode: u32) -> Vec<String> {
    t.media
        .iter()
        .filter(|m| matches!(&m.insights, InsightsTruth::Error { subcode: Some(s), .. } if *s == subcode))
        .map(|m| m.id.clone())
        .collect()
}

/// Ids of media with insight values, of one product type and media type.
pub(crate) fn media_ok(t: &GroundTruth, product: &str, media_type: &str) -> Vec<String> {
    t.media
        .iter()
        .filter(|m| m.media_product_type == product && m.media_type == media_type)
        .filter(|m| matches!(m.insights, InsightsTruth::Values { .. }))
        .map(|m| m.id.clone())
        .collect()
}

/// Asserts the Graph error shape and returns the error object.
pub(crate) fn assert_graph_error(r: &Resp, code: u64) -> Value {
    let e = r.error().clone();
    assert_eq!(e["code"], code, "{}", r.body);
    assert!(e["message"].is_string(), "{}", r.body);
    assert!(e["type"].is_string(), "{}", r.body);
    assert!(e["is_transient"].is_boolean(), "{}", r.body);
    assert!(
        e["fbtrace_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{}",
        r.body
    );
    e
}
