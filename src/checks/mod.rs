//! Judging: pure functions that turn an [`Observation`] plus a [`Target`]'s expectations into
//! named [`CheckResult`]s. No I/O, no clock reads: the time comes in through [`JudgeContext`].

pub mod acm;
pub mod aws;
pub mod backend;
pub mod cert;
pub mod chain;
pub mod chain_memo;
pub mod client_ip;
pub mod dns;
pub mod elb_policies;
pub mod reasons;
pub mod tls;
pub mod tls_policy;
pub mod verdicts;

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use rustls::pki_types::UnixTime;
use serde::Serialize;

use crate::discovery::target::{Target, TargetSource};
use crate::probe::Observation;

/// The checks edgewatch makes. The string names are a public interface (JSON, metrics, alerts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// The target's definition itself is sound (e.g. its annotations parse).
    Config,
    /// The load balancer is provisioned (Kubernetes: `status.loadBalancer.ingress` is set).
    LbProvisioned,
    /// Exactly one NLB exists for the target, with the annotated scheme and the status' DNS name.
    LoadBalancer,
    /// Every TLS port has a TLS listener with the annotated certificates and policy.
    LbListener,
    /// The target groups have the annotated attributes and target type, and a healthy target.
    LbTargetGroup,
    /// The friendly name resolves to at least one address.
    Dns,
    /// The friendly name leads to the expected load balancer.
    DnsAlias,
    /// The Route 53 record of the friendly name points at the load balancer.
    DnsRecord,
    /// TCP connect and TLS handshake succeed at an acceptable protocol version.
    TlsHandshake,
    /// What the listener accepts (TLS scan) meets the floor and its named ELB security policy.
    TlsPolicy,
    /// The served chain verifies against the trusted roots.
    ChainTrusted,
    /// The friendly name is on the leaf certificate.
    Hostname,
    /// The leaf has enough days left.
    CertExpiry,
    /// The leaf is the expected certificate.
    CertExpected,
    /// Every address serves the same leaf.
    CertConsistent,
    /// ACM reports the expected certificate issued and its renewal healthy.
    AcmStatus,
    /// The backend answers through the TLS listener with an accepted status.
    Backend,
    /// The backend saw the prober's own IP as the client.
    ClientIp,
    /// The backend that answered is the expected one.
    BackendIdentity,
}

impl CheckName {
    /// Every check, in report order.
    pub const ALL: [CheckName; 19] = [
        CheckName::Config,
        CheckName::LbProvisioned,
        CheckName::LoadBalancer,
        CheckName::LbListener,
        CheckName::LbTargetGroup,
        CheckName::Dns,
        CheckName::DnsAlias,
        CheckName::DnsRecord,
        CheckName::TlsHandshake,
        CheckName::TlsPolicy,
        CheckName::ChainTrusted,
        CheckName::Hostname,
        CheckName::CertExpiry,
        CheckName::CertExpected,
        CheckName::CertConsistent,
        CheckName::AcmStatus,
        CheckName::Backend,
        CheckName::ClientIp,
        CheckName::BackendIdentity,
    ];

    /// The stable name used in JSON, metric labels and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Config => "config",
            CheckName::LbProvisioned => "lb_provisioned",
            CheckName::Dns => "dns",
            CheckName::DnsAlias => "dns_alias",
            CheckName::DnsRecord => "dns_record",
            CheckName::LoadBalancer => "load_balancer",
            CheckName::LbListener => "lb_listener",
            CheckName::LbTargetGroup => "lb_target_group",
            CheckName::TlsHandshake => "tls_handshake",
            CheckName::TlsPolicy => "tls_policy",
            CheckName::ChainTrusted => "chain_trusted",
            CheckName::Hostname => "hostname",
            CheckName::CertExpiry => "cert_expiry",
            CheckName::CertExpected => "cert_expected",
            CheckName::CertConsistent => "cert_consistent",
            CheckName::AcmStatus => "acm_status",
            CheckName::Backend => "backend",
            CheckName::ClientIp => "client_ip",
            CheckName::BackendIdentity => "backend_identity",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The expectation holds.
    Pass,
    /// The expectation does not hold.
    Fail,
    /// The check could not or need not be made (no expectation, an earlier phase failed).
    Skip,
}

impl Status {
    /// `pass`, `fail` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One named verdict, for the whole target or for one of its addresses.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Which check.
    pub check: CheckName,
    /// Pass, fail or skip.
    pub status: Status,
    /// The stable short reason code (see [`CheckResult::reason_code`]), in one byte: its place in
    /// the check's list ([`reasons`]). The status store keeps every target's verdicts (18 a
    /// target, 100,000 targets): a `&'static str` here made each verdict 64 bytes, this 48.
    code: reasons::Code,
    /// Human-readable reason, naming the culprit. Borrowed when it is a fixed sentence (most
    /// passes and skips are), so a verdict allocates only when its text says something of
    /// this probe: a target's dozen-odd fixed reasons cost nothing per probe, nor in the
    /// status store that keeps every target's last verdicts.
    pub reason: Cow<'static, str>,
    /// The address this verdict is about; `None` for target-level checks.
    pub address: Option<IpAddr>,
}

// The status store holds 18 of these per target: keep a verdict at 48 bytes (64 cost 38 MB more
// at 100,000 targets, the verdict lists then falling in the allocator's next size class).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<CheckResult>() <= 48);

impl fmt::Debug for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckResult")
            .field("check", &self.check)
            .field("status", &self.status)
            .field("reason_code", &self.reason_code())
            .field("reason", &self.reason)
            .field("address", &self.address)
            .finish()
    }
}

impl Serialize for CheckResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("check", &self.check)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("reason_code", self.reason_code())?;
        m.serialize_entry("reason", &self.reason)?;
        if let Some(address) = &self.address {
            m.serialize_entry("address", address)?;
        }
        m.end()
    }
}

impl CheckResult {
    /// Stable short reason code (bounded set per check; a metric label value).
    pub fn reason_code(&self) -> &'static str {
        reasons::decode(self.check, self.status, self.code)
    }

    /// A passing result.
    pub fn pass(check: CheckName, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(check, Status::Pass, "ok", reason)
    }

    /// A failing result with its reason code.
    pub fn fail(
        check: CheckName,
        code: &'static str,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(check, Status::Fail, code, reason)
    }

    /// A skipped result with its reason code.
    pub fn skip(
        check: CheckName,
        code: &'static str,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(check, Status::Skip, code, reason)
    }

    fn new(
        check: CheckName,
        status: Status,
        code: &'static str,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        // Every judge's unit tests then prove the codes they give are listed (and so in the
        // README, which is tested against the list).
        #[cfg(test)]
        assert!(
            reasons::is_listed(check, status, code),
            "{check} {} with the unlisted reason code `{code}`: add it to checks::reasons",
            status.as_str()
        );
        CheckResult {
            check,
            status,
            code: reasons::encode(check, status, code),
            reason: reason.into(),
            address: None,
        }
    }

    /// The same result, about one address.
    pub fn at(mut self, address: IpAddr) -> Self {
        self.address = Some(address);
        self
    }
}

/// What the judges need besides the observation: the time and the trust settings.
#[derive(Clone)]
pub struct JudgeContext {
    /// "Now", injected so expiry is testable at any date.
    pub now: UnixTime,
    /// The chain verifier (webpki roots plus any extra CA bundle).
    pub verifier: Arc<chain::ChainVerifier>,
    /// `cert.min_days_left`: fewer days left fails `cert_expiry`.
    pub min_days_left: u32,
    /// `tls.min_version`: a lower negotiated version fails `tls_handshake`.
    pub min_tls_version: tls::TlsVersion,
    /// `acm.required`: ACM that cannot be asked fails the ACM checks instead of skipping them.
    pub acm_required: bool,
    /// `tls.min_accepted_version`, `tls.forbid_weak_ciphers`: what `tls_policy` holds every
    /// listener to.
    pub tls_floor: tls_policy::TlsFloor,
}

impl JudgeContext {
    /// `cert.min_days_left` when the config does not set it.
    pub const DEFAULT_MIN_DAYS_LEFT: u32 = 14;
    /// `tls.min_version` when the config does not set it.
    pub const DEFAULT_MIN_TLS_VERSION: tls::TlsVersion = tls::TlsVersion::Tls12;

    /// A context at `now` trusting `verifier`, with the default thresholds.
    pub fn with_defaults(now: UnixTime, verifier: Arc<chain::ChainVerifier>) -> Self {
        JudgeContext {
            now,
            verifier,
            min_days_left: Self::DEFAULT_MIN_DAYS_LEFT,
            min_tls_version: Self::DEFAULT_MIN_TLS_VERSION,
            acm_required: false,
            tls_floor: tls_policy::TlsFloor::default(),
        }
    }
}

/// Judges one probe: every check, in report order.
pub fn judge(target: &Target, obs: &Observation, ctx: &JudgeContext) -> Vec<CheckResult> {
    let mut results = Vec::new();
    results.push(config_check(target));
    if matches!(target.source, TargetSource::Kubernetes { .. }) {
        results.push(CheckResult::pass(
            CheckName::LbProvisioned,
            "load balancer is provisioned",
        ));
    }
    results.extend(dns::judge(target, obs));
    for endpoint in &obs.endpoints {
        results.extend(
            tls::judge_endpoint(endpoint, ctx)
                .map(|r| tls_policy::explain_handshake(r, endpoint, obs)),
        );
        results.push(tls_policy::judge_endpoint(
            target,
            endpoint,
            obs,
            &ctx.tls_floor,
        ));
        results.extend(cert::judge_endpoint(target, endpoint, obs, ctx));
        results.extend(backend::judge_endpoint(target, endpoint));
    }
    results.push(cert::judge_consistency(obs));
    results.extend(extra_judges(target, obs, ctx));
    results.sort_by_key(|r| (r.check, r.address));
    results
}

/// Judges for a target that could not be probed (no load balancer yet): only what is known.
pub fn judge_unprobed(target: &Target, why: &str) -> Vec<CheckResult> {
    vec![
        config_check(target),
        CheckResult::fail(CheckName::LbProvisioned, "not_provisioned", why.to_owned()),
    ]
}

fn config_check(target: &Target) -> CheckResult {
    if target.config_problems.is_empty() && target.notes.is_empty() {
        CheckResult::pass(CheckName::Config, "target definition is valid")
    } else if target.config_problems.is_empty() {
        CheckResult::pass(CheckName::Config, target.notes.join("; "))
    } else {
        CheckResult::fail(
            CheckName::Config,
            "invalid",
            target.config_problems.join("; "),
        )
    }
}

/// The checks that read more than the data-plane probe: ACM's view, and what the backend saw.
fn extra_judges(target: &Target, obs: &Observation, ctx: &JudgeContext) -> Vec<CheckResult> {
    let mut results = vec![acm::judge(target, obs, ctx)];
    results.extend(aws::judge(target, obs));
    results.extend(client_ip::judge(target, obs));
    results.extend(client_ip::judge_identity(target, obs));
    results
}
