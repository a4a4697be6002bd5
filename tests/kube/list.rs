//! `list_once` (what `--once` uses): filters, paging, and a named Service's errors.

use edgewatch::discovery::kube::{Error, ListFilter, list_once};
use edgewatch::discovery::target::BackendSpec;

use crate::support::kube_api::KubeApi;
use crate::{myapp, service, target_names};

async fn api_with_three() -> KubeApi {
    let api = KubeApi::start().await;
    api.apply(&myapp());
    api.apply(&service(
        "dev",
        "other",
        "other.example.com",
        &[("team", "core")],
    ));
    api.apply(&service(
        "prod",
        "shop",
        "shop.example.com",
        &[("team", "edge")],
    ));
    let mut plain = service("dev", "plain", "plain.example.com", &[]);
    plain.metadata.annotations = None;
    api.apply(&plain);
    api
}

#[tokio::test]
async fn service_filter_returns_exactly_that_service() {
    let api = api_with_three().await;
    let filter = ListFilter {
        service: Some("dev/myapp".into()),
        ..Default::default()
    };
    let ts = list_once(api.client().await, &filter, &BackendSpec::default())
        .await
        .unwrap();
    assert_eq!(target_names(&ts), ["dev/myapp/tls-demo.example.com:443"]);
    assert_eq!(
        ts[0].lb_hostnames,
        ["k8s-dev-myapp-0123456789-0123456789abcdef.elb.us-east-2.amazonaws.com"]
    );
}

#[tokio::test]
async fn service_filter_errors_name_the_service() {
    let api = api_with_three().await;
    let run = |s: &str| {
        let filter = ListFilter {
            service: Some(s.into()),
            ..Default::default()
        };
        let api = &api;
        async move {
            list_once(api.client().await, &filter, &BackendSpec::default())
                .await
                .unwrap_err()
        }
    };
    let e = run("dev/missing").await;
    assert!(matches!(e, Error::ServiceNotFound(_)), "{e}");
    assert!(e.to_string().contains("dev/missing"));
    let e = run("dev/plain").await;
    assert!(matches!(e, Error::ServiceNotSelected(_)), "{e}");
    assert!(matches!(run("myapp").await, Error::BadServiceName(_)));
}

#[tokio::test]
async fn namespace_and_selector_filters() {
    let api = api_with_three().await;
    let list = |namespaces: Vec<String>, selector: Option<String>| {
        let api = &api;
        async move {
            let filter = ListFilter {
                namespaces,
                selector,
                service: None,
            };
            let ts = list_once(api.client().await, &filter, &BackendSpec::default())
                .await
                .unwrap();
            target_names(&ts)
        }
    };
    assert_eq!(
        list(vec![], None).await,
        [
            "dev/myapp/tls-demo.example.com:443",
            "dev/other/other.example.com:443",
            "prod/shop/shop.example.com:443"
        ]
    );
    assert_eq!(
        list(vec!["prod".into()], None).await,
        ["prod/shop/shop.example.com:443"]
    );
    assert_eq!(
        list(vec![], Some("team=core".into())).await,
        ["dev/other/other.example.com:443"]
    );
    assert_eq!(
        list(vec!["dev".into()], Some("team!=core".into())).await,
        ["dev/myapp/tls-demo.example.com:443"]
    );
}

#[tokio::test]
async fn listing_pages_through_more_than_one_page() {
    let api = KubeApi::start().await;
    for i in 0..1203 {
        api.apply(&service(
            "bulk",
            &format!("s{i:04}"),
            &format!("s{i}.example.com"),
            &[],
        ));
    }
    let ts = list_once(
        api.client().await,
        &ListFilter::default(),
        &BackendSpec::default(),
    )
    .await
    .unwrap();
    assert_eq!(target_names(&ts).len(), 1203);
    let pages = api
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/services?"))
        .count();
    assert_eq!(pages, 3, "500 per page: {:?}", api.requests());
}
