//! Registering accounts (`sync::accounts::register`, behind both `igsync accounts add` and
//! `POST /api/v1/accounts`) against the simulator: a token is stored only under the account
//! it opens, and the account type and token expiry are learned where Meta says them, or the
//! documented 60 days are assumed, so the daily refresh always reaches the account.

use std::net::SocketAddr;

use chrono::{DateTime, Duration, Utc};
use graph::{GraphClient, GraphConfig};
use simulator::SimServer;
use store::{AccountType, Cipher, LoginKind, SecretKey, SecretString};
use sync::accounts::{RegisterError, Registration, TokenExpiry, register};
use sync::graph_clients;

use crate::both_dialects;
use crate::db::{Dialect, TestDb};
use crate::env::sim_config;

both_dialects!(
    a_token_is_only_stored_under_the_account_it_opens,
    type_and_expiry_are_learned_without_app_credentials_or_assumed,
    instagram_tokens_of_unknown_expiry_are_refreshed
);

/// Clients pointed at the simulator, with or without the app's id and secret.
fn clients(sim: &SimServer, app: bool) -> sync::GraphClients {
    let client = |login| {
        let mut b = GraphConfig::builder(login, if app { "1234567890" } else { "" })
            .base_url(sim.url())
            .version(graph::ApiVersion::V25)
            .request_timeout(std::time::Duration::from_secs(2));
        if app {
            b = b.app_secret("test-app-secret");
        }
        GraphClient::new(b.build().unwrap()).unwrap()
    };
    graph_clients([
        client(graph::LoginKind::Facebook),
        client(graph::LoginKind::Instagram),
    ])
}

fn registration(
    ig_user_id: &str,
    token: &str,
    login: LoginKind,
    now: DateTime<Utc>,
) -> Registration {
    Registration {
        ig_user_id: ig_user_id.to_owned(),
        token: SecretString::new(token),
        login,
        timezone: Some("Europe/Berlin".to_owned()),
        verify: true,
        username: None,
        subscribe_webhooks: false,
        now,
    }
}

fn login_of(a: &simulator::SimAccount) -> LoginKind {
    match a.login {
        simulator::LoginKind::Facebook => LoginKind::Facebook,
        simulator::LoginKind::Instagram => LoginKind::Instagram,
    }
}

async fn start(accounts: usize) -> SimServer {
    SimServer::start(
        sim_config(17, accounts, 10),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap()
}

async fn a_token_is_only_stored_under_the_account_it_opens(d: Dialect) {
    let db = TestDb::new(d).await;
    let sim = start(3).await;
    let graph = clients(&sim, false);
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let accounts = sim.accounts();
    let (victim, intruder) = (&accounts[0], &accounts[2]);
    assert_eq!(victim.login, intruder.login, "both on one login flavour");

    // The intruder's valid token offered for the victim's id: refused, nothing stored.
    let err = register(
        &*db.store,
        &graph,
        &cipher,
        registration(
            &victim.ig_user_id,
            &intruder.access_token,
            login_of(victim),
            sim.now(),
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, RegisterError::NotPermitted { .. }), "{err}");
    assert!(err.is_invalid_input());
    assert!(db.store.account_list().await.unwrap().is_empty());

    // An Instagram Login account offered under its app-scoped id (what `/me` calls `id`):
    // the profile names the professional account's id, which is not the one given.
    let ig = accounts
        .iter()
        .find(|a| a.login == simulator::LoginKind::Instagram)
        .unwrap();
    assert_ne!(ig.me_id, ig.ig_user_id);
    let err = register(
        &*db.store,
        &graph,
        &cipher,
        registration(&ig.me_id, &ig.access_token, LoginKind::Instagram, sim.now()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, RegisterError::WrongAccount { owner, .. } if *owner == ig.ig_user_id),
        "{err}"
    );

    // A rejected token and a malformed id are refused too, before anything is stored.
    let err = register(
        &*db.store,
        &graph,
        &cipher,
        registration(
            &victim.ig_user_id,
            "EAAGnotatoken",
            login_of(victim),
            sim.now(),
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RegisterError::Rejected { .. }), "{err}");
    let err = register(
        &*db.store,
        &graph,
        &cipher,
        registration("12ab", &victim.access_token, login_of(victim), sim.now()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RegisterError::InvalidId(_)), "{err}");
    assert!(db.store.account_list().await.unwrap().is_empty());

    // The victim's own token is stored, encrypted, under the victim's id.
    let ok = register(
        &*db.store,
        &graph,
        &cipher,
        registration(
            &victim.ig_user_id,
            &victim.access_token,
            login_of(victim),
            sim.now(),
        ),
    )
    .await
    .unwrap();
    assert!(ok.created);
    assert_eq!(ok.account.ig_user_id, victim.ig_user_id);
    assert_eq!(ok.account.username, victim.username);
    assert_eq!(ok.account.timezone, "Europe/Berlin");
    db.teardown().await;
}

async fn type_and_expiry_are_learned_without_app_credentials_or_assumed(d: Dialect) {
    let db = TestDb::new(d).await;
    let sim = start(2).await;
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let accounts = sim.accounts();
    let fb = &accounts[0];
    let ig = &accounts[1];
    assert_eq!(fb.login, simulator::LoginKind::Facebook);
    assert_eq!(ig.login, simulator::LoginKind::Instagram);
    let now = sim.now();
    let bare = clients(&sim, false);

    // Instagram Login without app credentials: the profile says the type, and a refresh
    // says the expiry; the refreshed token is the one stored, and it works.
    let r = register(
        &*db.store,
        &bare,
        &cipher,
        registration(&ig.ig_user_id, &ig.access_token, LoginKind::Instagram, now),
    )
    .await
    .unwrap();
    let expected_type = match ig.account_type {
        simulator::AccountType::Business => AccountType::Business,
        simulator::AccountType::MediaCreator => AccountType::Creator,
    };
    assert_eq!(r.account.account_type, expected_type);
    let TokenExpiry::Refreshed(at) = r.expiry else {
        panic!("expected a refreshed token: {:?}", r.expiry);
    };
    assert!(
        (at - (now + Duration::days(60))).num_minutes().abs() <= 1,
        "{at}"
    );
    assert_eq!(r.account.token_expires_at, Some(at));
    assert!(r.refreshable);
    let stored = cipher.decrypt(r.account.token.as_ref().unwrap()).unwrap();
    assert_ne!(
        stored.expose(),
        ig.access_token,
        "the refreshed token is stored"
    );
    let profile = bare[&graph::LoginKind::Instagram]
        .profile(&graph::AccountRef::new(
            &ig.ig_user_id,
            graph::AccessToken::new(stored.expose()),
        ))
        .await
        .unwrap();
    assert_eq!(profile.id, ig.ig_user_id);

    // Facebook Login without app credentials: nobody says the expiry, so the documented
    // 60 days are assumed, and igsync says it cannot refresh the token.
    let r = register(
        &*db.store,
        &bare,
        &cipher,
        registration(&fb.ig_user_id, &fb.access_token, LoginKind::Facebook, now),
    )
    .await
    .unwrap();
    assert_eq!(r.expiry, TokenExpiry::Assumed(now + Duration::days(60)));
    assert_eq!(r.account.token_expires_at, Some(now + Duration::days(60)));
    assert!(!r.refreshable);

    // With the app's credentials, debug_token reports the real expiry, and the refresh works.
    let with_app = clients(&sim, true);
    let r = register(
        &*db.store,
        &with_app,
        &cipher,
        registration(&fb.ig_user_id, &fb.access_token, LoginKind::Facebook, now),
    )
    .await
    .unwrap();
    assert!(!r.created);
    let reported = fb.token_expires_at;
    assert_eq!(r.expiry, TokenExpiry::Reported(reported));
    assert_eq!(r.account.token_expires_at, Some(reported));
    assert!(r.refreshable);

    // Without verification nothing is asked: 60 days assumed.
    let mut unverified = registration(
        "17841499999999999",
        "IGAAsomething",
        LoginKind::Instagram,
        now,
    );
    unverified.verify = false;
    unverified.username = Some("@typed_name".to_owned());
    let r = register(&*db.store, &bare, &cipher, unverified)
        .await
        .unwrap();
    assert_eq!(r.expiry, TokenExpiry::Assumed(now + Duration::days(60)));
    assert_eq!(r.account.username, "typed_name");
    assert_eq!(r.account.account_type, AccountType::Unknown);
    db.teardown().await;
}

/// Accounts registered before igsync learned token expiries have none stored: the daily
/// refresh still reaches those on Instagram Login (whose refresh needs no app credentials and
/// tells the expiry), and leaves Facebook Login ones (which may hold tokens that never
/// expire) alone.
async fn instagram_tokens_of_unknown_expiry_are_refreshed(d: Dialect) {
    let env = crate::env::Env::new(d, sim_config(19, 2, 5), crate::env::test_settings()).await;
    let store = env.db.store.clone();
    let mut before = Vec::new();
    for (id, _) in &env.accounts {
        let a = store.account_get(*id).await.unwrap().unwrap();
        let legacy = store
            .account_upsert(store::NewAccount {
                ig_user_id: a.ig_user_id.clone(),
                username: a.username.clone(),
                name: a.name.clone(),
                account_type: a.account_type,
                login: a.login,
                page_id: a.page_id.clone(),
                timezone: None,
                token: a.token.clone().unwrap(),
                token_expires_at: None,
                now: env.now(),
            })
            .await
            .unwrap();
        assert_eq!(legacy.token_expires_at, None);
        before.push(legacy);
    }
    env.engine.refresh_tokens_now().await.unwrap();
    env.run_until_settled(5).await;
    let now = env.now();
    for old in before {
        let a = store.account_get(old.id).await.unwrap().unwrap();
        match a.login {
            LoginKind::Instagram => {
                assert_ne!(a.token, old.token, "refreshed");
                assert!(
                    a.token_expires_at.unwrap() > now + Duration::days(50),
                    "{:?}",
                    a.token_expires_at
                );
            }
            LoginKind::Facebook => {
                assert_eq!(a.token, old.token, "left alone");
                assert_eq!(a.token_expires_at, None);
            }
        }
    }
    env.teardown().await;
}
