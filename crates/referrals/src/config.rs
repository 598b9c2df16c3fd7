//! Settings of the referral workflow, as they sit in a TOML file.
//!
//! ```toml
//! max_embedded_media = 10
//! check_lease = "10m"
//! outbox_lease = "5m"
//! max_delivery_attempts = 10
//! worker_interval = "30s"
//!
//! [schedule]
//! first = ["1h", "6h", "24h"]
//! then_every = "1d"
//! max_age = "30d"
//!
//! [sender]
//! organisation = "Example Internet Referral Unit"
//! email = "iru@unit.example"
//! issuing_authority = "Example National Police, Internet Referral Unit"
//! member_state = "BE"
//! contact_point = "+32 2 000 00 00, iru@unit.example"
//! redress = "The hosting service provider may seek review before the courts of Belgium ..."
//!
//! [smtp]
//! url = "smtp://mail.unit.example:587"
//! tls = "required"            # none | opportunistic | required | wrapper
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::schedule::CheckSchedule;

/// Settings of [`Referrals`](crate::Referrals).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReferralConfig {
    /// When referred URLs are checked again.
    pub schedule: CheckSchedule,
    /// Most media taken from one HTML page at intake.
    pub max_embedded_media: usize,
    /// How long a worker holds a claimed check. Longer than a fetch's whole time budget, so a
    /// live worker never loses one; a dead worker's checks wait this long before another takes
    /// them.
    #[serde(with = "humantime_serde")]
    pub check_lease: Duration,
    /// How long a worker holds a claimed outbox message (longer than a delivery's timeout).
    #[serde(with = "humantime_serde")]
    pub outbox_lease: Duration,
    /// How often a server's background worker delivers queued messages and runs due checks
    /// (due times come from the schedule; this is only how often the store is asked).
    #[serde(with = "humantime_serde")]
    pub worker_interval: Duration,
    /// Most checks claimed per run.
    pub check_batch: u32,
    /// Checks in flight at once (the fetcher's per-host limits still apply).
    pub check_concurrency: usize,
    /// Delivery attempts before a message is marked failed.
    pub max_delivery_attempts: u32,
    /// First pause after a failed delivery; it doubles with each attempt.
    #[serde(with = "humantime_serde")]
    pub delivery_backoff: Duration,
    /// Longest pause between delivery attempts.
    #[serde(with = "humantime_serde")]
    pub delivery_backoff_max: Duration,
    /// Time limit on one delivery (SMTP conversation or HTTP POST).
    #[serde(with = "humantime_serde")]
    pub delivery_timeout: Duration,
    /// Who refers: printed on every notice.
    pub sender: SenderInfo,
    /// The SMTP server for e-mail delivery; without one, e-mail referrals wait in the outbox.
    pub smtp: Option<SmtpConfig>,
}

impl Default for ReferralConfig {
    fn default() -> Self {
        ReferralConfig {
            schedule: CheckSchedule::default(),
            max_embedded_media: 10,
            check_lease: Duration::from_secs(600),
            outbox_lease: Duration::from_secs(300),
            worker_interval: Duration::from_secs(30),
            check_batch: 200,
            check_concurrency: 16,
            max_delivery_attempts: 10,
            delivery_backoff: Duration::from_secs(60),
            delivery_backoff_max: Duration::from_secs(6 * 3600),
            delivery_timeout: Duration::from_secs(60),
            sender: SenderInfo::default(),
            smtp: None,
        }
    }
}

impl ReferralConfig {
    /// Checks what a deserialiser cannot.
    pub fn validate(&self) -> Result<(), String> {
        self.schedule.validate()?;
        for (name, value) in [
            ("check_lease", self.check_lease),
            ("outbox_lease", self.outbox_lease),
            ("delivery_backoff", self.delivery_backoff),
            ("delivery_timeout", self.delivery_timeout),
            ("worker_interval", self.worker_interval),
        ] {
            if value.is_zero() {
                return Err(format!("{name} must be greater than zero"));
            }
        }
        if self.check_batch == 0 || self.check_concurrency == 0 {
            return Err("check_batch and check_concurrency must be greater than zero".into());
        }
        if let Some(smtp) = &self.smtp {
            smtp.validate()?;
        }
        Ok(())
    }
}

/// The referring organisation as notices name it (a removal order's section A and D).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SenderInfo {
    /// The referring unit's name.
    pub organisation: String,
    /// The address notices come from and replies go to.
    pub email: String,
    /// The issuing competent authority (removal orders).
    pub issuing_authority: String,
    /// Its member state (ISO 3166 alpha-2).
    pub member_state: String,
    /// Contact point for follow-up (name, telephone, e-mail).
    pub contact_point: String,
    /// Redress information printed on removal orders (section F).
    pub redress: String,
}

impl Default for SenderInfo {
    fn default() -> Self {
        SenderInfo {
            organisation: "takedown referral unit".into(),
            email: "referrals@takedown.invalid".into(),
            issuing_authority: String::new(),
            member_state: String::new(),
            contact_point: String::new(),
            redress: "The hosting service provider and the content provider have the right to \
                      an effective remedy against this order before the courts of the issuing \
                      member state (Regulation (EU) 2021/784, Art. 9)."
                .into(),
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: only for a relay on loopback or a trusted network.
    None,
    /// STARTTLS when the server offers it, plain otherwise.
    Opportunistic,
    /// STARTTLS, and refuse to send without it.
    #[default]
    Required,
    /// TLS from the first byte (port 465).
    Wrapper,
}

/// The SMTP server that carries e-mail referrals.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://host:port`.
    pub url: String,
    /// Transport security.
    #[serde(default)]
    pub tls: SmtpTls,
    /// User name, when the server wants authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// Password.
    #[serde(default)]
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpConfig {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &self.url)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// A plain-text relay at `host:port` (a loopback test or demo sink).
    pub fn plain(host: &str, port: u16) -> SmtpConfig {
        SmtpConfig {
            url: format!("smtp://{host}:{port}"),
            tls: SmtpTls::None,
            username: None,
            password: None,
        }
    }

    /// The host and port of `url`.
    pub fn host_port(&self) -> Result<(String, u16), String> {
        let url = url::Url::parse(&self.url).map_err(|error| format!("smtp url: {error}"))?;
        if url.scheme() != "smtp" {
            return Err(format!(
                "smtp url must start with smtp://, got {}",
                self.url
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| "smtp url has no host".to_string())?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let default = if self.tls == SmtpTls::Wrapper {
            465
        } else {
            25
        };
        Ok((host, url.port().unwrap_or(default)))
    }

    fn validate(&self) -> Result<(), String> {
        self.host_port().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
            max_embedded_media = 5
            check_lease = "10m"
            [schedule]
            first = ["1h", "6h", "24h"]
            then_every = "1d"
            max_age = "30d"
            [sender]
            organisation = "Example IRU"
            email = "iru@unit.example"
            member_state = "BE"
            [smtp]
            url = "smtp://127.0.0.1:2525"
            tls = "none"
        "#;
        let config: ReferralConfig = toml::from_str(text).unwrap();
        config.validate().unwrap();
        assert_eq!(config.schedule, CheckSchedule::default());
        let smtp = config.smtp.unwrap();
        assert_eq!(smtp.host_port().unwrap(), ("127.0.0.1".to_string(), 2525));
        assert_eq!(smtp.tls, SmtpTls::None);
        let empty: ReferralConfig = toml::from_str("").unwrap();
        assert_eq!(empty, ReferralConfig::default());
    }
}
