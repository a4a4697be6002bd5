//! HTTP: one HTTP/1.1 GET over an established TLS connection (hyper's client connection), with
//! `Host` = the friendly name, a probe nonce header, and a bounded body. Keeps the response for
//! the judges (the client-IP check reads the echoed body and headers).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::headers::Headers;
use super::nonce::Nonce;

/// The header carrying the probe's nonce; `edgewatch echo` answers it back.
pub const NONCE_HEADER: &str = "x-edgewatch-nonce";

/// The response header by which `edgewatch echo` identifies itself (value: its version).
pub const ECHO_MARKER_HEADER: &str = "x-edgewatch-echo";

/// Most of a body that is read (what the judges see: an echo's answer, an identity to match).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Most of a body kept once the judges are done: what the reports show of it.
pub const PREVIEW_BYTES: usize = 1024;

/// Most bytes of response head (status line + headers) accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What the backend answered.
#[derive(Debug, Clone, Serialize)]
pub struct HttpObservation {
    /// The request path sent.
    pub path: Box<str>,
    /// The nonce sent in [`NONCE_HEADER`].
    pub nonce: Nonce,
    /// Status code, when a response head arrived.
    pub status: Option<u16>,
    /// Response headers (lowercase names), in order.
    pub headers: Headers,
    /// Up to [`MAX_BODY_BYTES`] of the body as read; in a copy made for keeping
    /// ([`HttpObservation::keep_preview`]), only its first [`PREVIEW_BYTES`].
    #[serde(skip)]
    pub body: Vec<u8>,
    /// How many bytes of the body were read (at most [`MAX_BODY_BYTES`]), kept or not.
    pub body_bytes: u32,
    /// Whether the body was longer than what was kept.
    pub body_truncated: bool,
    /// Why the exchange failed, when it did.
    pub failure: Option<HttpFailure>,
    /// Time from sending the request to the end of the (bounded) body.
    #[serde(
        rename = "duration_ms",
        serialize_with = "crate::timefmt::serialize_ms"
    )]
    pub duration: Duration,
}

impl HttpObservation {
    /// Drops the body past [`PREVIEW_BYTES`], which no report shows. The status store keeps
    /// every target's last exchange: with whole bodies, 100,000 backends answering a 16 KB page
    /// held 1.6 GB.
    pub fn keep_preview(&mut self) {
        if self.body.len() > PREVIEW_BYTES {
            self.body.truncate(PREVIEW_BYTES);
            self.body.shrink_to_fit();
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// Why the HTTP exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum HttpFailure {
    /// No complete response within the timeout.
    #[error("no HTTP response within {0:?}")]
    Timeout(#[serde(serialize_with = "crate::timefmt::serialize_timeout_ms")] Duration),
    /// The connection closed before a response.
    #[error("connection closed without an HTTP response: {0}")]
    Closed(Box<str>),
    /// The peer's bytes are not HTTP/1.1.
    #[error("malformed HTTP response: {0}")]
    Malformed(Box<str>),
    /// The probe's overall deadline passed.
    #[error("probe deadline exceeded during the HTTP request")]
    Deadline,
}

impl HttpFailure {
    /// Stable short name for metric labels and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            HttpFailure::Timeout(_) => "timeout",
            HttpFailure::Closed(_) => "closed",
            HttpFailure::Malformed(_) => "malformed",
            HttpFailure::Deadline => "deadline_exceeded",
        }
    }

    fn from_hyper(err: &hyper::Error) -> Self {
        if err.is_parse() || err.is_parse_status() || err.is_parse_too_large() {
            HttpFailure::Malformed(err.to_string().into())
        } else {
            HttpFailure::Closed(err.to_string().into())
        }
    }
}

/// Sends `GET path` with `Host: host` over `io` and reads a bounded response within `timeout`.
pub async fn get<IO>(io: IO, host: &str, path: &str, timeout: Duration) -> HttpObservation
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started = Instant::now();
    let nonce = Nonce::random();
    let mut nonce_text = uuid::Uuid::encode_buffer();
    let nonce_text = nonce.text(&mut nonce_text);
    let mut obs = HttpObservation {
        path: path.into(),
        nonce,
        status: None,
        headers: Headers::default(),
        body: Vec::new(),
        body_bytes: 0,
        body_truncated: false,
        failure: None,
        duration: Duration::ZERO,
    };
    let exchange = exchange(io, host, path, nonce_text, &mut obs);
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => obs.failure = Some(HttpFailure::Timeout(timeout)),
        Ok(Err(failure)) => obs.failure = Some(failure),
        Ok(Ok(())) => {}
    }
    // At most MAX_BODY_BYTES (64 KiB).
    obs.body_bytes = u32::try_from(obs.body.len()).unwrap_or(u32::MAX);
    obs.duration = started.elapsed();
    obs
}

async fn exchange<IO>(
    io: IO,
    host: &str,
    path: &str,
    nonce: &str,
    obs: &mut HttpObservation,
) -> Result<(), HttpFailure>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(io))
        .await
        .map_err(|e| HttpFailure::Closed(e.to_string().into()))?;
    // The connection task ends when the exchange ends or the timeout drops this future.
    let conn_task = tokio::spawn(async move {
        let _ = conn.await;
    });
    let _abort_on_drop = AbortOnDrop(conn_task);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, host)
        .header(
            hyper::header::USER_AGENT,
            concat!("edgewatch/", env!("CARGO_PKG_VERSION")),
        )
        .header(NONCE_HEADER, nonce)
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| {
            HttpFailure::Malformed(format!("cannot build request for `{path}`: {e}").into())
        })?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| HttpFailure::from_hyper(&e))?;
    obs.status = Some(response.status().as_u16());
    obs.headers = Headers::new(
        response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str(), String::from_utf8_lossy(v.as_bytes()))),
    );
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| HttpFailure::from_hyper(&e))?;
        if let Some(data) = frame.data_ref() {
            let room = MAX_BODY_BYTES - obs.body.len();
            if data.len() > room {
                obs.body.extend_from_slice(&data[..room]);
                obs.body_truncated = true;
                break;
            }
            obs.body.extend_from_slice(data);
        }
    }
    Ok(())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
