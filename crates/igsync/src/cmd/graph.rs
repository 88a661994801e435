//! Building Graph API clients from the configuration, one per login flavour (each has its
//! own host unless a base URL such as the simulator's is configured).

use anyhow::Context;
use graph::{GraphClient, GraphConfig, LoginKind};

use crate::config::Config;

/// A client for the given login flavour.
pub(crate) fn client(config: &Config, login: LoginKind) -> anyhow::Result<GraphClient> {
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
