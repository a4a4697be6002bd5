//! The Service watch: changes apply live, and every way the API server can fail keeps the last
//! known set and ends in a resync that loses nothing.

use std::time::Duration;

use edgewatch::discovery::kube::KubernetesSettings;

use crate::support::kube_api::{Down, KubeApi};
use crate::{Discovery, all_namespaces, myapp, service, target_names};

const MYAPP: &str = "dev/myapp/tls-demo.example.com:443";
const SOON: Duration = Duration::from_secs(10);

#[tokio::test]
async fn services_added_changed_and_deleted_apply_live() {
    let api = KubeApi::start().await;
    api.apply(&myapp());
    let mut d = Discovery::start(&api, all_namespaces()).await;
    d.wait_for(&[MYAPP], SOON).await;
    d.expect_synced(SOON).await;
    let synced = d.metrics.synced.with_label_values(&["kubernetes"]).get();
    assert_eq!(synced, 1);

    let other = service("shop", "web", "shop.example.com", &[]);
    api.apply(&other);
    let shop = "shop/web/shop.example.com:443";
    d.wait_for(&[MYAPP, shop], SOON).await;

    let mut changed = myapp();
    let ann = changed.metadata.annotations.as_mut().unwrap();
    ann.insert("edgewatch.io/path".into(), "/healthz".into());
    api.apply(&changed);
    let ts = d.wait_for(&[MYAPP, shop], SOON).await;
    assert_eq!(
        &*ts[0].backend.path, "/healthz",
        "the annotation change reached the target"
    );

    ann_hostname(&mut changed, "new.example.com");
    api.apply(&changed);
    d.wait_for(&["dev/myapp/new.example.com:443", shop], SOON)
        .await;

    api.delete("dev", "myapp");
    d.wait_for(&[shop], SOON).await;

    // An annotation opting the Service out drops it like a delete.
    let mut out = other.clone();
    ann_set(&mut out, "edgewatch.io/enabled", "false");
    api.apply(&out);
    d.wait_for(&[], SOON).await;

    let reqs = api.requests();
    assert!(
        reqs.iter().all(|r| !r.contains("sendInitialEvents=true")),
        "{reqs:?}"
    );
    assert!(
        reqs.iter().any(|r| r.starts_with("GET /api/v1/services?")
            && r.contains("watch=true")
            && r.contains("allowWatchBookmarks=true")
            && r.contains("resourceVersion=")),
        "{reqs:?}"
    );
}

fn ann_set(svc: &mut k8s_openapi::api::core::v1::Service, k: &str, v: &str) {
    svc.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(k.into(), v.into());
}

fn ann_hostname(svc: &mut k8s_openapi::api::core::v1::Service, host: &str) {
    ann_set(svc, "external-dns.alpha.kubernetes.io/hostname", host);
}

#[tokio::test]
async fn gone_while_connected_relists_without_losing_or_duplicating() {
    let api = KubeApi::start().await;
    api.apply(&myapp());
    api.apply(&service("shop", "web", "shop.example.com", &[]));
    let mut d = Discovery::start(&api, all_namespaces()).await;
    let both = [
        "dev/myapp/tls-demo.example.com:443",
        "shop/web/shop.example.com:443",
    ];
    d.wait_for(&both, SOON).await;
    let lists_before = count_lists(&api);

    api.compact();
    api.drop_watches();
    wait_until(SOON, || count_lists(&api) > lists_before).await;
    assert!(d.errors("gone") >= 1, "the 410 is counted");
    // The relist found the same set: nothing is sent (no churn), and the watch goes on.
    assert!(d.next_replace(Duration::from_millis(800)).await.is_none());
    api.apply(&service("ops", "api", "ops.example.com", &[]));
    let ts = d
        .wait_for(&[both[0], "ops/api/ops.example.com:443", both[1]], SOON)
        .await;
    target_names(&ts);
}

#[tokio::test]
async fn changes_made_while_unavailable_arrive_through_the_relist_after_410() {
    let api = KubeApi::start().await;
    api.apply(&myapp());
    api.apply(&service("shop", "web", "shop.example.com", &[]));
    let mut d = Discovery::start(&api, all_namespaces()).await;
    d.wait_for(
        &[
            "dev/myapp/tls-demo.example.com:443",
            "shop/web/shop.example.com:443",
        ],
        SOON,
    )
    .await;

    api.go_down(Down::Unavailable);
    // Meanwhile: one Service added, one deleted, and the history compacted past both.
    api.apply(&service("ops", "api", "ops.example.com", &[]));
    api.delete("shop", "web");
    api.compact();
    // The last known set stays: nothing is sent while the server answers 503.
    let during = d.next_replace(Duration::from_secs(2)).await;
    assert!(during.is_none(), "{during:?}");
    assert!(d.errors("watch_start_failed") >= 1);

    api.come_up().await;
    let ts = d
        .wait_for(
            &[
                "dev/myapp/tls-demo.example.com:443",
                "ops/api/ops.example.com:443",
            ],
            Duration::from_secs(40),
        )
        .await;
    target_names(&ts);
    assert!(d.errors("gone") >= 1, "the rewatch got 410 and relisted");
}

#[tokio::test]
async fn dropped_watch_resumes_and_a_refusing_server_keeps_the_last_set() {
    let api = KubeApi::start().await;
    api.set_bookmark_interval(Duration::from_millis(200));
    api.apply(&myapp());
    let mut d = Discovery::start(&api, all_namespaces()).await;
    d.wait_for(&[MYAPP], SOON).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // some bookmarks go by
    let lists = count_lists(&api);
    let watches = count_watches(&api);

    api.drop_watches();
    wait_until(SOON, || count_watches(&api) > watches).await;
    api.apply(&service("shop", "web", "shop.example.com", &[]));
    d.wait_for(&[MYAPP, "shop/web/shop.example.com:443"], SOON)
        .await;
    assert_eq!(
        count_lists(&api),
        lists,
        "a closed watch resumes from its resourceVersion"
    );

    api.go_down(Down::Refusing);
    assert!(
        d.next_replace(Duration::from_secs(3)).await.is_none(),
        "last set kept"
    );
    // A change made while the server is unreachable is in the history the resumed watch reads.
    api.delete("shop", "web");
    api.come_up().await;
    d.wait_for(&[MYAPP], Duration::from_secs(40)).await;
    let failures = d.errors("watch_start_failed") + d.errors("watch_failed");
    assert!(failures >= 1, "the outage is counted");
}

#[tokio::test]
async fn namespaces_and_selector_limit_the_watch() {
    let api = KubeApi::start().await;
    api.apply(&service("dev", "a", "a.example.com", &[("team", "edge")]));
    api.apply(&service("dev", "b", "b.example.com", &[("team", "core")]));
    api.apply(&service("prod", "c", "c.example.com", &[("team", "edge")]));
    api.apply(&service("ops", "d", "d.example.com", &[("team", "edge")]));
    let settings = KubernetesSettings {
        enabled: true,
        namespaces: vec!["dev".into(), "prod".into()],
        selector: Some("team=edge".into()),
        events: false,
    };
    let mut d = Discovery::start(&api, settings).await;
    d.wait_for(
        &["dev/a/a.example.com:443", "prod/c/c.example.com:443"],
        SOON,
    )
    .await;
    // Synced comes once both namespaces' watchers have listed.
    d.expect_synced(SOON).await;
    // A label change moves a Service into the selection (the watch sees ADDED) and out again.
    api.apply(&service("dev", "b", "b.example.com", &[("team", "edge")]));
    d.wait_for(
        &[
            "dev/a/a.example.com:443",
            "dev/b/b.example.com:443",
            "prod/c/c.example.com:443",
        ],
        SOON,
    )
    .await;
    api.apply(&service("dev", "a", "a.example.com", &[("team", "core")]));
    d.wait_for(
        &["dev/b/b.example.com:443", "prod/c/c.example.com:443"],
        SOON,
    )
    .await;
    let reqs = api.requests();
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("GET /api/v1/namespaces/prod/services?"))
    );
    assert!(
        !reqs.iter().any(|r| r.starts_with("GET /api/v1/services")),
        "{reqs:?}"
    );
}

fn count_watches(api: &KubeApi) -> usize {
    api.requests()
        .iter()
        .filter(|r| r.contains("watch=true"))
        .count()
}

fn count_lists(api: &KubeApi) -> usize {
    api.requests()
        .iter()
        .filter(|r| r.starts_with("GET ") && r.contains("services") && !r.contains("watch=true"))
        .count()
}

async fn wait_until(within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
