//! DNS over UDP on one long-lived socket per nameserver, queries matched to answers by ID.
//!
//! hickory-resolver opens, binds, registers and closes a fresh UDP socket for every query (and
//! for every retransmission), and decodes each query twice more on the way out. For a prober
//! that resolves thousands of distinct names in a pass (`--once`, or every name whose TTL ran
//! out) that was a fifth of its CPU. Here the resolver keeps all of its logic (servers, tries,
//! truncation to TCP, caching, errors): only the UDP connection it is handed is this one. TCP
//! (and anything else) still goes through hickory's own connection.
//!
//! The socket is connected to the nameserver, so the kernel drops datagrams from anyone else
//! and reports a closed port (ICMP port unreachable) as a refused receive. An answer must also
//! carry a pending query's random ID and that query's question, the checks glibc's stub
//! resolver makes; hickory's per-query source port is the one defence given up.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use hickory_resolver::config::{ConnectionConfig, ProtocolConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::DnsExchange;
use hickory_resolver::net::{DnsHandle, NetError};
use hickory_resolver::proto::op::{DEFAULT_RETRY_FLOOR, DnsRequest, DnsResponse, Query};
use hickory_resolver::{ConnectionProvider, PoolContext};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

/// Largest answer read: hickory advertises an EDNS payload of 1,232 bytes; a server that sends
/// more than fits is cut short and the answer fails to decode, like any malformed one.
const RECEIVE_BUFFER: usize = 4096;

/// The resolver's connections: UDP multiplexed here, every other protocol hickory's own.
#[derive(Clone, Default)]
pub struct MuxProvider {
    runtime: TokioRuntimeProvider,
}

impl ConnectionProvider for MuxProvider {
    type Conn = Connection;
    type FutureConn = Pin<Box<dyn Future<Output = Result<Connection, NetError>> + Send>>;
    type RuntimeProvider = TokioRuntimeProvider;

    fn new_connection(
        &self,
        ip: IpAddr,
        config: &ConnectionConfig,
        cx: &PoolContext,
    ) -> Result<Self::FutureConn, NetError> {
        if matches!(config.protocol, ProtocolConfig::Udp) {
            let server = SocketAddr::new(ip, config.port);
            let (bind, timeout) = (config.bind_addr, cx.options.timeout);
            return Ok(Box::pin(async move {
                Ok(Connection::Udp(
                    UdpMux::connect(server, bind, timeout).await?,
                ))
            }));
        }
        let other = self.runtime.new_connection(ip, config, cx)?;
        Ok(Box::pin(async move { Ok(Connection::Other(other.await?)) }))
    }

    fn runtime_provider(&self) -> &TokioRuntimeProvider {
        &self.runtime
    }
}

/// One connection to one nameserver.
#[derive(Clone)]
pub enum Connection {
    /// UDP, multiplexed on one socket.
    Udp(UdpMux),
    /// TCP (hickory's).
    Other(DnsExchange<TokioRuntimeProvider>),
}

impl DnsHandle for Connection {
    type Response = BoxStream<'static, Result<DnsResponse, NetError>>;
    type Runtime = TokioRuntimeProvider;

    fn send(&self, request: DnsRequest) -> Self::Response {
        match self {
            Connection::Udp(mux) => {
                let mux = mux.clone();
                futures::stream::once(async move { mux.exchange(request).await }).boxed()
            }
            Connection::Other(exchange) => exchange.send(request).boxed(),
        }
    }
}

/// A query waiting for its answer.
struct Pending {
    question: Option<Query>,
    reply: oneshot::Sender<Result<DnsResponse, NetError>>,
    /// Tells this query from a later one filed under the same ID once this one was answered.
    ticket: u64,
}

type PendingMap = Arc<Mutex<HashMap<u16, Pending>>>;

/// Queries to one nameserver over one connected UDP socket; cheap to clone.
#[derive(Clone)]
pub struct UdpMux {
    shared: Arc<Shared>,
}

struct Shared {
    socket: Arc<UdpSocket>,
    pending: PendingMap,
    /// Numbers the queries, for [`Pending::ticket`].
    tickets: AtomicU64,
    timeout: Duration,
    /// Reads the answers for as long as a handle lives.
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl UdpMux {
    /// A socket bound to `bind` (or any local address of the server's family) and connected to
    /// `server`, and the task that reads its answers.
    pub async fn connect(
        server: SocketAddr,
        bind: Option<SocketAddr>,
        timeout: Duration,
    ) -> Result<UdpMux, NetError> {
        let local = bind.unwrap_or(match server {
            SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        });
        let socket = UdpSocket::bind(local).await.map_err(io_error)?;
        socket.connect(server).await.map_err(io_error)?;
        let socket = Arc::new(socket);
        let pending = PendingMap::default();
        let reader = tokio::spawn(read_answers(socket.clone(), pending.clone()));
        Ok(UdpMux {
            shared: Arc::new(Shared {
                socket,
                pending,
                tickets: AtomicU64::new(0),
                timeout,
                reader,
            }),
        })
    }

    /// Sends `request` under a fresh ID and waits for its answer, sending it again every retry
    /// interval (one lost datagram is not a timeout), up to the timeout.
    pub async fn exchange(&self, mut request: DnsRequest) -> Result<DnsResponse, NetError> {
        let (reply, answer) = oneshot::channel();
        let question = request.queries.first().cloned();
        let ticket = self.shared.tickets.fetch_add(1, Ordering::Relaxed);
        let id = self.register(Pending {
            question,
            reply,
            ticket,
        })?;
        // Forgets the query however this ends: answered, timed out, or cancelled.
        let _forget = Forget {
            pending: &self.shared.pending,
            id,
            ticket,
        };
        request.metadata.id = id;
        let bytes = request.to_vec()?;
        let every = request.options().retry_interval.max(DEFAULT_RETRY_FLOOR);
        let resend = async {
            for _ in 0..SENDS {
                if let Err(e) = self.shared.socket.send(&bytes).await {
                    // A send reports an ICMP error left by an earlier datagram, and takes it off
                    // the socket: the reader will not see it, so tell every query here.
                    fail_all(&self.shared.pending, e);
                    break;
                }
                tokio::time::sleep(every).await;
            }
            // The answer (or the timeout) ends the wait.
            std::future::pending::<Result<DnsResponse, NetError>>().await
        };
        let answered = async {
            tokio::select! {
                answer = answer => answer.unwrap_or(Err(NetError::Message("DNS answer reader stopped"))),
                never = resend => never,
            }
        };
        match tokio::time::timeout(self.shared.timeout, answered).await {
            Ok(result) => result,
            Err(_) => Err(NetError::Timeout),
        }
    }

    /// Files a query under a random ID that no pending query holds.
    fn register(&self, query: Pending) -> Result<u16, NetError> {
        let mut pending = lock(&self.shared.pending);
        // Half the ID space at most, so a free ID is found in a few draws.
        if pending.len() >= MAX_PENDING {
            return Err(NetError::Busy);
        }
        loop {
            let id: u16 = rand::random();
            if let std::collections::hash_map::Entry::Vacant(slot) = pending.entry(id) {
                slot.insert(query);
                return Ok(id);
            }
        }
    }
}

/// Most queries in flight on one socket.
const MAX_PENDING: usize = 32_768;

/// How many times one query is sent, [`DEFAULT_RETRY_FLOOR`] (333 ms) or more apart: as hickory
/// does over UDP.
const SENDS: usize = 3;

struct Forget<'a> {
    pending: &'a PendingMap,
    id: u16,
    ticket: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let mut map = lock(self.pending);
        // An answered query's ID is free at once, and another query may hold it by now.
        if map
            .get(&self.id)
            .is_some_and(|query| query.ticket == self.ticket)
        {
            map.remove(&self.id);
        }
    }
}

fn lock(pending: &PendingMap) -> std::sync::MutexGuard<'_, HashMap<u16, Pending>> {
    // A panic while the map was held cannot leave it inconsistent: take it anyway.
    pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn io_error(e: std::io::Error) -> NetError {
    NetError::Io(Arc::new(e))
}

/// Hands each answer to the query it answers; ignores anything else (a late answer to a query
/// that timed out, a datagram too short, one whose question is not the query's).
async fn read_answers(socket: Arc<UdpSocket>, pending: PendingMap) {
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    loop {
        // Error readiness too: an ICMP error for an earlier datagram (the server's port refused
        // it, or it could not be routed) wakes no reader otherwise.
        let Ok(ready) = socket.ready(Interest::READABLE | Interest::ERROR).await else {
            // Only a runtime shutting down fails here.
            return;
        };
        if ready.is_error() {
            // The error is taken inside try_io, so its readiness is cleared only once none is
            // left (a new one arriving meanwhile wakes this loop again).
            let taken = socket.try_io(Interest::ERROR, || match socket.take_error() {
                Ok(Some(e)) | Err(e) => Ok(e),
                Ok(None) => Err(std::io::ErrorKind::WouldBlock.into()),
            });
            if let Ok(e) = taken {
                fail_all(&pending, e);
            }
        }
        if ready.is_readable() {
            loop {
                match socket.try_recv(&mut buffer) {
                    Ok(len) => hand_over(&pending, &buffer[..len]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        fail_all(&pending, e);
                        break;
                    }
                }
            }
        }
    }
}

/// Every query pending on the socket went the way the error says.
fn fail_all(pending: &PendingMap, e: std::io::Error) {
    let e = Arc::new(e);
    for (_, query) in lock(pending).drain() {
        let _ = query.reply.send(Err(NetError::Io(e.clone())));
    }
}

/// Gives `datagram` to the pending query with its ID and question, if there is one.
fn hand_over(pending: &PendingMap, datagram: &[u8]) {
    let Some(id) = datagram.first_chunk::<2>().map(|b| u16::from_be_bytes(*b)) else {
        return;
    };
    if !lock(pending).contains_key(&id) {
        return;
    }
    let Ok(response) = DnsResponse::from_buffer(datagram.to_vec()) else {
        tracing::debug!(id, "ignoring a DNS answer that does not decode");
        return;
    };
    let mut map = lock(pending);
    let matches = map.get(&id).is_some_and(|query| {
        response.queries.len() == 1 && query.question.as_ref() == response.queries.first()
    });
    if matches && let Some(query) = map.remove(&id) {
        let _ = query.reply.send(Ok(response));
    }
}

#[cfg(test)]
mod tests;
