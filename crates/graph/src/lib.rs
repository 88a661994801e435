//! The Instagram Graph API client every sync step uses: typed reads, a metric catalog per
//! API version and media product type, cursor pagination, multi-ID and batch requests,
//! classified errors, an adaptive throttle fed by Meta's usage headers, and the token life
//! cycle.
//!
//! This is the only crate that knows Graph API URLs, versions and JSON shapes. It knows
//! nothing about storage or the queue and must not depend on `store`, `sync` or `analytics`.
