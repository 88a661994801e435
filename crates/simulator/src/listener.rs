//! A TCP listener whose connections a handler can sever: the simulator's way to close a
//! connection without sending any response (dropped-connection and timeout faults).
//!
//! Each accepted stream carries a kill flag that the handler reaches through axum's
//! `ConnectInfo`; once set, the stream fails every read and write, so the HTTP server
//! drops the connection instead of writing the response.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The listener.
#[derive(Debug)]
pub(crate) struct SimListener {
    inner: TcpListener,
}

impl SimListener {
    pub(crate) fn new(inner: TcpListener) -> SimListener {
        SimListener { inner }
    }
}

/// A handle on one connection, available to handlers as `ConnectInfo<ConnHandle>`.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    kill: Arc<AtomicBool>,
    #[allow(dead_code)] // Kept for debugging output of the handle.
    peer: Option<SocketAddr>,
}

impl ConnHandle {
    /// Severs the connection: nothing more is written to it.
    pub(crate) fn kill(&self) {
        self.kill.store(true, Ordering::SeqCst);
    }
}

/// A TCP stream that fails once its connection is killed.
#[derive(Debug)]
pub(crate) struct SimStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl SimStream {
    fn killed(&self) -> bool {
        self.kill.load(Ordering::SeqCst)
    }
}

fn severed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection severed by the simulator",
    )
}

impl AsyncRead for SimStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(severed()));
        }
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(severed()));
        }
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(severed()));
        }
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl Listener for SimListener {
    type Io = SimStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    let handle = ConnHandle {
                        kill: kill.clone(),
                        peer: Some(peer),
                    };
                    return (
                        SimStream {
                            inner: stream,
                            kill,
                        },
                        handle,
                    );
                }
                Err(e) => {
                    // Too many open files and similar: back off briefly, like axum does.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnHandle {
            kill: Arc::new(AtomicBool::new(false)),
            peer: Some(self.inner.local_addr()?),
        })
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.remote_addr().clone()
    }
}
