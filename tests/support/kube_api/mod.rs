//! A Kubernetes API server for tests, on 127.0.0.1, reached through a kubeconfig it writes: just
//! enough of the real one for Service discovery and Events, with the same wire behaviour.
//!
//! - `GET /api/v1/services`, `/api/v1/namespaces/{ns}/services`: list with `labelSelector`,
//!   `limit`/`continue` paging and `metadata.resourceVersion`; `?watch=true`: see `watch.rs`.
//! - `GET /api/v1/namespaces/{ns}/services/{name}`.
//! - Leases (`coordination.k8s.io/v1`): create, get, update (a stale `resourceVersion` gets
//!   `409 Conflict`), list and watch by label; see `leases.rs`.
//! - `POST`/`PATCH` Events (`events.k8s.io/v1` and core `v1`), recorded for assertions.
//! - A [`KubeApi`] handle: add/modify/delete Services, compact history (watches from before it get
//!   `410 Gone`), drop watches, and go down (503, or refusing connections) and up again.

mod leases;
mod routes;
mod watch;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

/// How the server is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Down {
    /// Every request gets `503 Service Unavailable` (an API server behind a load balancer).
    Unavailable,
    /// The port is closed and open connections are cut (the API server process is gone).
    Refusing,
    /// Connections are accepted and requests read, but none is answered until the server comes
    /// back (an overloaded API server, or one behind a black-holing network path): only the
    /// client's own timeouts end a request.
    Stalled,
}

/// One change to a Service, as kept in the history and sent to watches.
#[derive(Debug, Clone)]
pub struct Change {
    /// The resourceVersion of the change.
    pub rv: u64,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// The object after the change (for `DELETED`, as it was, with the deletion's rv).
    pub obj: Arc<Value>,
    /// The object before a `MODIFIED` change (to turn selector transitions into ADDED/DELETED).
    pub old: Option<Arc<Value>>,
}

pub(crate) struct Inner {
    pub rv: u64,
    pub services: BTreeMap<(String, String), Arc<Value>>,
    /// Leases by (namespace, name); they share the one resourceVersion sequence and history.
    pub leases: BTreeMap<(String, String), Arc<Value>>,
    pub history: VecDeque<Change>,
    /// Watches from a resourceVersion below this get `410 Gone`.
    pub compacted_through: u64,
    pub down: Option<Down>,
    pub events: BTreeMap<(String, String), Value>,
    pub event_posts: Vec<(String, Value)>,
    pub requests: Vec<String>,
    pub bookmark_every: Duration,
    next_uid: u64,
}

pub(crate) struct Shared {
    pub inner: Mutex<Inner>,
    pub changes: broadcast::Sender<Change>,
    /// Cancelled to end every open watch; replaced afterwards.
    pub watches: Mutex<CancellationToken>,
    connections: Mutex<Vec<AbortHandle>>,
    acceptor: Mutex<Option<AbortHandle>>,
    /// Cancelled when a stall ends (held requests then get their answer); replaced afterwards.
    stall_over: Mutex<CancellationToken>,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn watch_token(&self) -> CancellationToken {
        self.watches.lock().unwrap().clone()
    }

    /// Waits while the server is [`Down::Stalled`].
    pub async fn wait_out_a_stall(&self) {
        loop {
            let over = self.stall_over.lock().unwrap().clone();
            if self.lock().down != Some(Down::Stalled) {
                return;
            }
            over.cancelled().await;
        }
    }
}

/// A running test API server.
pub struct KubeApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl KubeApi {
    /// Starts on a free loopback port and writes a kubeconfig pointing at it.
    pub async fn start() -> KubeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let (changes, _) = broadcast::channel(16384);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                rv: 100,
                services: BTreeMap::new(),
                leases: BTreeMap::new(),
                history: VecDeque::new(),
                compacted_through: 0,
                down: None,
                events: BTreeMap::new(),
                event_posts: Vec::new(),
                requests: Vec::new(),
                bookmark_every: Duration::from_secs(1),
                next_uid: 1,
            }),
            changes,
            watches: Mutex::new(CancellationToken::new()),
            connections: Mutex::new(Vec::new()),
            acceptor: Mutex::new(None),
            stall_over: Mutex::new(CancellationToken::new()),
        });
        serve(shared.clone(), listener);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text(addr)).unwrap();
        KubeApi {
            shared,
            addr,
            _dir: dir,
            kubeconfig,
        }
    }

    /// The kubeconfig file (context `test`, a bearer token, `http://127.0.0.1:PORT`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A client built the way edgewatch builds it, from the kubeconfig.
    pub async fn client(&self) -> kube::Client {
        edgewatch::discovery::kube::client(Some(self.kubeconfig.clone()), None)
            .await
            .expect("client from the test kubeconfig")
    }

    /// Adds or replaces a Service (ADDED or MODIFIED); returns its new resourceVersion.
    pub fn apply(&self, svc: &Service) -> u64 {
        let mut value = serde_json::to_value(svc).unwrap();
        value["apiVersion"] = json!("v1");
        value["kind"] = json!("Service");
        let ns = value["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let name = value["metadata"]["name"]
            .as_str()
            .expect("a name")
            .to_string();
        let mut inner = self.shared.lock();
        inner.rv += 1;
        let rv = inner.rv;
        let key = (ns.clone(), name);
        let old = inner.services.get(&key).cloned();
        let uid = match &old {
            Some(o) => o["metadata"]["uid"].clone(),
            None => {
                inner.next_uid += 1;
                json!(format!("00000000-0000-0000-0000-{:012}", inner.next_uid))
            }
        };
        let meta = &mut value["metadata"];
        meta["namespace"] = json!(ns);
        meta["resourceVersion"] = json!(rv.to_string());
        meta["uid"] = uid;
        meta["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        let obj = Arc::new(value);
        inner.services.insert(key, obj.clone());
        let kind = if old.is_some() { "MODIFIED" } else { "ADDED" };
        record(&self.shared, &mut inner, Change { rv, kind, obj, old });
        rv
    }

    /// Deletes a Service (DELETED); false when there was none.
    pub fn delete(&self, namespace: &str, name: &str) -> bool {
        let mut inner = self.shared.lock();
        let Some(old) = inner.services.remove(&(namespace.into(), name.into())) else {
            return false;
        };
        inner.rv += 1;
        let rv = inner.rv;
        let mut obj = (*old).clone();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let change = Change {
            rv,
            kind: "DELETED",
            obj: Arc::new(obj),
            old: None,
        };
        record(&self.shared, &mut inner, change);
        true
    }

    /// Writes elsewhere in the "cluster" move the resourceVersion on, and history up to now is
    /// compacted: a watch from any earlier resourceVersion gets `410 Gone`.
    pub fn compact(&self) {
        let mut inner = self.shared.lock();
        inner.rv += 1;
        inner.compacted_through = inner.rv;
        inner.history.clear();
    }

    /// Ends every open watch (the server closes the response).
    pub fn drop_watches(&self) {
        let mut token = self.shared.watches.lock().unwrap();
        token.cancel();
        *token = CancellationToken::new();
    }

    /// Goes down the given way; open watches end either way.
    pub fn go_down(&self, how: Down) {
        self.shared.lock().down = Some(how);
        self.drop_watches();
        if how == Down::Refusing {
            if let Some(a) = self.shared.acceptor.lock().unwrap().take() {
                a.abort();
            }
            for c in self.shared.connections.lock().unwrap().drain(..) {
                c.abort();
            }
        }
    }

    /// Comes back on the same port.
    pub async fn come_up(&self) {
        let was = self.shared.lock().down.take();
        if was == Some(Down::Stalled) {
            let over = std::mem::take(&mut *self.shared.stall_over.lock().unwrap());
            over.cancel();
        }
        if was == Some(Down::Refusing) {
            let listener = TcpListener::bind(self.addr)
                .await
                .expect("rebind the same port");
            serve(self.shared.clone(), listener);
        }
    }

    /// How often open watches get a BOOKMARK.
    pub fn set_bookmark_interval(&self, every: Duration) {
        self.shared.lock().bookmark_every = every;
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().rv
    }

    /// Every request so far, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.lock().requests.clone()
    }

    /// Leases as stored now, by (namespace, name).
    pub fn leases(&self) -> Vec<Value> {
        self.shared
            .lock()
            .leases
            .values()
            .map(|v| (**v).clone())
            .collect()
    }

    /// Events as stored now (after any PATCH), by (namespace, name).
    pub fn events(&self) -> Vec<Value> {
        self.shared.lock().events.values().cloned().collect()
    }

    /// Every Event write in order, as (`POST`/`PATCH`, body).
    pub fn event_writes(&self) -> Vec<(String, Value)> {
        self.shared.lock().event_posts.clone()
    }
}

pub(crate) fn record(shared: &Shared, inner: &mut Inner, change: Change) {
    inner.history.push_back(change.clone());
    // No live watch is fine: a send error only means nobody listens.
    let _ = shared.changes.send(change);
}

fn serve(shared: Arc<Shared>, listener: TcpListener) {
    let s = shared.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let conn = tokio::spawn(routes::connection(s.clone(), stream));
            let mut conns = s.connections.lock().unwrap();
            conns.retain(|c| !c.is_finished());
            conns.push(conn.abort_handle());
        }
    });
    *shared.acceptor.lock().unwrap() = Some(task.abort_handle());
}

fn kubeconfig_text(addr: SocketAddr) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: http://{addr}\n\
         users:\n- name: test\n  user:\n    token: test-token\ncontexts:\n- name: test\n  context:\n    \
         cluster: test\n    user: test\n    namespace: default\ncurrent-context: test\n"
    )
}

/// A Kubernetes `Status` body.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

/// Whether a Service's labels match a label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`, ANDed
/// by commas). Set-based selectors are refused with `Err` (answered 400, loudly).
pub fn selector_matches(selector: &str, obj: &Value) -> Result<bool, String> {
    let labels = &obj["metadata"]["labels"];
    let get = |k: &str| labels.get(k).and_then(Value::as_str);
    for term in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if term.contains(" in ") || term.contains(" notin ") || term.contains('(') {
            return Err(format!(
                "set-based selector `{term}` is not implemented here"
            ));
        }
        let ok = if let Some((k, v)) = term.split_once("!=") {
            get(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            get(k.trim()) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            get(k.trim()).is_none()
        } else {
            get(term).is_some()
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}
