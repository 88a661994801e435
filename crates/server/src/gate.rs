//! The database gate: once the database is known to be unreachable, requests that need it
//! are answered 503 `database_unavailable` at once instead of each waiting out the pool's
//! acquire timeout.
//!
//! The gate closes when an answer reports the database unavailable (an [`AppError::Unavailable`]
//! or a failed readiness check marks its response with [`DatabaseDown`]). While it is closed,
//! at most one request per [`PROBE_EVERY`] is let through to find out, after a ping that
//! must answer within [`PROBE_TIMEOUT`]: when the ping succeeds the gate opens and that request
//! goes on; every other request gets the 503 immediately. `/healthz` and the static assets
//! never need the database and are not gated.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// How often a closed gate lets a request through to ping the database.
pub(crate) const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long that ping may take.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Response extension: this answer says the database is unreachable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DatabaseDown;

#[derive(Debug, Default)]
struct Inner {
    /// Since when the database is known to be unreachable; None while the gate is open.
    down_since: Option<Instant>,
    /// When a request last went through to probe, and whether one is probing now.
    last_probe: Option<Instant>,
    probing: bool,
}

#[derive(Debug, Default)]
pub(crate) struct DatabaseGate {
    inner: Mutex<Inner>,
}

enum Admission {
    Open,
    Probe,
    Refuse,
}

impl DatabaseGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the gate is closed (the database is known to be unreachable).
    #[cfg(test)]
    fn is_closed(&self) -> bool {
        self.lock().down_since.is_some()
    }

    fn admit(&self) -> Admission {
        let mut inner = self.lock();
        if inner.down_since.is_none() {
            return Admission::Open;
        }
        let due = inner
            .last_probe
            .is_none_or(|at| at.elapsed() >= PROBE_EVERY);
        if inner.probing || !due {
            return Admission::Refuse;
        }
        inner.probing = true;
        inner.last_probe = Some(Instant::now());
        Admission::Probe
    }

    fn close(&self) {
        let mut inner = self.lock();
        if inner.down_since.is_none() {
            tracing::warn!("the database is unreachable: answering 503 until it is back");
            inner.down_since = Some(Instant::now());
            inner.last_probe = Some(Instant::now());
        }
    }

    fn probed(&self, reachable: bool) {
        let mut inner = self.lock();
        inner.probing = false;
        if reachable && let Some(since) = inner.down_since.take() {
            tracing::info!(
                down_secs = since.elapsed().as_secs_f64(),
                "the database is reachable again"
            );
        }
    }
}

/// Resets the probe flag if the probing request is dropped mid-way (a client that hung up).
struct ProbeGuard<'a>(&'a DatabaseGate, bool);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.probed(false);
        }
    }
}

/// Whether a request needs the database at all.
fn needs_database(path: &str) -> bool {
    !(path == "/healthz" || path.starts_with("/assets/"))
}

/// The middleware: see the module documentation.
pub(crate) async fn database_gate(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if !needs_database(req.uri().path()) {
        return next.run(req).await;
    }
    let gate = &state.gate;
    match gate.admit() {
        Admission::Open => {}
        Admission::Refuse => return unavailable(&state, req.uri().path()),
        Admission::Probe => {
            let mut guard = ProbeGuard(gate, false);
            let reachable = matches!(
                tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()).await,
                Ok(Ok(()))
            );
            gate.probed(reachable);
            guard.1 = true;
            if !reachable {
                return unavailable(&state, req.uri().path());
            }
        }
    }
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    if res.extensions().get::<DatabaseDown>().is_some() {
        gate.close();
        tracing::debug!(path, "a request found the database unreachable");
    }
    res
}

/// The immediate answer of a closed gate: readiness in its own shape, pages and the API in
/// the usual error shape.
fn unavailable(state: &AppState, path: &str) -> Response {
    if path == "/readyz" {
        return crate::readiness_unavailable(state.store.dialect(), "the database is unreachable");
    }
    let err = AppError::Unavailable("the database gate is closed".to_owned());
    if path.starts_with("/api/") || path == "/metrics" {
        err.into_response()
    } else {
        crate::dashboard::error_page(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_gate_lets_one_probe_through_at_a_time() {
        let gate = DatabaseGate::default();
        assert!(matches!(gate.admit(), Admission::Open));
        gate.close();
        assert!(gate.is_closed());
        assert!(matches!(gate.admit(), Admission::Refuse), "just closed");
        gate.lock().last_probe = Some(Instant::now() - PROBE_EVERY);
        assert!(matches!(gate.admit(), Admission::Probe));
        assert!(
            matches!(gate.admit(), Admission::Refuse),
            "one probe at a time"
        );
        gate.probed(false);
        assert!(gate.is_closed());
        gate.lock().last_probe = Some(Instant::now() - PROBE_EVERY);
        assert!(matches!(gate.admit(), Admission::Probe));
        gate.probed(true);
        assert!(!gate.is_closed());
        assert!(matches!(gate.admit(), Admission::Open));
    }

    #[test]
    fn probes_and_assets_need_no_database() {
        assert!(!needs_database("/healthz"));
        assert!(!needs_database("/assets/igsync.css"));
        assert!(needs_database("/readyz"));
        assert!(needs_database("/api/v1/accounts"));
        assert!(needs_database("/login"));
    }
}
