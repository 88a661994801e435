//! A seeded, deterministic simulator of the Instagram Graph API, served over real HTTP.
//!
//! It follows Meta's documented behaviour (versions, metric availability per media product
//! type, paging, error shapes, usage headers, token expiry, numbers that settle for 48 h),
//! injects latency and faults, counts every call and exposes the ground truth a correct sync
//! must store. It is written from the API reference, independently of the client: it must
//! not depend on `graph` or any other igsync crate.
