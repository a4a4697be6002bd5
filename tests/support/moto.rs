//! moto's server (PyPI `moto[server]`) as a local ACM on loopback, and SDK helpers to seed it.
//!
//! The server runs under `sh`, which kills it when its stdin closes: on `stop()`/drop, and also
//! when the test process exits without dropping (the shared instance lives in a static).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_acm::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_acm::primitives::Blob;
use aws_sdk_acm::types::ValidationMethod;
use edgewatch::probe::acm::AcmClientOptions;

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

/// The instance shared by the tests that do not stop it.
pub fn shared() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

fn moto_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|p| p.is_file())
}

impl Moto {
    /// Starts `moto_server` on a free loopback port and waits until it accepts connections.
    /// Panics (fails the test) when moto is not installed.
    pub fn start() -> Moto {
        let Some(binary) = moto_on_path() else {
            panic!(
                "moto_server is not on PATH: the ACM tests need moto's server as a local ACM. \
                 Install it with: pip install 'moto[server]'"
            );
        };
        let port = super::free_port();
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("moto-{port}.log"));
        let script = format!(
            "\"$0\" -H 127.0.0.1 -p {port} >\"$1\" 2>&1 & m=$!; read _; kill $m; wait $m; rm -f \"$1\""
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .arg(&binary)
            .arg(&log)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn sh for moto_server");
        let stdin = child.stdin.take();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("moto_server exited ({status}); its log: {}", log.display());
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!(
                    "moto_server did not listen on {addr} within 60 s; its log: {}",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            endpoint: format!("http://{addr}"),
            child,
            stdin,
        }
    }

    /// Stops the server and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.child.wait();
    }

    /// Client options that reach this server with moto's test credentials.
    pub fn client_options(&self) -> AcmClientOptions {
        client_options(&self.endpoint)
    }

    /// An SDK client for seeding this server in `region`.
    pub fn sdk(&self, region: &str) -> aws_sdk_acm::Client {
        let config = aws_sdk_acm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(test_credentials())
            .build();
        aws_sdk_acm::Client::from_conf(config)
    }

    /// Imports a certificate and its key with ImportCertificate; returns the new ARN.
    pub async fn import(&self, region: &str, cert_pem: &str, key_pem: &str) -> String {
        self.sdk(region)
            .import_certificate()
            .certificate(Blob::new(cert_pem.as_bytes()))
            .private_key(Blob::new(key_pem.as_bytes()))
            .send()
            .await
            .expect("moto imports the certificate")
            .certificate_arn
            .expect("ImportCertificate returns an ARN")
    }

    /// Requests an Amazon-issued certificate (moto leaves it PENDING_VALIDATION).
    pub async fn request(&self, region: &str, domain: &str) -> String {
        self.sdk(region)
            .request_certificate()
            .domain_name(domain)
            .validation_method(ValidationMethod::Dns)
            .send()
            .await
            .expect("moto accepts RequestCertificate")
            .certificate_arn
            .expect("RequestCertificate returns an ARN")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// moto's conventional fake credentials.
pub fn test_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        "testing",
        "testing",
        None,
        None,
        "edgewatch-tests",
    ))
}

/// Client options for `endpoint` with the test credentials.
pub fn client_options(endpoint: &str) -> AcmClientOptions {
    AcmClientOptions {
        endpoint_url: Some(endpoint.to_string()),
        credentials: Some(test_credentials()),
    }
}
