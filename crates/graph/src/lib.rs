//! The Instagram Graph API client every sync step uses: typed reads, a metric catalog per
//! API version and media product type, cursor pagination, multi-ID and batch requests,
//! classified errors, an adaptive throttle fed by Meta's usage headers, and the token life
//! cycle.
//!
//! This is the only crate that knows Graph API URLs, versions and JSON shapes. It knows
//! nothing about storage or the queue and must not depend on `store`, `sync` or `analytics`.
//!
//! Entry point: build a [`GraphConfig`], then a [`GraphClient`]; every read takes an
//! [`AccountRef`] (IG user id + [`AccessToken`]).

mod catalog;
mod client;
mod config;
mod days;
mod discovery;
mod error;
pub mod fuzz;
mod insights;
mod media_insights;
mod model;
pub mod naive;
mod oauth;
mod parse;
mod probe;
mod reads;
mod stats;
mod subscriptions;
mod throttle;
mod token;
mod tokens;

pub use ::clock::Clock;
pub use catalog::{CatalogDecision, CatalogScope, DEMOGRAPHIC_BREAKDOWNS, RETIRED_METRICS};
pub use client::{GraphClient, install_crypto_provider};
pub use config::{
    ApiVersion, GraphConfig, GraphConfigBuilder, LoginKind, MetaHost, RetryPolicy, ThrottleConfig,
};
pub use discovery::{
    CompetitorMedia, CompetitorProfile, DISCOVERY_PAGE_SIZE, DiscoveryError, valid_username,
};
pub use error::{
    ApiError, ConfigError, ErrorClass, GraphError, ItemError, ItemErrorKind, RateLimitScope,
};
pub use insights::{AccountInsightsQuery, MAX_IDS_PER_REQUEST};
pub use media_insights::MediaTarget;
pub use model::{
    AccountInsightPoint, Breakdown, DemographicTimeframe, DemographicValue, DemographicsRead,
    DiscoveredAccount, InsightValue, MediaCategory, MediaChild, MediaInsights, MediaItem,
    MediaListing, MediaProductType, MediaType, OnlineFollowers, OnlineFollowersRead, Profile,
    Story, TokenDebug, TokenInfo,
};
pub use oauth::{CodeExchange, ConnectedAccount, DialogRequest, requested_scopes, required_scopes};
pub use probe::{MetricAtRisk, MetricProbe, MetricRefusal, metrics_at_risk, metrics_at_risk_of};
pub use reads::PAGE_SIZE;
pub use stats::{AccountCallStats, CallStats};
pub use subscriptions::WEBHOOK_FIELDS;
pub use throttle::{AccountUsage, UsageLevel, UsageSnapshot};
pub use token::{AccessToken, AccountRef, appsecret_proof};
