//! The HTTP/1.1 server under the router, with the bounds `axum::serve` does not set: a
//! client must send a request's headers within `API_HEADER_READ_TIMEOUT_SECS` (also how
//! long an idle kept-alive connection stays open), so a slowloris holds nothing for
//! long; at most `API_MAX_CONNECTIONS` connections are served at once, and one more is
//! answered `503` with `Retry-After` and closed at once (shedding load instead of
//! queueing it). Every request still has [`crate::REQUEST_TIMEOUT`] to be answered. On
//! shutdown it stops accepting, lets requests in flight finish (up to that timeout),
//! and returns.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo};
use config::{SettingsError, env_or};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{io::AsyncWriteExt, net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// `API_MAX_CONNECTIONS`, default 1024.
    pub max_connections: usize,
    /// `API_HEADER_READ_TIMEOUT_SECS`, default 10.
    pub header_read_timeout: Duration,
    /// `API_MAX_REQUESTS_PER_CLIENT`, default 64 (`0`: no cap): one client address's
    /// requests in flight at once; more are `429`.
    pub max_requests_per_client: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            max_requests_per_client: 64,
        }
    }
}

impl ConnectionLimits {
    pub fn from_env() -> Result<Self, SettingsError> {
        let d = Self::default();
        let limits = Self {
            max_connections: env_or("API_MAX_CONNECTIONS", d.max_connections)?,
            header_read_timeout: Duration::from_secs(env_or(
                "API_HEADER_READ_TIMEOUT_SECS",
                d.header_read_timeout.as_secs(),
            )?),
            max_requests_per_client: env_or(
                "API_MAX_REQUESTS_PER_CLIENT",
                d.max_requests_per_client,
            )?,
        };
        if limits.max_connections == 0 || limits.header_read_timeout.is_zero() {
            return Err(SettingsError::Invalid {
                name: "API_MAX_CONNECTIONS",
                value: limits.max_connections.to_string(),
                reason: "API_MAX_CONNECTIONS and API_HEADER_READ_TIMEOUT_SECS must be positive"
                    .into(),
            });
        }
        Ok(limits)
    }
}

/// What a connection over the cap is told before it is closed.
const SHED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    content-type: application/problem+json\r\n\
    retry-after: 1\r\n\
    connection: close\r\n\
    content-length: 141\r\n\r\n\
    {\"type\":\"https://amarmascotas.ar/problems/unavailable\",\"title\":\"Service unavailable\",\
    \"status\":503,\"detail\":\"too many connections; try again\"}";

/// Connections the kernel queues for us before we accept them. A burst larger than the
/// queue is dropped by the kernel and the clients try again only a second later (the
/// default of Rust's `bind` is 128); the system's `somaxconn` caps it.
pub const BACKLOG: u32 = 4096;

/// A listener on `addr` with a [`BACKLOG`]-long queue.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before accept:
                    // wait a moment rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "connection shed");
            tokio::spawn(shed(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|e| match e {}))
            }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(crate::REQUEST_TIMEOUT + Duration::from_secs(1)) => {
            tracing::warn!("connections still open at the end of the shutdown period");
        }
    }
    Ok(())
}

async fn shed(mut stream: tokio::net::TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(SHED).await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shed_answer_is_well_formed() {
        let text = std::str::from_utf8(super::SHED).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .expect("a length")
            .parse()
            .expect("a number");
        assert_eq!(body.len(), length);
        let problem: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(problem["status"], 503);
    }
}
