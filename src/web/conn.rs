//! Accepting connections: HTTP/1.1 through hyper's connection builder, with the limits
//! `axum::serve` does not offer. A client must send a request's headers within the header timeout
//! (hyper's timer also runs while a kept-alive connection waits for its next request, so the same
//! bound closes idle keep-alive connections); the server holds at most `max_total` connections
//! (never more than the process may open files, less a reserve for the database and logs) and at
//! most `max_per_ip` from one address (trusted proxies exempt: they carry everyone). A connection
//! over either limit is answered at once (`503` / `429`, JSON, `Connection: close`) and closed,
//! so one client holding sockets open cannot starve the others or `/healthz`.

use super::client_ip::TrustedProxies;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower_service::Service;

/// File descriptors kept free for the database (and its WAL), the model file and the log.
const RESERVED_FDS: usize = 64;
/// Refusals being written at once; past it an over-limit connection is closed without an answer
/// (each refusal holds its socket for up to [`REFUSAL_TIME`]).
const MAX_REFUSALS: usize = 64;
const REFUSAL_TIME: Duration = Duration::from_secs(1);
/// How long a shutdown waits for requests in flight.
const DRAIN_TIME: Duration = Duration::from_secs(30);

/// The connection limits (`--header-timeout`, `--max-connections`, `--max-connections-per-ip`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest a client may take to send a request's headers, and to start its next request on a
    /// kept-alive connection.
    pub header_timeout: Duration,
    /// Most connections open at once (lowered to what the process may open, see [`effective_max`]).
    pub max_total: usize,
    /// Most connections open at once from one client address (0: no per-address limit).
    pub max_per_ip: usize,
}

/// `configured`, lowered so that connections never use the descriptors the database and the log
/// need (the soft `RLIMIT_NOFILE`, read from `/proc/self/limits`, less a reserve).
pub fn effective_max(configured: usize) -> usize {
    match open_files_limit() {
        Some(limit) => configured.min(limit.saturating_sub(RESERVED_FDS).max(8)),
        None => configured,
    }
}

fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    // "Max open files  1024  4096  files": the soft limit is the fourth word ("unlimited": none).
    line.split_whitespace().nth(3)?.parse().ok()
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    refusing: usize,
}

/// Open connections, by address.
struct Tracker {
    counts: Mutex<Counts>,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
}

/// Why a connection is refused.
enum Refusal {
    Full,
    PerAddress,
}

/// A counted connection; uncounted when dropped.
struct Slot {
    tracker: Arc<Tracker>,
    ip: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.tracker.counts.lock() {
            counts.total = counts.total.saturating_sub(1);
            if let Some(ip) = self.ip
                && let Some(n) = counts.per_ip.get_mut(&ip)
            {
                *n -= 1;
                if *n == 0 {
                    counts.per_ip.remove(&ip);
                }
            }
        }
    }
}

/// A refusal being written; uncounted when dropped.
struct Refusing(Arc<Tracker>);

impl Drop for Refusing {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.0.counts.lock() {
            counts.refusing = counts.refusing.saturating_sub(1);
        }
    }
}

impl Tracker {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let mut counts = self.counts.lock().map_err(|_| Refusal::Full)?;
        if counts.total >= self.limits.max_total {
            return Err(Refusal::Full);
        }
        // An IPv6 client is counted by its /64, as every other per-client limit counts it: one
        // host is handed a whole /64, so counted by address it could hold every connection.
        let per_ip = (self.limits.max_per_ip > 0 && !self.proxies.trusts(ip))
            .then(|| crate::domain::sender_address::sender_address(ip));
        if let Some(ip) = per_ip {
            let n = counts.per_ip.entry(ip).or_default();
            if *n >= self.limits.max_per_ip {
                return Err(Refusal::PerAddress);
            }
            *n += 1;
        }
        counts.total += 1;
        Ok(Slot {
            tracker: self.clone(),
            ip: per_ip,
        })
    }

    fn start_refusal(self: &Arc<Self>) -> Option<Refusing> {
        let mut counts = self.counts.lock().ok()?;
        if counts.refusing >= MAX_REFUSALS {
            return None;
        }
        counts.refusing += 1;
        Some(Refusing(self.clone()))
    }
}

/// Answers an over-limit connection without reading its request, then closes it.
async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    let (status, message) = match refusal {
        Refusal::Full => (
            "503 Service Unavailable",
            "the server has as many connections open as it can take; try again in a moment",
        ),
        Refusal::PerAddress => (
            "429 Too Many Requests",
            "too many connections from your address; close some and try again",
        ),
    };
    let body = serde_json::json!({ "error": message }).to_string();
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent until it closes, so closing does not reset the connection
        // (which could discard the answer before the client reads it).
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits (up to
/// 30 s) for the requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
    shutdown: impl Future<Output = ()>,
) {
    let tracker = Arc::new(Tracker {
        counts: Mutex::default(),
        limits,
        proxies,
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (EMFILE) or a connection reset before it was accepted:
                    // wait a little rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match tracker.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                if let Some(refusing) = tracker.start_refusal() {
                    tokio::spawn(async move {
                        refuse(stream, refusal).await;
                        drop(refusing);
                    });
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().call(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIME) => {
            tracing::warn!("requests still in flight after {DRAIN_TIME:?}; stopping anyway");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_counted_by_its_slash_64() {
        let tracker = Arc::new(Tracker {
            counts: Mutex::default(),
            limits: ConnectionLimits {
                header_timeout: Duration::from_secs(10),
                max_total: 100,
                max_per_ip: 2,
            },
            proxies: Arc::new(TrustedProxies::new(Vec::new())),
        });
        let host = |n: u16| IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, n]);
        let held: Vec<Slot> = (1..=2)
            .filter_map(|n| tracker.admit(host(n)).ok())
            .collect();
        assert_eq!(held.len(), 2);
        assert!(
            matches!(tracker.admit(host(3)), Err(Refusal::PerAddress)),
            "a third address of the same /64"
        );
        let other = tracker.admit(IpAddr::from([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1]));
        assert!(other.is_ok(), "another /64");
        drop(held);
        assert!(tracker.admit(host(3)).is_ok(), "slots given back");
    }
}
