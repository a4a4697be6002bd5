//! HTTP for the test API server: one hyper HTTP/1 connection per task, routing by path, the list
//! and get of Services, and Event writes. Watches are `watch.rs`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use super::{Down, Shared, selector_matches, status};

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

pub async fn connection(shared: Arc<Shared>, stream: TcpStream) {
    let service = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(shared, req).await) }
    });
    // A client that goes away mid-request is not the server's problem.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

pub fn json_response(code: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed_unsync())
        .unwrap()
}

pub fn error(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    json_response(code, &status(code.as_u16(), reason, message))
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query: HashMap<String, String> =
        req.uri().query().map(url_decode_pairs).unwrap_or_default();
    {
        let mut inner = shared.lock();
        let pq = req
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default();
        inner.requests.push(format!("{method} {pq}"));
        if inner.down == Some(Down::Unavailable) {
            drop(inner);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the server is down",
            );
        }
    }
    shared.wait_out_a_stall().await;
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (&method, segs.as_slice()) {
        (&Method::GET, ["api", "v1", "services"]) => services(&shared, None, &query).await,
        (&Method::GET, ["api", "v1", "namespaces", ns, "services"]) => {
            services(&shared, Some(ns), &query).await
        }
        (&Method::GET, ["api", "v1", "namespaces", ns, "services", name]) => {
            let inner = shared.lock();
            match inner.services.get(&(ns.to_string(), name.to_string())) {
                Some(obj) => json_response(StatusCode::OK, obj),
                None => error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("services \"{name}\" not found"),
                ),
            }
        }
        (
            _,
            [
                "apis",
                "coordination.k8s.io",
                "v1",
                "namespaces",
                ns,
                "leases",
                rest @ ..,
            ],
        ) => {
            let (ns, rest) = (ns.to_string(), rest.iter().map(|s| s.to_string()).collect());
            super::leases::route(&shared, req, &ns, rest, &query).await
        }
        (&Method::POST, ["apis", "events.k8s.io", "v1", "namespaces", ns, "events"])
        | (&Method::POST, ["api", "v1", "namespaces", ns, "events"]) => {
            let ns = ns.to_string();
            let body = read_json(req).await;
            create_event(&shared, &ns, body)
        }
        (
            &Method::PATCH,
            [
                "apis",
                "events.k8s.io",
                "v1",
                "namespaces",
                ns,
                "events",
                name,
            ],
        )
        | (&Method::PATCH, ["api", "v1", "namespaces", ns, "events", name]) => {
            let (ns, name) = (ns.to_string(), name.to_string());
            let ct = req
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if ct != "application/merge-patch+json"
                && ct != "application/strategic-merge-patch+json"
            {
                return error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UnsupportedMediaType",
                    &ct,
                );
            }
            let body = read_json(req).await;
            patch_event(&shared, &ns, &name, body)
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no route for {method} {path}"),
        ),
    }
}

pub async fn read_json(req: Request<Incoming>) -> Option<Value> {
    let bytes = req.into_body().collect().await.ok()?.to_bytes();
    serde_json::from_slice(&bytes).ok()
}

async fn services(
    shared: &Arc<Shared>,
    ns: Option<&str>,
    q: &HashMap<String, String>,
) -> Response<Body> {
    let selector = q.get("labelSelector").cloned().unwrap_or_default();
    if q.get("watch").map(String::as_str) == Some("true") {
        if q.get("sendInitialEvents").map(String::as_str) == Some("true") {
            // Streaming lists are not implemented: say so the way an old API server would not,
            // loudly, so a test notices kube changed its default.
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "sendInitialEvents is not implemented",
            );
        }
        let ns = ns.map(str::to_string);
        return super::watch::watch(shared.clone(), ns, selector, q, "Service").await;
    }
    let inner = shared.lock();
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let (list_rv, after) = match q.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let Some((rv, key)) = token
                .split_once('|')
                .and_then(|(rv, k)| Some((rv.parse::<u64>().ok()?, k)))
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "invalid continue token",
                );
            };
            if rv < inner.compacted_through {
                return error(
                    StatusCode::GONE,
                    "Expired",
                    "the provided continue parameter is too old",
                );
            }
            (rv, Some(key.to_string()))
        }
        None => (inner.rv, None),
    };
    let mut items = Vec::new();
    let mut next = None;
    for ((sns, name), obj) in &inner.services {
        if ns.is_some_and(|n| n != sns) {
            continue;
        }
        let key = format!("{sns}/{name}");
        if after.as_ref().is_some_and(|a| key.as_str() <= a.as_str()) {
            continue;
        }
        match selector_matches(&selector, obj) {
            Err(e) => return error(StatusCode::BAD_REQUEST, "BadRequest", &e),
            Ok(false) => continue,
            Ok(true) => {}
        }
        if items.len() == limit {
            next = Some(format!("{list_rv}|{}", items_last_key(&items)));
            break;
        }
        items.push(obj.as_ref().clone());
    }
    let mut metadata = json!({"resourceVersion": list_rv.to_string()});
    if let Some(c) = next {
        metadata["continue"] = json!(c);
    }
    json_response(
        StatusCode::OK,
        &json!({"kind": "ServiceList", "apiVersion": "v1", "metadata": metadata, "items": items}),
    )
}

fn items_last_key(items: &[Value]) -> String {
    let m = &items.last().expect("a full page")["metadata"];
    format!(
        "{}/{}",
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().unwrap_or("")
    )
}

fn create_event(shared: &Arc<Shared>, ns: &str, body: Option<Value>) -> Response<Body> {
    let Some(mut ev) = body else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "body is not JSON");
    };
    let Some(name) = ev["metadata"]["name"].as_str().map(str::to_string) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            "metadata.name is required",
        );
    };
    let mut inner = shared.lock();
    if inner.events.contains_key(&(ns.to_string(), name.clone())) {
        return error(
            StatusCode::CONFLICT,
            "AlreadyExists",
            &format!("events \"{name}\" already exists"),
        );
    }
    inner.rv += 1;
    ev["metadata"]["namespace"] = json!(ns);
    ev["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
    inner.event_posts.push(("POST".into(), ev.clone()));
    inner.events.insert((ns.to_string(), name), ev.clone());
    json_response(StatusCode::CREATED, &ev)
}

fn patch_event(shared: &Arc<Shared>, ns: &str, name: &str, body: Option<Value>) -> Response<Body> {
    let Some(patch) = body else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "body is not JSON");
    };
    let mut inner = shared.lock();
    inner.rv += 1;
    let rv = inner.rv;
    inner.event_posts.push(("PATCH".into(), patch.clone()));
    let Some(ev) = inner.events.get_mut(&(ns.to_string(), name.to_string())) else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("events \"{name}\" not found"),
        );
    };
    merge_patch(ev, &patch);
    ev["metadata"]["resourceVersion"] = json!(rv.to_string());
    let ev = ev.clone();
    json_response(StatusCode::OK, &ev)
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().unwrap();
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

fn url_decode_pairs(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
