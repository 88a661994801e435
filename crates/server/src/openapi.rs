//! `/api/openapi.json`: the OpenAPI 3.1 document of the server's programmatic interface —
//! the JSON API under `/api/v1` and the operational endpoints — with their parameters,
//! request bodies and response shapes. The dashboard's HTML pages are for browsers and are
//! not part of it. A test checks that every API route of the router is documented here, that
//! every documented route exists, and that no dashboard page is documented.
//!
//! The operations are a table of `add(path, method, …)` calls here (and in
//! `competitors.rs`); every request and response body they name is a schema of
//! `components.schemas`, generated from the handlers' own types by [`schema`].
//!
//! The document promises what the server does: every value a schema admits is accepted
//! (unless it names something that does not exist, or conflicts with another parameter or
//! with stored state, which JSON Schema cannot say), and every value it refuses is refused.
//! `.ci/schemathesis` checks both against a running server.

mod competitors;
pub(crate) mod schema;

use axum::Json;
use serde_json::{Map, Value, json};

/// `GET /api/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(spec())
}

/// What `POST /api/v1/accounts/{id}/sync?only=` accepts.
const SYNC_ONLY: [&str; 6] = [
    "profile",
    "media",
    "media_insights",
    "account_insights",
    "stories",
    "demographics",
];

/// The document.
pub fn spec() -> Value {
    let mut paths = Map::new();
    let mut add = |path: &str, method: &str, op: Value| {
        let entry = paths
            .entry(path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(method.to_owned(), op);
        }
    };

    // ----- operations -----
    add(
        "/healthz",
        "get",
        json!({
            "tags": ["operations"],
            "summary": "Liveness: 200 while the process runs (no key needed)",
            "security": [],
            "responses": {"200": json_response("Alive", schema_ref("Health"))},
        }),
    );
    add(
        "/readyz",
        "get",
        json!({
            "tags": ["operations"],
            "summary": "Readiness: 200 when the database answers a ping, 503 with a reason otherwise; always within 1.5 s",
            "responses": {
                "200": json_response("Ready", schema_ref("Readiness")),
                "401": error_ref(),
                "429": error_ref(),
                "503": json_response("The database does not answer", schema_ref("Readiness")),
            },
        }),
    );
    add(
        "/metrics",
        "get",
        json!({
            "tags": ["operations"],
            "summary": "Prometheus text exposition (format 0.0.4)",
            "description": "Gauges igsync_accounts{status}, igsync_jobs{queue,state}, \
                igsync_jobs_scheduled{queue}, igsync_queue_age_seconds{queue}, igsync_workers, \
                igsync_sync_lag_seconds{account}, igsync_token_expires_in_seconds{account}, \
                igsync_graph_usage_percent{account}, igsync_graph_app_usage_percent, \
                igsync_alerts_open{severity}, igsync_account_info{account,username,ig_user_id}; \
                counters igsync_jobs_finished_total{queue,kind,outcome}, \
                igsync_graph_requests_total{account}, igsync_graph_units_total{account}, \
                igsync_graph_account_errors_total{account}, igsync_graph_errors_total{code}; \
                histograms igsync_job_wait_seconds and igsync_job_run_seconds{queue,kind}.",
            "responses": {
                "200": {"description": "The exposition",
                        "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}},
                "401": error_ref(),
                "403": error_ref(),
                "503": error_ref(),
            },
        }),
    );
    // ----- Meta's webhook notifications -----
    add(
        "/webhooks/meta",
        "get",
        json!({
            "tags": ["webhooks"],
            "summary": "Meta's subscription handshake: echoes hub.challenge when hub.mode is subscribe and hub.verify_token is the configured webhooks.verify_token (no key needed)",
            "security": [],
            "parameters": [
                {"name": "hub.mode", "in": "query", "required": false, "schema": string()},
                {"name": "hub.verify_token", "in": "query", "required": false, "schema": string()},
                {"name": "hub.challenge", "in": "query", "required": false, "schema": string()},
            ],
            "responses": {
                "200": {"description": "The challenge, as sent",
                        "content": {"text/plain": {"schema": {"type": "string"}}}},
                "403": error_ref(),
                "404": error_ref(),
                "503": error_ref(),
            },
        }),
    );
    add(
        "/webhooks/meta",
        "post",
        json!({
            "tags": ["webhooks"],
            "summary": "One of Meta's notifications (story_insights, comments, mentions), signed with X-Hub-Signature-256: HMAC-SHA256 of the raw body with the app secret (no key needed)",
            "description": "The signature is checked over the raw bytes before anything parses                 the body; the event is stored, and its processing queued, before the 200. A                 redelivery of a stored event is answered 200 with duplicate: true. 401 when the                 signature is missing or wrong, 413 above 1 MiB, 404 when webhooks are not                 enabled, 503 when the database is unavailable (Meta retries).",
            "security": [],
            "parameters": [
                {"name": "X-Hub-Signature-256", "in": "header", "required": false, "schema": string()},
            ],
            "requestBody": {"required": false, "content": {"application/json": {"schema": {}}}},
            "responses": {
                "200": json_response("Stored", schema_ref("WebhookReceived")),
                "400": error_ref(),
                "401": error_ref(),
                "404": error_ref(),
                "413": error_ref(),
                "503": error_ref(),
            },
        }),
    );
    add(
        "/api/openapi.json",
        "get",
        json!({
            "tags": ["operations"],
            "summary": "This document",
            "responses": {"200": json_response("OpenAPI 3.1", json!({"type": "object"})), "401": error_ref(), "403": error_ref()},
        }),
    );

    // ----- overview and accounts -----
    add(
        "/api/v1/overview",
        "get",
        op(
            "accounts",
            "Accounts with sync status, last and next sync and token expiry; open alerts; live queue counts",
            &[],
            None,
            &[("200", json_response("The overview", schema_ref("Overview")))],
        ),
    );
    add(
        "/api/v1/accounts",
        "get",
        op(
            "accounts",
            "All accounts",
            &[],
            None,
            &[(
                "200",
                json_response("Accounts by id", schema_ref("AccountList")),
            )],
        ),
    );
    add(
        "/api/v1/accounts",
        "post",
        op(
            "accounts",
            "Register an account (or update the registration of an existing one)",
            &[],
            Some(schema_ref("AddAccount")),
            &[
                ("201", json_response("Registered", schema_ref("Account"))),
                (
                    "200",
                    json_response("Existing registration updated", schema_ref("Account")),
                ),
                ("502", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/accounts/{id}",
        "get",
        op(
            "accounts",
            "One account",
            &[account_param()],
            None,
            &[
                ("200", json_response("The account", schema_ref("Account"))),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/accounts/{id}",
        "patch",
        op(
            "accounts",
            "Change the account's time zone (an IANA name)",
            &[account_param()],
            Some(schema_ref("UpdateAccount")),
            &[
                ("200", json_response("Updated", schema_ref("Account"))),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/accounts/{id}",
        "delete",
        op(
            "accounts",
            "Remove the account and all its stored history",
            &[
                account_param(),
                query_param(
                    "confirm",
                    ig_user_id(),
                    true,
                    "Must equal the account's ig_user_id (409 when it names another account)",
                ),
            ],
            None,
            &[
                ("204", json!({"description": "Removed"})),
                ("404", error_ref()),
                ("409", error_ref()),
            ],
        ),
    );
    for (action, summary, status) in [
        ("pause", "Pause the account: schedules skip it", "200"),
        (
            "resume",
            "Resume a paused account (409 when it is not paused)",
            "200",
        ),
    ] {
        add(
            &format!("/api/v1/accounts/{{id}}/{action}"),
            "post",
            op(
                "accounts",
                summary,
                &[account_param()],
                None,
                &[
                    (status, json_response("The account", schema_ref("Account"))),
                    ("404", error_ref()),
                    ("409", error_ref()),
                ],
            ),
        );
    }
    add(
        "/api/v1/accounts/{id}/sync",
        "post",
        op(
            "accounts",
            "Queue a sync of the account (or of one kind of its data); merged into an active \
             sync of the same plan and scope",
            &[
                account_param(),
                query_param(
                    "plan",
                    enum_of(&["full", "light"]),
                    false,
                    "Default full; not with `only`",
                ),
                query_param(
                    "only",
                    enum_of(&SYNC_ONLY),
                    false,
                    "Sync one kind of data on its own (recorded in the history as its own run)",
                ),
                query_param(
                    "media",
                    string(),
                    false,
                    "With only=media_insights: Instagram media ids of stored posts, separated by commas",
                ),
                query_param(
                    "since",
                    date(),
                    false,
                    "With only=media_insights (posts published from this day, account time zone) \
                     or only=account_insights (Meta's days from this one); not with `media`",
                ),
                query_param(
                    "until",
                    date(),
                    false,
                    "Last day, inclusive; default today; needs `since`",
                ),
            ],
            None,
            &[
                (
                    "202",
                    json_response("Queued or merged", schema_ref("SyncRequested")),
                ),
                ("404", error_ref()),
                ("409", error_ref()),
            ],
        ),
    );

    // ----- analytics -----
    add(
        "/api/v1/accounts/{id}/report",
        "get",
        op(
            "analytics",
            "The performance report: account metrics and follower growth, engagement rates, \
             content by type, top and trending posts, best posting times, demographics, \
             comparison with the previous period",
            &[
                account_param(),
                query_param(
                    "from",
                    date(),
                    false,
                    "First local day (account time zone); not after `to`, at most 731 days \
                     before it; not with `days`",
                ),
                query_param(
                    "to",
                    date(),
                    false,
                    "Last local day, inclusive; default today",
                ),
                query_param(
                    "days",
                    int_range(1, 731),
                    false,
                    "Last N days up to `to`; default 30; not with `from`",
                ),
                query_param(
                    "format",
                    enum_of(&["json", "csv", "table", "html"]),
                    false,
                    "Default json",
                ),
            ],
            None,
            &[
                (
                    "200",
                    json!({
                        "description": "The report. In JSON every figure is {key, label, value, unit, note, definition}; \
                            `key` is a key of GET /api/v1/definitions. CSV has one row per figure.",
                        "content": {
                            "application/json": {"schema": schema_ref("Report")},
                            "text/csv": {"schema": {"type": "string"}},
                            "text/plain": {"schema": {"type": "string"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    }),
                ),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/definitions",
        "get",
        op(
            "analytics",
            "Every figure's definition, by key",
            &[],
            None,
            &[("200", json_response("The glossary", schema_ref("Glossary")))],
        ),
    );

    // ----- queue -----
    let job_filters = || {
        vec![
            empty_means_absent(query_param(
                "state",
                job_states(),
                false,
                "pending, running, completed, failed, cancelled; several separated by commas",
            )),
            empty_means_absent(query_param("queue", text(100), false, "Queue name")),
            empty_means_absent(query_param("kind", text(100), false, "Job kind")),
            query_param("account", int(), false, "Account id"),
            query_param("run", int(), false, "Sync run id"),
            empty_means_absent(query_param(
                "search",
                text(crate::api::MAX_SEARCH_CHARS),
                false,
                "Plain text matched (case-insensitively) against the kind, the arguments and the errors",
            )),
        ]
    };
    let mut list_params = job_filters();
    list_params.push(query_param("limit", int_range(1, 500), false, "Default 50"));
    list_params.push(query_param(
        "offset",
        int_range(0, i64::from(u32::MAX)),
        false,
        "Default 0",
    ));
    add(
        "/api/v1/jobs",
        "get",
        op(
            "queue",
            "Search jobs (newest first)",
            &list_params,
            None,
            &[(
                "200",
                json_response("A page of jobs", schema_ref("JobList")),
            )],
        ),
    );
    add(
        "/api/v1/jobs/bulk",
        "post",
        op(
            "queue",
            "Retry, cancel or delete jobs by ids or by a filter",
            &[],
            Some(schema_ref("BulkRequest")),
            &[(
                "200",
                json_response("How many changed", schema_ref("BulkResult")),
            )],
        ),
    );
    add(
        "/api/v1/jobs/{id}",
        "get",
        op(
            "queue",
            "A job with its arguments, attempts, errors, progress and timings",
            &[id_param("id", "Job id")],
            None,
            &[
                ("200", json_response("The job", schema_ref("Job"))),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/jobs/{id}",
        "delete",
        op(
            "queue",
            "Delete a job that is not running",
            &[id_param("id", "Job id")],
            None,
            &[
                ("204", json!({"description": "Deleted"})),
                ("404", error_ref()),
                ("409", error_ref()),
            ],
        ),
    );
    for (action, summary) in [
        (
            "retry",
            "Retry a failed, cancelled or pending job now (attempts reset)",
        ),
        ("cancel", "Cancel a pending or running job"),
    ] {
        add(
            &format!("/api/v1/jobs/{{id}}/{action}"),
            "post",
            op(
                "queue",
                summary,
                &[id_param("id", "Job id")],
                None,
                &[
                    ("200", json_response("The job", schema_ref("Job"))),
                    ("404", error_ref()),
                    ("409", error_ref()),
                ],
            ),
        );
    }
    add(
        "/api/v1/queue",
        "get",
        op(
            "queue",
            "Live counts by queue and state, and queue age",
            &[],
            None,
            &[(
                "200",
                json_response("The snapshot", schema_ref("QueueSnapshot")),
            )],
        ),
    );
    add(
        "/api/v1/queue/metrics",
        "get",
        op(
            "queue",
            "Throughput and wait / run-time percentiles over time, from the persisted histograms",
            &[
                query_param(
                    "from",
                    instant(),
                    false,
                    "Date or RFC 3339 time, before `to`; default 7 days (minute: 6 hours) \
                     before `to`",
                ),
                query_param("to", instant(), false, "Date or RFC 3339 time; default now"),
                empty_means_absent(query_param(
                    "resolution",
                    enum_of(&["minute", "hour", "day"]),
                    false,
                    "Default hour; minute covers at most 2 days, hour 93, day 1,098",
                )),
                empty_means_absent(query_param("queue", text(100), false, "Only this queue")),
            ],
            None,
            &[(
                "200",
                json_response("The series", schema_ref("QueueMetrics")),
            )],
        ),
    );
    add(
        "/api/v1/queue/workers",
        "get",
        op(
            "queue",
            "Worker processes seen in the last two minutes",
            &[],
            None,
            &[("200", json_response("Workers", schema_ref("WorkerList")))],
        ),
    );

    // ----- schedules, history, alerts, usage, keys -----
    add(
        "/api/v1/schedules",
        "get",
        op(
            "schedules",
            "Every schedule with its last and next run",
            &[],
            None,
            &[(
                "200",
                json_response("Schedules", schema_ref("ScheduleList")),
            )],
        ),
    );
    add(
        "/api/v1/schedules/{name}",
        "get",
        op(
            "schedules",
            "One schedule",
            &[name_param()],
            None,
            &[
                ("200", json_response("The schedule", schema_ref("Schedule"))),
                ("404", error_ref()),
            ],
        ),
    );
    for (action, summary) in [
        ("pause", "Pause a schedule"),
        (
            "resume",
            "Resume a schedule (its next run is the first tick after now)",
        ),
    ] {
        add(
            &format!("/api/v1/schedules/{{name}}/{action}"),
            "post",
            op(
                "schedules",
                summary,
                &[name_param()],
                None,
                &[
                    ("200", json_response("The schedule", schema_ref("Schedule"))),
                    ("404", error_ref()),
                ],
            ),
        );
    }
    add(
        "/api/v1/schedules/{name}/run",
        "post",
        op(
            "schedules",
            "Insert the schedule's job now (merged into a run-now still active)",
            &[name_param()],
            None,
            &[
                ("202", json_response("Queued", schema_ref("RunNow"))),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/runs",
        "get",
        op(
            "history",
            "Sync runs, newest first",
            &[
                query_param("account", int(), false, "Account id"),
                empty_means_absent(query_param(
                    "status",
                    enum_of(&["running", "succeeded", "failed", "cancelled"]),
                    false,
                    "Run status",
                )),
                query_param("limit", int_range(1, 500), false, "Default 50"),
                query_param(
                    "before",
                    int(),
                    false,
                    "Runs older than this run id (next page)",
                ),
            ],
            None,
            &[
                ("200", json_response("Runs", schema_ref("RunList"))),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/runs/{id}",
        "get",
        op(
            "history",
            "A run with its steps",
            &[id_param("id", "Run id")],
            None,
            &[
                ("200", json_response("The run", schema_ref("RunDetail"))),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/accounts/{id}/metrics/{metric}",
        "get",
        op(
            "analytics",
            "One account metric per Pacific day as it was known at `as_of`: the value then, \
             the value first read, Meta's revisions, when it was read and its source; the days \
             Meta did not give, with the reason",
            &[
                account_param(),
                path_param(
                    "metric",
                    json!({"type": "string", "pattern": "^[a-z0-9_]{1,100}$"}),
                    "A Graph API account metric, e.g. reach, views, follower_count",
                ),
                empty_means_absent(query_param(
                    "from",
                    date(),
                    false,
                    "First Pacific day; default 29 days before `to`; not after `to`, at most \
                     730 days before it",
                )),
                empty_means_absent(query_param(
                    "to",
                    date(),
                    false,
                    "Last Pacific day, inclusive; default today (UTC)",
                )),
                empty_means_absent(query_param(
                    "as_of",
                    instant(),
                    false,
                    "Answer as known at this time (date or RFC 3339 time); default now",
                )),
            ],
            None,
            &[
                (
                    "200",
                    json_response("The metric's days", schema_ref("MetricSeries")),
                ),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/deprecations",
        "get",
        op(
            "analytics",
            "Deprecation early warning: metrics the pinned Graph API version still serves that a \
             newer version refuses (found by the daily probe of the newest version, or by any \
             sync), per login, with the day Meta stops serving the pinned version",
            &[],
            None,
            &[(
                "200",
                json_response("Metrics at risk", schema_ref("Deprecations")),
            )],
        ),
    );
    add(
        "/api/v1/accounts/{id}/missing",
        "get",
        op(
            "analytics",
            "Values Meta does not give for the account, each with its reason (a post published \
             before the business conversion, a story with fewer than 5 viewers, days below the \
             100-follower threshold, demographics cut to the top 45, the latest days of \
             online followers not served yet, …). Such values are never stored as 0",
            &[
                account_param(),
                empty_means_absent(query_param(
                    "kind",
                    enum_of(&store::MissingKind::ALL.map(store::MissingKind::as_str)),
                    false,
                    "Only this kind; default all",
                )),
            ],
            None,
            &[
                (
                    "200",
                    json_response(
                        "Missing values, by kind, object, day, metric, timeframe and breakdown",
                        schema_ref("MissingList"),
                    ),
                ),
                ("404", error_ref()),
                ("422", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/alerts",
        "get",
        op(
            "alerts",
            "Alerts, newest first",
            &[
                query_param("account", int(), false, "Account id"),
                empty_means_absent(query_param(
                    "kind",
                    text(100),
                    false,
                    "e.g. sync_failed, sync_stale, token_expiring, rate_limit_pressure, needs_reauth, follower_growth, trending_post, anomaly",
                )),
                query_param(
                    "open",
                    json!({"type": "boolean"}),
                    false,
                    "Only alerts not acknowledged",
                ),
                query_param("limit", int_range(1, 500), false, "Default 50"),
            ],
            None,
            &[("200", json_response("Alerts", schema_ref("AlertList")))],
        ),
    );
    add(
        "/api/v1/alerts/{id}/ack",
        "post",
        op(
            "alerts",
            "Acknowledge an alert",
            &[id_param("id", "Alert id")],
            None,
            &[
                (
                    "200",
                    json_response("Acknowledged", schema_ref("Acknowledged")),
                ),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/usage",
        "get",
        op(
            "usage",
            "Graph API usage per account: latest share of Meta's budget and calls per day",
            &[query_param(
                "days",
                int_range(1, 90),
                false,
                "Days of call history; default 7",
            )],
            None,
            &[("200", json_response("Usage", schema_ref("UsageReport")))],
        ),
    );
    add(
        "/api/v1/keys",
        "get",
        op(
            "keys",
            "API keys (never the keys themselves)",
            &[],
            None,
            &[("200", json_response("Keys", schema_ref("KeyList")))],
        ),
    );
    add(
        "/api/v1/keys",
        "post",
        op(
            "keys",
            "Create an API key; the answer holds the key, once",
            &[],
            Some(schema_ref("CreateKey")),
            &[("201", json_response("Created", schema_ref("CreatedKey")))],
        ),
    );
    add(
        "/api/v1/keys/{id}",
        "delete",
        op(
            "keys",
            "Revoke an API key",
            &[path_param("id", string(), "Key id")],
            None,
            &[
                ("204", json!({"description": "Revoked"})),
                ("404", error_ref()),
            ],
        ),
    );

    add(
        "/api/v1/accounts/{id}/share",
        "post",
        op(
            "shares",
            "Create a read-only link to the account's report (the last 30 days, no sign-in) that \
             expires; the answer holds its URL and token, once",
            &[account_param()],
            Some(schema_ref("CreateShare")),
            &[
                ("201", json_response("Created", schema_ref("CreatedShare"))),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/accounts/{id}/shares",
        "get",
        op(
            "shares",
            "The account's share links, newest first (never their tokens)",
            &[account_param()],
            None,
            &[
                ("200", json_response("Links", schema_ref("ShareList"))),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/accounts/{id}/shares/{sid}",
        "delete",
        op(
            "shares",
            "Revoke one of the account's share links: its page answers 410 from then on",
            &[
                account_param(),
                path_param("sid", string(), "Share link id"),
            ],
            None,
            &[
                ("204", json!({"description": "Revoked"})),
                ("404", error_ref()),
            ],
        ),
    );

    add(
        "/api/v1/audit",
        "get",
        op(
            "keys",
            "The audit log: every change through the API, the dashboard or the command line, newest first (an admin of one workspace: its keys' changes and those made to its accounts)",
            &[query_param("limit", int_range(1, 500), false, "Default 50")],
            None,
            &[("200", json_response("Audit log", schema_ref("AuditList")))],
        ),
    );

    competitors::paths(&mut add);

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "igsync",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The programmatic interface of igsync: a JSON API under /api/v1 and \
                operational endpoints (the dashboard's HTML pages, served by the same server, \
                are for browsers and not described here). Every request except /healthz needs \
                an API key (`Authorization: Bearer igs_…` or `X-Api-Key: igs_…`) or the \
                session cookie of a dashboard sign-in at /login; with the cookie, unsafe \
                methods also need the session's CSRF token in `X-CSRF-Token`. A parameter or \
                property that is absent takes its default; an optional query parameter given \
                empty is treated as absent where it says so. Errors are \
                {\"error\":{\"code\":\"…\",\"message\":\"…\"}} with codes bad_request (400), \
                unauthorized (401), forbidden (403), not_found (404), method_not_allowed (405), \
                conflict (409), payload_too_large (413, bodies above 64 KiB), \
                unsupported_media_type (415), invalid (422), too_many_requests (429, with \
                Retry-After: too many failed API keys or sign-ins from one client or for one \
                key id), upstream_error (502), not_configured, timeout and \
                database_unavailable (503, answered at once while the database is known to be \
                unreachable), internal (500).",
        },
        "tags": [
            {"name": "accounts"}, {"name": "analytics"}, {"name": "queue"}, {"name": "schedules"},
            {"name": "history"}, {"name": "alerts"}, {"name": "usage"}, {"name": "keys"},
            {"name": "operations"}, {"name": "webhooks"}, {"name": "competitors"}, {"name": "shares"},
        ],
        "security": [{"bearerAuth": []}, {"apiKeyHeader": []}, {"sessionCookie": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An igsync API key igs_<id>_<secret>"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "igsync_session",
                                  "description": "The dashboard's session, from signing in at /login with an API key"},
            },
            "responses": {
                "Error": json_response("An error", schema_ref("Error")),
            },
            "schemas": schema::components(),
        },
    })
}

/// An operation of the JSON API: tag, summary, parameters, optional JSON body and the
/// documented responses (the error responses every API route shares are added).
fn op(
    tag: &str,
    summary: &str,
    params: &[Value],
    body: Option<Value>,
    responses: &[(&str, Value)],
) -> Value {
    let mut all = Map::new();
    for (status, response) in responses {
        all.insert((*status).to_owned(), response.clone());
    }
    for status in ["400", "401", "403", "422", "429", "503"] {
        all.entry(status.to_owned()).or_insert_with(error_ref);
    }
    if body.is_some() {
        for status in ["413", "415"] {
            all.entry(status.to_owned()).or_insert_with(error_ref);
        }
    }
    let mut op = json!({
        "tags": [tag],
        "summary": summary,
        "parameters": params,
        "responses": all,
    });
    if let Some(schema) = body {
        op["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": schema}},
        });
    }
    op
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn error_ref() -> Value {
    json!({"$ref": "#/components/responses/Error"})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn int() -> Value {
    json!({"type": "integer", "format": "int64"})
}

fn int_range(min: i64, max: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

fn date() -> Value {
    json!({"type": "string", "format": "date"})
}

/// Text as the API's text inputs take it: at most `max_chars` characters, none of them a
/// control character (an empty or blank text is no value).
fn text(max_chars: usize) -> Value {
    json!({"type": "string", "maxLength": max_chars, "pattern": schema::NO_CONTROL_CHARACTERS})
}

/// Job states separated by commas (spaces and empty items are ignored; none means every
/// state).
fn job_states() -> Value {
    json!({
        "type": "string",
        "pattern": schema::job_states_pattern(),
    })
}

/// A numeric Instagram user id.
fn ig_user_id() -> Value {
    json!({"type": "string", "pattern": schema::IG_USER_ID})
}

/// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time.
fn instant() -> Value {
    json!({"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]})
}

/// Marks an optional query parameter whose empty value (`?name=`) means the same as leaving
/// it out.
fn empty_means_absent(mut param: Value) -> Value {
    param["allowEmptyValue"] = json!(true);
    param
}

fn enum_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

fn path_param(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": schema, "description": description})
}

fn id_param(name: &str, description: &str) -> Value {
    path_param(name, int(), description)
}

/// The `{id}` of `/api/v1/accounts/{id}…`: any of the account's references.
fn account_param() -> Value {
    path_param(
        "id",
        string(),
        "The account: igsync's numeric id, its Instagram user id or its @username (tried as \
         Instagram user id, then username, then igsync id)",
    )
}

fn name_param() -> Value {
    path_param("name", string(), "Schedule name")
}

fn query_param(name: &str, schema: Value, required: bool, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": required, "schema": schema, "description": description})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` points at a component that exists.
    #[test]
    fn references_resolve() {
        let doc = spec();
        fn walk(v: &Value, doc: &Value, n: &mut usize) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        let path = r.trim_start_matches("#/").split('/');
                        let mut target = doc;
                        for part in path {
                            target = &target[part];
                        }
                        assert!(!target.is_null(), "dangling {r}");
                        *n += 1;
                    }
                    map.values().for_each(|v| walk(v, doc, n));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, doc, n)),
                _ => {}
            }
        }
        let mut n = 0;
        walk(&doc, &doc, &mut n);
        assert!(n > 50);
    }

    /// Path parameters are declared exactly as the path names them.
    #[test]
    fn path_parameters_match_their_paths() {
        let doc = spec();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let named: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            for (method, op) in item.as_object().unwrap() {
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter(|p| p["in"] == "path")
                            .map(|p| p["name"].as_str().unwrap())
                            .collect()
                    })
                    .unwrap_or_default();
                assert_eq!(declared, named, "{method} {path}");
            }
        }
    }
}
