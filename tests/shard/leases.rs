//! The test API server's Leases through kube's own client, as edgewatch calls them: create (a
//! taken name is `409 AlreadyExists`), get, replace (a stale resourceVersion is `409 Conflict`),
//! list and watch by label.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};

use crate::support::kube_api::KubeApi;

fn lease(name: &str, vantage: &str) -> Lease {
    let mut l = Lease::default();
    l.metadata.name = Some(name.into());
    l.metadata.labels = Some(BTreeMap::from([
        (
            "app.kubernetes.io/component".into(),
            "edgewatch-shard".into(),
        ),
        ("edgewatch.io/vantage".into(), vantage.into()),
    ]));
    l.spec = Some(LeaseSpec {
        holder_identity: Some(name.into()),
        lease_duration_seconds: Some(5),
        ..LeaseSpec::default()
    });
    l
}

fn code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("not an API error: {other}"),
    }
}

#[tokio::test]
async fn leases_are_created_once_updated_optimistically_listed_and_watched_by_label() {
    let server = KubeApi::start().await;
    let api: Api<Lease> = Api::namespaced(server.client().await, "edgewatch");
    let pp = PostParams::default();

    let a = api.create(&pp, &lease("a", "eu")).await.unwrap();
    let rv_a: u64 = a
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        code(api.create(&pp, &lease("a", "eu")).await.unwrap_err()),
        409
    );
    api.create(&pp, &lease("b", "us")).await.unwrap();

    // A watch of one vantage point's Leases, from now.
    let wp = WatchParams::default().labels("edgewatch.io/vantage=eu");
    let mut events = api.watch(&wp, &rv_a.to_string()).await.unwrap().boxed();

    // Replace with the stored resourceVersion: accepted, and the version moves on.
    let mut renewed = api.get("a").await.unwrap();
    renewed.spec.as_mut().unwrap().lease_duration_seconds = Some(7);
    let after = api.replace("a", &pp, &renewed).await.unwrap();
    assert!(after.metadata.resource_version > renewed.metadata.resource_version);
    // Replace with the old one: someone else wrote in between.
    assert_eq!(
        code(api.replace("a", &pp, &renewed).await.unwrap_err()),
        409
    );
    assert_eq!(
        code(
            api.replace("zz", &pp, &lease("zz", "eu"))
                .await
                .unwrap_err()
        ),
        404
    );

    let eu = api
        .list(&ListParams::default().labels("edgewatch.io/vantage=eu"))
        .await
        .unwrap();
    let names: Vec<_> = eu
        .items
        .iter()
        .filter_map(|l| l.metadata.name.clone())
        .collect();
    assert_eq!(names, ["a"]);
    let all = api
        .list(&ListParams::default().labels("app.kubernetes.io/component=edgewatch-shard"))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);

    // The watch sees `a` modified and nothing of `b` (another vantage point).
    let ev = loop {
        let ev = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("an event")
            .unwrap()
            .unwrap();
        if !matches!(ev, WatchEvent::Bookmark(_)) {
            break ev;
        }
    };
    match ev {
        WatchEvent::Modified(l) => {
            assert_eq!(l.metadata.name.as_deref(), Some("a"));
            assert_eq!(l.spec.unwrap().lease_duration_seconds, Some(7));
        }
        other => panic!("expected MODIFIED, got {other:?}"),
    }
    assert_eq!(server.leases().len(), 2);
}
