//! How long the leaf certificates pgplane issues to clusters live, and when they are renewed.
//! Both drivers follow it: a server (and replication) certificate is valid for
//! [`CertificatePolicy::validity`] and is replaced once less than a third of that remains, so a
//! renewal that fails has a third of a lifetime to be retried (and alerted on) before clients
//! see an expired certificate. The certificate authorities that sign
//! them live [`CA_VALIDITY_YEARS`] (rotating a CA means clients fetching a new one; not done).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rcgen::CertificateParams;

/// How long the CAs pgplane makes are valid.
pub const CA_VALIDITY_YEARS: i64 = 10;
/// A new certificate is valid from this long ago, for clients whose clock is a little behind.
const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// The leaf certificates' lifetime (`PGPLANE_CERTIFICATE_VALIDITY_SECONDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificatePolicy {
    pub validity: Duration,
}

impl Default for CertificatePolicy {
    fn default() -> Self {
        CertificatePolicy {
            validity: Self::DEFAULT_VALIDITY,
        }
    }
}

impl CertificatePolicy {
    /// 90 days, as public CAs issue them: short enough that a leaked key soon stops working.
    pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);

    /// How long before expiry a certificate is renewed: a third of its lifetime.
    pub fn renew_before(&self) -> Duration {
        self.validity / 3
    }

    /// How often a platform without a loop of its own looks for certificates to renew: often
    /// enough to retry a failed renewal many times within the renewal window.
    pub fn check_every(&self) -> Duration {
        (self.validity / 12).clamp(Duration::from_secs(1), Duration::from_secs(3600))
    }

    /// Whether a certificate expiring at `expires_at` is renewed `now`: it is within its
    /// renewal window, or it outlives this policy (one issued before the policy was shortened,
    /// or before pgplane rotated certificates at all).
    pub fn due(&self, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let remaining = (expires_at - now).to_std().unwrap_or(Duration::ZERO);
        let slack = (self.validity / 10).min(CLOCK_SKEW);
        remaining <= self.renew_before() || remaining > self.validity + slack
    }

    /// Sets `params` valid from a little before `now` for [`CertificatePolicy::validity`].
    pub fn apply_to(&self, params: &mut CertificateParams, now: DateTime<Utc>) {
        let validity = chrono::Duration::from_std(self.validity).unwrap_or(chrono::Duration::MAX);
        let skew = chrono::Duration::from_std(CLOCK_SKEW).unwrap_or_default();
        params.not_before = offset(now - skew);
        params.not_after = offset(now.checked_add_signed(validity).unwrap_or(now));
    }
}

/// Sets `params` valid for [`CA_VALIDITY_YEARS`] from a little before `now`.
pub fn apply_ca_validity(params: &mut CertificateParams, now: DateTime<Utc>) {
    let skew = chrono::Duration::from_std(CLOCK_SKEW).unwrap_or_default();
    params.not_before = offset(now - skew);
    params.not_after = offset(now + chrono::Duration::days(365 * CA_VALIDITY_YEARS));
}

fn offset(at: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(at.timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// When the first certificate in `pem` expires, if it parses.
pub fn expiry_of(pem: &str) -> Option<DateTime<Utc>> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let certificate = block.parse_x509().ok()?;
    DateTime::from_timestamp(certificate.validity().not_after.timestamp(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(seconds: u64) -> CertificatePolicy {
        CertificatePolicy {
            validity: Duration::from_secs(seconds),
        }
    }

    #[test]
    fn a_certificate_is_renewed_in_the_last_third_of_its_life_and_when_it_outlives_the_policy() {
        let now = Utc::now();
        let p = policy(90);
        let at = |seconds: i64| now + chrono::Duration::seconds(seconds);
        assert!(!p.due(at(90), now), "fresh");
        assert!(!p.due(at(31), now), "just over a third left");
        assert!(p.due(at(30), now), "a third left");
        assert!(p.due(at(-5), now), "expired");
        assert!(!p.due(at(90 + 9), now), "within the slack");
        assert!(p.due(at(90 + 10), now), "longer than this policy issues");
        assert!(
            p.due(at(10 * 365 * 24 * 3600), now),
            "a ten-year certificate"
        );
    }

    #[test]
    fn an_issued_certificate_carries_the_policy_s_expiry() {
        let now = Utc::now();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        policy(120).apply_to(&mut params, now);
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        assert_eq!(expiry_of(&pem).unwrap().timestamp(), now.timestamp() + 120);
        assert_eq!(expiry_of("not a certificate"), None);
    }

    #[test]
    fn checks_are_frequent_for_short_lives_and_hourly_for_long_ones() {
        assert_eq!(policy(120).check_every(), Duration::from_secs(10));
        assert_eq!(policy(6).check_every(), Duration::from_secs(1));
        assert_eq!(
            CertificatePolicy::default().check_every(),
            Duration::from_secs(3600)
        );
    }
}
