//! Workspace keys over the whole installation's routes: the queue, jobs, runs, counts,
//! `/metrics`, alerts, keys and the audit log answer a key of one workspace with its own
//! accounts' share only, and a workspace admin manages its own workspace; share links made,
//! listed, used and revoked through the API.

use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use store::{AccountId, JobId, NewJob, NewSyncRun, Role, RunId, SecretString};

use crate::dashboard::{csrf_of, form_body};
use crate::support::{TestApp, assert_error, json_of, new_job};

struct Key {
    secret: SecretString,
    id: String,
}

async fn key(app: &TestApp, name: &str, workspace: Option<i64>, role: Role) -> Key {
    let (key, secret) =
        server::auth::create_scoped_api_key(&*app.store, name, workspace, role, chrono::Utc::now())
            .await
            .unwrap();
    Key { secret, id: key.id }
}

async fn call(
    app: &TestApp,
    key: &Key,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app
        .client
        .request(method, app.url(path))
        .bearer_auth(key.secret.expose());
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn get(app: &TestApp, key: &Key, path: &str) -> Value {
    json_of(
        call(app, key, Method::GET, path, None).await,
        StatusCode::OK,
    )
    .await
}

fn ids_of<T: serde::de::DeserializeOwned>(v: &Value, list: &str, field: &str) -> Vec<T> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {v}"))
        .iter()
        .map(|x| serde_json::from_value(x[field].clone()).unwrap())
        .collect()
}

/// Four accounts, north (0, 1) and south (2, 3); one pending job per account and one
/// without an account; one run per account.
struct World {
    app: TestApp,
    accounts: Vec<AccountId>,
    usernames: Vec<String>,
    north: i64,
    south: i64,
    jobs: Vec<JobId>,
    global_job: JobId,
    runs: Vec<RunId>,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now();
    let mut accounts = Vec::new();
    let mut usernames = Vec::new();
    for i in 0..4 {
        let username = format!("client_{i}_brand");
        accounts.push(
            app.seed_account(&format!("1784000000{i}"), &username)
                .await
                .id,
        );
        usernames.push(username);
    }
    let mut ws = Vec::new();
    for (n, name) in ["north", "south"].into_iter().enumerate() {
        let w = app.store.workspace_insert(name, now).await.unwrap();
        for id in &accounts[2 * n..2 * n + 2] {
            app.store
                .workspace_add_account(w.id, *id, now)
                .await
                .unwrap();
        }
        ws.push(w.id);
    }
    let mut jobs = Vec::new();
    for id in &accounts {
        let job = NewJob {
            account_id: Some(*id),
            ..new_job("sync", "sync_media", json!({"account": id}), now)
        };
        jobs.push(app.store.job_insert(job).await.unwrap().id());
    }
    let global_job = app.seed_job("maintenance", "prune", json!({})).await;
    let mut runs = Vec::new();
    for id in &accounts {
        runs.push(
            app.store
                .sync_run_create(NewSyncRun {
                    account_id: *id,
                    plan: "full".into(),
                    trigger: "manual".into(),
                    steps: vec!["profile".into()],
                    started_at: now,
                    job_id: None,
                })
                .await
                .unwrap(),
        );
    }
    World {
        app,
        accounts,
        usernames,
        north: ws[0],
        south: ws[1],
        jobs,
        global_job,
        runs,
    }
}

#[tokio::test]
async fn a_workspace_key_sees_and_acts_on_its_own_accounts_jobs_runs_and_counts_only() {
    let w = world().await;
    let app = &w.app;
    let viewer = key(app, "north viewer", Some(w.north), Role::Viewer).await;
    let operator = key(app, "north operator", Some(w.north), Role::Operator).await;
    let everyone = key(app, "all viewer", None, Role::Viewer).await;

    // Jobs: its accounts' only, newest first, the total of those; paging counts them alone.
    let mine = get(app, &viewer, "/api/v1/jobs").await;
    assert_eq!(
        ids_of::<JobId>(&mine, "jobs", "id"),
        vec![w.jobs[1], w.jobs[0]]
    );
    assert_eq!(mine["total"], 2);
    let page = get(app, &viewer, "/api/v1/jobs?limit=1&offset=1").await;
    assert_eq!(
        (ids_of::<JobId>(&page, "jobs", "id"), &page["total"]),
        (vec![w.jobs[0]], &json!(2))
    );
    let all = get(app, &everyone, "/api/v1/jobs").await;
    assert_eq!(all["total"], 5);
    // Filtering by another workspace's account finds nothing.
    let other = get(
        app,
        &viewer,
        &format!("/api/v1/jobs?account={}", w.accounts[2]),
    )
    .await;
    assert_eq!(other["total"], 0);

    // One job: another workspace's, or one without an account, is a job that does not exist.
    let own = get(app, &viewer, &format!("/api/v1/jobs/{}", w.jobs[0])).await;
    assert_eq!(own["id"], w.jobs[0].get());
    let missing = |id: JobId| format!("job {id} not found");
    for hidden in [w.jobs[2], w.global_job] {
        for (method, suffix) in [
            (Method::GET, ""),
            (Method::DELETE, ""),
            (Method::POST, "/retry"),
            (Method::POST, "/cancel"),
        ] {
            let res = call(
                app,
                &operator,
                method.clone(),
                &format!("/api/v1/jobs/{hidden}{suffix}"),
                None,
            )
            .await;
            let message = assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
            assert_eq!(message, missing(hidden), "{method} {hidden}{suffix}");
        }
    }
    let absent = assert_error(
        call(app, &operator, Method::GET, "/api/v1/jobs/987654", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(absent, missing(JobId::new(987654)));

    // Its operator cancels and retries its own job.
    let cancelled = json_of(
        call(
            app,
            &operator,
            Method::POST,
            &format!("/api/v1/jobs/{}/cancel", w.jobs[0]),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["state"], "cancelled");
    let retried = json_of(
        call(
            app,
            &operator,
            Method::POST,
            &format!("/api/v1/jobs/{}/retry", w.jobs[0]),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(retried["state"], "pending");

    // Bulk: by ids or by filter, only its jobs change.
    let bulk = json_of(
        call(
            app,
            &operator,
            Method::POST,
            "/api/v1/jobs/bulk",
            Some(
                json!({"action": "cancel", "ids": [w.jobs[0], w.jobs[2], w.jobs[3], w.global_job]}),
            ),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(bulk["affected"], 1);
    let bulk = json_of(
        call(
            app,
            &operator,
            Method::POST,
            "/api/v1/jobs/bulk",
            Some(json!({"action": "cancel", "filter": {"state": "pending"}})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(bulk["affected"], 1, "its one pending job left");
    for id in [w.jobs[2], w.jobs[3], w.global_job] {
        assert_eq!(
            app.store.job_get(id).await.unwrap().unwrap().state,
            store::JobState::Pending,
            "job {id} of another workspace is untouched"
        );
    }

    // The queue's counts and the overview count its jobs and accounts only.
    let queue = get(app, &viewer, "/api/v1/queue").await;
    assert_eq!(queue["totals"]["cancelled"], 2, "{queue}");
    assert_eq!(queue["totals"]["pending"], 0, "{queue}");
    let all_queue = get(app, &everyone, "/api/v1/queue").await;
    assert_eq!(all_queue["totals"]["pending"], 3, "{all_queue}");
    let overview = get(app, &viewer, "/api/v1/overview").await;
    assert_eq!(
        ids_of::<AccountId>(&overview, "accounts", "id"),
        w.accounts[..2].to_vec()
    );
    assert_eq!(overview["queue"]["totals"], queue["totals"]);
    let text = overview.to_string();
    assert!(!text.contains(&w.usernames[2]) && !text.contains(&w.usernames[3]));
    // The installation's overview is not served from the workspace's, nor the other way.
    let all_overview = get(app, &everyone, "/api/v1/overview").await;
    assert_eq!(all_overview["accounts"].as_array().unwrap().len(), 4);
    let again = get(app, &viewer, "/api/v1/overview").await;
    assert_eq!(again["accounts"].as_array().unwrap().len(), 2);

    // Runs: its accounts' only; another workspace's run does not exist for it.
    let runs = get(app, &viewer, "/api/v1/runs").await;
    assert_eq!(
        ids_of::<RunId>(&runs, "runs", "id"),
        vec![w.runs[1], w.runs[0]]
    );
    let run = get(app, &viewer, &format!("/api/v1/runs/{}", w.runs[0])).await;
    assert_eq!(run["id"], w.runs[0].get());
    let hidden = assert_error(
        call(
            app,
            &viewer,
            Method::GET,
            &format!("/api/v1/runs/{}", w.runs[2]),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(hidden, format!("run {} not found", w.runs[2]));
    let foreign = assert_error(
        call(
            app,
            &viewer,
            Method::GET,
            &format!("/api/v1/runs?account={}", w.accounts[2]),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let nowhere = assert_error(
        call(
            app,
            &viewer,
            Method::GET,
            "/api/v1/runs?account=987654",
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        foreign.replace(&w.accounts[2].to_string(), "987654"),
        nowhere
    );

    // /metrics: its accounts' series, none of another workspace, no installation-wide series.
    let metrics = call(app, &viewer, Method::GET, "/metrics", None).await;
    assert_eq!(metrics.status(), StatusCode::OK);
    let metrics = metrics.text().await.unwrap();
    for (i, id) in w.accounts.iter().enumerate() {
        let label = format!("account=\"{id}\"");
        assert_eq!(metrics.contains(&label), i < 2, "{label} in {metrics}");
        assert_eq!(metrics.contains(&w.usernames[i]), i < 2);
    }
    assert!(
        metrics.contains("igsync_jobs{queue=\"sync\",state=\"cancelled\"} 2"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("igsync_workers") && !metrics.contains("igsync_graph_app_usage_percent")
    );
    let all_metrics = call(app, &everyone, Method::GET, "/metrics", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(all_metrics.contains("igsync_workers"));
    assert!(all_metrics.contains(&format!("account=\"{}\"", w.accounts[3])));

    // Alerts: acknowledging another workspace's alert is acknowledging one that does not exist.
    let mut alert_ids = Vec::new();
    for (i, id) in w.accounts.iter().enumerate() {
        let alert = app
            .store
            .alert_insert(store::NewAlert {
                account_id: Some(*id),
                kind: "sync_failed".into(),
                severity: store::Severity::Warning,
                dedup_key: format!("ws:{id}"),
                title: format!("alert of {}", w.usernames[i]),
                message: "m".into(),
                payload: json!({}),
                created_at: chrono::Utc::now(),
            })
            .await
            .unwrap()
            .unwrap();
        alert_ids.push(alert.id);
    }
    let ack = |id: i64| {
        let path = format!("/api/v1/alerts/{id}/ack");
        let operator = &operator;
        async move { call(app, operator, Method::POST, &path, None).await }
    };
    assert_eq!(ack(alert_ids[0]).await.status(), StatusCode::OK);
    let refused = assert_error(ack(alert_ids[2]).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(refused, format!("alert {} not found", alert_ids[2]));
    let open = get(app, &everyone, "/api/v1/alerts?open=true").await;
    assert_eq!(
        open["alerts"].as_array().unwrap().len(),
        3,
        "the other workspace's alert stays open"
    );

    // The dashboard's queue pages: its jobs and accounts, 404 for another workspace's job.
    let cookie = sign_in(app, &operator.secret).await;
    let page = |path: String| {
        let req = app.client.get(app.url(&path)).header(COOKIE, &cookie);
        async move {
            let res = req.send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (status, html) = page("/queue?state=".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&w.usernames[0]),
        "its account's jobs are listed"
    );
    assert!(!html.contains(&w.usernames[2]) && !html.contains(&w.usernames[3]));
    assert!(
        !html.contains("Workers"),
        "installation-wide panels are left out"
    );
    let (status, _) = page(format!("/queue/jobs/{}", w.jobs[0])).await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = page(format!("/queue/jobs/{}", w.jobs[2])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains(&format!("job {} not found", w.jobs[2])));
    let live: Value = serde_json::from_str(&page("/queue/live".into()).await.1).unwrap();
    assert_eq!(live["values"]["state:cancelled"], 2);
    assert_eq!(live["values"]["state:pending"], 0);
    let (status, html) = page("/alerts".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&w.usernames[2]) && !html.contains(&w.usernames[3]));
    // A dashboard action on another workspace's job: not found, and nothing changes.
    let (_, detail) = page(format!("/queue/jobs/{}", w.jobs[0])).await;
    let csrf = csrf_of(&detail);
    let res = app
        .client
        .post(app.url(&format!("/queue/jobs/{}/cancel", w.jobs[2])))
        .header(COOKIE, &cookie)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form_body(&[("csrf", &csrf)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .post(app.url("/queue/bulk"))
        .header(COOKIE, &cookie)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form_body(&[
            ("csrf", &csrf),
            ("action", "delete"),
            ("scope", "filter"),
            ("f_state", "pending"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for id in [w.jobs[2], w.jobs[3], w.global_job] {
        assert!(
            app.store.job_get(id).await.unwrap().is_some(),
            "job {id} kept"
        );
    }
}

async fn sign_in(app: &TestApp, key: &SecretString) -> String {
    let res = app
        .client
        .post(app.url("/login"))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form_body(&[("key", key.expose())]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = res.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_workspace_admin_manages_its_own_workspaces_accounts_keys_and_audit() {
    let w = world().await;
    let app = &w.app;
    let admin = key(app, "north admin", Some(w.north), Role::Admin).await;
    let south_admin = key(app, "south admin", Some(w.south), Role::Admin).await;
    let south_viewer = key(app, "south viewer", Some(w.south), Role::Viewer).await;

    // Keys: its workspace's only.
    let keys = get(app, &admin, "/api/v1/keys").await;
    let listed: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![admin.id.as_str()]);

    // It creates keys of its workspace (by default, or named), never of another or of all.
    let created = json_of(
        call(
            app,
            &admin,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"name": "north ops", "role": "operator"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (created["workspace_id"].as_i64(), created["role"].as_str()),
        (Some(w.north), Some("operator"))
    );
    let named = json_of(
        call(
            app,
            &admin,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"name": "north admin 2", "workspace_id": w.north})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(named["workspace_id"], w.north);
    let refused = assert_error(
        call(
            app,
            &admin,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"name": "x", "workspace_id": w.south})),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(
        refused.contains("\"north\" only")
            && refused.contains("creates keys of that workspace only"),
        "{refused}"
    );
    assert!(
        !refused.contains("south"),
        "no word of the other workspace: {refused}"
    );
    let listed = get(app, &admin, "/api/v1/keys").await;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 3);

    // It revokes its workspace's keys only; another's is a key that does not exist.
    let res = call(
        app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/keys/{}", south_viewer.id),
        None,
    )
    .await;
    let message = assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(message, format!("API key {} not found", south_viewer.id));
    assert_eq!(
        call(app, &south_viewer, Method::GET, "/api/v1/jobs", None)
            .await
            .status(),
        StatusCode::OK,
        "the other workspace's key still works"
    );
    let ops = created["id"].as_str().unwrap();
    assert_eq!(
        call(
            app,
            &admin,
            Method::DELETE,
            &format!("/api/v1/keys/{ops}"),
            None
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let ops_key = app.store.api_key_get(ops).await.unwrap().unwrap();
    assert!(ops_key.revoked_at.is_some());

    // An account it adds joins its workspace.
    let added = json_of(
        call(
            app,
            &admin,
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"ig_user_id": "17841999999", "token": "IGQVJ-north-token", "verify": false, "username": "north_new"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let new_id = AccountId::new(added["id"].as_i64().unwrap());
    let ws = app.store.workspace_get(w.north).await.unwrap().unwrap();
    assert!(ws.accounts.contains(&new_id), "{:?}", ws.accounts);
    let listed = get(app, &admin, "/api/v1/accounts").await;
    assert!(ids_of(&listed, "accounts", "id").contains(&new_id));
    let south_sees = get(app, &south_admin, "/api/v1/accounts").await;
    assert!(!ids_of(&south_sees, "accounts", "id").contains(&new_id));
    // It cannot take over an account registered outside its workspace.
    let res = call(
        app,
        &admin,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({"ig_user_id": "17840000002", "token": "IGQVJ-other", "verify": false})),
    )
    .await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;

    // Changes to its accounts by anyone, and its keys' changes, are its audit; not others'.
    let res = call(
        app,
        &south_admin,
        Method::POST,
        &format!("/api/v1/accounts/{}/pause", w.accounts[2]),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let installation = key(app, "all admin", None, Role::Admin).await;
    let res = call(
        app,
        &installation,
        Method::POST,
        &format!("/api/v1/accounts/{}/pause", w.accounts[0]),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let audit = get(app, &admin, "/api/v1/audit?limit=500").await;
    let entries = audit["entries"].as_array().unwrap();
    let own_account = json!(w.accounts[0].to_string());
    assert!(
        entries.iter().all(|e| {
            e["actor"] == format!("key:{}", admin.id)
                || (e["action"].as_str().unwrap().contains("/accounts/{id}")
                    && e["target"] == own_account)
        }),
        "{entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == format!("key:{}", installation.id)
                && e["action"] == "POST /api/v1/accounts/{id}/pause")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "POST /api/v1/keys" && e["outcome"] == 403)
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "POST /api/v1/accounts" && e["outcome"] == 201)
    );
    assert!(
        !entries
            .iter()
            .any(|e| e["actor"] == format!("key:{}", south_admin.id))
    );
    let everything = get(app, &installation, "/api/v1/audit?limit=500").await;
    assert!(everything["entries"].as_array().unwrap().len() > entries.len());
}

#[tokio::test]
async fn share_links_are_created_listed_used_and_revoked_through_the_api() {
    let w = world().await;
    let app = &w.app;
    let admin = key(app, "north admin", Some(w.north), Role::Admin).await;
    let operator = key(app, "north operator", Some(w.north), Role::Operator).await;
    let own = w.accounts[0];

    // Bounded lifetimes; an operator may not share; another workspace's account is not there.
    for bad in [
        json!({"expires_in": 60}),
        json!({"expires_in": 400 * 86_400}),
        json!({"expires_in": "7d"}),
    ] {
        let res = call(
            app,
            &admin,
            Method::POST,
            &format!("/api/v1/accounts/{own}/share"),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let res = call(
        app,
        &operator,
        Method::POST,
        &format!("/api/v1/accounts/{own}/share"),
        Some(json!({})),
    )
    .await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = call(
        app,
        &admin,
        Method::POST,
        &format!("/api/v1/accounts/{}/share", w.accounts[2]),
        Some(json!({})),
    )
    .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;

    // Created: the URL and token once.
    let created = json_of(
        call(
            app,
            &admin,
            Method::POST,
            &format!("/api/v1/accounts/{own}/share"),
            Some(json!({"expires_in": 86_400})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = created["token"].as_str().unwrap().to_owned();
    let url = created["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/share/{token}"));
    assert_eq!(created["state"], "active");
    assert_eq!(created["created_by"], format!("key:{}", admin.id));
    let lifetime = chrono::DateTime::parse_from_rfc3339(created["expires_at"].as_str().unwrap())
        .unwrap()
        - chrono::DateTime::parse_from_rfc3339(created["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(lifetime.num_seconds(), 86_400);
    let default = json_of(
        call(
            app,
            &admin,
            Method::POST,
            &format!("/api/v1/accounts/{own}/share"),
            Some(json!({})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    // Listed, newest first, without tokens.
    let listed = json_of(
        call(
            app,
            &admin,
            Method::GET,
            &format!("/api/v1/accounts/{own}/shares"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<&str> = listed["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            default["id"].as_str().unwrap(),
            created["id"].as_str().unwrap()
        ]
    );
    assert!(!listed.to_string().contains(&token), "no token in the list");

    // Used: the shared report, no sign-in.
    let res = app.client.get(app.url(&url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains(&w.usernames[0]));

    // Revoked: another account's path does not reach it; then 410 at once.
    let sid = created["id"].as_str().unwrap();
    let res = call(
        app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/accounts/{}/shares/{sid}", w.accounts[1]),
        None,
    )
    .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        call(
            app,
            &admin,
            Method::DELETE,
            &format!("/api/v1/accounts/{own}/shares/{sid}"),
            None
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let res = app.client.get(app.url(&url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res.text().await.unwrap().contains("revoked"));
    let listed = get(app, &admin, &format!("/api/v1/accounts/{own}/shares")).await;
    assert_eq!(listed["shares"][1]["state"], "revoked");

    // The account page's Share section: admins only; creating shows the URL once.
    let admin_cookie = sign_in(app, &admin.secret).await;
    let page = app
        .client
        .get(app.url(&format!("/accounts/{own}")))
        .header(COOKIE, &admin_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h2>Share</h2>") && page.contains(sid));
    assert!(!page.contains(&token));
    let csrf = csrf_of(&page);
    let res = app
        .client
        .post(app.url(&format!("/accounts/{own}/share")))
        .header(COOKIE, &admin_cookie)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form_body(&[("csrf", &csrf), ("days", "30")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let shown = res.text().await.unwrap();
    let start = shown.find("/share/igshare_").expect("the URL is shown");
    let shown_url: String = shown[start..].chars().take_while(|c| *c != '"').collect();
    assert_eq!(
        app.client
            .get(app.url(&shown_url))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let operator_cookie = sign_in(app, &operator.secret).await;
    let page = app
        .client
        .get(app.url(&format!("/accounts/{own}")))
        .header(COOKIE, &operator_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("<h2>Share</h2>"),
        "no Share section below admin"
    );
}
