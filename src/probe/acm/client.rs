//! SDK clients, one per region, built on first use and shared. Configuration is the SDK's own
//! (credential chain, `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_ACM`, profile, retries); the only
//! overrides are the endpoint and the credentials, which is how tests reach a local ACM.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_acm::Client;
use aws_sdk_acm::config::{Region, SharedCredentialsProvider};
use tokio::sync::OnceCell;

/// Overrides of the SDK's standard settings. Empty in production: everything comes from the
/// environment the way every AWS tool reads it.
#[derive(Clone, Debug, Default)]
pub struct AcmClientOptions {
    /// Use this endpoint for every region instead of the standard resolution.
    pub endpoint_url: Option<String>,
    /// Use these credentials instead of the SDK's default chain.
    pub credentials: Option<SharedCredentialsProvider>,
}

/// The per-region clients.
pub(crate) struct AcmClients {
    options: AcmClientOptions,
    base: OnceCell<SdkConfig>,
    clients: Mutex<HashMap<String, Client>>,
}

impl AcmClients {
    /// No client is built (and no configuration read) until the first lookup.
    pub(crate) fn new(options: AcmClientOptions) -> Self {
        AcmClients {
            options,
            base: OnceCell::new(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `region`, building it on first use.
    pub(crate) async fn get(&self, region: &str) -> Client {
        let base = self.base.get_or_init(|| self.load_base()).await;
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let mut config = aws_sdk_acm::config::Builder::from(base)
                    .region(Region::new(region.to_string()));
                if let Some(url) = &self.options.endpoint_url {
                    config = config.endpoint_url(url);
                }
                Client::from_conf(config.build())
            })
            .clone()
    }

    /// The shared SDK configuration. The region is set here only so that loading does not
    /// search for one (which could ask instance metadata); each client sets the ARN's region.
    async fn load_base(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::from_static("us-east-1"));
        if let Some(credentials) = &self.options.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        loader.load().await
    }
}
