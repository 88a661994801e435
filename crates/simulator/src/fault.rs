//! Fault injection: which requests fail and how, as a deterministic sequence of the seed
//! and the request's sequence number.

use crate::config::FaultKind;
use crate::error::ApiError;
use crate::hash::{h, hs, unit};
use crate::state::SimState;

/// The fault (if any) of request number `seq`, for `path`.
pub(crate) fn decide(st: &SimState, seq: u64, path: &str) -> Option<FaultKind> {
    let (rate, mix, aimed) = {
        let m = st.read();
        let aimed = m.fault_path.as_deref().is_none_or(|p| path.ends_with(p));
        (m.fault_rate, m.fault_mix, aimed)
    };
    if rate <= 0.0 || !aimed {
        return None;
    }
    let seed = st.config.seed;
    if unit(h(&[seed, hs("fault"), seq])) >= rate {
        return None;
    }
    let kinds = mix.kinds();
    if kinds.is_empty() {
        return None;
    }
    Some(kinds[(h(&[seed, hs("fault-kind"), seq]) % kinds.len() as u64) as usize])
}

/// The error of an injected 5xx fault.
pub(crate) fn server_error(st: &SimState, seq: u64) -> ApiError {
    if h(&[st.config.seed, hs("5xx"), seq]).is_multiple_of(2) {
        ApiError::server_unknown()
    } else {
        ApiError::service_unavailable()
    }
}

/// The error of an injected rate-limit storm: one of 80002, 4, 17, 32, 613.
pub(crate) fn storm_error(st: &SimState, seq: u64) -> ApiError {
    match h(&[st.config.seed, hs("storm"), seq]) % 5 {
        0 => ApiError::buc_throttled(),
        1 => ApiError::app_throttled(),
        2 => ApiError::user_throttled(),
        3 => ApiError::page_throttled(),
        _ => ApiError::custom_throttled(),
    }
}

/// Minutes to regain access announced with a storm.
pub(crate) fn storm_regain_minutes(st: &SimState, seq: u64) -> u64 {
    1 + h(&[st.config.seed, hs("storm-regain"), seq]) % 10
}

/// Latency of request `seq`: the base latency plus a deterministic share of the jitter.
pub(crate) fn latency(st: &SimState, seq: u64) -> std::time::Duration {
    let c = &st.config;
    if c.jitter.is_zero() {
        return c.latency;
    }
    c.latency + c.jitter.mul_f64(unit(h(&[c.seed, hs("jitter"), seq])))
}
