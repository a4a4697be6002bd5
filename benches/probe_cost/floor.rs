//! The floor: the least a probe can cost here. A bare tokio-rustls client — fresh TCP
//! connection, full handshake (no resumption), full chain and name verification with webpki
//! against the bench root, one `GET /` read to the end — and nothing else: no DNS, no metrics,
//! no judging beyond "status 200".

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::load;
use crate::procfs::Round;

/// Measures `count` floor probes of `addr` with SNI `sni`, `concurrency` at a time.
pub async fn run(
    addr: SocketAddr,
    sni: &str,
    root: &Path,
    concurrency: usize,
    warmup: u64,
    count: u64,
) -> Round {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(root).expect("root PEM") {
        roots
            .add(cert.expect("root PEM"))
            .expect("root certificate");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = Resumption::disabled();
    let connector = TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(sni.to_string()).expect("server name");
    let request: Arc<[u8]> = format!("GET / HTTP/1.1\r\nhost: {sni}\r\nconnection: close\r\n\r\n")
        .into_bytes()
        .into();
    load::measure(concurrency, warmup, count, move || {
        let (connector, name, request) = (connector.clone(), name.clone(), request.clone());
        async move {
            probe(&connector, addr, name, &request)
                .await
                .unwrap_or(false)
        }
    })
    .await
}

async fn probe(
    connector: &TlsConnector,
    addr: SocketAddr,
    name: ServerName<'static>,
    request: &[u8],
) -> std::io::Result<bool> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(request).await?;
    let mut response = Vec::with_capacity(512);
    tls.read_to_end(&mut response).await?;
    Ok(response.starts_with(b"HTTP/1.1 200 "))
}
