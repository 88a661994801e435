//! `igsync accounts connect` against the simulator without a person: the test reads the
//! login URL the command prints and follows it as a browser would (the simulator consents at
//! once), Meta's redirect reaches the command's listener, and the accounts the login reaches
//! are registered, one line each. And the refusals: no terminal without `--all`, no app
//! credentials, a cancelled login.

use std::time::Duration;

use simulator::{LoginAuto, LoginKind as SimLogin, SimServer};
use store::LoginKind;

use crate::support::{Dialect, Harness, Proc, http, serve, sim_config, start_sim};

/// Waits for the printed login URL, follows it to the command's listener, and returns the
/// URL it followed.
async fn follow_login(proc: &mut Proc, sim: &SimServer) -> String {
    let out = proc
        .wait_for_output(&sim.url(), Duration::from_secs(60))
        .await;
    let url = out
        .lines()
        .find(|l| l.starts_with(&sim.url()))
        .unwrap()
        .trim()
        .to_owned();
    let res = http().get(&url).send().await.unwrap();
    assert_eq!(
        res.status(),
        reqwest::StatusCode::FOUND,
        "the dialog consents"
    );
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with("http://127.0.0.1:"), "{back}");
    let res = http()
        .get(back.split('#').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("close this tab"), "{page}");
    url
}

async fn harness(sim: &SimServer, label: &str) -> Harness {
    let mut h = Harness::new(Dialect::Sqlite, label).await;
    h.graph(sim);
    h.set("IGSYNC_GRAPH_APP_ID", &sim.app_id());
    h.set("IGSYNC_GRAPH_APP_SECRET", &sim.app_secret());
    h.set("IGSYNC_GRAPH_API_VERSION", "v25.0");
    h.ok(&["migrate"], None).await;
    h
}

#[tokio::test]
async fn connect_registers_the_accounts_of_both_logins_without_a_person() {
    let sim = start_sim(sim_config(401, 8, 4)).await;
    sim.set_login_auto(Some(LoginAuto::default()));
    let h = harness(&sim, "connect").await;
    let fb_user = sim
        .login_users()
        .into_iter()
        .find(|u| u.login == SimLogin::Facebook)
        .unwrap();

    let args = [
        "accounts",
        "connect",
        "--login",
        "facebook",
        "--all",
        "--redirect-port",
        "0",
    ];
    let mut proc = h.spawn(&args);
    let url = follow_login(&mut proc, &sim).await;
    assert!(url.contains("/v25.0/dialog/oauth?client_id="), "{url}");
    assert!(
        url.contains("&redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    let status = proc.wait(Duration::from_secs(60)).await;
    let out = proc.stdout();
    assert!(status.success(), "{out}{}", proc.stderr());
    let added: Vec<&str> = out.lines().filter(|l| l.starts_with("added @")).collect();
    assert_eq!(added.len(), 3, "one line per account: {out}");
    for ig in &fb_user.ig_user_ids {
        assert!(
            added
                .iter()
                .any(|l| l.contains(&format!("ig user id {ig},"))
                    && l.ends_with("facebook login; token does not expire)")),
            "{ig}: {out}"
        );
    }

    let mut proc = h.spawn(&[
        "accounts",
        "connect",
        "--login",
        "instagram",
        "--all",
        "--redirect-port",
        "0",
    ]);
    let url = follow_login(&mut proc, &sim).await;
    assert!(url.contains("/oauth/authorize?client_id="), "{url}");
    let status = proc.wait(Duration::from_secs(60)).await;
    let out = proc.stdout();
    assert!(status.success(), "{out}{}", proc.stderr());
    let ig_user = sim
        .login_users()
        .into_iter()
        .find(|u| u.login == SimLogin::Instagram)
        .unwrap();
    assert_eq!(
        out.lines().filter(|l| l.starts_with("added @")).count(),
        1,
        "{out}"
    );
    assert!(
        out.contains(&format!("ig user id {},", ig_user.ig_user_ids[0])),
        "{out}"
    );
    assert!(out.contains("instagram login; token expires "), "{out}");

    let store = h.db.open().await;
    let accounts = store.account_list().await.unwrap();
    assert_eq!(accounts.len(), 4);
    assert_eq!(
        accounts
            .iter()
            .filter(|a| a.login == LoginKind::Facebook)
            .count(),
        3
    );
    let logs = h.all_logs();
    assert!(
        !logs.contains(&sim.app_secret()),
        "the app secret is never printed"
    );
}

#[tokio::test]
async fn connect_refuses_clearly_without_a_terminal_app_credentials_or_consent() {
    let sim = start_sim(sim_config(402, 4, 2)).await;
    let mut h = harness(&sim, "connect-refusals").await;

    let run = h
        .run(&["accounts", "connect", "--login", "facebook"], None)
        .await;
    assert!(!run.status.success());
    assert!(
        run.stderr
            .contains("there is no terminal to choose the accounts on: pass --all"),
        "{run}"
    );

    sim.set_login_auto(Some(LoginAuto {
        cancel: true,
        ..LoginAuto::default()
    }));
    let mut proc = h.spawn(&[
        "accounts",
        "connect",
        "--login",
        "facebook",
        "--all",
        "--redirect-port",
        "0",
    ]);
    follow_login(&mut proc, &sim).await;
    let status = proc.wait(Duration::from_secs(60)).await;
    assert!(!status.success());
    assert!(
        proc.stderr()
            .contains("the login was cancelled on Meta's page (user_denied: Permissions error.)"),
        "{}",
        proc.stderr()
    );

    h.set("IGSYNC_GRAPH_APP_SECRET", "");
    let run = h
        .run(
            &["accounts", "connect", "--login", "instagram", "--all"],
            None,
        )
        .await;
    assert!(!run.status.success());
    assert!(
        run.stderr
            .contains("connecting accounts needs your Meta app's id and secret: set graph.app_id and graph.app_secret"),
        "{run}"
    );
}

#[tokio::test]
async fn serve_says_at_start_whether_connecting_is_available_and_refuses_a_bad_public_url() {
    let sim = start_sim(sim_config(403, 2, 2)).await;
    let mut h = harness(&sim, "connect-serve").await;

    let (mut proc, _) = serve(&h, &["--no-worker"]).await;
    let text = proc
        .wait_for_output("from the dashboard is unavailable", Duration::from_secs(30))
        .await;
    assert!(
        text.contains(
            "connecting facebook accounts from the dashboard is unavailable: set server.public_url (IGSYNC_SERVER_PUBLIC_URL)"
        ),
        "{text}"
    );
    proc.terminate().await;

    h.set("IGSYNC_SERVER_PUBLIC_URL", "https://igsync.example.com/");
    let (mut proc, _) = serve(&h, &["--no-worker"]).await;
    let text = proc
        .wait_for_output("connect instagram accounts at", Duration::from_secs(30))
        .await;
    assert!(
        text.contains(
            "connect facebook accounts at https://igsync.example.com/connect (redirect URI https://igsync.example.com/connect/callback)"
        ),
        "{text}"
    );
    assert!(!text.contains(&sim.app_secret()));
    proc.terminate().await;

    h.set("IGSYNC_SERVER_PUBLIC_URL", "igsync.example.com");
    let run = h.run(&["serve", "--listen", "127.0.0.1:0"], None).await;
    assert!(!run.status.success());
    assert!(run.stderr.contains("server.public_url"), "{run}");
    assert!(run.stderr.contains("an http(s) URL with a host"), "{run}");
}
