//! How the keeper reads a list of Leases into members, on a paused clock: expiry by this
//! replica's own observation, released Leases, stale Leases seen first, and the grace after the
//! API server was unreachable.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use super::super::status::StatusBoard;
use super::super::{Membership, ShardConfig, ShardMetrics};
use super::{LeaseKeeper, VANTAGE_LABEL};

fn keeper() -> (LeaseKeeper, watch::Receiver<Option<Membership>>) {
    // Never contacted: `observe` only reads what it is given. kube's rustls needs a provider.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client =
        kube::Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap();
    let config = ShardConfig {
        replica: "me".into(),
        vantage: "eu".into(),
        namespace: "edgewatch".into(),
        lease_duration: Duration::from_secs(5),
    };
    let (tx, rx) = watch::channel(None);
    let metrics = ShardMetrics::register(&prometheus::Registry::new());
    let status = Arc::new(StatusBoard::new(&config));
    (LeaseKeeper::new(client, config, tx, metrics, status), rx)
}

fn lease(holder: Option<&str>, vantage: &str, rv: u64, renewed_ago: i64) -> Lease {
    let name = holder.unwrap_or("gone");
    let mut l = Lease::default();
    l.metadata.name = Some(format!("edgewatch-{name}"));
    l.metadata.resource_version = Some(rv.to_string());
    l.metadata.labels = Some(BTreeMap::from([(VANTAGE_LABEL.into(), vantage.into())]));
    let renewed = Timestamp::now() - SignedDuration::from_secs(renewed_ago);
    l.spec = Some(LeaseSpec {
        holder_identity: holder.map(String::from),
        lease_duration_seconds: Some(5),
        renew_time: Some(MicroTime(renewed)),
        ..LeaseSpec::default()
    });
    l
}

fn members(rx: &watch::Receiver<Option<Membership>>) -> Vec<String> {
    rx.borrow().as_ref().unwrap().members.clone()
}

#[tokio::test(start_paused = true)]
async fn a_lease_is_live_while_its_version_moves_and_expires_when_it_stops() {
    let (mut k, rx) = keeper();
    k.observe(vec![lease(Some("a"), "eu", 1, 0)]);
    assert_eq!(members(&rx), ["a", "me"]);
    tokio::time::advance(Duration::from_secs(4)).await;
    k.observe(vec![lease(Some("a"), "eu", 2, 0)]);
    tokio::time::advance(Duration::from_secs(4)).await;
    // 8 s since first seen, 4 s since its version last moved: still live.
    k.observe(vec![lease(Some("a"), "eu", 2, 4)]);
    assert_eq!(members(&rx), ["a", "me"]);
    tokio::time::advance(Duration::from_secs(2)).await;
    k.observe(vec![lease(Some("a"), "eu", 2, 6)]);
    assert_eq!(members(&rx), ["me"]);
}

#[tokio::test(start_paused = true)]
async fn released_stale_and_other_vantage_leases_are_not_members() {
    let (mut k, rx) = keeper();
    k.observe(vec![
        lease(None, "eu", 1, 0),
        lease(Some("old"), "eu", 2, 60),
        lease(Some("far"), "us", 3, 0),
        lease(Some("b"), "eu", 4, 0),
    ]);
    assert_eq!(members(&rx), ["b", "me"]);
}

#[tokio::test(start_paused = true)]
async fn after_the_api_server_was_unreachable_known_members_get_one_more_lease() {
    let (mut k, rx) = keeper();
    k.observe(vec![
        lease(Some("a"), "eu", 1, 0),
        lease(Some("old"), "eu", 2, 60),
    ]);
    // A minute without an answer: nothing is observed, the membership is kept.
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(members(&rx), ["a", "me"]);
    k.recovering = true;
    // Back: `a` could not renew either; it is kept for one more Lease duration...
    k.observe(vec![
        lease(Some("a"), "eu", 1, 60),
        lease(Some("old"), "eu", 2, 120),
    ]);
    k.recovering = false;
    assert_eq!(members(&rx), ["a", "me"]);
    // ...and dropped if it still does not renew.
    tokio::time::advance(Duration::from_secs(5)).await;
    k.observe(vec![lease(Some("a"), "eu", 1, 65)]);
    assert_eq!(members(&rx), ["me"]);
}

#[tokio::test(start_paused = true)]
async fn the_keeper_wakes_when_the_next_lease_would_expire() {
    let (mut k, _rx) = keeper();
    k.observe(vec![lease(Some("a"), "eu", 1, 0)]);
    let first = k.next_expiry.expect("a live Lease expires");
    assert_eq!(first, tokio::time::Instant::now() + Duration::from_secs(5));
    tokio::time::advance(Duration::from_secs(2)).await;
    k.observe(vec![
        lease(Some("a"), "eu", 2, 0),
        lease(Some("me"), "eu", 3, 0),
    ]);
    // Renewed: the wake-up moves; this replica's own Lease never sets one.
    assert_eq!(
        k.next_expiry,
        Some(tokio::time::Instant::now() + Duration::from_secs(5))
    );
    k.observe(vec![lease(Some("me"), "eu", 3, 0)]);
    assert_eq!(k.next_expiry, None);
}

#[tokio::test(start_paused = true)]
async fn watch_events_change_the_membership_at_once_and_a_relist_replaces_the_store() {
    use kube::runtime::watcher::Event;
    let (mut k, rx) = keeper();
    k.apply(Event::Init);
    k.apply(Event::InitApply(lease(Some("a"), "eu", 1, 0)));
    assert!(
        rx.borrow().is_none(),
        "nothing published in the middle of a list"
    );
    k.apply(Event::InitDone);
    assert_eq!(members(&rx), ["a", "me"]);
    k.apply(Event::Apply(lease(Some("b"), "eu", 2, 0)));
    assert_eq!(members(&rx), ["a", "b", "me"], "a joiner is seen at once");
    let mut released = lease(Some("a"), "eu", 3, 0);
    released.spec.as_mut().unwrap().holder_identity = None;
    k.apply(Event::Apply(released));
    assert_eq!(
        members(&rx),
        ["b", "me"],
        "a released Lease is seen at once"
    );
    k.apply(Event::Delete(lease(Some("b"), "eu", 4, 0)));
    assert_eq!(members(&rx), ["me"]);
    // A relist that no longer shows a Lease drops it when the list is done.
    k.apply(Event::Apply(lease(Some("c"), "eu", 5, 0)));
    k.apply(Event::Init);
    k.apply(Event::InitDone);
    assert_eq!(members(&rx), ["me"]);
}

#[tokio::test(start_paused = true)]
async fn while_the_watch_fails_nobody_expires_and_known_members_get_one_more_lease_after() {
    use kube::runtime::watcher::Event;
    let (mut k, rx) = keeper();
    k.apply(Event::Init);
    k.apply(Event::InitApply(lease(Some("a"), "eu", 1, 0)));
    k.apply(Event::InitDone);
    k.set_health(true, false);
    tokio::time::advance(Duration::from_secs(60)).await;
    k.reobserve();
    assert_eq!(
        members(&rx),
        ["a", "me"],
        "kept while the API server is away"
    );
    k.set_health(false, false);
    assert_eq!(members(&rx), ["a", "me"], "one more Lease after it is back");
    tokio::time::advance(Duration::from_secs(5)).await;
    k.reobserve();
    assert_eq!(members(&rx), ["me"], "dropped when it still does not renew");
}

#[tokio::test(start_paused = true)]
async fn while_this_replicas_renewals_fail_it_still_sees_others_join_but_expires_nobody() {
    use kube::runtime::watcher::Event;
    let (mut k, rx) = keeper();
    k.apply(Event::Init);
    k.apply(Event::InitApply(lease(Some("a"), "eu", 1, 0)));
    k.apply(Event::InitDone);
    // Its own renewals time out (a starved process), the watch still delivers.
    k.set_health(false, true);
    tokio::time::advance(Duration::from_secs(60)).await;
    k.apply(Event::Apply(lease(Some("b"), "eu", 2, 0)));
    assert_eq!(
        members(&rx),
        ["a", "b", "me"],
        "a joiner is taken in, nobody expired"
    );
    let mut released = lease(Some("b"), "eu", 3, 0);
    released.spec.as_mut().unwrap().holder_identity = None;
    k.apply(Event::Apply(released));
    assert_eq!(members(&rx), ["a", "me"], "a release is taken in");
}

#[test]
fn a_renewal_may_take_half_the_lease_and_landed_renewals_stay_within_one_lease() {
    use super::{renew_budget, renew_every};
    for secs in [1u64, 2, 5, 10, 15, 60] {
        let d = Duration::from_secs(secs);
        let (every, budget) = (renew_every(d), renew_budget(d));
        assert_eq!(budget, d / 2, "{secs}s");
        // Worst case: one renewal lands as it starts, the next starts when the first gives up
        // (or a period later, if later) and lands at the end of its budget.
        let gap = every.max(budget) + budget;
        assert!(gap <= d, "{secs}s: renewals up to {gap:?} apart");
    }
}
