//! The HTTP API of a real `igsync serve` turns bad requests away: missing, malformed, wrong
//! and revoked keys (401), oversized bodies (413), malformed JSON (400), unknown accounts
//! (404); path traversal and SQL-injection strings are ordinary data, never file contents
//! or SQL.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_dialects;
use crate::support::{Dialect, Harness, api_key, http, record_figures, serve};

both_dialects!(the_api_rejects_bad_requests_and_treats_hostile_strings_as_data);

struct Probe {
    client: reqwest::Client,
    base: String,
    sent: usize,
    by_status: std::collections::BTreeMap<u16, usize>,
}

impl Probe {
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, String) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        self.sent += 1;
        *self.by_status.entry(status).or_default() += 1;
        if status >= 400 && !path.starts_with("/assets") && path.starts_with("/api") {
            // Every error has the one JSON shape.
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{path}: error body is JSON: {text}"));
            assert!(
                v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                "{text}"
            );
        }
        assert!(status < 500, "{path}: {status} {text}");
        (status, text)
    }
}

async fn the_api_rejects_bad_requests_and_treats_hostile_strings_as_data(d: Dialect) {
    let h = Harness::new(d, "api").await;
    h.ok(&["migrate"], None).await;
    h.add_unverified("17841400000000042", "EAAG-api-test-token")
        .await;
    h.ok(&["sync", "--all"], None).await;
    let key = api_key(&h, "api").await;
    let revoked = api_key(&h, "revoked").await;
    let revoked_id = revoked
        .trim_start_matches("igs_")
        .split('_')
        .next()
        .unwrap()
        .to_string();
    h.ok(&["keys", "revoke", &revoked_id], None).await;
    let (mut server, base) = serve(&h, &["--no-worker"]).await;
    let mut p = Probe {
        client: http(),
        base,
        sent: 0,
        by_status: Default::default(),
    };
    let k = Some(key.as_str());

    // 401: no key, a malformed one, a wrong secret for a real id, a revoked key.
    let real_id = key.trim_start_matches("igs_").split('_').next().unwrap();
    for bad in [
        None,
        Some("not-a-key"),
        Some("igs_"),
        Some(&*format!("igs_{real_id}_{}", "0".repeat(64))),
        Some(revoked.as_str()),
        Some(&*format!("{key}x")),
    ] {
        for path in [
            "/api/v1/accounts",
            "/metrics",
            "/readyz",
            "/api/openapi.json",
        ] {
            let (status, _) = p.send(Method::GET, path, bad, None).await;
            assert_eq!(status, 401, "{path} with {bad:?}");
        }
    }
    let (status, _) = p.send(Method::GET, "/api/v1/accounts", k, None).await;
    assert_eq!(status, 200);

    // 413: bodies over the limit, declared or not (sent raw: the server answers and closes
    // before the body is through, which an HTTP client library reports as an error).
    let big = vec![b' '; server::BODY_LIMIT_BYTES + 1];
    for (m, path) in [
        ("POST", "/api/v1/accounts"),
        ("POST", "/api/v1/jobs/bulk"),
        ("PATCH", "/api/v1/accounts/1"),
        ("POST", "/api/v1/keys"),
    ] {
        for chunked in [false, true] {
            let status = raw_request(&p.base, m, path, &key, &big, chunked).await;
            assert_eq!(status, 413, "{m} {path} (chunked: {chunked})");
            p.sent += 1;
            *p.by_status.entry(status).or_default() += 1;
        }
    }

    // 400: malformed JSON; 400 or 422: well-formed JSON of the wrong shape or with invalid
    // values.
    for (m, path, body, wanted) in [
        (Method::POST, "/api/v1/accounts", "{", 400),
        (
            Method::POST,
            "/api/v1/accounts",
            "{\"ig_user_id\": \"1\",",
            400,
        ),
        (Method::PATCH, "/api/v1/accounts/1", "nul", 400),
        (Method::POST, "/api/v1/jobs/bulk", "\u{0}\u{1}", 400),
        (Method::POST, "/api/v1/keys", "{'name': 'x'}", 400),
        (Method::POST, "/api/v1/accounts", "[]", 422),
        (
            Method::POST,
            "/api/v1/accounts",
            r#"{"ig_user_id": 5}"#,
            422,
        ),
        (
            Method::POST,
            "/api/v1/accounts",
            r#"{"ig_user_id":"1","token":"t","evil":1}"#,
            422,
        ),
        (
            Method::POST,
            "/api/v1/accounts",
            r#"{"ig_user_id":"../../etc","token":"t","verify":false}"#,
            422,
        ),
        (
            Method::PATCH,
            "/api/v1/accounts/1",
            r#"{"timezone":"../../etc/passwd"}"#,
            422,
        ),
        (
            Method::POST,
            "/api/v1/jobs/bulk",
            r#"{"action":"explode","ids":[1]}"#,
            422,
        ),
        (Method::POST, "/api/v1/keys", r#"{"name": ""}"#, 422),
        (Method::POST, "/api/v1/keys", "\"name\"", 422),
    ] {
        let (status, text) = p.send(m, path, k, Some(body.as_bytes().to_vec())).await;
        if wanted == 400 {
            assert_eq!(status, 400, "{path} {body}: {text}");
        } else {
            assert!(
                matches!(status, 400 | 422),
                "{path} {body}: {status} {text}"
            );
        }
    }

    // 404: unknown accounts (and other unknown things).
    for (m, path) in [
        (Method::GET, "/api/v1/accounts/999999"),
        (Method::GET, "/api/v1/accounts/999999/report"),
        (Method::POST, "/api/v1/accounts/999999/pause"),
        (Method::POST, "/api/v1/accounts/999999/resume"),
        (Method::POST, "/api/v1/accounts/999999/sync"),
        (Method::DELETE, "/api/v1/accounts/999999?confirm=1"),
        (Method::GET, "/api/v1/jobs/999999"),
        (Method::GET, "/api/v1/runs/999999"),
        (Method::GET, "/api/v1/schedules/nope"),
        (Method::DELETE, "/api/v1/keys/nope"),
        (Method::POST, "/api/v1/alerts/999999/ack"),
    ] {
        let (status, text) = p.send(m, path, k, None).await;
        assert_eq!(status, 404, "{path}: {text}");
    }
    let (status, _) = p
        .send(
            Method::PATCH,
            "/api/v1/accounts/999999",
            k,
            Some(br#"{"timezone":"UTC"}"#.to_vec()),
        )
        .await;
    assert_eq!(status, 404);

    // Path traversal: never a file, never a 200.
    for path in [
        "/assets/..%2f..%2f..%2fCargo.toml",
        "/assets/../../Cargo.toml",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/assets/....//....//etc/passwd",
        "/api/v1/schedules/..%2f..%2fetc%2fpasswd",
        "/api/v1/accounts/..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/api/v1/accounts/1/report?format=../../etc/passwd",
    ] {
        let (status, text) = p.send(Method::GET, path, k, None).await;
        assert!(matches!(status, 400 | 404 | 422), "{path}: {status}");
        assert!(
            !text.contains("root:") && !text.contains("[workspace]"),
            "{path}: {text}"
        );
    }

    // SQL injection strings are plain data.
    let hostile = [
        "' OR '1'='1",
        "'; DROP TABLE accounts; --",
        "\" OR 1=1 --",
        "1; DELETE FROM jobs",
        "%' OR 1=1 OR '%'='",
        "\\'; SELECT pg_sleep(10); --",
    ];
    let (_, jobs) = p.send(Method::GET, "/api/v1/jobs", k, None).await;
    let jobs_before = serde_json::from_str::<Value>(&jobs).unwrap()["total"].clone();
    assert!(jobs_before.as_i64().unwrap() > 0);
    for (i, s) in hostile.iter().enumerate() {
        let q = urlencode(s);
        let (status, text) = p
            .send(Method::GET, &format!("/api/v1/jobs?search={q}"), k, None)
            .await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["total"],
            0,
            "{s}"
        );
        let (status, _) = p
            .send(Method::GET, &format!("/api/v1/alerts?kind={q}"), k, None)
            .await;
        assert_eq!(status, 200);
        // Stored verbatim as a username and a key name.
        let ig = format!("1784140000000100{i}");
        let body = json!({"ig_user_id": ig, "token": "EAAG-x", "verify": false, "username": s});
        let (status, text) = p
            .send(
                Method::POST,
                "/api/v1/accounts",
                k,
                Some(body.to_string().into_bytes()),
            )
            .await;
        assert_eq!(status, 201, "{text}");
        let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
            .as_i64()
            .unwrap();
        let (_, text) = p
            .send(Method::GET, &format!("/api/v1/accounts/{id}"), k, None)
            .await;
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["username"],
            *s
        );
        let (status, text) = p
            .send(
                Method::POST,
                "/api/v1/keys",
                k,
                Some(json!({ "name": s }).to_string().into_bytes()),
            )
            .await;
        assert_eq!(status, 201, "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["name"], *s);
    }
    let (_, text) = p.send(Method::GET, "/api/v1/accounts", k, None).await;
    let listed = serde_json::from_str::<Value>(&text).unwrap();
    let n = listed["accounts"].as_array().map(|a| a.len()).unwrap_or(0);
    assert_eq!(n, 1 + hostile.len(), "every account is still there: {text}");
    let (_, jobs) = p.send(Method::GET, "/api/v1/jobs", k, None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&jobs).unwrap()["total"],
        jobs_before
    );

    assert!(server.alive(), "the server survived: {}", server.stderr());
    assert!(server.terminate().await.success());
    record_figures(
        &format!("http_api_rejections_{}", d.name()),
        serde_json::json!({
            "requests": p.sent,
            "answers_by_status": p.by_status,
            "hostile_strings_stored_verbatim": hostile.len() * 2,
            "server_errors": 0,
        }),
    );
    h.db.teardown().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends `body` with a declared `Content-Length` or with `Transfer-Encoding: chunked` over a
/// plain TCP connection and returns the status code (even when the server answers before
/// the body is through).
async fn raw_request(
    base: &str,
    method: &str,
    path: &str,
    key: &str,
    body: &[u8],
    chunked: bool,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n"
    );
    let _ = conn.write_all(head.as_bytes()).await;
    for chunk in body.chunks(8192) {
        let sent = async {
            if chunked {
                conn.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
            }
            conn.write_all(chunk).await?;
            if chunked {
                conn.write_all(b"\r\n").await?;
            }
            Ok::<(), std::io::Error>(())
        };
        if sent.await.is_err() {
            break;
        }
    }
    if chunked {
        let _ = conn.write_all(b"0\r\n\r\n").await;
    }
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer to {method} {path}: {text}"))
}
