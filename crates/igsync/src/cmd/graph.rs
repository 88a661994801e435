//! Building Graph API clients from the configuration, one per login flavour (each has its
//! own host unless a base URL such as the simulator's is configured).

use anyhow::Context;
use graph::{GraphClient, GraphConfig, LoginKind};

use crate::config::Config;

/// A client for the given login flavour.
pub(crate) fn client(config: &Config, login: LoginKind) -> anyhow::Result<GraphClient> {
    client_on(config, login, None)
}

/// A client for the given login flavour whose pauses and token expiry follow `clock` (a
/// simulated Graph API's time) instead of the system clock.
fn client_on(
    config: &Config,
    login: LoginKind,
    clock: Option<&graph::Clock>,
) -> anyhow::Result<GraphClient> {
    let g = &config.graph;
    let mut builder = GraphConfig::builder(login, g.app_id.clone().unwrap_or_default())
        .version(g.api_version.parse().context("graph.api_version")?)
        .request_timeout(g.timeout);
    if let Some(url) = &g.base_url {
        builder = builder.base_url(url.clone());
    }
    if let Some(secret) = &g.app_secret {
        builder = builder.app_secret(secret.expose().to_string());
    }
    if let Some(clock) = clock {
        builder = builder.clock(clock.clone());
    }
    let cfg = builder.build().context("invalid Graph API settings")?;
    GraphClient::new(cfg).context("cannot build the Graph API client")
}

/// Clients for both login flavours.
pub(crate) fn clients(config: &Config) -> anyhow::Result<sync::GraphClients> {
    Ok(sync::graph_clients([
        client(config, LoginKind::Facebook)?,
        client(config, LoginKind::Instagram)?,
    ]))
}

/// Clients for both login flavours on `clock` (benchmarks that move a simulated Graph API's
/// time).
pub(crate) fn clients_on(
    config: &Config,
    clock: &graph::Clock,
) -> anyhow::Result<sync::GraphClients> {
    Ok(sync::graph_clients([
        client_on(config, LoginKind::Facebook, Some(clock))?,
        client_on(config, LoginKind::Instagram, Some(clock))?,
    ]))
}
