//! Shared test setup: a simulator on port 0 and clients pointed at it.

use std::time::Duration;

use graph::{
    AccessToken, AccountRef, ApiVersion, Clock, GraphClient, GraphConfig, LoginKind, RetryPolicy,
};
use simulator::{SimAccount, SimConfig, SimServer};

/// Starts a simulator.
pub(crate) async fn start(cfg: SimConfig) -> SimServer {
    SimServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

/// Retries fast so fault tests stay quick; many attempts so 20 % faults cannot exhaust them.
pub(crate) const FAST_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 10,
    initial_backoff: Duration::from_millis(5),
    max_backoff: Duration::from_millis(50),
};

/// A client for the simulator.
pub(crate) fn client_with(
    sim: &SimServer,
    login: LoginKind,
    version: ApiVersion,
    clock: Clock,
) -> GraphClient {
    let cfg = GraphConfig::builder(login, "1234567890")
        .base_url(sim.url())
        .version(version)
        .app_secret("sim-app-secret")
        .request_timeout(Duration::from_secs(2))
        .retry(FAST_RETRY)
        .clock(clock)
        .build()
        .expect("valid config");
    GraphClient::new(cfg).expect("client")
}

/// A client on the latest version with the system clock.
pub(crate) fn client(sim: &SimServer, login: LoginKind) -> GraphClient {
    client_with(sim, login, ApiVersion::LATEST, Clock::system())
}

pub(crate) fn login_of(a: &SimAccount) -> LoginKind {
    match a.login {
        simulator::LoginKind::Facebook => LoginKind::Facebook,
        simulator::LoginKind::Instagram => LoginKind::Instagram,
    }
}

pub(crate) fn account_ref(a: &SimAccount) -> AccountRef {
    AccountRef::new(
        a.ig_user_id.clone(),
        AccessToken::new(a.access_token.clone()),
    )
}

/// The simulator's version matching the client's.
pub(crate) fn sim_version(v: ApiVersion) -> simulator::ApiVersion {
    v.to_string().parse().expect("simulator knows the version")
}

/// Every read's future is `Send`, so syncs can run them on spawned tasks (checked at
/// compile time; the futures are dropped unpolled).
#[test]
fn futures_are_send() {
    fn send<T: Send>(_: T) {}
    let cfg = GraphConfig::builder(LoginKind::Facebook, "1")
        .build()
        .unwrap();
    let c = GraphClient::new(cfg).unwrap();
    let a = AccountRef::new("1", AccessToken::new("t"));
    let q = graph::AccountInsightsQuery {
        since: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        until: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
        breakdowns: true,
    };
    send(c.profile(&a));
    send(c.list_media(&a, |_| false));
    send(c.stories(&a));
    send(c.media_insights(&a, &[]));
    send(c.media_insight_breakdowns(&a, &[]));
    send(c.account_insights(&a, &q));
    send(c.demographics(&a, graph::DemographicTimeframe::ThisMonth));
    send(c.online_followers(&a, q.since, q.until));
    send(c.discover_accounts(&a.token));
    send(c.refresh_token(&a.token));
    send(c.debug_token(&a.token));
    send(graph::naive::read_account(&c, &a));
    fn sync<T: Send + Sync + Clone>() {}
    sync::<GraphClient>();
}
