//! Test environments shared by the integration tests of `sync`, `server` and `igsync`: fresh
//! databases on both dialects and the `both_dialects!` test expander ([`db`]), Graph API
//! clients of both login flavours pointed at the simulator on a manual clock, and the
//! simulator's accounts registered in a store with sealed tokens. A dev-dependency only.

pub mod db;

pub use db::{
    Dialect, TempDir, TestDb, open_store, postgres_server_url, sqlite_file_bytes, unique,
};

use std::time::Duration;

use chrono::{DateTime, Utc};
use graph::{GraphClient, GraphConfig};
use simulator::{SimAccount, SimServer};
use store::{AccountId, Cipher, DynStore, NewAccount, SecretString};

/// A Graph API client of one login flavour pointed at the simulator at `url`, on `clock`:
/// short timeouts and quick retries, so a test waits on faults for milliseconds. Without an
/// `app_secret`, Facebook Login tokens cannot be exchanged for new ones.
pub fn sim_graph_client(
    login: graph::LoginKind,
    url: &str,
    clock: &graph::Clock,
    app_secret: Option<&str>,
) -> GraphClient {
    let mut builder = GraphConfig::builder(login, "1234567890")
        .base_url(url.to_owned())
        .version(graph::ApiVersion::V25);
    if let Some(secret) = app_secret {
        builder = builder.app_secret(secret);
    }
    let cfg = builder
        .request_timeout(Duration::from_secs(1))
        .retry(graph::RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
        })
        .clock(clock.clone())
        .build()
        .expect("the simulator's client configuration is valid");
    GraphClient::new(cfg).expect("the simulator's client builds")
}

/// Clients of both login flavours pointed at the simulator at `url`, on one `clock`.
pub fn sim_clients(
    url: &str,
    clock: &graph::Clock,
    app_secret: Option<&str>,
) -> sync::GraphClients {
    sync::graph_clients([
        sim_graph_client(graph::LoginKind::Facebook, url, clock, app_secret),
        sim_graph_client(graph::LoginKind::Instagram, url, clock, app_secret),
    ])
}

/// The registration of one simulated account: its own type, login, page and token (sealed
/// with `cipher`), no time zone.
pub fn new_account(a: &SimAccount, cipher: &Cipher, now: DateTime<Utc>) -> NewAccount {
    NewAccount {
        ig_user_id: a.ig_user_id.clone(),
        username: a.username.clone(),
        name: Some(a.name.clone()),
        account_type: match a.account_type {
            simulator::AccountType::Business => store::AccountType::Business,
            simulator::AccountType::MediaCreator => store::AccountType::Creator,
        },
        login: match a.login {
            simulator::LoginKind::Facebook => store::LoginKind::Facebook,
            simulator::LoginKind::Instagram => store::LoginKind::Instagram,
        },
        page_id: a.page_id.clone(),
        timezone: None,
        token: cipher
            .encrypt(&SecretString::new(a.access_token.clone()))
            .expect("a token seals"),
        token_expires_at: Some(a.token_expires_at),
        now,
    }
}

/// Registers every account of `sim` in `store` ([`new_account`], changed by `adjust`), in
/// the simulator's order.
pub async fn register_sim_accounts(
    store: &DynStore,
    sim: &SimServer,
    cipher: &Cipher,
    now: DateTime<Utc>,
    adjust: impl Fn(NewAccount) -> NewAccount,
) -> Vec<(AccountId, SimAccount)> {
    let mut accounts = Vec::new();
    for a in sim.accounts() {
        let stored = store
            .account_upsert(adjust(new_account(&a, cipher, now)))
            .await
            .expect("a simulated account registers");
        accounts.push((stored.id, a));
    }
    accounts
}
