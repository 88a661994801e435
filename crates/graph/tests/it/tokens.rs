//! Token life cycle: refresh/exchange for both login flavours, expiry tracking and
//! `debug_token`.

use chrono::Utc;
use graph::{AccessToken, LoginKind};
use simulator::SimConfig;

use crate::support::{account_ref, client, login_of, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_gives_a_working_token_with_an_expiry() {
    let mut cfg = SimConfig::new(61, 6, 5);
    cfg.expiring_token_accounts = 6;
    let sim = start(cfg).await;
    for login in [LoginKind::Facebook, LoginKind::Instagram] {
        let Some(acc) = sim.accounts().into_iter().find(|a| login_of(a) == login) else {
            continue;
        };
        let client = client(&sim, login);
        let old = account_ref(&acc);

        let info = client.refresh_token(&old.token).await.unwrap();
        assert_ne!(info.token, old.token, "{login:?}");
        let expires_in = info.expires_in.expect("expires_in");
        assert!(
            expires_in > 50 * 86_400,
            "{login:?}: long-lived ({expires_in} s)"
        );
        let at = info.expires_at.unwrap();
        assert!(at > Utc::now() + chrono::Duration::days(50));

        let mut renewed = old.clone();
        renewed.token = info.token.clone();
        client.profile(&renewed).await.unwrap();
        assert!(!format!("{info:?}").contains(info.token.expose()));
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_token_reports_validity_and_expiry() {
    let mut cfg = SimConfig::new(62, 4, 5);
    cfg.expiring_token_accounts = 1;
    let sim = start(cfg).await;
    let acc = sim
        .accounts()
        .into_iter()
        .find(|a| login_of(a) == LoginKind::Facebook)
        .expect("a Facebook Login account");
    let client = client(&sim, LoginKind::Facebook);
    let token = AccessToken::new(acc.access_token.clone());
    let debug = client.debug_token(&token).await.unwrap();
    assert!(debug.is_valid);
    assert_eq!(
        debug.expires_at.map(|t| t.timestamp()),
        Some(acc.token_expires_at.timestamp())
    );
    assert!(!debug.scopes.is_empty());

    sim.expire_token(&acc.ig_user_id);
    match client.debug_token(&token).await {
        Ok(d) => assert!(!d.is_valid),
        Err(e) => assert!(e.needs_reauth(), "{e:?}"),
    }
    sim.shutdown().await;
}
