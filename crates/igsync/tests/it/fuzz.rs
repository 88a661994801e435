//! Property-based fuzzing (proptest) of every parser that sees outside input: the Graph API
//! response parsers, the configuration (file and environment) and the HTTP API's request
//! bodies. 10,000 cases per target normally, 1,000,000 with `IGSYNC_SLOW_TESTS=1`; the
//! property is "no panic" (and for the API: never a 500), on random bytes, random JSON or
//! TOML, and mutations of real inputs.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use http::Request;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use tower::ServiceExt;

use crate::support::{TempDir, pick, record_figures, sim_config, start_sim};

fn cases() -> u32 {
    pick(10_000, 1_000_000)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    })
}

/// Random JSON: scalars of every kind (huge, negative, fractional, unicode, dates) nested in
/// arrays and objects.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,16}".prop_map(Value::String),
        Just(Value::String("2019-04-05T07:56:32+0000".into())),
        Just(Value::String("../../etc/passwd".into())),
        Just(Value::String("' OR 1=1 --".into())),
        Just(Value::from(u64::MAX)),
        Just(Value::from(-1)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the `n`-th node (pre-order, modulo the node count) of `v` by `with`.
fn replace_nth(v: &mut Value, n: &mut usize, with: &Value) -> bool {
    if *n == 0 {
        *v = with.clone();
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| replace_nth(x, n, with)),
        Value::Object(o) => o.values_mut().any(|x| replace_nth(x, n, with)),
        _ => false,
    }
}

/// A structural mutation (a node replaced) or a byte-level one (bytes overwritten, the end
/// cut off) of a real input.
fn mutate(sample: &[u8], pick: usize, with: &Value, bytes: &[(usize, u8)], cut: usize) -> Vec<u8> {
    match serde_json::from_slice::<Value>(sample) {
        Ok(mut v) if !pick.is_multiple_of(3) => {
            let mut n = pick;
            replace_nth(&mut v, &mut n, with);
            v.to_string().into_bytes()
        }
        _ => {
            let mut b = sample.to_vec();
            for (pos, byte) in bytes {
                if !b.is_empty() {
                    let i = pos % b.len();
                    b[i] = *byte;
                }
            }
            b.truncate(b.len().saturating_sub(cut % 16));
            b
        }
    }
}

/// One fuzz input: random bytes, random JSON, or a mutated sample.
#[derive(Debug, Clone)]
enum Input {
    Bytes(Vec<u8>),
    Json(Value),
    Mutated {
        sample: usize,
        pick: usize,
        with: Value,
        bytes: Vec<(usize, u8)>,
        cut: usize,
    },
}

impl Input {
    fn body(&self, samples: &[Vec<u8>]) -> Vec<u8> {
        match self {
            Input::Bytes(b) => b.clone(),
            Input::Json(v) => v.to_string().into_bytes(),
            Input::Mutated {
                sample,
                pick,
                with,
                bytes,
                cut,
            } => mutate(&samples[sample % samples.len()], *pick, with, bytes, *cut),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Input::Bytes(_) => "random bytes",
            Input::Json(_) => "random JSON",
            Input::Mutated { .. } => "mutated real input",
        }
    }
}

fn arb_input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..400).prop_map(Input::Bytes),
        1 => arb_json().prop_map(Input::Json),
        3 => (
            any::<usize>(),
            0usize..400,
            arb_json(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            any::<usize>(),
        )
            .prop_map(|(sample, pick, with, bytes, cut)| Input::Mutated {
                sample,
                pick,
                with,
                bytes,
                cut,
            }),
    ]
}

/// Real Graph API answers, captured from the simulator over HTTP.
async fn graph_samples() -> Vec<Vec<u8>> {
    let sim = start_sim(sim_config(91, 2, 30)).await;
    let http = crate::support::http();
    let mut out = Vec::new();
    for a in sim.accounts() {
        let (id, token) = (a.ig_user_id.clone(), a.access_token.clone());
        let base = format!("{}/v26.0", sim.url());
        let fields = "id,caption,media_type,media_product_type,media_url,permalink,timestamp,\
                      like_count,comments_count,children{id,media_type,timestamp}";
        let mut paths = vec![
            format!(
                "{id}?fields=id,username,name,biography,website,followers_count,follows_count,media_count"
            ),
            format!("{id}/media?fields={fields}&limit=5"),
            format!("{id}/stories?fields=id,media_type,timestamp"),
            format!("{id}/insights?metric=reach,follower_count&period=day&metric_type=time_series"),
            format!(
                "{id}/insights?metric=likes,views,reach&period=day&metric_type=total_value&breakdown=media_product_type"
            ),
            format!(
                "{id}/insights?metric=follower_demographics&period=lifetime&metric_type=total_value&breakdown=country&timeframe=this_month"
            ),
            format!("{id}/insights?metric=online_followers&period=lifetime"),
            format!("{id}/insights?metric=impressions&period=day"),
            format!("debug_token?input_token={token}"),
            "me?fields=id,user_id,username".to_string(),
            "me/accounts?fields=id,name,instagram_business_account{id,username}".to_string(),
            format!("{id}/media?fields=nonsense_field"),
        ];
        let media: Value = http
            .get(format!(
                "{base}/{id}/media?fields=id&limit=5&access_token={token}"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<String> = media["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if !ids.is_empty() {
            paths.push(format!(
                "?ids={}&fields=insights.metric(reach,views,likes,saved)",
                ids.join(",")
            ));
            paths.push(format!(
                "{}/insights?metric=reach,saved,profile_activity&breakdown=action_type",
                ids[0]
            ));
        }
        for path in paths {
            let sep = if path.contains('?') { '&' } else { '?' };
            let res = http
                .get(format!("{base}/{path}{sep}access_token={token}"))
                .send()
                .await
                .unwrap();
            out.push(res.bytes().await.unwrap().to_vec());
        }
    }
    sim.shutdown().await;
    for extra in [
        r#"[{"code":200,"headers":[],"body":"{\"data\":[]}"},null,{"code":400,"body":"{\"error\":{\"code\":190}}"}]"#,
        r#"{"access_token":"abc","token_type":"bearer","expires_in":5183944}"#,
        r#"{"178":[{"type":"instagram","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":3}]}"#,
        r#"{"call_count":28,"total_time":25,"total_cputime":25}"#,
    ] {
        out.push(extra.as_bytes().to_vec());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_api_response_parsers_never_panic() {
    let samples = Arc::new(graph_samples().await);
    let accepted_real: usize = samples
        .iter()
        .map(|s| graph::fuzz::parse_any_response(s))
        .sum();
    assert!(accepted_real > samples.len(), "the real answers parse");
    let n = cases();
    let figures = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let by_kind: RefCell<BTreeMap<&'static str, u64>> = RefCell::default();
        let accepted = Cell::new(0u64);
        runner(n)
            .run(&arb_input(), |input| {
                let body = input.body(&samples);
                let ok = graph::fuzz::parse_any_response(&body);
                *by_kind.borrow_mut().entry(input.kind()).or_default() += 1;
                accepted.set(accepted.get() + ok as u64);
                Ok(())
            })
            .unwrap();
        let by_kind = by_kind.into_inner();
        let accepted = accepted.get();
        serde_json::json!({
            "cases": by_kind.values().sum::<u64>(),
            "cases_by_kind": by_kind,
            "parsers_per_case": 20,
            "parser_acceptances": accepted,
            "real_answers_mutated": samples.len(),
            "seconds": started.elapsed().as_secs(),
            "panics": 0,
        })
    })
    .await
    .unwrap();
    assert!(figures["cases"].as_u64().unwrap() >= u64::from(n));
    record_figures("fuzz_graph_parsers", figures);
}

/// A configuration input: a TOML file (random, or a mutated valid one) and environment
/// variables with random values.
#[derive(Debug, Clone)]
struct ConfigInput {
    file: Option<String>,
    env: Vec<(usize, String)>,
}

const VALID_TOML: &str = r#"
database_url = "sqlite://igsync.db"
[log]
format = "json"
level = "info"
[graph]
api_version = "v25.0"
timeout_secs = 30
base_url = "https://graph.facebook.com"
[sync]
concurrency = 4
max_attempts = 3
backoff_secs = 60
full_cron = "0 0 2 * * *"
light_cron = "0 30 * * * *"
[retention]
completed_keep = 100
[alerts]
follower_growth_threshold = 100
webhook_url = "https://example.com/hook"
[server]
listen = "127.0.0.1:8080"
"#;

const ENV_VARS: &[&str] = &[
    "IGSYNC_DATABASE_URL",
    "IGSYNC_SECRET_KEY",
    "IGSYNC_LOG_FORMAT",
    "IGSYNC_LOG_LEVEL",
    "IGSYNC_GRAPH_URL",
    "IGSYNC_GRAPH_API_VERSION",
    "IGSYNC_GRAPH_TIMEOUT_SECS",
    "IGSYNC_SYNC_CONCURRENCY",
    "IGSYNC_SYNC_MAX_ATTEMPTS",
    "IGSYNC_SYNC_BACKOFF_SECS",
    "IGSYNC_SYNC_LEASE_SECS",
    "IGSYNC_SYNC_FULL_CRON",
    "IGSYNC_SYNC_LIGHT_CRON",
    "IGSYNC_RETENTION_COMPLETED_KEEP",
    "IGSYNC_ALERTS_FOLLOWER_GROWTH_THRESHOLD",
    "IGSYNC_ALERTS_WEBHOOK_URL",
    "IGSYNC_SERVER_LISTEN",
];

fn arb_value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,24}",
        "[0-9]{1,25}",
        "-[0-9]{1,5}",
        "[*/0-9 ,-]{0,20}",
        Just("0 0 */6 * * *".to_string()),
        Just("v26.0".to_string()),
        Just("postgres://u:p@h:1/d".to_string()),
        Just("sqlite://".to_string()),
        Just("http://".to_string()),
        Just("a".repeat(64)),
        Just("[::1]:99999".to_string()),
    ]
}

fn arb_toml() -> impl Strategy<Value = String> {
    let keys = [
        "database_url",
        "secret_key",
        "log.format",
        "graph.base_url",
        "graph.api_version",
        "graph.timeout_secs",
        "sync.concurrency",
        "sync.full_cron",
        "sync.lease_secs",
        "retention.failed_keep",
        "alerts.webhook_url",
        "server.listen",
        "unknown.key",
        "sync",
        "a.b.c.d",
    ];
    let line = (
        0..keys.len(),
        prop_oneof![
            arb_value_text().prop_map(|s| format!("{s:?}")),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| f.to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            Just("1979-05-27T07:32:00Z".to_string()),
            Just("[1, \"two\", 3.0]".to_string()),
            Just("{ inline = 1 }".to_string()),
            ".{0,10}",
        ],
    )
        .prop_map(move |(k, v)| {
            let key = keys[k];
            match key.split_once('.') {
                Some((section, rest)) if !rest.contains('.') => {
                    format!("[{section}]\n{rest} = {v}")
                }
                _ => format!("{key} = {v}"),
            }
        });
    prop_oneof![
        proptest::collection::vec(line, 0..6).prop_map(|l| l.join("\n")),
        (0usize..VALID_TOML.len(), ".{0,8}", 0usize..40).prop_map(|(at, insert, cut)| {
            let mut s = VALID_TOML.to_string();
            let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            s.insert_str(at, &insert);
            let end = s.len().saturating_sub(cut);
            let end = (0..=end)
                .rev()
                .find(|i| s.is_char_boundary(*i))
                .unwrap_or(0);
            s.truncate(end);
            s
        }),
        proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn arb_config() -> impl Strategy<Value = ConfigInput> {
    (
        proptest::option::of(arb_toml()),
        proptest::collection::vec((0..ENV_VARS.len(), arb_value_text()), 0..4),
    )
        .prop_map(|(file, env)| ConfigInput { file, env })
}

#[test]
fn the_config_parser_never_panics() {
    let path = std::path::Path::new("igsync.toml");
    let n = cases();
    let started = Instant::now();
    let (ok, rejected, with_file) = (Cell::new(0u64), Cell::new(0u64), Cell::new(0u64));
    runner(n)
        .run(&arb_config(), |input| {
            let file = input.file.as_deref().map(|text| (path, text));
            with_file.set(with_file.get() + u64::from(file.is_some()));
            let env: Vec<(&str, String)> = input
                .env
                .iter()
                .map(|(i, v)| (ENV_VARS[*i], v.clone()))
                .collect();
            let lookup = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
            match igsync::config::Config::from_text(file, &Default::default(), &lookup) {
                Ok(_) => ok.set(ok.get() + 1),
                Err(e) => {
                    rejected.set(rejected.get() + 1);
                    // Shrunk to the smallest such input, which the failure names.
                    let message = e.to_string();
                    if message.contains('\n') {
                        return Err(TestCaseError::fail(format!(
                            "a configuration error of more than one line: {message:?}"
                        )));
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    let (ok, rejected, with_file) = (ok.get(), rejected.get(), with_file.get());
    assert!(
        ok > 0 && rejected > 0,
        "both valid and invalid configurations were tried"
    );
    record_figures(
        "fuzz_config",
        serde_json::json!({
            "cases": ok + rejected,
            "with_a_file": with_file,
            "accepted": ok,
            "rejected_with_one_line": rejected,
            "seconds": started.elapsed().as_secs(),
            "panics": 0,
        }),
    );
}

/// The API's endpoints that take a body, with a valid body each (the seed of mutations).
const ENDPOINTS: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/accounts",
        r#"{"ig_user_id":"17841400000000555","token":"EAAG-fuzz","login":"facebook","timezone":"Europe/Berlin","verify":false,"username":"fuzz"}"#,
    ),
    (
        "PATCH",
        "/api/v1/accounts/1",
        r#"{"timezone":"America/New_York"}"#,
    ),
    (
        "POST",
        "/api/v1/jobs/bulk",
        r#"{"action":"retry","ids":[1,2,3]}"#,
    ),
    (
        "POST",
        "/api/v1/jobs/bulk",
        r#"{"action":"cancel","filter":{"state":"pending","queue":"instagram-sync","kind":"sync_account","account":1,"q":"x"}}"#,
    ),
    ("POST", "/api/v1/keys", r#"{"name":"fuzz key"}"#),
    ("POST", "/api/v1/accounts/1/pause", "{}"),
    ("POST", "/api/v1/accounts/1/resume", "{}"),
    ("POST", "/api/v1/accounts/1/sync?plan=light", "{}"),
    ("POST", "/api/v1/jobs/1/retry", "{}"),
    ("POST", "/api/v1/jobs/1/cancel", "{}"),
    ("POST", "/api/v1/alerts/1/ack", "{}"),
    ("POST", "/api/v1/schedules/full_sync/pause", "{}"),
    ("POST", "/login", "key=igs_0011223344556677_abc"),
    ("POST", "/queue/bulk", "action=retry&ids=1&csrf=x"),
    ("POST", "/accounts/1/sync", "csrf=x"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_request_bodies_never_panic_or_fail_with_500() {
    let dir = TempDir::new("fuzz-api");
    let store = crate::support::open_store(&format!(
        "sqlite://{}",
        dir.path().join("igsync.db").display()
    ))
    .await;
    let cipher = store::Cipher::new(&store::SecretKey::generate().unwrap());
    store
        .account_upsert(store::NewAccount {
            ig_user_id: "17841400000000001".into(),
            username: "fuzzed".into(),
            name: None,
            account_type: store::AccountType::Business,
            login: store::LoginKind::Facebook,
            page_id: None,
            timezone: None,
            token: cipher.encrypt(&store::SecretString::new("EAAG-t")).unwrap(),
            token_expires_at: None,
            now: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let (_, key) = server::auth::create_api_key(&*store, "fuzz", chrono::Utc::now())
        .await
        .unwrap();
    let key = key.expose().to_string();
    let state =
        server::AppState::new(store.clone(), server::ServerSettings::default()).with_cipher(cipher);
    let app = server::router(state);
    let samples: Vec<Vec<u8>> = ENDPOINTS
        .iter()
        .map(|(_, _, b)| b.as_bytes().to_vec())
        .collect();
    // Every valid key name creates a key row: mutations of the key body stay rare.
    let n = cases();
    let rt = tokio::runtime::Handle::current();
    let figures = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let by_status: RefCell<BTreeMap<u16, u64>> = RefCell::default();
        let by_endpoint: RefCell<BTreeMap<String, u64>> = RefCell::default();
        let strategy = (0..ENDPOINTS.len(), arb_input(), any::<bool>(), 0u8..100);
        runner(n)
            .run(&strategy, |(endpoint, input, json_type, roll)| {
                let (method, path, _) = ENDPOINTS[endpoint];
                let input = match input {
                    Input::Mutated { .. } if path == "/api/v1/keys" && roll > 2 => {
                        Input::Bytes(input.body(&samples))
                    }
                    Input::Mutated {
                        sample,
                        pick,
                        with,
                        bytes,
                        cut,
                    } => Input::Mutated {
                        sample: endpoint,
                        pick: pick + sample % 2,
                        with,
                        bytes,
                        cut,
                    },
                    other => other,
                };
                let body = input.body(&samples);
                let content_type = if path.starts_with("/api") && json_type {
                    "application/json"
                } else if path.starts_with("/api") {
                    "text/plain"
                } else {
                    "application/x-www-form-urlencoded"
                };
                let req = Request::builder()
                    .method(method)
                    .uri(path)
                    .header("authorization", format!("Bearer {key}"))
                    .header("content-type", content_type)
                    .body(Body::from(body))
                    .unwrap();
                let res = rt.block_on(app.clone().oneshot(req)).unwrap();
                let status = res.status().as_u16();
                prop_assert!(status != 500, "{method} {path}: 500 for {:?}", input);
                *by_status.borrow_mut().entry(status).or_default() += 1;
                *by_endpoint
                    .borrow_mut()
                    .entry(format!("{method} {path}"))
                    .or_default() += 1;
                Ok(())
            })
            .unwrap();
        let (by_status, by_endpoint) = (by_status.into_inner(), by_endpoint.into_inner());
        serde_json::json!({
            "cases": by_status.values().sum::<u64>(),
            "endpoints": by_endpoint.len(),
            "answers_by_status": by_status,
            "seconds": started.elapsed().as_secs(),
            "panics": 0,
            "internal_errors": 0,
        })
    })
    .await
    .unwrap();
    assert!(figures["cases"].as_u64().unwrap() >= u64::from(n));
    record_figures("fuzz_api_bodies", figures);
    drop(store);
}
