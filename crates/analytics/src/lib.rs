//! Analytics over an account's stored history: engagement rates that name their
//! denominators, trending posts against the account's own baseline, performance scores,
//! best posting times, follower growth and the period report that assembles them.
//!
//! This crate is the pure core of igsync. It does no IO, holds no clock (callers pass
//! `now`), is not async and knows no SQL, HTTP or Graph API names: everything is a function
//! of its arguments. It must not depend on any other igsync crate.

pub mod input;

pub use input::{
    AccountHistory, AccountInfo, AccountMetric, Audience, DailyMetricValue, DemographicDimension,
    DemographicValue, FollowerSample, MediaProductType, MediaType, OnlineFollowersSample, Post,
    PostMetrics, PostSnapshot, UnknownKey,
};
