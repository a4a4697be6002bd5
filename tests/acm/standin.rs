//! An HTTP server on loopback that answers every ACM call with one error, in ACM's wire format
//! (awsJson1_1: the code in `x-amzn-ErrorType` and `__type`). For the failures moto does not
//! produce: throttling and access denied.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Starts the server; returns its endpoint and a count of requests answered.
pub async fn failing_acm(status: u16, code: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                if read_request(&mut conn).await.is_none() {
                    return;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let body = format!(r#"{{"__type":"{code}","message":"stand-in says {code}"}}"#);
                let reply = format!(
                    "HTTP/1.1 {status} Error\r\ncontent-type: application/x-amz-json-1.1\r\n\
                     x-amzn-errortype: {code}\r\nx-amzn-requestid: standin\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    (endpoint, hits)
}

/// Reads one request (headers and a `content-length` body); `None` on EOF or error.
async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<()> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&seen[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while seen.len() < header_end + length {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    Some(())
}
