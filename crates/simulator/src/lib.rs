//! A seeded, deterministic simulator of the Instagram Graph API, served over real HTTP.
//!
//! It follows Meta's documented behaviour (versions, metric availability per media product
//! type, paging, error shapes, usage headers, token expiry, numbers that settle for 48 h),
//! injects latency and faults, counts every call and exposes the ground truth a correct sync
//! must store. It is written from the API reference, independently of the client: it must
//! not depend on `graph` or any other igsync crate.
//!
//! Start one with [`SimServer::start`] (port 0 picks a free port), read its accounts and
//! tokens with [`SimServer::accounts`], call it like `graph.facebook.com` /
//! `graph.instagram.com`, and compare what a sync stored with [`SimServer::ground_truth`].

mod api;
mod budget;
mod catalog;
mod competitors;
mod config;
mod control;
mod dialog;
mod edge_cases;
mod error;
mod fault;
mod fields;
mod hash;
mod listener;
mod login;
mod numbers;
mod series;
mod server;
mod shape;
mod state;
mod stats;
mod time;
mod truth;
mod version;
mod webhooks;
mod world;

pub use competitors::{CompetitorKind, CompetitorMediaTruth, CompetitorTruth};
pub use config::{
    ConfigError, FaultKind, FaultMix, LONG_TAIL_CAP, MAX_ACCOUNTS, MAX_MEDIA_PER_ACCOUNT,
    SimConfig, SizeDistribution,
};
pub use dialog::LoginAuto;
pub use login::{LoginPage, LoginUser};
pub use series::{AccountSeries, SERIES_METRICS, daily_series, daily_series_as_of};
pub use server::{SimServer, serve};
pub use shape::{InjectedAnomaly, InjectedKind};
pub use state::SimAccount;
pub use stats::SimStats;
pub use truth::{
    AccountDayTruth, DemographicRow, DemographicTruth, GroundTruth, InsightsTruth, MediaTruth,
    MissingKind, MissingReason, MissingValue, OnlineFollowersTruth, ProfileTruth, StoryTruth,
};
pub use version::{ApiVersion, UnknownVersion};
pub use webhooks::{WebhookConfig, WebhookDelivery, WebhookError, WebhookEvent, WebhookState};
pub use world::{AccountType, LoginKind};
