//! One target's part of the JSON report (and of `/status.json`), serialized straight from the
//! outcome: no `serde_json::Value` tree is built per target and walked again to be written, which
//! was a third of the CPU a `--once --output json` pass spent beyond the probes. Keys come in
//! the order the document has always had them (the document's shape is a contract).

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{acm_json, body_preview, pieces};
use crate::checks::verdicts::Verdict;
use crate::export::tls_facts::ScanJson;
use crate::pipeline::outcome::Outcome;
use crate::probe::certinfo::{self, CertFacts};
use crate::probe::{EndpointObservation, HttpObservation, Observation};
use crate::timefmt::millis;

/// A target: what it is, whether it passed, its checks and the facts its probe observed.
pub struct TargetJson<'a>(pub &'a Outcome);

/// `{"kind": ..., "detail": ...}`: a failure's code and its text.
#[derive(Serialize)]
pub struct KindDetail {
    /// The failure's stable code.
    pub kind: &'static str,
    /// What happened, naming the culprit.
    pub detail: String,
}

/// A value written as its `Display` text, without a `String` made for it first.
struct Displayed<T>(T);

impl<T: std::fmt::Display> Serialize for Displayed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'a> TargetJson<'a> {
    /// The same JSON, with the parts many targets share written from their rendered
    /// [`pieces`]: for the streamed report's formatter only, which indents a piece where it
    /// lands (another serializer would write the piece as it was rendered).
    pub fn with_pieces(outcome: &'a Outcome) -> impl Serialize + 'a {
        Target {
            outcome,
            with_pieces: true,
        }
    }
}

impl Serialize for TargetJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Target {
            outcome: self.0,
            with_pieces: false,
        }
        .serialize(s)
    }
}

/// The columns the streamed report writes the shared parts at (the column of a piece's closing
/// line: a target's members start at 6): a check at 8, a TLS scan at 10, an endpoint's chain at
/// 12. Their pieces are rendered there, so the report copies them whole.
const CHECK_COLUMN: usize = 8;
const SCAN_COLUMN: usize = 10;
const CHAIN_COLUMN: usize = 12;

/// A target's JSON; `with_pieces`: shared parts from [`pieces`].
struct Target<'a> {
    outcome: &'a Outcome,
    with_pieces: bool,
}

impl Serialize for Target<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (o, t, with_pieces) = (self.outcome, &self.outcome.target, self.with_pieces);
        let mut m = s.serialize_map(Some(11))?;
        m.serialize_entry("name", &*t.name)?;
        m.serialize_entry("hostname", &t.hostname)?;
        m.serialize_entry("port", &t.port)?;
        m.serialize_entry("source", &Source(t))?;
        m.serialize_entry("lb_hostnames", &t.lb_hostnames)?;
        let expected = t.expected_certs.iter().map(Displayed);
        m.serialize_entry("expected_certs", &Seq(expected))?;
        m.serialize_entry("notes", &t.notes)?;
        m.serialize_entry("ok", &o.ok())?;
        let addresses = o.observation.iter().flat_map(|o| &o.dns.addresses);
        m.serialize_entry("addresses", &Seq(addresses.map(Displayed)))?;
        let checks = o.results.iter().map(|verdict| {
            let piece = with_pieces.then(|| verdict_piece(&verdict)).flatten();
            PieceOr(piece, verdict)
        });
        m.serialize_entry("checks", &Seq(checks))?;
        let facts = o.observation.as_ref().map(|obs| Facts(obs, with_pieces));
        m.serialize_entry("facts", &facts)?;
        m.end()
    }
}

/// A part's piece when there is one, else the part serialized.
struct PieceOr<T>(Option<pieces::Piece>, T);

impl<T: Serialize> Serialize for PieceOr<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(piece) => piece.serialize(s),
            None => self.1.serialize(s),
        }
    }
}

/// A verdict's piece, when its reason is a fixed sentence.
fn verdict_piece(verdict: &Verdict<'_>) -> Option<pieces::Piece> {
    let key = verdict.fixed_key()?;
    pieces::VERDICTS.get_or_render(key, || pieces::render(verdict, CHECK_COLUMN))
}

/// The items of an iterator as a JSON array (cloned: serializing takes `&self`).
struct Seq<I>(I);

impl<I> Serialize for Seq<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

struct Source<'a>(&'a crate::discovery::target::Target);

impl Serialize for Source<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let source = &self.0.source;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("kind", source.kind())?;
        m.serialize_entry("namespace", &source.namespace())?;
        m.serialize_entry("service", &source.service())?;
        m.end()
    }
}

/// An observation's facts; `.1`: shared parts from [`pieces`].
struct Facts<'a>(&'a Observation, bool);

impl Serialize for Facts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (obs, with_pieces) = (self.0, self.1);
        let mut m = s.serialize_map(Some(10))?;
        let started = humantime::format_rfc3339_millis(obs.started_at);
        m.serialize_entry("started_at", &Displayed(started))?;
        m.serialize_entry("duration_ms", &millis(obs.duration))?;
        m.serialize_entry("deadline_exceeded", &obs.deadline_exceeded)?;
        m.serialize_entry("dns", &obs.dns)?;
        m.serialize_entry("lb_dns", &obs.lb_dns)?;
        let endpoints = obs.endpoints.iter().map(|e| Endpoint(e, with_pieces));
        m.serialize_entry("endpoints", &Seq(endpoints))?;
        // ACM, AWS and egress facts are few (not one per address) and rare: as `Value`s.
        m.serialize_entry("acm", &Seq(obs.acm.iter().map(acm_json)))?;
        let aws = obs.aws.as_deref().map(crate::export::aws_facts::to_json);
        m.serialize_entry("aws", &aws)?;
        let egress = obs.egress_ip.as_ref().map(|r| match r {
            Ok(ip) => serde_json::Value::String(ip.to_string()),
            Err(e) => serde_json::json!({"error": e.to_string(), "code": e.as_str()}),
        });
        m.serialize_entry("egress_ip", &egress)?;
        let scans = obs.tls_scans.iter().map(|scan| {
            let piece = with_pieces
                .then(|| {
                    pieces::SCANS
                        .get_or_render(scan, || pieces::render(&ScanJson(scan), SCAN_COLUMN))
                })
                .flatten();
            PieceOr(piece, ScanJson(scan))
        });
        m.serialize_entry("tls_scans", &Seq(scans))?;
        m.end()
    }
}

/// An endpoint's facts; `.1`: its chain from the chain's piece.
struct Endpoint<'a>(&'a EndpointObservation, bool);

impl Serialize for Endpoint<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (e, with_pieces) = (self.0, self.1);
        let (connect_ms, connect_error) = match &e.connect {
            Ok(d) => (Some(millis(*d)), None),
            Err(f) => (
                None,
                Some(KindDetail {
                    kind: f.as_str(),
                    detail: f.to_string(),
                }),
            ),
        };
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("address", &Displayed(e.address.ip()))?;
        m.serialize_entry("port", &e.address.port())?;
        m.serialize_entry("connect_ms", &connect_ms)?;
        m.serialize_entry("connect_error", &connect_error)?;
        m.serialize_entry("tls", &e.tls)?;
        // The chain's JSON depends on its certificates only (the leaf and issuers are parsed
        // from them), so every endpoint served the same shared chain writes the same piece.
        let piece = match &e.tls {
            Some(tls) if with_pieces && !tls.chain.is_empty() => {
                pieces::CHAINS.get_or_render(&tls.chain, || pieces::render(&Chain(e), CHAIN_COLUMN))
            }
            _ => None,
        };
        m.serialize_entry("chain", &PieceOr(piece, Chain(e)))?;
        m.serialize_entry("http", &e.http.as_ref().map(Http))?;
        m.end()
    }
}

/// The served chain's certificates, leaf first; `[]` without a handshake.
struct Chain<'a>(&'a EndpointObservation);

impl Serialize for Chain<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(tls) = &self.0.tls else {
            return s.collect_seq(std::iter::empty::<()>());
        };
        // The leaf was parsed by the probe; the rest once per shared chain, when first shown.
        let leaf = tls.chain.first().map(|der| match &tls.leaf {
            Some(leaf) => Cert(Cow::Borrowed(&**leaf)),
            None => Cert(Cow::Owned(certinfo::parse(der))),
        });
        let issuers = tls.issuer_facts();
        s.collect_seq(
            leaf.into_iter()
                .chain(issuers.iter().map(|f| Cert(Cow::Borrowed(f)))),
        )
    }
}

/// One certificate's facts, or `{"error": ...}` when it is not one.
struct Cert<'a>(Cow<'a, Result<CertFacts, String>>);

impl Serialize for Cert<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &*self.0 {
            Ok(facts) => facts.serialize(s),
            Err(error) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("error", error)?;
                m.end()
            }
        }
    }
}

struct Http<'a>(&'a HttpObservation);

impl Serialize for Http<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.0;
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("path", &h.path)?;
        m.serialize_entry("status", &h.status)?;
        m.serialize_entry("headers", &h.headers)?;
        m.serialize_entry("body_bytes", &h.body_bytes)?;
        m.serialize_entry("body_preview", &body_preview(&h.body))?;
        m.serialize_entry("body_truncated", &h.body_truncated)?;
        m.serialize_entry("failure", &h.failure)?;
        m.serialize_entry("duration_ms", &millis(h.duration))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use rustls::pki_types::CertificateDer;

    use super::*;
    use crate::checks::{CheckName, CheckResult};
    use crate::discovery::target::{Target, TargetSource};
    use crate::probe::dns::DnsObservation;
    use crate::probe::{ConnectFailure, TlsObservation};

    fn keys(v: &serde_json::Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    /// The document's shape is what scripts read: keys in their order, nulls where nothing
    /// was observed, a certificate that does not parse as `{"error": ...}`.
    #[test]
    fn a_target_is_written_with_its_keys_in_the_documents_order() {
        let target = Arc::new(Target::new(
            "app.example.test".to_string(),
            443,
            TargetSource::Flag,
        ));
        let addr: SocketAddr = "192.0.2.10:443".parse().unwrap();
        let mut obs = Observation::from_dns(
            SystemTime::UNIX_EPOCH,
            DnsObservation::answered("app.example.test", vec![addr.ip()]),
        );
        let mut tls = TlsObservation {
            version: Some("TLSv1.3".into()),
            duration: Duration::from_micros(1500),
            ..TlsObservation::before_handshake()
        };
        tls.record_chain(vec![CertificateDer::from(b"not a certificate".to_vec())]);
        obs.endpoints.push(EndpointObservation {
            address: addr,
            connect: Ok(Duration::from_millis(2)),
            tls: Some(tls),
            http: None,
        });
        obs.endpoints.push(EndpointObservation {
            address: "192.0.2.11:443".parse().unwrap(),
            connect: Err(ConnectFailure::Refused),
            tls: None,
            http: None,
        });
        let outcome = Outcome {
            target,
            observation: Some(obs),
            results: vec![CheckResult::pass(CheckName::Dns, "resolves")].into(),
        };
        let v = serde_json::to_value(TargetJson(&outcome)).unwrap();
        assert_eq!(
            keys(&v),
            [
                "name",
                "hostname",
                "port",
                "source",
                "lb_hostnames",
                "expected_certs",
                "notes",
                "ok",
                "addresses",
                "checks",
                "facts"
            ]
        );
        assert_eq!(v["addresses"], serde_json::json!(["192.0.2.10"]));
        assert_eq!(
            v["source"],
            serde_json::json!({"kind": "flag", "namespace": "", "service": ""})
        );
        let facts = &v["facts"];
        assert_eq!(
            keys(facts),
            [
                "started_at",
                "duration_ms",
                "deadline_exceeded",
                "dns",
                "lb_dns",
                "endpoints",
                "acm",
                "aws",
                "egress_ip",
                "tls_scans"
            ]
        );
        assert_eq!(facts["started_at"], "1970-01-01T00:00:00.000Z");
        assert!(facts["aws"].is_null() && facts["egress_ip"].is_null());
        let [up, refused] = [&facts["endpoints"][0], &facts["endpoints"][1]];
        assert_eq!(
            keys(up),
            [
                "address",
                "port",
                "connect_ms",
                "connect_error",
                "tls",
                "chain",
                "http"
            ]
        );
        assert_eq!(up["connect_ms"], 2.0);
        assert_eq!(up["tls"]["duration_ms"], 1.5);
        assert!(up["chain"][0]["error"].is_string(), "{up}");
        assert_eq!(refused["chain"], serde_json::json!([]));
        assert!(refused["connect_ms"].is_null());
        assert_eq!(
            refused["connect_error"]["kind"],
            ConnectFailure::Refused.as_str()
        );
    }
}
