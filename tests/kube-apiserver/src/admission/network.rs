//! NetworkPolicy validation of `ipBlock` (`ValidateIPBlock`): `cidr` is required and must be a
//! CIDR in canonical form, each `except` a CIDR strictly inside `cidr`. Messages and field
//! paths are the apiserver's (checked against Kubernetes 1.36), e.g.
//! `spec.ingress[0].from[1].ipBlock.cidr: Invalid value: "10.20.0.0/33": must be a valid CIDR
//! value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`. The rest of NetworkPolicy validation (ports,
//! selectors, policy types) is not modelled.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use crate::validation::FieldCause;

const NOT_A_CIDR: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/// A CIDR as Go's lenient `ParseCIDRSloppy` reads it, and whether it is in canonical form.
struct Cidr {
    ip: IpAddr,
    prefix: u8,
    leading_zeros: bool,
}

impl Cidr {
    fn parse(text: &str) -> Option<Cidr> {
        let (ip, prefix) = text.split_once('/')?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut leading_zeros = prefix.len() > 1 && prefix.starts_with('0');
        let prefix: u8 = prefix.parse().ok()?;
        let ip = if ip.contains(':') {
            IpAddr::V6(ip.parse::<Ipv6Addr>().ok()?)
        } else {
            let octets: Vec<&str> = ip.split('.').collect();
            if octets.len() != 4 {
                return None;
            }
            let mut bytes = [0u8; 4];
            for (b, o) in bytes.iter_mut().zip(&octets) {
                if o.is_empty() || o.len() > 3 || !o.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                leading_zeros |= o.len() > 1 && o.starts_with('0');
                *b = o.parse().ok()?;
            }
            IpAddr::V4(Ipv4Addr::from(bytes))
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr {
            ip,
            prefix,
            leading_zeros,
        })
    }

    fn bits(&self) -> (u128, u32) {
        match self.ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        }
    }

    /// The network's mask over the (left-aligned) address bits.
    fn mask(&self) -> u128 {
        if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix))
        }
    }

    fn host_bits_set(&self) -> bool {
        let (bits, _) = self.bits();
        bits & !self.mask() != 0
    }

    /// Whether `other` is a strictly smaller network inside this one.
    fn strictly_contains(&self, other: &Cidr) -> bool {
        let ((mine, width), (theirs, other_width)) = (self.bits(), other.bits());
        width == other_width
            && (mine & self.mask()) == (theirs & self.mask())
            && self.prefix < other.prefix
    }
}

/// `IsValidCIDR`: the value parses, without leading zeros or bits beyond the prefix.
fn check_cidr(field: &str, text: &str, causes: &mut Vec<FieldCause>) -> Option<Cidr> {
    let value = Value::from(text);
    let Some(cidr) = Cidr::parse(text) else {
        causes.push(FieldCause::invalid(field, &value, NOT_A_CIDR));
        return None;
    };
    if cidr.leading_zeros {
        causes.push(FieldCause::invalid(
            field,
            &value,
            "must not have leading 0s in IP or prefix length",
        ));
    } else if cidr.host_bits_set() {
        causes.push(FieldCause::invalid(
            field,
            &value,
            "must not have bits set beyond the prefix length",
        ));
    }
    Some(cidr)
}

fn check_ip_block(field: &str, block: &Value, causes: &mut Vec<FieldCause>) {
    let cidr_field = format!("{field}.cidr");
    let text = block.get("cidr").and_then(Value::as_str).unwrap_or("");
    if text.is_empty() {
        causes.push(FieldCause::required(&cidr_field, ""));
        return;
    }
    let Some(cidr) = check_cidr(&cidr_field, text, causes) else {
        return;
    };
    let excepts = block.get("except").and_then(Value::as_array);
    for (i, except) in excepts.into_iter().flatten().enumerate() {
        let except_field = format!("{field}.except[{i}]");
        let text = except.as_str().unwrap_or("");
        let Some(inner) = check_cidr(&except_field, text, causes) else {
            continue;
        };
        if !cidr.strictly_contains(&inner) {
            causes.push(FieldCause::invalid(
                &except_field,
                &Value::from(text),
                "must be a strict subset of `cidr`",
            ));
        }
    }
}

/// Validates every `ipBlock` of `spec.ingress[].from[]` and `spec.egress[].to[]`.
pub(super) fn network_policy_rules(object: &Value, causes: &mut Vec<FieldCause>) {
    for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
        let rules = object
            .pointer(&format!("/spec/{direction}"))
            .and_then(Value::as_array);
        for (r, rule) in rules.into_iter().flatten().enumerate() {
            let list = rule.get(peers).and_then(Value::as_array);
            for (p, peer) in list.into_iter().flatten().enumerate() {
                if let Some(block) = peer.get("ipBlock").filter(|b| b.is_object()) {
                    let field = format!("spec.{direction}[{r}].{peers}[{p}].ipBlock");
                    check_ip_block(&field, block, causes);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(spec: Value) -> Vec<String> {
        let mut causes = Vec::new();
        network_policy_rules(&json!({ "spec": spec }), &mut causes);
        causes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn cidrs_are_checked_as_kubernetes_1_36_checks_them() {
        let got = messages(json!({
            "ingress": [
                { "from": [{ "podSelector": {} }, { "ipBlock": { "cidr": "10.20.0.0/33" } }] },
                { "from": [{ "ipBlock": { "cidr": "10.20.0.0/16",
                    "except": ["10.21.0.0/24", "bogus", "10.20.0.0/8", "10.20.1.0/24"] } }] }
            ],
            "egress": [{ "to": [
                { "ipBlock": { "cidr": "10.20.1.1/16" } },
                { "ipBlock": { "cidr": "" } },
                { "ipBlock": { "cidr": "fd00::/200" } },
                { "ipBlock": { "cidr": "010.1.0.0/16" } },
                { "ipBlock": { "cidr": "fd00::/64", "except": ["fd00::/80"] } },
                { "ipBlock": { "cidr": "0.0.0.0/0" } }
            ] }]
        }));
        assert_eq!(
            got,
            vec![
                "spec.ingress[0].from[1].ipBlock.cidr: Invalid value: \"10.20.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                "spec.ingress[1].from[0].ipBlock.except[0]: Invalid value: \"10.21.0.0/24\": must be a strict subset of `cidr`",
                "spec.ingress[1].from[0].ipBlock.except[1]: Invalid value: \"bogus\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                "spec.ingress[1].from[0].ipBlock.except[2]: Invalid value: \"10.20.0.0/8\": must not have bits set beyond the prefix length",
                "spec.ingress[1].from[0].ipBlock.except[2]: Invalid value: \"10.20.0.0/8\": must be a strict subset of `cidr`",
                "spec.egress[0].to[0].ipBlock.cidr: Invalid value: \"10.20.1.1/16\": must not have bits set beyond the prefix length",
                "spec.egress[0].to[1].ipBlock.cidr: Required value",
                "spec.egress[0].to[2].ipBlock.cidr: Invalid value: \"fd00::/200\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                "spec.egress[0].to[3].ipBlock.cidr: Invalid value: \"010.1.0.0/16\": must not have leading 0s in IP or prefix length",
            ]
        );
    }
}
