//! The Route 53 calls: the hosted zones the account can read (`ListHostedZonesByName`, paged),
//! and the A/AAAA/CNAME records of one name (`ListResourceRecordSets` from that name). Choosing
//! the zone that holds a name is pure ([`zone_for`]).

use aws_sdk_route53::Client;

use super::classify::classify;
use super::counter::{Counted, FailedCall};
use super::model::{DnsRecordFacts, Outside, normalise_lb_name};

/// Zones read at most (100 a page): a bound on a runaway pagination.
const MAX_PAGES: usize = 100;
/// Records read from the name on: enough for A, AAAA, CNAME and a few weighted twins.
const RECORDS_PER_NAME: i32 = 20;

/// One hosted zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The id without `/hostedzone/`.
    pub id: String,
    /// The name, lowercase, without the trailing dot.
    pub name: String,
    /// Whether it is a private zone.
    pub private: bool,
}

/// Every hosted zone the account can read.
pub(crate) async fn zones(client: &Client, call: &Counted<'_>) -> Result<Vec<Zone>, FailedCall> {
    let mut zones = Vec::new();
    let mut next: Option<(String, Option<String>)> = None;
    for _ in 0..MAX_PAGES {
        let (name, id) = match &next {
            Some((name, id)) => (Some(name.clone()), id.clone()),
            None => (None, None),
        };
        let page = call
            .run("ListHostedZonesByName", async {
                client
                    .list_hosted_zones_by_name()
                    .set_dns_name(name)
                    .set_hosted_zone_id(id)
                    .max_items(100)
                    .send()
                    .await
                    .map_err(|e| classify(&e))
            })
            .await?;
        for z in page.hosted_zones() {
            zones.push(Zone {
                id: z.id().trim_start_matches("/hostedzone/").outside(),
                name: z
                    .name()
                    .trim_end_matches('.')
                    .to_ascii_lowercase()
                    .outside(),
                private: z.config().is_some_and(|c| c.private_zone()),
            });
        }
        next = match (page.is_truncated(), page.next_dns_name()) {
            (true, Some(n)) => Some((
                n.to_string(),
                page.next_hosted_zone_id().map(str::to_string),
            )),
            _ => None,
        };
        if next.is_none() {
            break;
        }
    }
    Ok(zones)
}

/// The zone that holds `name`: the longest zone name that is `name` or a parent of it; a public
/// zone wins over a private one of the same name (edgewatch probes from where clients are).
pub fn zone_for<'a>(zones: &'a [Zone], name: &str) -> Option<&'a Zone> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    zones
        .iter()
        .filter(|z| name == z.name || name.ends_with(&format!(".{}", z.name)))
        .max_by_key(|z| (z.name.len(), !z.private))
}

/// The A, AAAA and CNAME records of `name` in zone `zone_id`.
pub(crate) async fn records(
    client: &Client,
    zone_id: &str,
    name: &str,
    call: &Counted<'_>,
) -> Result<Vec<DnsRecordFacts>, FailedCall> {
    let out = call
        .run("ListResourceRecordSets", async {
            client
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .start_record_name(name)
                .max_items(RECORDS_PER_NAME)
                .send()
                .await
                .map_err(|e| classify(&e))
        })
        .await?;
    let wanted = name.trim_end_matches('.').to_ascii_lowercase();
    let mut found = Vec::new();
    for set in out.resource_record_sets() {
        let set_name = set.name().trim_end_matches('.').to_ascii_lowercase();
        let record_type = set.r#type().as_str();
        if set_name != wanted || !matches!(record_type, "A" | "AAAA" | "CNAME") {
            continue;
        }
        let target = match set.alias_target() {
            Some(alias) => normalise_lb_name(alias.dns_name()),
            None => {
                let values: Vec<String> = set
                    .resource_records()
                    .iter()
                    .map(|r| normalise_lb_name(r.value()))
                    .collect();
                values.join(",")
            }
        };
        found.push(DnsRecordFacts {
            record_type: record_type.to_string(),
            alias: set.alias_target().is_some(),
            target,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, private: bool) -> Zone {
        Zone {
            id: format!("Z-{name}-{private}"),
            name: name.to_string(),
            private,
        }
    }

    #[test]
    fn the_deepest_public_zone_holds_the_name() {
        let zones = [
            zone("example.com", false),
            zone("shop.example.com", true),
            zone("shop.example.com", false),
            zone("ample.com", false),
        ];
        let z = zone_for(&zones, "api.shop.example.com.").unwrap();
        assert_eq!((z.name.as_str(), z.private), ("shop.example.com", false));
        assert_eq!(zone_for(&zones, "example.com").unwrap().name, "example.com");
        assert!(zone_for(&zones, "example.org").is_none());
        assert!(zone_for(&[zone("ample.com", false)], "example.com").is_none());
    }
}
