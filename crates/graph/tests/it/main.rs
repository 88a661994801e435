//! Integration tests of the Graph API client against the simulator over real HTTP: paging,
//! multi-ID and batch insights, the metric catalog, errors, the throttle and tokens.

mod account;
mod deprecation;
mod discovery;
mod errors;
mod listing;
mod media_insights;
mod support;
mod throttle;
mod tokens;
