//! The dashboard over real HTTP: a fresh SQLite database filled by the real sync engine from
//! the Graph API simulator (one account's token expired on purpose, so its sync fails for
//! good), then sign-in, every page with that data, CSRF enforcement, bulk and single job
//! actions, schedules, alerts, "sync now" and escaping.

use std::net::SocketAddr;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use server::{AppState, ServerSettings};
use simulator::{SimAccount, SimConfig, SimServer};
use store::{
    Account, AccountId, Cipher, JobQuery, JobState, NewAccount, SecretKey, SecretString, Store,
    SyncStatus,
};
use sync::{Clock, Engine};

use crate::support::{TestApp, sqlite_store, test_engine};

/// The application with history synced from the simulator.
pub(crate) struct SyncedApp {
    pub(crate) app: TestApp,
    /// The simulator, kept running for the engine.
    pub(crate) _sim: SimServer,
    pub(crate) engine: Engine,
    /// Accounts whose sync succeeded.
    pub(crate) synced: Vec<(AccountId, SimAccount)>,
    /// The account whose token was expired before its sync.
    pub(crate) broken: (AccountId, SimAccount),
    /// The tokens the simulator issued (they must never appear on a page).
    pub(crate) tokens: Vec<String>,
}

/// [`synced_app_over`] one day.
pub(crate) async fn synced_app() -> SyncedApp {
    synced_app_over(1).await
}

/// Starts the simulator with three accounts, registers them, expires the third one's token,
/// runs a full sync of every account to completion with the real engine, installs the
/// schedules, and serves the application with that engine. With `days > 1`, the healthy
/// accounts are synced again once a day for that many simulated days (the simulator's, the
/// clients' and the engine's clocks move together), so the history has a shape.
pub(crate) async fn synced_app_over(days: u32) -> SyncedApp {
    let mut config = SimConfig::new(20_260_301, 3, 36);
    config.history_days = 120;
    let sim = SimServer::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let store = sqlite_store("igsync-dashboard-test").await;
    let clock = Clock::manual(sim.now());
    let graph_clock = graph::Clock::offset();
    let clients = testsupport::sim_clients(&sim.url(), &graph_clock, None);
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let mut registered =
        testsupport::register_sim_accounts(&store, &sim, &cipher, clock.now(), |n| NewAccount {
            timezone: Some("Europe/Berlin".to_owned()),
            ..n
        })
        .await;
    let tokens = registered
        .iter()
        .map(|(_, a)| a.access_token.clone())
        .collect();
    let broken = registered.pop().unwrap();
    sim.expire_token(&broken.1.ig_user_id);

    let engine = test_engine(&store, &clients, &cipher, &clock);
    engine.install_schedules().await.unwrap();
    for (id, _) in registered.iter().chain(std::iter::once(&broken)) {
        engine
            .enqueue_sync(*id, sync::Plan::Full, "test")
            .await
            .unwrap();
    }
    engine.run_until_idle().await.unwrap();
    for _ in 1..days {
        let day = chrono::Duration::days(1);
        clock.advance(day);
        graph_clock.advance(day);
        sim.advance_clock(day);
        // Due schedules fire (their fan-out merges with the syncs requested below).
        engine.maintain().await.unwrap();
        for (id, _) in &registered {
            engine
                .enqueue_sync(*id, sync::Plan::Full, "test")
                .await
                .unwrap();
        }
        engine.run_until_idle().await.unwrap();
    }

    for (id, a) in &registered {
        let account = store.account_get(*id).await.unwrap().unwrap();
        assert_eq!(
            account.status,
            SyncStatus::Idle,
            "@{} synced: {:?}",
            a.username,
            account.last_sync_error
        );
    }
    let account = store.account_get(broken.0).await.unwrap().unwrap();
    assert_eq!(
        account.status,
        SyncStatus::NeedsReauth,
        "the expired token is rejected"
    );

    let (key, secret) =
        server::auth::create_api_key(&*store, "dashboard tests", chrono::Utc::now())
            .await
            .unwrap();
    let state = AppState::new(store.clone(), ServerSettings::default())
        .with_cipher(cipher)
        .with_engine(engine.clone());
    let app = TestApp::serve(state, secret, key.id).await;
    SyncedApp {
        app,
        _sim: sim,
        engine,
        synced: registered,
        broken,
        tokens,
    }
}

/// A signed-in browser-like client: the session cookie, handled by hand.
pub(crate) struct Browser<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) cookie: String,
}

const FORM: &str = "application/x-www-form-urlencoded";

/// An `application/x-www-form-urlencoded` body, as a browser sends it.
pub(crate) fn form_body(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of `name="csrf"` in a page.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with the CSRF token");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

impl<'a> Browser<'a> {
    /// Signs in with the app's API key.
    pub(crate) async fn sign_in(app: &'a TestApp) -> Browser<'a> {
        let res = app
            .client
            .post(app.url("/login"))
            .header(CONTENT_TYPE, FORM)
            .body(form_body(&[("key", app.key.expose())]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[LOCATION], "/");
        let set = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(
                set.contains(attribute),
                "session cookie has {attribute}: {set}"
            );
        }
        let cookie = set.split(';').next().unwrap().to_owned();
        assert!(cookie.starts_with("igsync_session="));
        Browser { app, cookie }
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.app.url(path))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    /// GET, expecting 200 HTML; returns the page.
    pub(crate) async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        assert_eq!(content_type.as_deref(), Some("text/html; charset=utf-8"));
        body
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url(path))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, FORM)
            .body(form_body(form))
            .send()
            .await
            .unwrap()
    }

    /// POST, expecting a 303; returns where it points.
    pub(crate) async fn post_redirect(&self, path: &str, form: &[(&str, &str)]) -> String {
        let res = self.post(path, form).await;
        let status = res.status();
        let location = res
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = res.text().await.unwrap();
        assert_eq!(status, StatusCode::SEE_OTHER, "POST {path}: {body}");
        location.unwrap()
    }
}

async fn failed_jobs(store: &dyn Store) -> Vec<store::Job> {
    store
        .job_list(JobQuery {
            states: vec![JobState::Failed],
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs
}

async fn account(store: &dyn Store, id: AccountId) -> Account {
    store.account_get(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn pages_need_a_session_and_sign_in_takes_a_valid_key() {
    let env = synced_app().await;
    let app = &env.app;
    for path in [
        "/",
        "/accounts/1",
        "/queue",
        "/queue/jobs/1",
        "/schedules",
        "/alerts",
        "/queue/live",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{path} without a session"
        );
        assert_eq!(res.headers()[LOCATION], "/login");
    }
    // The sign-in page and the assets are public.
    let login = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    assert!(html.contains("name=\"key\"") && html.contains("type=\"password\""));
    let css = app
        .client
        .get(app.url("/assets/igsync.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let js = app
        .client
        .get(app.url("/assets/igsync.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        app.client
            .get(app.url("/assets/nope.js"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // A wrong key is refused with the form again.
    let wrong = app
        .client
        .post(app.url("/login"))
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[(
            "key",
            "igs_0000000000000000_0000000000000000000000000000000000000000000000000000000000000000",
        )]))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That API key is not valid.")
    );

    let browser = Browser::sign_in(app).await;
    let overview = browser.page("/").await;
    assert!(overview.contains("Sign out"));
    // Signed in, /login goes to the overview; signing out ends the session.
    assert_eq!(browser.get("/login").await.status(), StatusCode::SEE_OTHER);
    let csrf = csrf_of(&overview);
    assert_eq!(
        browser.post_redirect("/logout", &[("csrf", &csrf)]).await,
        "/login"
    );
    let res = browser.get("/").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );
}

#[tokio::test]
async fn overview_account_queue_schedules_and_alerts_show_the_synced_data() {
    let env = synced_app().await;
    let store = &env.app.store;
    let browser = Browser::sign_in(&env.app).await;

    let overview = browser.page("/").await;
    for (id, a) in env.synced.iter().chain(std::iter::once(&env.broken)) {
        assert!(
            overview.contains(&format!("<a href=\"/accounts/{id}\">@{}</a>", a.username)),
            "overview lists @{}",
            a.username
        );
    }
    assert!(overview.contains("badge idle"), "synced accounts are idle");
    assert!(
        overview.contains("badge needs_reauth"),
        "the broken account needs re-authorization"
    );
    let (first_id, _) = &env.synced[0];
    let first = account(&**store, *first_id).await;
    let followers = server::charts::format_count(first.followers_count.unwrap() as f64);
    assert!(
        overview.contains(&format!("<td class=\"num\">{followers}</td>")),
        "followers of the first account"
    );
    assert!(
        overview.contains("data-live=\"state:failed\""),
        "live job counts"
    );
    assert!(overview.contains("/queue/live"));

    // The account page: status, charts, rates with definitions, trending, best times, history.
    let page = browser.page(&format!("/accounts/{first_id}")).await;
    assert!(page.contains(&format!("@{}", first.username)));
    assert!(page.contains("Sync now"));
    for needle in [
        "Followers per day",
        "Reach and views per day",
        "Engagement rates",
        "engagement_rate_by_reach_pooled",
        analytics::definition::FOLLOWER_GROWTH_ABS.key,
        "Trending posts",
        "Best posting times",
        "Top posts",
        "Audience",
        "Sync history",
    ] {
        assert!(page.contains(needle), "account page shows {needle}");
    }
    assert!(
        page.matches("<svg").count() >= 5,
        "charts on the account page"
    );
    let runs = store
        .sync_runs_list(store::RunQuery {
            account_id: Some(*first_id),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!runs.is_empty());
    assert!(
        page.contains(&format!(
            "href=\"/queue?run={}&amp;state=\">#{}</a>",
            runs[0].id, runs[0].id
        )),
        "sync history links its run"
    );
    assert!(page.contains("badge succeeded"));
    // Other periods and an invalid one.
    assert!(
        browser
            .page(&format!("/accounts/{first_id}?days=7"))
            .await
            .contains("7 days")
    );
    assert_eq!(
        browser
            .get(&format!("/accounts/{first_id}?days=0"))
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        browser.get("/accounts/424242").await.status(),
        StatusCode::NOT_FOUND
    );

    // The queue monitor opens on failed jobs: the broken account's sync is there.
    let failed = failed_jobs(&**store).await;
    assert!(!failed.is_empty(), "the expired token made a job fail");
    let queue = browser.page("/queue").await;
    for job in &failed {
        assert!(queue.contains(&format!(
            "<a href=\"/queue/jobs/{}\">#{}</a>",
            job.id, job.id
        )));
    }
    assert!(
        queue.contains("Throughput and latency")
            && queue.contains("Wait time")
            && queue.contains("Run time")
    );
    assert!(
        queue.contains("data-live=\"q:instagram-sync:completed\""),
        "per-queue live counts"
    );
    assert!(queue.contains("Graph API usage"));
    assert!(queue.contains("Workers"));
    // Search by error text finds the failed job; a search for nonsense finds nothing.
    let found = browser.page("/queue?state=failed&q=token").await;
    assert!(found.contains(&format!("/queue/jobs/{}", failed[0].id)));
    let none = browser.page("/queue?state=&q=no-such-text-anywhere").await;
    assert!(none.contains("No job matches."));
    // Completed jobs are searchable by account.
    let done = browser
        .page(&format!("/queue?state=completed&account={first_id}"))
        .await;
    assert!(done.contains("badge completed"));
    assert_eq!(
        browser.get("/queue?state=bogus").await.status(),
        StatusCode::BAD_REQUEST
    );

    // The job detail page: arguments, attempts and errors, timings, actions.
    let job = &failed[0];
    let detail = browser.page(&format!("/queue/jobs/{}", job.id)).await;
    assert!(detail.contains(&format!("Job #{}", job.id)));
    assert!(
        detail.contains("Arguments")
            && detail.contains("Attempts and errors")
            && detail.contains("Timings")
    );
    let error = &job.errors.last().unwrap().error;
    assert!(
        detail.contains(&server::charts::escape(error)),
        "the error text is shown"
    );
    assert!(detail.contains(&format!("action=\"/queue/jobs/{}/retry\"", job.id)));
    assert_eq!(
        browser.get("/queue/jobs/999999").await.status(),
        StatusCode::NOT_FOUND
    );

    // Live counts as JSON.
    let live: serde_json::Value = browser.get("/queue/live").await.json().await.unwrap();
    assert_eq!(
        live["values"]["state:failed"].as_i64(),
        Some(failed.len() as i64)
    );
    assert!(live["values"]["state:completed"].as_i64().unwrap() > 0);

    // Schedules installed by the engine.
    let schedules = browser.page("/schedules").await;
    for name in [
        sync::SCHEDULE_FULL_SYNC,
        sync::SCHEDULE_LIGHT_SYNC,
        sync::SCHEDULE_TOKEN_REFRESH,
        sync::SCHEDULE_RETENTION,
    ] {
        assert!(schedules.contains(name), "schedule {name}");
    }
    // Scheduled reports and their delivery history.
    assert!(schedules.contains("No scheduled reports."));
    let report = store
        .report_schedule_insert(store::NewReportSchedule {
            account_id: Some(*first_id),
            every: "weekly".into(),
            target: "https://hooks.example.com/T/XXsecretXX".into(),
            format: "html".into(),
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    store
        .report_delivery_record(store::ReportAttempt {
            schedule_id: report.id,
            account_id: *first_id,
            period_start: day(2),
            period_end: day(8),
            at: chrono::Utc::now(),
            error: Some("the webhook answered HTTP 503 <busy>".into()),
        })
        .await
        .unwrap();
    let schedules = browser.page("/schedules").await;
    assert!(schedules.contains(&format!(
        "#{} weekly html to https://hooks.example.com/…",
        report.id
    )));
    assert!(
        !schedules.contains("XXsecretXX"),
        "the webhook's credential is not shown"
    );
    assert!(schedules.contains("2026-03-02 to 2026-03-08"));
    assert!(schedules.contains("badge failed"));
    assert!(schedules.contains("the webhook answered HTTP 503 &lt;busy&gt;"));

    // Alerts: the rejected token, both as a condition and as the engine's alert.
    let alerts = browser.page("/alerts").await;
    assert!(alerts.contains(&format!(
        "Meta rejected the token of @{}",
        env.broken.1.username
    )));
    assert!(alerts.contains("failed jobs"));
    assert!(
        alerts.contains("Acknowledge"),
        "the engine raised an alert to acknowledge"
    );
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let env = synced_app().await;
    let store = &env.app.store;
    let browser = Browser::sign_in(&env.app).await;
    let failed = failed_jobs(&**store).await;
    let id = failed[0].id.to_string();
    for form in [
        vec![
            ("action", "retry"),
            ("scope", "selected"),
            ("ids", id.as_str()),
        ],
        vec![
            ("csrf", "not-the-token"),
            ("action", "retry"),
            ("scope", "selected"),
            ("ids", id.as_str()),
        ],
    ] {
        let res = browser.post("/queue/bulk", &form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("CSRF"));
    }
    let res = browser
        .post(&format!("/queue/jobs/{id}/retry"), &[("csrf", "x")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser
        .post(&format!("/accounts/{}/sync", env.synced[0].0), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser
        .post(
            &format!("/schedules/{}/pause", sync::SCHEDULE_FULL_SYNC),
            &[("csrf", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Nothing changed.
    assert_eq!(
        store.job_get(failed[0].id).await.unwrap().unwrap().state,
        JobState::Failed
    );
    assert!(
        !store
            .schedule_get(sync::SCHEDULE_FULL_SYNC)
            .await
            .unwrap()
            .unwrap()
            .paused
    );
    // Without a session, a form post goes to the sign-in page.
    let res = env
        .app
        .client
        .post(env.app.url("/queue/bulk"))
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("action", "retry")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/login");
}

#[tokio::test]
async fn bulk_retry_of_selected_failed_jobs_makes_them_pending() {
    let env = synced_app().await;
    let store = &env.app.store;
    let browser = Browser::sign_in(&env.app).await;
    // A second failure: sync the broken account again (its token is still expired).
    let account = account(&**store, env.broken.0).await;
    store
        .account_status_set(
            account.id,
            store::StatusChange {
                status: SyncStatus::Idle,
                error: None,
                synced_at: None,
                only_if: vec![],
                now: env.engine.clock().now(),
            },
        )
        .await
        .unwrap();
    // A light sync holds another unique key than the failed full one, so both can be retried.
    env.engine
        .enqueue_sync(account.id, sync::Plan::Light, "test")
        .await
        .unwrap();
    env.engine.run_until_idle().await.unwrap();
    let failed = failed_jobs(&**store).await;
    assert!(failed.len() >= 2, "two failed jobs: {}", failed.len());

    let page = browser.page("/queue?state=failed").await;
    let csrf = csrf_of(&page);
    let ids: Vec<String> = failed.iter().map(|j| j.id.to_string()).collect();
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("action", "retry"),
        ("scope", "selected"),
    ];
    for id in &ids {
        form.push(("ids", id.as_str()));
    }
    let location = browser.post_redirect("/queue/bulk", &form).await;
    assert!(
        location.contains(&format!("ok=retried&n={}", failed.len())),
        "{location}"
    );
    for job in &failed {
        let now = store.job_get(job.id).await.unwrap().unwrap();
        assert_eq!(now.state, JobState::Pending, "job {} retried", job.id);
        assert_eq!(now.attempt, 0, "attempts reset");
    }
    // The page it lands on says so.
    let landed = browser.page(&location).await;
    assert!(landed.contains(&format!("{} job(s) retried", failed.len())));

    // Nothing selected: a clear message, nothing changes.
    let location = browser
        .post_redirect(
            "/queue/bulk",
            &[("csrf", &csrf), ("action", "retry"), ("scope", "selected")],
        )
        .await;
    assert!(location.contains("err=no_selection"));
    // Bad input is a 400, not a panic.
    let res = browser
        .post(
            "/queue/bulk",
            &[("csrf", &csrf), ("action", "explode"), ("ids", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = browser
        .post(
            "/queue/bulk",
            &[("csrf", &csrf), ("action", "retry"), ("ids", "one")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bulk_actions_by_filter_and_single_job_actions() {
    let env = synced_app().await;
    let store = &env.app.store;
    let browser = Browser::sign_in(&env.app).await;
    let csrf = csrf_of(&browser.page("/queue").await);
    let failed = failed_jobs(&**store).await;
    let job = failed[0].id;

    // Cancel is refused for a failed job, with an explanation; retry works.
    let location = browser
        .post_redirect(&format!("/queue/jobs/{job}/cancel"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location, format!("/queue/jobs/{job}?err=not_cancellable"));
    assert!(
        browser
            .page(&location)
            .await
            .contains("Only pending or running jobs can be cancelled.")
    );
    let location = browser
        .post_redirect(&format!("/queue/jobs/{job}/retry"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location, format!("/queue/jobs/{job}?ok=retried&n=1"));
    assert_eq!(
        store.job_get(job).await.unwrap().unwrap().state,
        JobState::Pending
    );
    // Cancel every pending job of that kind by filter, then delete them by filter.
    let kind = store.job_get(job).await.unwrap().unwrap().kind;
    let pending_of_kind = store
        .job_list(JobQuery {
            states: vec![JobState::Pending],
            kind: Some(kind.clone()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .total;
    let location = browser
        .post_redirect(
            "/queue/bulk",
            &[
                ("csrf", &csrf),
                ("action", "cancel"),
                ("scope", "filter"),
                ("f_state", "pending"),
                ("f_kind", &kind),
            ],
        )
        .await;
    assert!(
        location.contains(&format!("ok=cancelled&n={pending_of_kind}")),
        "{location}"
    );
    assert!(
        location.starts_with("/queue?state=pending&kind="),
        "back to the same filter: {location}"
    );
    assert_eq!(
        store.job_get(job).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    let location = browser
        .post_redirect(
            "/queue/bulk",
            &[
                ("csrf", &csrf),
                ("action", "delete"),
                ("scope", "filter"),
                ("f_state", "cancelled"),
                ("f_kind", &kind),
            ],
        )
        .await;
    assert!(location.contains("ok=deleted"), "{location}");
    assert!(store.job_get(job).await.unwrap().is_none(), "deleted");
    // Unknown actions and jobs.
    let res = browser
        .post(&format!("/queue/jobs/{job}/explode"), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = browser
        .post(&format!("/queue/jobs/{job}/retry"), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sync_now_schedules_and_alert_acknowledgement() {
    let env = synced_app().await;
    let store = &env.app.store;
    let browser = Browser::sign_in(&env.app).await;
    let (id, _) = env.synced[0];
    let page = browser.page(&format!("/accounts/{id}")).await;
    let csrf = csrf_of(&page);

    let location = browser
        .post_redirect(&format!("/accounts/{id}/sync"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location, format!("/accounts/{id}?ok=sync_queued"));
    let queued = store
        .job_list(JobQuery {
            states: vec![JobState::Pending],
            account_id: Some(id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(queued.total, 1, "one sync job queued");
    assert_eq!(queued.jobs[0].kind, "sync_account");
    // Asking again merges into the queued one.
    let location = browser
        .post_redirect(&format!("/accounts/{id}/sync"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location, format!("/accounts/{id}?ok=sync_merged"));
    // The account whose token Meta rejected cannot be synced from here.
    let broken = browser.page(&format!("/accounts/{}", env.broken.0)).await;
    assert!(!broken.contains(&format!("action=\"/accounts/{}/sync\"", env.broken.0)));
    let res = browser
        .post(
            &format!("/accounts/{}/sync", env.broken.0),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Schedules: pause, resume, run now.
    let name = sync::SCHEDULE_LIGHT_SYNC;
    assert_eq!(
        browser
            .post_redirect(&format!("/schedules/{name}/pause"), &[("csrf", &csrf)])
            .await,
        "/schedules?ok=paused"
    );
    assert!(store.schedule_get(name).await.unwrap().unwrap().paused);
    assert!(browser.page("/schedules").await.contains("badge paused"));
    assert_eq!(
        browser
            .post_redirect(&format!("/schedules/{name}/resume"), &[("csrf", &csrf)])
            .await,
        "/schedules?ok=resumed"
    );
    assert!(!store.schedule_get(name).await.unwrap().unwrap().paused);
    let before = store
        .job_list(JobQuery {
            states: vec![JobState::Pending],
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .total;
    assert_eq!(
        browser
            .post_redirect(&format!("/schedules/{name}/run"), &[("csrf", &csrf)])
            .await,
        "/schedules?ok=run"
    );
    let after = store
        .job_list(JobQuery {
            states: vec![JobState::Pending],
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .total;
    assert_eq!(after, before + 1, "run now inserted the schedule's job");
    let res = browser
        .post("/schedules/no-such-schedule/run", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Alerts: acknowledge the engine's alert.
    let open = store
        .alert_list(store::AlertQuery {
            unacknowledged_only: true,
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!open.is_empty());
    let alert = open[0].id;
    assert_eq!(
        browser
            .post_redirect(&format!("/alerts/{alert}/ack"), &[("csrf", &csrf)])
            .await,
        "/alerts?ok=acked"
    );
    let acked = store
        .alert_list(store::AlertQuery {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        acked
            .iter()
            .find(|a| a.id == alert)
            .unwrap()
            .acknowledged_at
            .is_some()
    );
    assert!(browser.page("/alerts?all=1").await.contains("acknowledged"));
    let res = browser.post("/alerts/999999/ack", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_escape_data_and_never_show_tokens_or_keys() {
    let env = synced_app().await;
    let store = &env.app.store;
    // An account whose name and username carry markup, and a job whose arguments do.
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let hostile = store
        .account_upsert(NewAccount {
            ig_user_id: "17841499999999999".into(),
            username: "<script>alert('u')</script>".into(),
            name: Some("<img src=x onerror=alert(1)>".into()),
            account_type: store::AccountType::Business,
            login: store::LoginKind::Instagram,
            page_id: None,
            timezone: None,
            token: cipher
                .encrypt(&SecretString::new("secret-token-value"))
                .unwrap(),
            token_expires_at: None,
            now: env.engine.clock().now(),
        })
        .await
        .unwrap();
    let job = env
        .app
        .seed_failed_job(
            "<b>kind</b>",
            serde_json::json!({"note": "</pre><script>alert(2)</script>"}),
            "<i>boom</i>",
        )
        .await;
    let browser = Browser::sign_in(&env.app).await;
    let pages = [
        browser.page("/").await,
        browser.page(&format!("/accounts/{}", hostile.id)).await,
        browser.page("/queue?state=").await,
        browser.page(&format!("/queue/jobs/{job}")).await,
        browser.page("/alerts").await,
        browser.page("/schedules").await,
    ];
    for html in &pages {
        assert!(!html.contains("<script>alert"), "no injected script");
        assert!(!html.contains("<img src=x"), "no injected image");
        assert!(!html.contains("<b>kind</b>") && !html.contains("<i>boom</i>"));
        assert!(!html.contains("secret-token-value"));
        assert!(
            !html.contains(env.app.key.expose()),
            "the API key never appears"
        );
        assert!(
            !html.contains(&env.browser_cookie_value(&browser)),
            "the session cookie never appears"
        );
        for token in &env.tokens {
            assert!(
                !html.contains(token.as_str()),
                "an account token never appears"
            );
        }
    }
    assert!(pages[0].contains("@&lt;script&gt;alert(&#39;u&#39;)&lt;/script&gt;"));
    assert!(pages[3].contains("&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(pages[3].contains("&lt;i&gt;boom&lt;/i&gt;"));
    // A flash code that is not known shows nothing.
    assert!(
        !browser
            .page("/queue?ok=%3Cscript%3E")
            .await
            .contains("class=\"flash")
    );
    // Every page is served with the strict content security policy (no inline script).
    let res = browser.get("/").await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    for html in &pages {
        assert!(
            !html.contains("<script>") && !html.contains(" onclick="),
            "scripts come from /assets only"
        );
    }
}

impl SyncedApp {
    fn browser_cookie_value(&self, browser: &Browser<'_>) -> String {
        browser
            .cookie
            .trim_start_matches("igsync_session=")
            .to_owned()
    }
}

#[tokio::test]
async fn tokens_igsync_cannot_renew_are_flagged_on_the_alerts_page() {
    // The simulator's clients have an app id but no app secret: Facebook Login tokens
    // cannot be exchanged for new ones, Instagram Login tokens refresh on their own.
    let env = crate::support::SimApp::start(2, 4).await;
    let (fb, ig) = (&env.accounts[0].1, &env.accounts[1].1);
    assert_eq!(fb.login, simulator::LoginKind::Facebook);
    assert_eq!(ig.login, simulator::LoginKind::Instagram);
    let browser = Browser::sign_in(&env.app).await;
    let alerts = browser.page("/alerts").await;
    assert!(
        alerts.contains(&format!(
            "igsync cannot renew the token of @{}",
            fb.username
        )),
        "{alerts}"
    );
    assert!(alerts.contains("graph.app_secret"), "{alerts}");
    assert!(!alerts.contains(&format!(
        "igsync cannot renew the token of @{}",
        ig.username
    )));
}
