//! The OpenAPI document against the server's real answers: every response a synced
//! server gives is valid against the schema the document states for its operation and
//! status, so a handler whose type changes without the document (or the reverse) fails here.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::SimApp;

/// The schema the document states for `method path` answering `status` with JSON, as a
/// validator that resolves the document's `$ref`s.
fn validator_for(
    doc: &Value,
    method: &str,
    path: &str,
    status: StatusCode,
) -> jsonschema::Validator {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    let mut response = &op["responses"][status.as_str()];
    assert!(
        response.is_object(),
        "{method} {path} answers {status}, which the document does not list"
    );
    if let Some(reference) = response["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/responses/");
        response = &doc["components"]["responses"][name];
    }
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status} has no JSON schema: {response}"
    );
    // The operation's schema at the root, beside the components its `$ref`s point into.
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"],
    });
    for (k, v) in schema.as_object().unwrap() {
        root[k] = v.clone();
    }
    jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("the schema of {method} {path} {status} does not compile: {e}"))
}

/// Sends the request and checks its JSON answer against the document.
async fn check(
    env: &SimApp,
    doc: &Value,
    method: Method,
    template: &str,
    concrete: &str,
    body: Option<Value>,
) -> Value {
    let mut req = env.app.request(method.clone(), concrete);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {concrete} ({status}) is not JSON: {e}: {text}"));
    let validator = validator_for(doc, &method.as_str().to_lowercase(), template, status);
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {concrete} answered {status} with a body its document refuses:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(&value).unwrap()
    );
    value
}

#[tokio::test]
async fn every_answer_of_a_synced_server_matches_its_documented_schema() {
    let env = SimApp::start(2, 6).await;
    let app = &env.app;
    let doc = app.get_json("/api/openapi.json").await;
    let (id, ref sim_account) = env.accounts[0];
    let account = id.to_string();

    // A full sync, so that every list has rows: runs, steps, jobs, metrics, missing values.
    let queued = check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/accounts/{id}/sync",
        &format!("/api/v1/accounts/{id}/sync"),
        None,
    )
    .await;
    env.engine.run_until_idle().await.unwrap();
    let scoped = check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/accounts/{id}/sync",
        &format!("/api/v1/accounts/{id}/sync?only=account_insights&since=2026-01-01"),
        None,
    )
    .await;
    assert!(scoped["scope"]["since"].is_string(), "{scoped}");
    env.engine.run_until_idle().await.unwrap();
    let job = queued["job_id"].as_i64().unwrap();
    let runs = app.get_json(&format!("/api/v1/runs?account={id}")).await;
    let run = runs["runs"][0]["id"].as_i64().unwrap();
    let alert = env
        .app
        .store
        .alert_insert(store::NewAlert {
            account_id: Some(id),
            kind: "sync_failed".into(),
            severity: store::Severity::Warning,
            dedup_key: "openapi".into(),
            title: "t".into(),
            message: "m".into(),
            payload: json!({"why": "test"}),
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap()
        .unwrap()
        .id;

    let gets: Vec<(&str, String)> = vec![
        ("/healthz", "/healthz".into()),
        ("/readyz", "/readyz".into()),
        ("/api/v1/overview", "/api/v1/overview".into()),
        ("/api/v1/accounts", "/api/v1/accounts".into()),
        ("/api/v1/accounts/{id}", format!("/api/v1/accounts/{id}")),
        (
            "/api/v1/accounts/{id}",
            format!("/api/v1/accounts/@{}", sim_account.username),
        ),
        ("/api/v1/accounts/{id}", "/api/v1/accounts/999999".into()),
        ("/api/v1/definitions", "/api/v1/definitions".into()),
        ("/api/v1/jobs", "/api/v1/jobs?limit=500".into()),
        ("/api/v1/jobs", "/api/v1/jobs?limit=0".into()),
        ("/api/v1/jobs/{id}", format!("/api/v1/jobs/{job}")),
        ("/api/v1/queue", "/api/v1/queue".into()),
        ("/api/v1/queue/metrics", "/api/v1/queue/metrics".into()),
        ("/api/v1/queue/workers", "/api/v1/queue/workers".into()),
        ("/api/v1/schedules", "/api/v1/schedules".into()),
        ("/api/v1/runs", format!("/api/v1/runs?account={id}")),
        ("/api/v1/runs/{id}", format!("/api/v1/runs/{run}")),
        (
            "/api/v1/accounts/{id}/metrics/{metric}",
            format!("/api/v1/accounts/{id}/metrics/reach"),
        ),
        (
            "/api/v1/accounts/{id}/metrics/{metric}",
            format!("/api/v1/accounts/{id}/metrics/online_followers"),
        ),
        ("/api/v1/deprecations", "/api/v1/deprecations".into()),
        (
            "/api/v1/accounts/{id}/missing",
            format!("/api/v1/accounts/{account}/missing"),
        ),
        ("/api/v1/alerts", "/api/v1/alerts".into()),
        ("/api/v1/usage", "/api/v1/usage".into()),
        ("/api/v1/keys", "/api/v1/keys".into()),
        ("/api/v1/audit", "/api/v1/audit".into()),
        ("/api/v1/competitors", "/api/v1/competitors".into()),
    ];
    for (template, concrete) in &gets {
        check(&env, &doc, Method::GET, template, concrete, None).await;
    }
    let schedules = app.get_json("/api/v1/schedules").await;
    if let Some(name) = schedules["schedules"][0]["name"].as_str() {
        check(
            &env,
            &doc,
            Method::GET,
            "/api/v1/schedules/{name}",
            &format!("/api/v1/schedules/{name}"),
            None,
        )
        .await;
    }

    // Writes, with the bodies their request schemas admit.
    check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/alerts/{id}/ack",
        &format!("/api/v1/alerts/{alert}/ack"),
        None,
    )
    .await;
    check(
        &env,
        &doc,
        Method::PATCH,
        "/api/v1/accounts/{id}",
        &format!("/api/v1/accounts/{id}"),
        Some(json!({"timezone": "Europe/Berlin"})),
    )
    .await;
    check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/accounts/{id}/pause",
        &format!("/api/v1/accounts/{id}/pause"),
        None,
    )
    .await;
    check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/accounts/{id}/resume",
        &format!("/api/v1/accounts/{id}/resume"),
        None,
    )
    .await;
    check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/jobs/bulk",
        "/api/v1/jobs/bulk",
        Some(json!({"action": "retry", "filter": {"state": "failed"}})),
    )
    .await;
    check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/jobs/{id}/retry",
        &format!("/api/v1/jobs/{job}/retry"),
        None,
    )
    .await;
    check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/keys",
        "/api/v1/keys",
        Some(json!({"name": "reader", "role": "viewer"})),
    )
    .await;
    check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/accounts",
        "/api/v1/accounts",
        Some(json!({"ig_user_id": "17841400000000099", "token": "t", "verify": false})),
    )
    .await;
    check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/competitors/sync",
        "/api/v1/competitors/sync",
        None,
    )
    .await;
    // Errors have the one documented shape.
    check(
        &env,
        &doc,
        Method::POST,
        "/api/v1/jobs/bulk",
        "/api/v1/jobs/bulk",
        Some(json!({"action": "retry", "filter": {}})),
    )
    .await;
}

/// The request bodies the handlers take are the schemas' objects: an unknown property is
/// refused by both.
#[test]
fn request_schemas_refuse_what_the_handlers_refuse() {
    let doc = server::openapi::spec();
    let schemas = &doc["components"]["schemas"];
    for name in [
        "AddAccount",
        "UpdateAccount",
        "BulkRequest",
        "CreateKey",
        "AddCompetitor",
        "JobFilter",
    ] {
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name} admits unknown properties: {}",
            schemas[name]
        );
    }
    // Every response of an operation with a JSON body names a schema of the components
    // (or is an error), so the body's shape is a type's.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let Some(schema) = response["content"]["application/json"]["schema"].as_object()
                else {
                    continue;
                };
                let named = schema
                    .get("$ref")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.starts_with("#/components/schemas/"));
                assert!(
                    named || path == "/api/openapi.json",
                    "{method} {path} {status}: an inline schema instead of a type's: {}",
                    Value::Object(schema.clone())
                );
            }
            if let Some(schema) = op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .filter(|_| path != "/webhooks/meta")
            {
                assert!(
                    schema.contains_key("$ref"),
                    "{method} {path}: an inline request schema"
                );
            }
        }
    }
}

/// The document's `Report` schema is the report's shape, section by section: every
/// report validates against it (the peer benchmark and an empty history included), and a
/// figure of the wrong type or a missing section does not.
#[test]
fn the_report_schema_is_the_shape_of_every_report() {
    use analytics::{AccountHistory, Period, ReportConfig, performance_report};
    use server::report::{ReportSubject, report_json};

    let doc = server::openapi::spec();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": doc["components"],
            "$ref": "#/components/schemas/Report",
        }))
        .unwrap();
    let subject = crate::report::fixture_subject();
    let now = crate::report::fixture_now();
    let empty = AccountHistory::default();
    let empty = performance_report(
        &empty,
        Period::last_days(now, empty.account.time_zone, 7).unwrap(),
        now,
        &ReportConfig::default(),
    );
    let anonymous = ReportSubject {
        name: None,
        ..subject.clone()
    };
    let full = report_json(&crate::report::fixture_report_with_peers(), &subject);
    assert!(full["peer_benchmark"]["figures"][0]["rank"].is_object());
    for report in [
        full.clone(),
        report_json(&crate::report::fixture_report(), &subject),
        report_json(&empty, &anonymous),
    ] {
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }

    let mut wrong = full.clone();
    wrong["followers"]["now"]["value"] = json!("12");
    assert!(!validator.is_valid(&wrong), "a figure's value is a number");
    let mut wrong = full.clone();
    wrong["posts"][0]["figures"][0]["unit"] = json!("furlongs");
    assert!(!validator.is_valid(&wrong), "units are named");
    let mut wrong = full;
    wrong.as_object_mut().unwrap().remove("best_times");
    assert!(!validator.is_valid(&wrong), "every section is required");
}
