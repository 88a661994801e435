//! The dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed with apt when missing), driven over WebDriver: sign in, open the overview, an
//! account page and the queue monitor, retry the failed job from the monitor, and open the
//! self-contained HTML report from a file. Every step saves a screenshot. And connecting
//! accounts by clicking through the dashboard and the simulator's Meta consent page.
//!
//! Screenshots go to a fresh temporary directory, or to `IGSYNC_SCREENSHOT_DIR` when set
//! (that is how `docs/screenshots/` is refreshed).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use store::{JobQuery, JobState};

use crate::dashboard::synced_app_over;
use crate::support::temp_dir;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Installs Debian's Chromium and its driver when they are missing; fails (never skips)
/// with what to do when that is impossible.
fn ensure_chromium() {
    // The browser tests of this process install one at a time; another process's install
    // holds dpkg's lock, and apt waits for it (`DPkg::Lock::Timeout`) instead of failing.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return;
    }
    let install = || {
        std::process::Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600"])
            .args(["install", "-y", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
    };
    let ok = matches!(install(), Ok(s) if s.success())
        || (matches!(
            std::process::Command::new("apt-get")
                .args(["-o", "DPkg::Lock::Timeout=600", "update"])
                .status(),
            Ok(s) if s.success()
        ) && matches!(install(), Ok(s) if s.success()));
    assert!(
        ok && Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
        "the browser test needs Debian's Chromium: `apt-get install -y chromium chromium-driver` \
         failed or is not allowed here (it must run as root with network access to the Debian \
         mirrors). Install both packages, then run the tests again."
    );
}

/// A chromedriver process and one browser session, spoken to over HTTP.
struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    _process: tokio::process::Child,
}

impl Driver {
    async fn start(profile: &Path) -> Driver {
        ensure_chromium();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(res) = http.get(format!("{base}/status")).send().await
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == true
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "chromedriver did not become ready on port {port}");
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--hide-scrollbars",
                        format!("--user-data-dir={}", profile.display()),
                        "--window-size=1280,1000",
                    ],
                },
            }},
        });
        let res: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {res}"))
            .to_owned();
        Driver {
            http,
            base,
            session,
            _process: process,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status();
        let value: Value = res.json().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Waits (bounded) until the title contains `text`, after a navigation.
    async fn wait_for_title(&self, text: &str) -> String {
        let mut title = String::new();
        for _ in 0..100 {
            title = self.title().await;
            if title.contains(text) {
                return title;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page title never contained {text:?} (last: {title:?})");
    }

    /// Resizes the window to the page's height (up to `max_height`) and saves a PNG.
    async fn screenshot(&self, dir: &Path, name: &str, max_height: u32) -> PathBuf {
        let height = self
            .script(
                "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight",
            )
            .await
            .as_u64()
            .unwrap_or(1000) as u32;
        let height = height.clamp(600, max_height);
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 1280, "height": height })),
        )
        .await;
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        path
    }

    async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

#[tokio::test]
async fn chromium_signs_in_browses_retries_a_failed_job_and_saves_screenshots() {
    let env = synced_app_over(12).await;
    let store = &env.app.store;
    let dir = match std::env::var_os("IGSYNC_SCREENSHOT_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            PathBuf::from(d)
        }
        None => temp_dir("igsync-screenshots"),
    };
    let profile = temp_dir("igsync-chromium-profile");
    let driver = Driver::start(&profile).await;
    let mut shots = Vec::new();

    // Sign in.
    driver.goto(&env.app.url("/")).await;
    driver.wait_for_title("Sign in").await;
    shots.push(driver.screenshot(&dir, "login", 700).await);
    driver.type_into("#key", env.app.key.expose()).await;
    driver.click("button[type=submit]").await;
    driver.wait_for_title("Overview").await;

    // The overview lists every account with its status.
    let overview = driver.source().await;
    for (_, a) in env.synced.iter().chain(std::iter::once(&env.broken)) {
        assert!(overview.contains(&format!("@{}", a.username)));
    }
    assert!(overview.contains("needs re-auth"));
    shots.push(driver.screenshot(&dir, "overview", 1000).await);

    // An account page with its charts.
    let (id, account) = &env.synced[0];
    driver.goto(&env.app.url(&format!("/accounts/{id}"))).await;
    driver
        .wait_for_title(&format!("@{}", account.username))
        .await;
    let charts = driver
        .script("return document.querySelectorAll('svg.chart').length")
        .await;
    assert!(charts.as_u64().unwrap() >= 5, "charts rendered: {charts}");
    let chart_width = driver
        .script("return document.querySelector('svg.chart').getBoundingClientRect().width")
        .await;
    assert!(
        chart_width.as_f64().unwrap() > 300.0,
        "charts have a real size: {chart_width}"
    );
    shots.push(driver.screenshot(&dir, "account", 1300).await);

    // The queue monitor opens on failed jobs; select the failed job and retry it.
    let failed = store
        .job_list(JobQuery {
            states: vec![JobState::Failed],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs;
    assert_eq!(failed.len(), 1, "the expired token failed one job");
    let job = failed[0].id;
    driver.goto(&env.app.url("/queue")).await;
    driver.wait_for_title("Queue").await;
    let live = driver.source().await;
    assert!(live.contains(&format!("/queue/jobs/{job}")));
    shots.push(driver.screenshot(&dir, "queue", 1300).await);
    driver
        .click(&format!("input[name=ids][value='{job}']"))
        .await;
    let enabled = driver
        .script(
            "return !document.querySelector('button[value=retry][data-needs-selection]').disabled",
        )
        .await;
    assert_eq!(
        enabled,
        json!(true),
        "selecting a job enables the bulk buttons"
    );
    driver
        .click("button[value=retry][data-needs-selection]")
        .await;
    driver.wait_for_title("Queue").await;
    let mut retried = false;
    for _ in 0..100 {
        if driver.source().await.contains("1 job(s) retried") {
            retried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(retried, "the monitor confirms the retry");
    assert_eq!(
        store.job_get(job).await.unwrap().unwrap().state,
        JobState::Pending,
        "the job is pending again"
    );
    shots.push(driver.screenshot(&dir, "queue-retried", 1000).await);

    // Live counts refresh without a reload: cancel the job behind the page's back and wait
    // (bounded) for the polled count to show it.
    let shown = |v: Value| v.as_str().unwrap_or_default().trim().to_owned();
    let cancelled_before = shown(
        driver
            .script("return document.querySelector('[data-live=\"state:cancelled\"]').textContent")
            .await,
    );
    assert_eq!(cancelled_before, "0");
    let n = store
        .jobs_cancel(store::JobSelector::Ids(vec![job]), env.engine.clock().now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let mut refreshed = false;
    for _ in 0..300 {
        let text = shown(
            driver
                .script(
                    "return document.querySelector('[data-live=\"state:cancelled\"]').textContent",
                )
                .await,
        );
        if text == "1" {
            refreshed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        refreshed,
        "the live count of cancelled jobs updated from /queue/live"
    );
    let status = driver
        .script("return document.querySelector('[data-live-status]').textContent")
        .await;
    assert!(
        shown(status).starts_with("live · updated"),
        "the page says it is live"
    );

    // The job's own page.
    driver
        .goto(&env.app.url(&format!("/queue/jobs/{job}")))
        .await;
    driver.wait_for_title(&format!("Job #{job}")).await;
    assert!(driver.source().await.contains("Attempts and errors"));
    shots.push(driver.screenshot(&dir, "job", 1200).await);

    // Schedules and alerts.
    driver.goto(&env.app.url("/schedules")).await;
    driver.wait_for_title("Schedules").await;
    shots.push(driver.screenshot(&dir, "schedules", 900).await);
    driver.goto(&env.app.url("/alerts")).await;
    driver.wait_for_title("Alerts").await;
    assert!(driver.source().await.contains("Meta rejected the token"));
    shots.push(driver.screenshot(&dir, "alerts", 1200).await);

    // The self-contained HTML report, opened from a file with nothing else around.
    let now = env.engine.clock().now();
    let history = sync::load_account_history(&**store, *id, sync::HistoryWindow::trailing(now, 60))
        .await
        .unwrap();
    let tz = history.account.time_zone;
    let period = analytics::Period::last_days(now, tz, 30).unwrap();
    let report =
        analytics::performance_report(&history, period, now, &analytics::ReportConfig::default());
    let stored = store.account_get(*id).await.unwrap().unwrap();
    let html = server::report::render(
        &report,
        &server::report::ReportSubject::from(&stored),
        server::report::ReportFormat::Html,
    );
    let file = dir.join("report.html");
    std::fs::write(&file, html).unwrap();
    driver.goto(&format!("file://{}", file.display())).await;
    driver.wait_for_title("igsync report").await;
    let styled = driver
        .script("return getComputedStyle(document.querySelector('.card')).borderTopLeftRadius")
        .await;
    assert_eq!(
        styled,
        json!("8px"),
        "the inline stylesheet applies offline"
    );
    let charts = driver
        .script("return document.querySelectorAll('svg.chart').length")
        .await;
    assert!(charts.as_u64().unwrap() >= 5, "report charts: {charts}");
    shots.push(driver.screenshot(&dir, "report", 1200).await);
    let _ = std::fs::remove_file(&file);

    driver.quit().await;
    for shot in &shots {
        let size = std::fs::metadata(shot).unwrap().len();
        assert!(
            size > 10_000,
            "{} is a real screenshot ({size} bytes)",
            shot.display()
        );
    }
    eprintln!("screenshots in {}", dir.display());
}

/// Waits (bounded) until the page source contains `text`.
async fn wait_for_source(driver: &Driver, text: &str) -> String {
    let mut source = String::new();
    for _ in 0..100 {
        source = driver.source().await;
        if source.contains(text) {
            return source;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never contained {text:?}:\n{source}");
}

#[tokio::test]
async fn chromium_connects_accounts_through_meta_s_consent_page_and_reconnects_one() {
    use crate::connect::{connect_app, fb_user};
    use store::{RunQuery, SyncStatus};

    let c = connect_app(true, true).await;
    let user = fb_user(&c.sim);
    let dir = temp_dir("igsync-connect-screenshots");
    let profile = temp_dir("igsync-chromium-profile");
    let driver = Driver::start(&profile).await;

    driver.goto(&c.app.url("/")).await;
    driver.wait_for_title("Sign in").await;
    driver.type_into("#key", c.app.key.expose()).await;
    driver.click("button[type=submit]").await;
    driver.wait_for_title("Overview").await;

    // Connect account → Facebook Login → the consent page, where one permission is unticked.
    driver.click("a[href='/connect']").await;
    driver.wait_for_title("Connect account").await;
    driver.screenshot(&dir, "connect", 900).await;
    driver
        .click("a[href='/connect/start?login=facebook']")
        .await;
    driver.wait_for_title("Facebook Login for Business").await;
    driver
        .click("input[name=grant][value=instagram_manage_insights]")
        .await;
    driver.click("button[value=continue]").await;
    driver.wait_for_title("Accounts found").await;
    let page = wait_for_source(&driver, "You declined: instagram_manage_insights").await;
    assert!(!page.contains("Add selected"));
    driver.screenshot(&dir, "connect-declined", 900).await;

    // Ask again, grant everything, and add two of the three accounts found.
    driver
        .click("a[href='/connect/start?login=facebook&rerequest=1']")
        .await;
    driver.wait_for_title("Facebook Login for Business").await;
    driver.click("button[value=continue]").await;
    driver.wait_for_title("Accounts found").await;
    let page = driver.source().await;
    for ig in &user.ig_user_ids {
        assert!(page.contains(&format!("value=\"{ig}\"")), "{ig} is listed");
    }
    driver.screenshot(&dir, "connect-review", 900).await;
    let left_out = &user.ig_user_ids[2];
    driver
        .click(&format!("input[name=ig][value='{left_out}']"))
        .await;
    driver
        .click("form[action^='/connect/review/'] button[type=submit]")
        .await;
    driver.wait_for_title("Accounts connected").await;
    let page = driver.source().await;
    assert_eq!(page.matches("data-added=").count(), 2, "{page}");

    c.engine.run_until_idle().await.unwrap();
    let accounts = c.store.account_list().await.unwrap();
    assert_eq!(accounts.len(), 2);
    assert!(accounts.iter().all(|a| a.ig_user_id != *left_out));
    for a in &accounts {
        assert_eq!(a.status, SyncStatus::Idle, "{:?}", a.last_sync_error);
        assert!(a.last_synced_at.is_some(), "@{} synced", a.username);
    }
    driver.goto(&c.app.url("/")).await;
    driver.wait_for_title("Overview").await;
    let overview = driver.source().await;
    for a in &accounts {
        assert!(overview.contains(&format!("@{}", a.username)));
    }

    // Meta stops accepting one account's token: its sync needs re-authorization, and
    // "Reconnect" on its page repairs it through the consent page.
    let broken = &accounts[0];
    c.sim.expire_token(&broken.ig_user_id);
    c.engine
        .enqueue_sync(broken.id, sync::Plan::Full, "test")
        .await
        .unwrap();
    c.engine.run_until_idle().await.unwrap();
    let runs_before = c
        .store
        .sync_runs_list(RunQuery {
            account_id: Some(broken.id),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    assert_eq!(
        c.store
            .account_get(broken.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        SyncStatus::NeedsReauth
    );
    driver
        .goto(&c.app.url(&format!("/accounts/{}", broken.id)))
        .await;
    driver
        .wait_for_title(&format!("@{}", broken.username))
        .await;
    driver.click("a.button[href^='/connect/start']").await;
    driver.wait_for_title("Facebook Login for Business").await;
    driver.click("button[value=continue]").await;
    driver
        .wait_for_title(&format!("@{}", broken.username))
        .await;
    wait_for_source(&driver, "Reconnected: the new token is stored").await;
    driver.screenshot(&dir, "reconnected", 900).await;
    c.engine.run_until_idle().await.unwrap();
    let repaired = c.store.account_get(broken.id).await.unwrap().unwrap();
    assert_eq!(
        repaired.status,
        SyncStatus::Idle,
        "{:?}",
        repaired.last_sync_error
    );
    let runs = c
        .store
        .sync_runs_list(RunQuery {
            account_id: Some(broken.id),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), runs_before + 1, "its sync ran again");
    assert_eq!(runs[0].status, store::RunStatus::Succeeded);
    driver.quit().await;
}
