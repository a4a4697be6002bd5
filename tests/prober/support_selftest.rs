//! Self-tests of the loopback support code where a prober test would not notice a defect: the
//! DNS server's TCP side (the prober asks over UDP), and an address bound to refuse.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

use super::LOCALHOST;
use super::support::dns::{DnsServer, Zone};
use super::support::tls_server::{PortHolder, bind_same_port};

fn tcp_only_resolver(server: SocketAddr) -> TokioResolver {
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = server.port();
    let mut ns = NameServerConfig::udp_and_tcp(server.ip());
    ns.connections = vec![tcp];
    let config = ResolverConfig::from_name_servers(vec![ns]);
    TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .build()
        .expect("TCP-only resolver")
}

#[tokio::test]
async fn dns_server_answers_over_tcp_with_the_full_cname_chain() {
    let lb = Ipv4Addr::new(127, 0, 0, 7);
    let zone = Zone::new()
        .cname("www.example.test", "lb.elb.example.test")
        .a("lb.elb.example.test", &[lb]);
    let server = DnsServer::start(zone).await.unwrap();
    let lookup = tcp_only_resolver(server.addr())
        .lookup_ip("www.example.test.")
        .await
        .expect("answer over TCP");
    let ips: Vec<IpAddr> = lookup.iter().collect();
    assert_eq!(ips, vec![IpAddr::V4(lb)]);
}

#[tokio::test]
async fn address_bound_to_refuse_refuses_while_its_sibling_accepts() {
    let addrs = [
        (IpAddr::V4(LOCALHOST), true),
        (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), false),
    ];
    let (port, holders) = bind_same_port(&addrs).unwrap();
    assert!(matches!(holders[0], PortHolder::Listening(_)));
    assert!(matches!(holders[1], PortHolder::Refusing(_)));
    let ok = tokio::net::TcpStream::connect((LOCALHOST, port)).await;
    assert!(ok.is_ok(), "{ok:?}");
    let refused = tokio::net::TcpStream::connect((Ipv4Addr::new(127, 0, 0, 2), port)).await;
    assert_eq!(
        refused.map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
}
