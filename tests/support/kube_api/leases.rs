//! Leases (`coordination.k8s.io/v1`) of the test API server, with the real server's write rules:
//! create answers `409 AlreadyExists` for a taken name; update (PUT) with a `resourceVersion`
//! other than the stored one answers `409 Conflict` (optimistic concurrency: the caller must get
//! the latest and try again); every write takes the next resourceVersion of the one sequence
//! Services use, and goes to the shared history, so lists and watches behave as for Services.

use std::collections::HashMap;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::routes::{Body, error, json_response, read_json};
use super::{Change, Shared, record, selector_matches};

/// `/apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}]`; `rest` is what follows
/// `leases`.
pub async fn route(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    ns: &str,
    rest: Vec<String>,
    q: &HashMap<String, String>,
) -> Response<Body> {
    let method = req.method().clone();
    match (&method, rest.as_slice()) {
        (&Method::GET, []) => list(shared, ns, q).await,
        (&Method::POST, []) => create(shared, ns, read_json(req).await),
        (&Method::GET, [name]) => match shared.lock().leases.get(&(ns.into(), name.clone())) {
            Some(obj) => json_response(StatusCode::OK, obj),
            None => not_found(name),
        },
        (&Method::PUT, [name]) => {
            let name = name.clone();
            replace(shared, ns, &name, read_json(req).await)
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("{method} is not implemented for leases"),
        ),
    }
}

fn not_found(name: &str) -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("leases.coordination.k8s.io \"{name}\" not found"),
    )
}

async fn list(shared: &Arc<Shared>, ns: &str, q: &HashMap<String, String>) -> Response<Body> {
    let selector = q.get("labelSelector").cloned().unwrap_or_default();
    if q.get("watch").map(String::as_str) == Some("true") {
        return super::watch::watch(shared.clone(), Some(ns.to_string()), selector, q, "Lease")
            .await;
    }
    let inner = shared.lock();
    let mut items = Vec::new();
    for ((lns, _), obj) in &inner.leases {
        if lns != ns {
            continue;
        }
        match selector_matches(&selector, obj) {
            Err(e) => return error(StatusCode::BAD_REQUEST, "BadRequest", &e),
            Ok(true) => items.push(obj.as_ref().clone()),
            Ok(false) => {}
        }
    }
    json_response(
        StatusCode::OK,
        &json!({"kind": "LeaseList", "apiVersion": "coordination.k8s.io/v1",
                "metadata": {"resourceVersion": inner.rv.to_string()}, "items": items}),
    )
}

/// The body's name, or the error to answer.
fn body_name(body: &Option<Value>) -> Result<String, Box<Response<Body>>> {
    let Some(obj) = body else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "body is not JSON",
        )));
    };
    obj["metadata"]["name"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                "metadata.name is required",
            ))
        })
}

fn create(shared: &Arc<Shared>, ns: &str, body: Option<Value>) -> Response<Body> {
    let name = match body_name(&body) {
        Ok(n) => n,
        Err(resp) => return *resp,
    };
    let mut obj = body.unwrap_or_default();
    let mut inner = shared.lock();
    let key = (ns.to_string(), name.clone());
    if inner.leases.contains_key(&key) {
        return error(
            StatusCode::CONFLICT,
            "AlreadyExists",
            &format!("leases.coordination.k8s.io \"{name}\" already exists"),
        );
    }
    inner.rv += 1;
    inner.next_uid += 1;
    let rv = inner.rv;
    obj["apiVersion"] = json!("coordination.k8s.io/v1");
    obj["kind"] = json!("Lease");
    let meta = &mut obj["metadata"];
    meta["namespace"] = json!(ns);
    meta["resourceVersion"] = json!(rv.to_string());
    meta["uid"] = json!(format!("00000000-0000-0000-1111-{:012}", inner.next_uid));
    meta["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    let obj = Arc::new(obj);
    inner.leases.insert(key, obj.clone());
    let change = Change {
        rv,
        kind: "ADDED",
        obj: obj.clone(),
        old: None,
    };
    record(shared, &mut inner, change);
    json_response(StatusCode::CREATED, &obj)
}

fn replace(shared: &Arc<Shared>, ns: &str, name: &str, body: Option<Value>) -> Response<Body> {
    match body_name(&body) {
        Ok(n) if n == name => {}
        Ok(n) => {
            let msg =
                format!("the name of the object ({n}) does not match the name on the URL ({name})");
            return error(StatusCode::BAD_REQUEST, "BadRequest", &msg);
        }
        Err(resp) => return *resp,
    }
    let mut obj = body.unwrap_or_default();
    let mut inner = shared.lock();
    let key = (ns.to_string(), name.to_string());
    let Some(old) = inner.leases.get(&key).cloned() else {
        return not_found(name);
    };
    let stored_rv = &old["metadata"]["resourceVersion"];
    // An update without a resourceVersion is unconditional (as the real server allows for
    // Leases); with one, it must be the stored one.
    let given = &obj["metadata"]["resourceVersion"];
    if !given.is_null() && given != stored_rv {
        return error(
            StatusCode::CONFLICT,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on leases.coordination.k8s.io \"{name}\": the \
                 object has been modified; please apply your changes to the latest version and \
                 try again"
            ),
        );
    }
    inner.rv += 1;
    let rv = inner.rv;
    obj["apiVersion"] = json!("coordination.k8s.io/v1");
    obj["kind"] = json!("Lease");
    let meta = &mut obj["metadata"];
    meta["namespace"] = json!(ns);
    meta["resourceVersion"] = json!(rv.to_string());
    meta["uid"] = old["metadata"]["uid"].clone();
    meta["creationTimestamp"] = old["metadata"]["creationTimestamp"].clone();
    let obj = Arc::new(obj);
    inner.leases.insert(key, obj.clone());
    let change = Change {
        rv,
        kind: "MODIFIED",
        obj: obj.clone(),
        old: Some(old),
    };
    record(shared, &mut inner, change);
    json_response(StatusCode::OK, &obj)
}
