//! Connecting accounts through Meta's login flows, over real HTTP between a cookie-keeping
//! client, the dashboard and the simulator's dialogs: Facebook Login from "Connect account"
//! through the consent page to two of three accounts added and synced; a declined
//! permission named with its re-request link; "Reconnect" repairing an account that needs
//! re-authorization; and every way a login can go wrong (state mismatch, reused state,
//! reused code, wrong redirect URI, denied consent, expired state, missing app credentials
//! or public URL), each ending on a clear page.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use server::{AppState, ServerSettings};
use simulator::{LoginAuto, LoginKind as SimLogin, SimConfig, SimServer};
use store::{Cipher, DynStore, LoginKind, SecretKey, SyncStatus};
use sync::connect::{ConnectError, Logins, Pending};
use sync::{Clock, Engine, GraphClients};

use crate::dashboard::{Browser, csrf_of, form_body};
use crate::support::{TestApp, http_client, sqlite_store, test_engine};

pub(crate) struct ConnectApp {
    pub(crate) app: TestApp,
    pub(crate) sim: SimServer,
    pub(crate) engine: Engine,
    pub(crate) store: DynStore,
    pub(crate) cipher: Cipher,
    pub(crate) clock: Clock,
}

fn clients(sim: &SimServer, clock: &graph::Clock, secret: bool) -> GraphClients {
    let client = |login| {
        let mut b = graph::GraphConfig::builder(login, sim.app_id())
            .base_url(sim.url())
            .version(graph::ApiVersion::V25)
            .request_timeout(Duration::from_secs(5))
            .retry(graph::RetryPolicy {
                max_attempts: 2,
                initial_backoff: Duration::from_millis(5),
                max_backoff: Duration::from_millis(20),
            })
            .clock(clock.clone());
        if secret {
            b = b.app_secret(sim.app_secret());
        }
        graph::GraphClient::new(b.build().unwrap()).unwrap()
    };
    sync::graph_clients([
        client(graph::LoginKind::Facebook),
        client(graph::LoginKind::Instagram),
    ])
}

/// The simulator (the first Facebook login user owns three accounts and a Page without
/// Instagram), an empty database, the engine, and the server with `server.public_url` set
/// to its own address (unless `public_url` is false) and app credentials (unless `secret`
/// is false).
pub(crate) async fn connect_app(public_url: bool, secret: bool) -> ConnectApp {
    let mut config = SimConfig::new(401, 8, 6);
    config.history_days = 20;
    let sim = SimServer::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let store = sqlite_store("igsync-connect-test").await;
    let clock = Clock::manual(sim.now());
    let graph_clock = graph::Clock::offset();
    let graph = clients(&sim, &graph_clock, secret);
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let engine = test_engine(&store, &graph, &cipher, &clock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = ServerSettings {
        public_url: public_url.then(|| base.clone()),
        ..ServerSettings::default()
    };
    let (key, secret_key) =
        server::auth::create_api_key(&*store, "connect tests", chrono::Utc::now())
            .await
            .unwrap();
    let state = AppState::new(store.clone(), settings)
        .with_cipher(cipher.clone())
        .with_graph(graph)
        .with_engine(engine.clone());
    let app = TestApp::serve_on(listener, state, secret_key, key.id).await;
    ConnectApp {
        app,
        sim,
        engine,
        store,
        cipher,
        clock,
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("a redirect: {}", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// `GET /connect/start?…` with the session: the dialog URL Meta's page is opened at.
async fn start(b: &Browser<'_>, query: &str) -> String {
    let res = b.get(&format!("/connect/start?{query}")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{query}");
    location(&res)
}

/// The `name="…" value="…"` pairs of the inputs of `kind` (with `extra` in the tag).
fn inputs(html: &str, kind: &str, extra: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        if !tag.contains(&format!("type=\"{kind}\"")) || !tag.contains(extra) {
            continue;
        }
        let attr = |name: &str| {
            let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
            Some(
                tag[at..at + tag[at..].find('"')?]
                    .replace("&amp;", "&")
                    .replace("&quot;", "\""),
            )
        };
        out.push((attr("name").unwrap(), attr("value").unwrap_or_default()));
    }
    out
}

/// Opens Meta's (the simulator's) consent page, unticks `decline`, presses Continue, and
/// returns where Meta sends the browser back to (without the fragment).
async fn consent(sim: &SimServer, dialog: &str, decline: &[&str]) -> String {
    let client = http_client();
    let res = client.get(dialog).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the consent page");
    let html = res.text().await.unwrap();
    assert!(html.contains(">Continue</button>"), "{html}");
    let mut form: Vec<(String, String)> = inputs(&html, "hidden", "");
    for (name, value) in inputs(&html, "checkbox", "checked") {
        if !decline.contains(&value.as_str()) {
            form.push((name, value));
        }
    }
    form.push(("action".into(), "continue".into()));
    let action = {
        let at = html.find("action=\"").unwrap() + 8;
        html[at..at + html[at..].find('"').unwrap()].to_owned()
    };
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = client
        .post(format!("{}{action}", sim.url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&pairs))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let back = location(&res);
    back.split('#').next().unwrap().to_owned()
}

/// Follows Meta's redirect back as a browser does: the first request from Meta's site
/// carries no `SameSite=Strict` cookie, so igsync answers with a page that reloads it from
/// its own site; that request carries the session. Returns the final answer.
async fn come_back(b: &Browser<'_>, url: &str) -> reqwest::Response {
    assert!(url.starts_with(&b.app.base), "{url}");
    let first = http_client().get(url).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let refresh = first.headers()["refresh"].to_str().unwrap().to_owned();
    let target = refresh.strip_prefix("0;url=").unwrap().to_owned();
    assert!(target.starts_with("/connect/callback?") && target.ends_with("&resumed=1"));
    b.get(&target).await
}

pub(crate) fn fb_user(sim: &SimServer) -> simulator::LoginUser {
    sim.login_users()
        .into_iter()
        .find(|u| u.login == SimLogin::Facebook)
        .unwrap()
}

#[tokio::test]
async fn facebook_login_adds_two_of_three_accounts_and_syncs_them() {
    let c = connect_app(true, true).await;
    let b = Browser::sign_in(&c.app).await;
    let overview = b.page("/").await;
    assert!(overview.contains("href=\"/connect\">Connect account</a>"));
    let choose = b.page("/connect").await;
    assert!(
        choose.contains("href=\"/connect/start?login=facebook\""),
        "{choose}"
    );
    assert!(choose.contains("href=\"/connect/start?login=instagram\""));
    assert!(choose.contains("Business Discovery"));

    let dialog = start(&b, "login=facebook").await;
    let want = format!(
        "{}/v25.0/dialog/oauth?client_id={}&redirect_uri={}%2Fconnect%2Fcallback&response_type=code&scope=instagram_basic%2Cinstagram_manage_insights%2Cpages_show_list%2Cpages_read_engagement%2Cbusiness_management&state=",
        c.sim.url(),
        c.sim.app_id(),
        c.app.base.replace(':', "%3A").replace('/', "%2F"),
    );
    assert!(dialog.starts_with(&want), "{dialog}\n{want}");
    let back = consent(&c.sim, &dialog, &[]).await;
    let res = come_back(&b, &back).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let review = location(&res);
    assert!(review.starts_with("/connect/review/"), "{review}");

    let user = fb_user(&c.sim);
    let html = b.page(&review).await;
    let boxes: Vec<String> = inputs(&html, "checkbox", "name=\"ig\"")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(boxes, user.ig_user_ids, "one checkbox per account found");
    assert!(html.contains(">Add selected</button>"));
    assert!(!html.contains("You declined"));
    for secret in [c.sim.app_secret(), "EAAP".to_owned(), "EAAG".to_owned()] {
        assert!(
            !html.contains(&secret),
            "no token or app secret on the page"
        );
    }
    for page in &user.pages {
        if page.ig_user_id.is_some() {
            assert!(
                html.contains(&page.name),
                "the Page is named: {}",
                page.name
            );
        }
    }
    let csrf = csrf_of(&html);
    let (a, bb) = (&user.ig_user_ids[0], &user.ig_user_ids[1]);
    let res = b
        .post(
            &review,
            &[
                ("csrf", csrf.as_str()),
                ("ig", a.as_str()),
                ("ig", bb.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let done = res.text().await.unwrap();
    assert_eq!(done.matches("data-added=").count(), 2, "{done}");
    assert!(done.contains("its first sync is queued"), "{done}");
    assert!(!done.contains(&c.sim.app_secret()) && !done.contains("EAAP"));

    c.engine.run_until_idle().await.unwrap();
    let accounts = c.store.account_list().await.unwrap();
    assert_eq!(accounts.len(), 2, "only the two chosen accounts");
    for acct in &accounts {
        assert!([a, bb].contains(&&acct.ig_user_id));
        assert_eq!(acct.login, LoginKind::Facebook);
        assert_eq!(
            acct.status,
            SyncStatus::Idle,
            "@{} synced: {:?}",
            acct.username,
            acct.last_sync_error
        );
        assert!(acct.last_synced_at.is_some());
        assert!(acct.media_count.is_some_and(|n| n > 0));
        assert_eq!(
            acct.token_expires_at, None,
            "a Page token from a long-lived user token does not expire"
        );
        let page = b.page(&format!("/accounts/{}", acct.id)).await;
        assert!(page.contains("<span class=\"label\">login</span>Facebook Login"));
        assert!(page.contains("data-capabilities>Reads profile"));
    }

    // The login is spent: the review page and the callback cannot be replayed.
    let again = b.get(&review).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let replay = b
        .get(&format!(
            "/connect/callback?{}&resumed=1",
            back.split_once('?').unwrap().1
        ))
        .await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(
        replay
            .text()
            .await
            .unwrap()
            .contains("this login was already used")
    );
}

#[tokio::test]
async fn a_declined_permission_is_named_with_a_link_that_asks_again() {
    let c = connect_app(true, true).await;
    let b = Browser::sign_in(&c.app).await;
    let dialog = start(&b, "login=facebook").await;
    let back = consent(&c.sim, &dialog, &["instagram_manage_insights"]).await;
    let res = come_back(&b, &back).await;
    let review = location(&res);
    let html = b.page(&review).await;
    assert!(
        html.contains("You declined: instagram_manage_insights (igsync needs them"),
        "{html}"
    );
    assert!(html.contains("Missing permissions: instagram_manage_insights"));
    assert!(!html.contains("Add selected"), "nothing can be added");
    let link = "/connect/start?login=facebook&amp;rerequest=1";
    assert!(html.contains(link), "{html}");
    let dialog = start(&b, "login=facebook&rerequest=1").await;
    assert!(dialog.ends_with("&auth_type=rerequest"), "{dialog}");
    // Meta asks again; granted this time, the accounts can be added.
    let back = consent(&c.sim, &dialog, &[]).await;
    let review = location(&come_back(&b, &back).await);
    let html = b.page(&review).await;
    assert!(html.contains("Add selected"), "{html}");
    assert!(!html.contains("You declined"));

    // Instagram Login: the account itself, with a declined scope named the same way.
    c.sim.set_login_auto(Some(LoginAuto {
        decline: vec!["instagram_business_manage_insights".into()],
        ..LoginAuto::default()
    }));
    let dialog = start(&b, "login=instagram").await;
    assert!(
        dialog.starts_with(&format!("{}/oauth/authorize?client_id=", c.sim.url())),
        "{dialog}"
    );
    let res = http_client().get(&dialog).send().await.unwrap();
    let back = location(&res);
    let review = location(&come_back(&b, back.split('#').next().unwrap()).await);
    let html = b.page(&review).await;
    assert!(
        html.contains("You declined: instagram_business_manage_insights"),
        "{html}"
    );
}

#[tokio::test]
async fn reconnect_repairs_an_account_that_needs_reauthorization_and_its_syncs_resume() {
    let c = connect_app(true, true).await;
    let user = fb_user(&c.sim);
    let sim_account = c
        .sim
        .accounts()
        .into_iter()
        .find(|a| a.ig_user_id == user.ig_user_ids[0])
        .unwrap();
    let account = c
        .store
        .account_upsert(testsupport::new_account(
            &sim_account,
            &c.cipher,
            c.clock.now(),
        ))
        .await
        .unwrap();
    c.sim.expire_token(&sim_account.ig_user_id);
    c.engine
        .enqueue_sync(account.id, sync::Plan::Full, "test")
        .await
        .unwrap();
    c.engine.run_until_idle().await.unwrap();
    let broken = c.store.account_get(account.id).await.unwrap().unwrap();
    assert_eq!(broken.status, SyncStatus::NeedsReauth);

    let b = Browser::sign_in(&c.app).await;
    let page = b.page(&format!("/accounts/{}", account.id)).await;
    let link = format!(
        "href=\"/connect/start?login=facebook&amp;account={}\">Reconnect</a>",
        account.id
    );
    assert!(page.contains(&link), "{page}");
    assert!(b.page("/").await.contains(&link), "the overview has it too");

    c.sim.set_login_auto(Some(LoginAuto::default()));
    let dialog = start(&b, &format!("login=facebook&account={}", account.id)).await;
    let res = http_client().get(&dialog).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "consent given at once");
    let back = location(&res);
    let res = come_back(&b, back.split('#').next().unwrap()).await;
    if res.status() != StatusCode::SEE_OTHER {
        panic!("{}: {}", res.status(), res.text().await.unwrap());
    }
    assert_eq!(
        location(&res),
        format!("/accounts/{}?ok=reconnected", account.id)
    );
    let page = b
        .page(&format!("/accounts/{}?ok=reconnected", account.id))
        .await;
    assert!(page.contains("Reconnected: the new token is stored"));
    let repaired = c.store.account_get(account.id).await.unwrap().unwrap();
    assert_eq!(repaired.status, SyncStatus::Idle);
    assert_eq!(repaired.token_expires_at, None, "a Page token");
    c.engine.run_until_idle().await.unwrap();
    let synced = c.store.account_get(account.id).await.unwrap().unwrap();
    assert_eq!(
        synced.status,
        SyncStatus::Idle,
        "{:?}",
        synced.last_sync_error
    );
    assert!(synced.last_synced_at.is_some(), "its sync ran again");
    assert_eq!(c.store.account_list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn every_failed_login_ends_on_a_clear_page() {
    let c = connect_app(true, true).await;
    let b = Browser::sign_in(&c.app).await;
    let text = |res: reqwest::Response| async move {
        let status = res.status();
        (status, res.text().await.unwrap())
    };

    // Denied consent.
    c.sim.set_login_auto(Some(LoginAuto {
        cancel: true,
        ..LoginAuto::default()
    }));
    let dialog = start(&b, "login=facebook").await;
    let back = location(&http_client().get(&dialog).send().await.unwrap());
    assert!(back.contains("error=access_denied"), "{back}");
    let (status, html) = text(come_back(&b, &back).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains(
            "the login was cancelled on Meta&#39;s page (user_denied: Permissions error.)"
        ),
        "{html}"
    );
    assert!(html.contains("Nothing was connected"));
    c.sim.set_login_auto(Some(LoginAuto::default()));

    // A state from another session.
    let other = Browser::sign_in(&c.app).await;
    let dialog = start(&other, "login=facebook").await;
    let back = location(&http_client().get(&dialog).send().await.unwrap());
    let (status, html) = text(come_back(&b, &back).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("started by someone else"), "{html}");

    // A forged or missing state.
    for query in ["code=abc&state=forged&resumed=1", "code=abc&resumed=1"] {
        let (status, html) = text(b.get(&format!("/connect/callback?{query}")).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains("state is missing or unknown"), "{html}");
    }

    // An expired state (the login took more than 10 minutes).
    let dialog = start(&b, "login=facebook").await;
    let back = location(&http_client().get(&dialog).send().await.unwrap());
    c.clock.advance(chrono::Duration::minutes(11));
    let (status, html) = text(come_back(&b, &back).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("the login expired"), "{html}");

    // Coming back without a session at all.
    let dialog = start(&b, "login=facebook").await;
    let back = location(&http_client().get(&dialog).send().await.unwrap());
    let res = http_client()
        .get(format!("{}&resumed=1", back.split('#').next().unwrap()))
        .send()
        .await
        .unwrap();
    let (status, html) = text(res).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("sign in to the dashboard first"), "{html}");
}

#[tokio::test]
async fn a_reused_code_and_a_wrong_redirect_uri_are_refused_by_meta_and_said_so() {
    let c = connect_app(true, true).await;
    let graph = clients(&c.sim, &graph::Clock::offset(), true);
    let logins = Logins::default();
    let client = graph.get(&graph::LoginKind::Facebook).unwrap();
    c.sim.set_login_auto(Some(LoginAuto::default()));
    let redirect = format!("{}/connect/callback", c.app.base);
    let pending = |redirect: &str| Pending {
        login: LoginKind::Facebook,
        redirect_uri: redirect.to_owned(),
        owner: "cli".into(),
        reconnect: None,
        started_at: c.clock.now(),
    };
    let code_of = |url: String| {
        let query = url
            .split('#')
            .next()
            .unwrap()
            .split_once('?')
            .unwrap()
            .1
            .to_owned();
        let params: BTreeMap<String, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        params["code"].clone()
    };
    let (_, dialog) = logins.begin(client, pending(&redirect), false).unwrap();
    let code = code_of(location(&http_client().get(&dialog).send().await.unwrap()));
    let first = sync::connect::authorize(&graph, &pending(&redirect), &code)
        .await
        .unwrap();
    assert_eq!(first.accounts.len(), 3);
    assert!(first.accounts.iter().all(|a| a.page_token));
    let again = sync::connect::authorize(&graph, &pending(&redirect), &code)
        .await
        .unwrap_err();
    assert!(matches!(again, ConnectError::Meta(_)));
    assert!(
        again
            .to_string()
            .contains("This authorization code has been used"),
        "{again}"
    );

    let (_, dialog) = logins.begin(client, pending(&redirect), false).unwrap();
    let code = code_of(location(&http_client().get(&dialog).send().await.unwrap()));
    let wrong = sync::connect::authorize(&graph, &pending("http://127.0.0.1:9/elsewhere"), &code)
        .await
        .unwrap_err();
    assert!(
        wrong.to_string().contains("redirect_uri is identical"),
        "{wrong}"
    );
    assert!(
        !wrong.to_string().contains(&c.sim.app_secret()),
        "the app secret never reaches a message"
    );
}

#[tokio::test]
async fn connecting_without_app_credentials_or_public_url_says_what_to_set() {
    for (public_url, secret, want) in [
        (true, false, "set graph.app_id and graph.app_secret"),
        (
            false,
            true,
            "set server.public_url (IGSYNC_SERVER_PUBLIC_URL)",
        ),
    ] {
        let c = connect_app(public_url, secret).await;
        let b = Browser::sign_in(&c.app).await;
        let html = b.page("/connect").await;
        assert!(html.contains(&format!("Unavailable: {want}")), "{html}");
        assert!(!html.contains("/connect/start?login="), "no way to start");
        let res = b.get("/connect/start?login=facebook").await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("connecting accounts is not available"),
            "{html}"
        );
        assert!(html.contains(want));
    }
}
