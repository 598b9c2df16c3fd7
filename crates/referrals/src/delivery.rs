//! Sending: a referral's notice is rendered once into an outbox row, then delivered (and, on
//! transient failures, re-delivered byte for byte) by [`Referrals::run_outbox`].

use std::time::{Duration, SystemTime};

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use takedown_engine::Caller;
use takedown_model::Permission;
use takedown_store::referrals::{
    Channel, Delivery, DeliveryReport, NewOutboxMessage, NoticeFormat, OutboxMessage,
    ReferralStatus,
};

use crate::checks::OutboxRunSummary;
use crate::export::{render, ExportFormat};
use crate::{ReferralError, ReferralResult, Referrals, SmtpConfig, SmtpTls};

/// Why a delivery attempt failed.
struct DeliveryFailure {
    /// The receiving side refused for good (a 5xx SMTP reply, a 4xx HTTP answer): retrying
    /// the same bytes cannot succeed.
    permanent: bool,
    message: String,
}

impl DeliveryFailure {
    fn transient(message: impl Into<String>) -> DeliveryFailure {
        DeliveryFailure {
            permanent: false,
            message: message.into(),
        }
    }

    fn permanent(message: impl Into<String>) -> DeliveryFailure {
        DeliveryFailure {
            permanent: true,
            message: message.into(),
        }
    }
}

/// The domain part of an address, for Message-IDs and the SMTP greeting.
fn domain_of(address: &str) -> &str {
    address
        .rsplit_once('@')
        .map_or("takedown.invalid", |(_, domain)| domain)
}

impl Referrals {
    /// Queues a draft referral's notice for delivery to its provider, in the provider's
    /// preferred format, and returns the outbox message ([`Referrals::run_outbox`], or the
    /// background worker, delivers it). Sending twice returns the message already queued.
    pub async fn send(&self, caller: &Caller, key: &str) -> ReferralResult<OutboxMessage> {
        caller.require(Permission::Review)?;
        let referral = self.find_referral(caller, key).await?;
        if referral.status != ReferralStatus::Draft {
            if let Some(message) = self
                .store()
                .outbox_messages(referral.id)
                .await?
                .into_iter()
                .rev()
                .find(|message| message.state.as_str() != "failed")
            {
                return Ok(message);
            }
        }
        let detail = self.detail_of(referral).await?;
        let provider = &detail.provider;
        let now = self.clock().now();
        let sender = &self.config.sender;
        let key = format!(
            "td-{}-{}",
            detail.referral.reference.to_ascii_lowercase(),
            hex::encode(rand::random::<[u8; 8]>())
        );
        let format = detail.referral.notice_format;
        let new = match provider.delivery {
            Delivery::Manual => {
                return Err(ReferralError::invalid(
                    "provider",
                    format!(
                        "{} takes notices by hand (a web form): export the referral instead",
                        provider.name
                    ),
                ))
            }
            Delivery::Http => {
                let export = match format {
                    NoticeFormat::EuOrder => ExportFormat::EuOrderJson,
                    NoticeFormat::Dsa => ExportFormat::Dsa,
                    NoticeFormat::Json | NoticeFormat::Text => ExportFormat::Json,
                };
                NewOutboxMessage {
                    channel: Channel::Http,
                    idempotency_key: key,
                    sender: sender.email.clone(),
                    recipient: provider.endpoint_url.clone(),
                    subject: format!("Referral {}", detail.referral.reference),
                    content_type: "application/json".into(),
                    body: render(&detail, sender, export, now),
                }
            }
            Delivery::Email => {
                let subject = format!(
                    "Referral {}: terrorist content hosted by {}",
                    detail.referral.reference, provider.name
                );
                let text = render(&detail, sender, ExportFormat::Text, now);
                let attachments: Vec<(String, ExportFormat)> = match format {
                    NoticeFormat::Text => Vec::new(),
                    NoticeFormat::Json => vec![("referral.json".into(), ExportFormat::Json)],
                    NoticeFormat::EuOrder => vec![
                        ("removal-order.json".into(), ExportFormat::EuOrderJson),
                        ("removal-order.html".into(), ExportFormat::EuOrderHtml),
                    ],
                    NoticeFormat::Dsa => {
                        vec![("statements-of-reasons.json".into(), ExportFormat::Dsa)]
                    }
                };
                let invalid = |field: &str, error: &dyn std::fmt::Display| {
                    ReferralError::invalid(field, error.to_string())
                };
                let from: Mailbox = format!("{} <{}>", sender.organisation, sender.email)
                    .parse()
                    .map_err(|error| invalid("sender.email", &error))?;
                let to: Mailbox = provider
                    .contact_email
                    .parse()
                    .map_err(|error| invalid("contact_email", &error))?;
                let mut body = MultiPart::mixed().singlepart(SinglePart::plain(text));
                for (name, export) in attachments {
                    let content_type = ContentType::parse(export.content_type())
                        .map_err(|error| ReferralError::internal(error.to_string()))?;
                    body = body.singlepart(
                        Attachment::new(name)
                            .body(render(&detail, sender, export, now), content_type),
                    );
                }
                let message = lettre::Message::builder()
                    .message_id(Some(format!("<{key}@{}>", domain_of(&sender.email))))
                    .date(SystemTime::from(now))
                    .from(from.clone())
                    .reply_to(from)
                    .to(to)
                    .subject(subject.clone())
                    .multipart(body)
                    .map_err(|error| ReferralError::internal(error.to_string()))?;
                let formatted = String::from_utf8(message.formatted())
                    .map_err(|error| ReferralError::internal(error.to_string()))?;
                NewOutboxMessage {
                    channel: Channel::Email,
                    idempotency_key: key,
                    sender: sender.email.clone(),
                    recipient: provider.contact_email.clone(),
                    subject,
                    content_type: "message/rfc822".into(),
                    body: formatted,
                }
            }
        };
        Ok(self
            .store()
            .enqueue_message(&caller.actor, detail.referral.id, new)
            .await?)
    }

    /// Delivers the outbox messages that are due, as `owner`. Each is claimed with a lease,
    /// sent, and its outcome recorded under the lease; a delivered message makes its referral
    /// `sent` and schedules the first checks.
    pub async fn run_outbox(&self, owner: &str) -> ReferralResult<OutboxRunSummary> {
        let now = self.clock().now();
        let lease = lease(self.config.outbox_lease);
        let claimed = self
            .store()
            .claim_messages(owner, now, lease, self.config.check_batch)
            .await?;
        let mut summary = OutboxRunSummary {
            claimed: claimed.len(),
            ..OutboxRunSummary::default()
        };
        for message in claimed {
            let outcome = self.deliver(&message).await;
            let report = match outcome {
                Ok(response) => {
                    let at = self.clock().now();
                    let first_check_due = self.config.schedule.due(at, 1).unwrap_or(at);
                    summary.delivered += 1;
                    DeliveryReport::Delivered {
                        at,
                        response,
                        first_check_due,
                    }
                }
                Err(failure)
                    if failure.permanent
                        || message.attempts >= self.config.max_delivery_attempts =>
                {
                    tracing::warn!(
                        referral = message.referral.0,
                        error = %failure.message,
                        "delivery failed for good"
                    );
                    summary.failed += 1;
                    DeliveryReport::Failed {
                        error: failure.message,
                    }
                }
                Err(failure) => {
                    let wait = self.backoff(message.attempts);
                    summary.retried += 1;
                    DeliveryReport::Retry {
                        error: failure.message,
                        retry_at: self.clock().now() + lease_duration(wait),
                    }
                }
            };
            if !self
                .store()
                .record_delivery(owner, message.id, report)
                .await?
            {
                summary.lost_leases += 1;
            }
        }
        Ok(summary)
    }

    /// Sends one claimed message and returns the receiving server's answer, without
    /// recording anything: a step of [`Referrals::run_outbox`], public so that a test can stop
    /// between delivering and recording (a crash in the one window no protocol closes).
    pub async fn deliver_message(&self, message: &OutboxMessage) -> Result<String, String> {
        self.deliver(message)
            .await
            .map_err(|failure| failure.message)
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(20);
        self.config
            .delivery_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.config.delivery_backoff_max)
    }

    async fn deliver(&self, message: &OutboxMessage) -> Result<String, DeliveryFailure> {
        match message.channel {
            Channel::Email => match &self.config.smtp {
                Some(smtp) => self.deliver_email(smtp, message).await,
                None => Err(DeliveryFailure::transient(
                    "no SMTP server is configured; the message waits in the outbox",
                )),
            },
            Channel::Http => self.deliver_http(message).await,
        }
    }

    async fn deliver_email(
        &self,
        smtp: &SmtpConfig,
        message: &OutboxMessage,
    ) -> Result<String, DeliveryFailure> {
        let (host, port) = smtp.host_port().map_err(DeliveryFailure::permanent)?;
        let tls_parameters = || {
            TlsParameters::new(host.clone())
                .map_err(|error| DeliveryFailure::permanent(format!("tls: {error}")))
        };
        let tls = match smtp.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Opportunistic => Tls::Opportunistic(tls_parameters()?),
            SmtpTls::Required => Tls::Required(tls_parameters()?),
            SmtpTls::Wrapper => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .tls(tls)
            .timeout(Some(self.config.delivery_timeout))
            .hello_name(ClientId::Domain(domain_of(&message.sender).to_string()));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            builder =
                builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    user.clone(),
                    password.clone(),
                ));
        }
        let transport = builder.build();
        let envelope = lettre::address::Envelope::new(
            Some(
                message
                    .sender
                    .parse()
                    .map_err(|error| DeliveryFailure::permanent(format!("sender: {error}")))?,
            ),
            vec![message
                .recipient
                .parse()
                .map_err(|error| DeliveryFailure::permanent(format!("recipient: {error}")))?],
        )
        .map_err(|error| DeliveryFailure::permanent(error.to_string()))?;
        match transport.send_raw(&envelope, message.body.as_bytes()).await {
            Ok(response) => Ok(format!(
                "SMTP {} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(error) if error.is_permanent() => {
                Err(DeliveryFailure::permanent(format!("SMTP refused: {error}")))
            }
            Err(error) => Err(DeliveryFailure::transient(format!("SMTP: {error}"))),
        }
    }

    async fn deliver_http(&self, message: &OutboxMessage) -> Result<String, DeliveryFailure> {
        let url = url::Url::parse(&message.recipient)
            .map_err(|error| DeliveryFailure::permanent(format!("endpoint: {error}")))?;
        // Literal addresses never reach the guarded resolver: check them here, as the fetcher
        // does.
        if let Some(host) = url.host() {
            let literal = match host {
                url::Host::Ipv4(v4) => Some(std::net::IpAddr::V4(v4)),
                url::Host::Ipv6(v6) => Some(std::net::IpAddr::V6(v6)),
                url::Host::Domain(_) => None,
            };
            if let Some(address) = literal {
                if let Err(refusal) = self.policy.check(address) {
                    return Err(DeliveryFailure::permanent(format!(
                        "endpoint refused by the address guard: {refusal}"
                    )));
                }
            }
        }
        let response = self
            .poster
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, message.content_type.as_str())
            // The IETF Idempotency-Key header (a structured-field string): a retry after a
            // crash carries the same key, so the endpoint can answer it without acting twice.
            .header(
                "Idempotency-Key",
                format!("\"{}\"", message.idempotency_key),
            )
            .header("X-Takedown-Reference", message.subject.as_str())
            .body(message.body.clone())
            .send()
            .await
            .map_err(|error| DeliveryFailure::transient(format!("http: {error}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(512).collect();
        let summary = format!("HTTP {}: {}", status.as_u16(), excerpt.trim());
        if status.is_success() {
            Ok(summary)
        } else if status.is_client_error() && !matches!(status.as_u16(), 408 | 409 | 425 | 429)
            || status.is_redirection()
        {
            Err(DeliveryFailure::permanent(summary))
        } else {
            Err(DeliveryFailure::transient(summary))
        }
    }
}

pub(crate) fn lease(duration: Duration) -> chrono::Duration {
    lease_duration(duration)
}

fn lease_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or_else(|_| chrono::Duration::days(1))
}
