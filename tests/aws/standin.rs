//! A loopback stand-in between edgewatch and moto that answers in elbv2's wire format (the
//! Query protocol: form-encoded requests, XML answers) where moto cannot: it forwards every
//! request to moto, and on the way
//! - throttles (after a delay) every call that names a given load balancer ARN, with the
//!   `Throttling` error AWS sends;
//! - shows load balancer and listener ARNs as AWS writes them for an NLB (`/net/`, where moto
//!   writes `/app/`), translating them back on the way in;
//! - answers `DescribeTargetHealth` as AWS does for failing targets: `unhealthy` with a
//!   `Reason` and a `Description` (moto sends no `Reason`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the stand-in changes.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Throttle calls naming this ARN (`(arn, delay before answering)`).
    pub throttle: Option<(String, Duration)>,
    /// Show `/net/` ARNs.
    pub net_arns: bool,
    /// Every registered target is unhealthy with `Target.FailedHealthChecks`.
    pub unhealthy: bool,
}

/// A running stand-in.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Calls answered with `Throttling`.
    pub throttled: Arc<AtomicUsize>,
}

/// Starts the stand-in in front of `upstream` (moto).
pub async fn start(upstream: &str, rules: Rules) -> StandIn {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let throttled = Arc::new(AtomicUsize::new(0));
    let counter = throttled.clone();
    let upstream = upstream.to_string();
    let client = reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let (rules, upstream, client, counter) = (
                rules.clone(),
                upstream.clone(),
                client.clone(),
                counter.clone(),
            );
            tokio::spawn(async move {
                let _ = serve(conn, &rules, &upstream, &client, &counter).await;
            });
        }
    });
    StandIn {
        endpoint,
        throttled,
    }
}

async fn serve(
    mut conn: TcpStream,
    rules: &Rules,
    upstream: &str,
    client: &reqwest::Client,
    throttled: &AtomicUsize,
) -> Option<()> {
    let (head, body) = read_request(&mut conn).await?;
    let mut lines = head.lines();
    let request_line = lines.next()?.to_string();
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut body = String::from_utf8_lossy(&body).into_owned();
    let decoded = percent_decode(&body);
    // Only the calls about that load balancer (DescribeListeners, DescribeTargetGroups), not
    // the account-wide DescribeTags that also names it.
    if let Some((arn, delay)) = &rules.throttle
        && decoded.contains(&format!("LoadBalancerArn={arn}"))
    {
        tokio::time::sleep(*delay).await;
        throttled.fetch_add(1, Ordering::SeqCst);
        let xml = "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">\
                   <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>\
                   </Error><RequestId>standin</RequestId></ErrorResponse>";
        return reply(&mut conn, 400, "text/xml", xml).await;
    }
    if rules.net_arns {
        for (net, app) in [
            ("loadbalancer%2Fnet%2F", "loadbalancer%2Fapp%2F"),
            ("listener%2Fnet%2F", "listener%2Fapp%2F"),
        ] {
            body = body.replace(net, app);
        }
    }
    let mut request = client.request(method.parse().ok()?, format!("{upstream}{path}"));
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if !matches!(k.as_str(), "host" | "content-length" | "connection" | "") {
                request = request.header(k, v.trim());
            }
        }
    }
    let answer = request.body(body).send().await.ok()?;
    let status = answer.status().as_u16();
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/xml")
        .to_string();
    let mut text = answer.text().await.ok()?;
    if rules.net_arns {
        text = text
            .replace("loadbalancer/app/", "loadbalancer/net/")
            .replace("listener/app/", "listener/net/");
    }
    if rules.unhealthy && decoded.contains("Action=DescribeTargetHealth") {
        text = text.replace(
            "<State>healthy</State>",
            "<State>unhealthy</State><Reason>Target.FailedHealthChecks</Reason>\
             <Description>Health checks failed</Description>",
        );
    }
    reply(&mut conn, status, &content_type, &text).await
}

async fn reply(conn: &mut TcpStream, status: u16, content_type: &str, body: &str) -> Option<()> {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\nx-amzn-requestid: standin\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.ok()?;
    conn.write_all(body.as_bytes()).await.ok()?;
    conn.shutdown().await.ok()
}

/// `%XX` and `+` decoded (enough to find an ARN in a form body).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one request: its head (text) and its `content-length` body.
async fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&seen[..header_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while seen.len() < header_end + length {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    Some((head, seen[header_end..header_end + length].to_vec()))
}
