//! One lookup of one certificate: `GetCertificate` (the body, for the fingerprint) and
//! `DescribeCertificate` (status, renewal, use) side by side, each bounded by the time budget
//! and counted in `edgewatch_acm_requests_total`. The conversion to [`AcmCertificate`] is pure.

use std::future::Future;
use std::time::Duration;

use aws_sdk_acm::Client;
use aws_sdk_acm::types::{CertificateDetail, DomainStatus, DomainValidation};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::AcmError;
use super::arn::CertArn;
use super::classify::classify;
use super::metrics::AcmMetrics;
use crate::probe::certinfo;
use crate::probe::{AcmCertificate, AcmDomainValidation};

/// Asks ACM about `arn`. Both calls run concurrently; neither takes longer than `timeout`.
pub(crate) async fn fetch(
    client: &Client,
    arn: &CertArn,
    timeout: Duration,
    metrics: &AcmMetrics,
) -> Result<AcmCertificate, AcmError> {
    let get = counted(metrics, "GetCertificate", timeout, async {
        match client
            .get_certificate()
            .certificate_arn(&arn.arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.certificate.unwrap_or_default())),
            // Not issued yet: no body, but DescribeCertificate says why.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_request_in_progress_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify(&e, &arn.arn)),
        }
    });
    let describe = counted(metrics, "DescribeCertificate", timeout, async {
        client
            .describe_certificate()
            .certificate_arn(&arn.arn)
            .send()
            .await
            .map(|out| out.certificate)
            .map_err(|e| classify(&e, &arn.arn))
    });
    let (get, describe) = tokio::join!(get, describe);
    let detail = describe?.unwrap_or_else(|| CertificateDetail::builder().build());
    let pem = get?;
    Ok(to_certificate(&detail, pem.as_deref()))
}

/// Runs one call under the time budget and counts it by result.
async fn counted<T>(
    metrics: &AcmMetrics,
    operation: &str,
    timeout: Duration,
    call: impl Future<Output = Result<T, AcmError>>,
) -> Result<T, AcmError> {
    let result = tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(AcmError::Timeout(timeout)));
    let label = match &result {
        Ok(_) => "ok",
        Err(e) => e.as_str(),
    };
    metrics.count(operation, label);
    result
}

/// What edgewatch keeps of ACM's answers. Enum values are read with `as_str()`: the service
/// sends values newer than the SDK's model, which would otherwise be lost as "unknown".
pub(crate) fn to_certificate(detail: &CertificateDetail, pem: Option<&str>) -> AcmCertificate {
    let renewal = detail.renewal_summary();
    let validations = match renewal {
        Some(r) => r.domain_validation_options(),
        None => detail.domain_validation_options(),
    };
    let mut cert = AcmCertificate {
        serial: detail.serial().map(str::to_string),
        subject: detail.subject().map(str::to_string),
        not_after: detail.not_after().map(|t| t.secs()),
        status: detail.status().map(|s| s.as_str().to_string()),
        cert_type: detail.r#type().map(|t| t.as_str().to_string()),
        renewal_status: renewal.map(|r| r.renewal_status().as_str().to_string()),
        renewal_reason: renewal
            .and_then(|r| r.renewal_status_reason())
            .or(detail.failure_reason())
            .map(|r| r.as_str().to_string()),
        in_use_by: detail.in_use_by().to_vec(),
        pending_validations: validations
            .iter()
            .filter(|v| v.validation_status() != Some(&DomainStatus::Success))
            .map(pending_validation)
            .collect(),
        sha256: None,
    };
    if let Some(der) = pem.and_then(|p| CertificateDer::from_pem_slice(p.as_bytes()).ok()) {
        cert.sha256 = Some(certinfo::sha256(der.as_ref()));
        match certinfo::parse(&der) {
            Ok(facts) => {
                cert.subject = Some(facts.subject);
                cert.serial = Some(facts.serial);
                cert.not_after = Some(facts.not_after);
            }
            Err(e) => tracing::warn!(error = %e, "ACM certificate body does not parse"),
        }
    }
    cert
}

fn pending_validation(v: &DomainValidation) -> AcmDomainValidation {
    AcmDomainValidation {
        domain: v.domain_name().to_string(),
        status: v.validation_status().map(|s| s.as_str().to_string()),
        record: v.resource_record().map(|r| {
            (
                r.name().to_string(),
                r.r#type().as_str().to_string(),
                r.value().to_string(),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_acm::primitives::DateTime;
    use aws_sdk_acm::types::{
        CertificateStatus, CertificateType, FailureReason, RecordType, RenewalStatus,
        RenewalSummary, ResourceRecord,
    };

    use super::*;

    fn validation(status: DomainStatus) -> DomainValidation {
        DomainValidation::builder()
            .domain_name("shop.example.com")
            .validation_status(status)
            .resource_record(
                ResourceRecord::builder()
                    .name("_a1.shop.example.com.")
                    .r#type(RecordType::Cname)
                    .value("_b2.acm-validations.aws.")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn renewal_summary_and_its_open_validations_are_kept() {
        let renewal = RenewalSummary::builder()
            .renewal_status(RenewalStatus::PendingValidation)
            .renewal_status_reason(FailureReason::NoAvailableContacts)
            .domain_validation_options(validation(DomainStatus::PendingValidation))
            .domain_validation_options(validation(DomainStatus::Success))
            .updated_at(DateTime::from_secs(0))
            .build()
            .unwrap();
        let detail = CertificateDetail::builder()
            .status(CertificateStatus::Issued)
            .r#type(CertificateType::AmazonIssued)
            .not_after(DateTime::from_secs(1_900_000_000))
            .serial("0a:0b")
            .renewal_summary(renewal)
            .in_use_by("arn:aws:elasticloadbalancing:us-east-2:1:loadbalancer/net/x/y")
            .build();
        let cert = to_certificate(&detail, None);
        assert_eq!(cert.status.as_deref(), Some("ISSUED"));
        assert_eq!(cert.cert_type.as_deref(), Some("AMAZON_ISSUED"));
        assert_eq!(cert.renewal_status.as_deref(), Some("PENDING_VALIDATION"));
        assert_eq!(
            cert.renewal_reason.as_deref(),
            Some("NO_AVAILABLE_CONTACTS")
        );
        assert_eq!(cert.not_after, Some(1_900_000_000));
        assert_eq!(cert.serial.as_deref(), Some("0a:0b"));
        assert_eq!(cert.in_use_by.len(), 1);
        assert_eq!(cert.sha256, None);
        assert_eq!(cert.pending_validations.len(), 1, "only the open one");
        let record = cert.pending_validations[0].record.clone().unwrap();
        assert_eq!(record.1, "CNAME");
    }

    #[test]
    fn values_the_sdk_model_does_not_know_are_kept_verbatim() {
        let detail = CertificateDetail::builder()
            .status(CertificateStatus::from("SOMETHING_NEW"))
            .failure_reason(FailureReason::from("BRAND_NEW_REASON"))
            .build();
        let cert = to_certificate(&detail, None);
        assert_eq!(cert.status.as_deref(), Some("SOMETHING_NEW"));
        assert_eq!(cert.renewal_reason.as_deref(), Some("BRAND_NEW_REASON"));
    }

    #[test]
    fn the_body_gives_fingerprint_and_hex_serial() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["a.example.com".to_string()]).unwrap();
        let issued = params.self_signed(&key).unwrap();
        let detail = CertificateDetail::builder().serial("12345").build();
        let cert = to_certificate(&detail, Some(&issued.pem()));
        assert_eq!(cert.sha256, Some(certinfo::sha256(issued.der())));
        let facts = certinfo::parse(issued.der()).unwrap();
        assert_eq!(cert.serial, Some(facts.serial));
        assert_eq!(cert.not_after, Some(facts.not_after));
    }

    #[test]
    fn a_garbage_body_leaves_no_fingerprint() {
        let detail = CertificateDetail::builder().build();
        assert_eq!(to_certificate(&detail, Some("not pem")).sha256, None);
    }
}
