//! The HTTP/1.1 listener: accepts connections under two caps and closes slow ones.
//!
//! - A connection that has not sent a complete request head within
//!   `ServerSettings::header_read_timeout` is closed; the same bound applies to a kept-alive
//!   connection waiting idle for its next request. Half-sent requests cannot pile up.
//! - At most `max_connections` connections are served at once; beyond that the listener stops
//!   accepting until one closes (clients wait in the kernel's backlog). With fewer than an
//!   eighth of the slots free, answers carry `Connection: close`, so that idle kept-alive
//!   connections do not hold the slots waiting clients need.
//! - At most `max_connections_per_client` of them come from one client address (IPv6: one
//!   /64); further connections from it are closed as soon as they are accepted, so one client
//!   cannot take every slot.
//!
//! Each request carries its peer's address as [`axum::extract::ConnectInfo`], which the
//! sign-in throttle reads. On shutdown the listener stops accepting, every connection
//! finishes its current request and closes, and [`serve`] returns once all have.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::throttle::ClientKey;

/// Open connections per client address, bounded.
#[derive(Debug)]
pub(crate) struct PerClient {
    limit: usize,
    open: Mutex<HashMap<ClientKey, usize>>,
}

/// One connection's place in [`PerClient`], given back on drop.
#[derive(Debug)]
pub(crate) struct ClientSlot {
    owner: Arc<PerClient>,
    client: ClientKey,
}

impl PerClient {
    pub(crate) fn new(limit: usize) -> Arc<PerClient> {
        Arc::new(PerClient {
            limit: limit.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, usize>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for one more connection of `client`, or None when it holds its limit.
    pub(crate) fn enter(self: &Arc<Self>, client: ClientKey) -> Option<ClientSlot> {
        let mut open = self.lock();
        let n = open.entry(client).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            owner: self.clone(),
            client,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.owner.lock();
        if let Some(n) = open.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// How the listener treats connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_connections_per_client: usize,
}

/// Serves `app` on `listener` under `limits` until `shutdown` resolves, then waits for the
/// open connections to finish their requests.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let low_water = (limits.max_connections / 8).max(1);
    let per_client = PerClient::new(limits.max_connections_per_client);
    // Dropping `stop_rx` tells everyone to stop; each connection holds a `done_rx` clone.
    let (stop_tx, stop_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(stop_rx);
    });
    let (done_tx, done_rx) = watch::channel(());
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = stop_tx.closed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = stop_tx.closed() => break,
        };
        let Some(client_slot) = per_client.enter(ClientKey::of(peer.ip())) else {
            tracing::debug!(%peer, "connection refused: too many from this client");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let free = slots.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let (app, free) = (app.clone(), free.clone());
            async move {
                let Ok(mut res) = app.oneshot(req.map(axum::body::Body::new)).await;
                // Short of slots, a connection is not kept alive for a next request: idle
                // connections would hold the slots that waiting clients need.
                if free.available_permits() < low_water {
                    res.headers_mut()
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, Infallible>(res)
            }
        });
        let stop = stop_tx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::trace!(%peer, error = %e, "connection closed with an error");
                        }
                        break;
                    }
                    () = stop.closed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(client_slot);
            drop(slot);
            drop(done);
        });
    }
    drop(done_rx);
    drop(listener);
    done_tx.closed().await;
    Ok(())
}

/// Errors of `accept`: a connection that failed before it was accepted is nobody's problem;
/// anything else (out of file descriptors) is logged and waited out for a second.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_its_limit_and_gets_slots_back() {
        let per = PerClient::new(2);
        let a = ClientKey::of("192.0.2.1".parse().unwrap());
        let b = ClientKey::of("192.0.2.2".parse().unwrap());
        let one = per.enter(a).unwrap();
        let _two = per.enter(a).unwrap();
        assert!(per.enter(a).is_none());
        assert!(per.enter(b).is_some());
        drop(one);
        assert!(per.enter(a).is_some());
    }
}
