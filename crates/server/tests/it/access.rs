//! Scoped access: every route of the OpenAPI document and every dashboard page, called with
//! each role in two workspaces over a synced simulated fleet, against the matrix the route
//! table implies. A route the document has and the table lacks fails here, and a route
//! the table lacks is refused to everyone by the server.

use std::collections::BTreeSet;

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::access::{API_RULES, PAGE_RULES, Rule, Scope};
use store::{AccountId, Role, SecretString};

use crate::dashboard::{csrf_of, form_body};
use crate::support::{SimApp, TestApp, json_of};

/// A key of one workspace (or of all) with one role, and a dashboard session of it.
struct Caller {
    role: Role,
    /// Index into the workspaces; None: every workspace.
    workspace: Option<usize>,
    key: SecretString,
    key_id: String,
    cookie: String,
    /// The session's CSRF token, for the dashboard's forms.
    csrf: String,
}

async fn sign_in(app: &TestApp, key: &SecretString) -> String {
    let res = app
        .client
        .post(app.url("/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[("key", key.expose())]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

/// What the route table says a caller gets at a route, for an account of `owner`'s
/// workspace (None: a route without an account).
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    /// 403: the role is too low, or the route covers every workspace.
    Refused,
    /// 404, word for word what an account that does not exist gets.
    NoSuchAccount,
    /// 404, word for word what a job or run that does not exist gets.
    NoSuchItem,
    Allowed,
}

fn expected(rule: &Rule, caller: &Caller, owner: Option<usize>) -> Expect {
    if rule.scope == Scope::Public {
        return Expect::Allowed;
    }
    if caller.role < rule.role {
        return Expect::Refused;
    }
    match (rule.scope, caller.workspace) {
        (Scope::Global, Some(_)) => Expect::Refused,
        (Scope::Account, Some(mine)) if owner != Some(mine) => Expect::NoSuchAccount,
        (Scope::Filtered, Some(mine)) if is_item(rule) && owner != Some(mine) => Expect::NoSuchItem,
        _ => Expect::Allowed,
    }
}

/// A filtered route of one job or run (`/jobs/{id}…`, `/runs/{id}`): its `{id}` is a job or
/// run of an account, tried with one of each workspace.
fn is_item(rule: &Rule) -> bool {
    rule.scope == Scope::Filtered
        && (rule.path.contains("/jobs/{id}") || rule.path.contains("/runs/{id}"))
}

/// The concrete path of a rule: `{id}` of an account route is `account`, other parameters
/// name nothing that exists (so an allowed change changes nothing).
fn concrete(rule: &Rule, account: AccountId) -> String {
    concrete_with(rule, account, None)
}

/// As [`concrete`], with the `{id}` of a job or run route given.
fn concrete_with(rule: &Rule, account: AccountId, item: Option<i64>) -> String {
    let id = if rule.scope == Scope::Account {
        account.to_string()
    } else if let Some(item) = item {
        item.to_string()
    } else {
        "999999".to_owned()
    };
    rule.path
        .replace("{id}", &id)
        .replace("{metric}", "reach")
        .replace("{name}", "no_such_schedule")
        .replace("{action}", "retry")
        .replace("{file}", "app.css")
        .replace("{token}", "igshare_none")
        .replace("{sid}", "0000000000000000")
}

/// A new pending job of the account.
async fn job_of_account(app: &TestApp, account: AccountId) -> store::JobId {
    let now = chrono::Utc::now();
    app.store
        .job_insert(store::NewJob {
            account_id: Some(account),
            ..crate::support::new_job("sync", "sync_media", json!({}), now)
        })
        .await
        .unwrap()
        .id()
}

async fn call(
    app: &TestApp,
    caller: &Caller,
    method: &str,
    path: &str,
    page: bool,
) -> (u16, String) {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method.clone(), app.url(path));
    req = if page {
        req.header(COOKIE, &caller.cookie)
    } else {
        req.bearer_auth(caller.key.expose())
    };
    if method != Method::GET {
        req = if page {
            req.header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form_body(&[("csrf", &caller.csrf)]))
        } else {
            req.json(&json!({}))
        };
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

const REFUSALS: [&str; 3] = [
    "this needs the",
    "this covers every workspace",
    "has no access rule",
];

fn is_refusal(body: &str) -> bool {
    REFUSALS.iter().any(|r| body.contains(r))
}

#[tokio::test]
async fn every_route_and_page_answers_each_role_of_each_workspace_as_the_route_table_says() {
    let env = SimApp::start(4, 4).await;
    let app = &env.app;
    let ids: Vec<AccountId> = env.accounts.iter().map(|(id, _)| *id).collect();
    for id in &ids {
        let res = app.post(&format!("/api/v1/accounts/{id}/sync")).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    env.engine.run_until_idle().await.unwrap();

    // Two workspaces of two accounts each.
    let now = chrono::Utc::now();
    let mut workspaces = Vec::new();
    for (n, name) in ["north", "south"].into_iter().enumerate() {
        let ws = app.store.workspace_insert(name, now).await.unwrap();
        for id in &ids[2 * n..2 * n + 2] {
            assert!(
                app.store
                    .workspace_add_account(ws.id, *id, now)
                    .await
                    .unwrap()
            );
        }
        workspaces.push(ws.id);
    }
    let owner_of = |id: AccountId| ids.iter().position(|a| *a == id).map(|i| i / 2);

    let mut callers = Vec::new();
    for workspace in [Some(0), Some(1), None] {
        for role in Role::ALL {
            let (key, secret) = server::auth::create_scoped_api_key(
                &*app.store,
                &format!("{role} {workspace:?}"),
                workspace.map(|w| workspaces[w]),
                role,
                now,
            )
            .await
            .unwrap();
            let cookie = sign_in(app, &secret).await;
            let own = ids[2 * workspace.unwrap_or(0)];
            let page = app
                .client
                .get(app.url(&format!("/accounts/{own}")))
                .header(COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), StatusCode::OK, "{role} {workspace:?}");
            let csrf = csrf_of(&page.text().await.unwrap());
            callers.push(Caller {
                role,
                workspace,
                key: secret,
                key_id: key.id,
                cookie,
                csrf,
            });
        }
    }

    // The document and the table name the same authenticated routes.
    let spec = server::openapi::spec();
    let mut documented = BTreeSet::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op.get("security") == Some(&json!([])) {
                continue;
            }
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let ruled: BTreeSet<(String, String)> = API_RULES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(
        documented.difference(&ruled).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented routes without an access rule"
    );
    assert_eq!(
        ruled.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "access rules of undocumented routes"
    );

    // A job and a run of each account, for the routes of one job or run.
    let mut job_of = std::collections::HashMap::new();
    let mut run_of = std::collections::HashMap::new();
    for id in &ids {
        let jobs = app
            .store
            .job_list(store::JobQuery {
                account_id: Some(*id),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        job_of.insert(*id, jobs.jobs[0].id);
        let runs = app
            .store
            .sync_runs_list(store::RunQuery {
                account_id: Some(*id),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        run_of.insert(*id, runs[0].id);
    }

    let mut checked = 0;
    for (rules, page) in [(API_RULES, false), (PAGE_RULES, true)] {
        // Signing in and out are not walked: signing out would end the callers' sessions.
        for rule in rules
            .iter()
            .filter(|r| r.scope != Scope::Public || r.method == "GET")
        {
            // An account route is tried with an account of each workspace.
            let targets: Vec<AccountId> = if rule.scope == Scope::Account || is_item(rule) {
                vec![ids[0], ids[2]]
            } else {
                vec![ids[0]]
            };
            for caller in &callers {
                for &account in &targets {
                    let owner = (rule.scope == Scope::Account || is_item(rule))
                        .then(|| owner_of(account))
                        .flatten();
                    let want = expected(rule, caller, owner);
                    let item = if !is_item(rule) {
                        None
                    } else if rule.path.contains("/runs/") {
                        Some(run_of[&account].get())
                    } else if rule.method == "DELETE" {
                        // A job of its own for each deletion, so later routes keep theirs.
                        Some(job_of_account(app, account).await.get())
                    } else {
                        Some(job_of[&account].get())
                    };
                    let path = concrete_with(rule, account, item);
                    let (status, body) = call(app, caller, rule.method, &path, page).await;
                    let what = format!(
                        "{} {path} as {} of {:?}: {status} {body:.300}",
                        rule.method, caller.role, caller.workspace
                    );
                    match want {
                        Expect::Refused => {
                            assert_eq!(status, 403, "refused: {what}");
                            assert!(is_refusal(&body), "refused by the rule: {what}");
                        }
                        Expect::NoSuchAccount => {
                            assert_eq!(status, 404, "{what}");
                            // Word for word the answer for an account that does not exist.
                            let missing = rule.path.replace("{id}", "987654");
                            let missing = concrete(
                                &Rule {
                                    path: Box::leak(missing.into_boxed_str()),
                                    ..*rule
                                },
                                account,
                            );
                            let (s, absent) = call(app, caller, rule.method, &missing, page).await;
                            assert_eq!(s, 404, "{missing}");
                            assert_eq!(
                                body,
                                absent.replace("987654", &account.to_string()),
                                "{what}"
                            );
                        }
                        Expect::NoSuchItem => {
                            assert_eq!(status, 404, "{what}");
                            let item = item.unwrap().to_string();
                            let missing = concrete_with(rule, account, Some(987654));
                            let (s, absent) = call(app, caller, rule.method, &missing, page).await;
                            assert_eq!(s, 404, "{missing}");
                            assert_eq!(body, absent.replace("987654", &item), "{what}");
                        }
                        Expect::Allowed => {
                            assert!(!is_refusal(&body) && status != 401, "allowed: {what}");
                            if item.is_some() {
                                assert_ne!(status, 404, "its own job or run: {what}");
                            }
                            assert!(
                                !(status == 404 && body.contains("no account matches")),
                                "its own account: {what}"
                            );
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500, "{checked} calls");

    // A viewer of one workspace lists its own accounts only.
    let north_viewer = &callers[0];
    let listed = json_of(
        app.client
            .get(app.url("/api/v1/accounts"))
            .bearer_auth(north_viewer.key.expose())
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let seen: Vec<AccountId> = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| AccountId::new(a["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(seen, ids[..2].to_vec());
    // Its alerts: its accounts' only, and none of an account outside it.
    for (i, account) in ids.iter().enumerate() {
        app.store
            .alert_insert(store::NewAlert {
                account_id: Some(*account),
                kind: "token_expiring".into(),
                severity: store::Severity::Warning,
                dedup_key: format!("scoped:{account}"),
                title: format!("alert of account {i}"),
                message: "m".into(),
                payload: json!({}),
                created_at: now + chrono::Duration::seconds(i as i64),
            })
            .await
            .unwrap();
    }
    let alerts_of = |path: &str| {
        let req = app
            .client
            .get(app.url(path))
            .bearer_auth(north_viewer.key.expose());
        async move {
            let v = json_of(req.send().await.unwrap(), StatusCode::OK).await;
            v["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| AccountId::new(a["account_id"].as_i64().unwrap()))
                .collect::<Vec<_>>()
        }
    };
    let scoped_alerts = alerts_of("/api/v1/alerts?kind=token_expiring").await;
    assert_eq!(scoped_alerts, vec![ids[1], ids[0]], "newest first, its own");
    assert_eq!(
        alerts_of(&format!("/api/v1/alerts?account={}", ids[2])).await,
        Vec::<AccountId>::new()
    );
    assert_eq!(
        alerts_of("/api/v1/alerts?kind=token_expiring&limit=1").await,
        vec![ids[1]]
    );

    // Its dashboard lists them too, and no other account nor the installation's counts.
    let home = app
        .client
        .get(app.url("/"))
        .header(COOKIE, &north_viewer.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let home = home.text().await.unwrap();
    let username = |i: usize| env.accounts[i].1.username.clone();
    assert!(home.contains(&username(0)) && home.contains(&username(1)));
    assert!(!home.contains(&username(2)) && !home.contains(&username(3)));
    assert!(!home.contains("Stored history") && !home.contains("jobs failed"));
    let everyone = app.get_json("/api/v1/accounts").await;
    assert_eq!(everyone["accounts"].as_array().unwrap().len(), 4);

    // Every change that reached a handler is in the audit log, with who and from where.
    let audit = app.get_json("/api/v1/audit?limit=500").await;
    let entries = audit["entries"].as_array().unwrap();
    let operator_north = &callers[1];
    let pause = format!("/accounts/{}/pause", ids[0]);
    let by_operator: Vec<&Value> = entries
        .iter()
        .filter(|e| e["actor"] == format!("key:{}", operator_north.key_id))
        .collect();
    assert!(
        by_operator
            .iter()
            .any(|e| e["action"] == "POST /api/v1/accounts/{id}/pause"
                && e["target"].as_str() == Some(ids[0].to_string().as_str())
                && e["via"] == "api"
                && e["source"] == "127.0.0.1"
                && e["outcome"] == 200),
        "the operator's pause of {pause}: {by_operator:?}"
    );
    // Refused requests reach no handler and are not changes.
    assert!(
        !entries.iter().any(|e| e["outcome"] == 403),
        "refusals are not recorded as changes: {entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["via"] == "dashboard" && e["action"] == "POST /accounts/{id}/sync"),
        "dashboard changes are recorded"
    );

    // A page without a session still goes to sign-in.
    let res = app.client.get(app.url("/queue")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/login");
}

#[tokio::test]
async fn a_share_link_shows_one_accounts_report_until_it_expires_or_is_revoked() {
    let env = SimApp::start(2, 4).await;
    let app = &env.app;
    for (id, _) in &env.accounts {
        let res = app.post(&format!("/api/v1/accounts/{id}/sync")).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    env.engine.run_until_idle().await.unwrap();
    let shared = app
        .store
        .account_get(env.accounts[0].0)
        .await
        .unwrap()
        .unwrap();
    let other = app
        .store
        .account_get(env.accounts[1].0)
        .await
        .unwrap()
        .unwrap();
    let now = env.clock.now();
    let (link, token) = server::share::create_share_link(
        &*app.store,
        &shared,
        now + chrono::Duration::days(1),
        "key:tests",
        now,
    )
    .await
    .unwrap();
    assert!(!link.hash.contains(token.expose()), "only a digest is kept");
    let open = |path: String| async move {
        let res = app.client.get(app.url(&path)).send().await.unwrap();
        let status = res.status();
        (status, res.text().await.unwrap())
    };

    // No sign-in: the one account's report, and no other account.
    let (status, html) = open(format!("/share/{}", token.expose())).await;
    assert_eq!(status, StatusCode::OK, "{html:.300}");
    assert!(html.contains(&shared.username), "the shared account");
    assert!(!html.contains(&other.username), "no other account");
    assert!(
        html.contains("Followers") || html.contains("followers"),
        "{html:.500}"
    );

    // A token altered in one character, an unknown id and garbage are one 404.
    let mut altered = token.expose().to_owned();
    let last = altered.pop().unwrap();
    altered.push(if last == '0' { '1' } else { '0' });
    for bad in [
        altered,
        format!("igshare_0000000000000000_{}", "ab".repeat(32)),
        "nonsense".to_owned(),
    ] {
        let (status, body) = open(format!("/share/{bad}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}: {body}");
        assert!(body.contains("no such share link"), "{body}");
    }

    // Revoked: gone at once, saying so.
    let (second, second_token) = server::share::create_share_link(
        &*app.store,
        &shared,
        now + chrono::Duration::days(7),
        "key:tests",
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        open(format!("/share/{}", second_token.expose())).await.0,
        StatusCode::OK
    );
    assert!(app.store.share_link_revoke(&second.id, now).await.unwrap());
    let (status, body) = open(format!("/share/{}", second_token.expose())).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(body.contains("revoked"), "{body}");

    // Expired: the first link stops working once its day has passed.
    env.advance(chrono::Duration::hours(25));
    let (status, body) = open(format!("/share/{}", token.expose())).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(body.contains("expired"), "{body}");

    // A link cannot be made already expired.
    assert!(
        server::share::create_share_link(&*app.store, &shared, now, "key:tests", now)
            .await
            .is_err()
    );
}
