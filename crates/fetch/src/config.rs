//! The fetcher's configuration, as it sits in the server's config file.
//!
//! Every field has a default, so an empty table is a working configuration that allows public
//! addresses only. Durations are written the humantime way: `"500ms"`, `"5s"`, `"2m"`.
//!
//! ```toml
//! allowlist = ["127.0.0.0/8"]        # tests and the demo fetch from loopback servers
//! user_agent = "takedown/0.1 (Referral Unit X; +mailto:abuse@unit.example)"
//! connect_timeout = "5s"
//! request_timeout = "20s"
//! total_timeout = "60s"
//! max_body_bytes = 104857600
//! max_redirects = 5
//! per_host_concurrency = 2
//! per_host_interval = "1s"
//! global_concurrency = 32
//! retries = 2
//!
//! [[removed_pages]]
//! name = "example-host-removed"
//! host_suffix = "files.example"
//! statuses = [200]
//! body_contains = "This content has been removed"
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::address::IpCidr;
use crate::target::DEFAULT_MAX_URL_LENGTH;

/// Settings for a [`Fetcher`](crate::Fetcher).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetchConfig {
    /// Blocks that may be fetched although special (loopback, private, ...). Empty by default:
    /// public addresses only. Cloud metadata addresses stay refused whatever is listed here.
    pub allowlist: Vec<IpCidr>,
    /// The User-Agent header. Name the operator and a contact so a provider that sees the
    /// re-checks knows who to call instead of blocking them.
    pub user_agent: String,
    /// Limit on setting up one TCP (and TLS) connection.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Limit on one request: connection, headers and the whole body.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Limit on one fetch: every redirect hop, retry and backoff pause together. Time spent
    /// queueing for a host's or the global concurrency limit does not count, so a long
    /// re-check run against one slow-paced host does not time out URLs it never sent.
    #[serde(with = "humantime_serde")]
    pub total_timeout: Duration,
    /// Most body bytes kept; the rest is not read and the outcome says `truncated`.
    pub max_body_bytes: u64,
    /// Most redirects followed before the outcome is `TooManyRedirects`.
    pub max_redirects: u32,
    /// Longest URL accepted, in bytes (also for redirect targets).
    pub max_url_length: usize,
    /// Most response headers accepted (the client also bounds their total size).
    pub max_response_headers: usize,
    /// Requests in flight to one host at once.
    pub per_host_concurrency: usize,
    /// Least time between the starts of two requests to one host (`0s` for no pacing).
    #[serde(with = "humantime_serde")]
    pub per_host_interval: Duration,
    /// Requests in flight across all hosts.
    pub global_concurrency: usize,
    /// Extra attempts after a transient failure (connect error, timeout, DNS failure, 429,
    /// 502, 503, 504). Never for 404/410/451 or a guard refusal.
    pub retries: u32,
    /// First backoff pause; it doubles with each retry.
    #[serde(with = "humantime_serde")]
    pub backoff_base: Duration,
    /// Longest backoff pause.
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Longest `Retry-After` honoured. A server asking for more is not retried early (that
    /// would be rude and almost surely futile): the outcome is unreachable, with the wait the
    /// server asked for, so a re-check schedule can come back later.
    #[serde(with = "humantime_serde")]
    pub retry_after_cap: Duration,
    /// Seed for the backoff jitter. `None` seeds from the system; tests fix it.
    pub jitter_seed: Option<u64>,
    /// Pages by which providers say "removed" with a status other than 404/410/451.
    pub removed_pages: Vec<RemovedPageRule>,
    /// Most embedded media URLs taken from one HTML page (see [`crate::html`]).
    pub max_embedded_media: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            allowlist: Vec::new(),
            user_agent: concat!(
                "takedown/",
                env!("CARGO_PKG_VERSION"),
                " (URL re-checker; +https://github.com/takedown-project/takedown)"
            )
            .to_owned(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            total_timeout: Duration::from_secs(60),
            max_body_bytes: 100 * 1024 * 1024,
            max_redirects: 5,
            max_url_length: DEFAULT_MAX_URL_LENGTH,
            max_response_headers: 100,
            per_host_concurrency: 2,
            per_host_interval: Duration::from_secs(1),
            global_concurrency: 32,
            retries: 2,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            retry_after_cap: Duration::from_secs(30),
            jitter_seed: None,
            removed_pages: RemovedPageRule::examples(),
            max_embedded_media: 10,
        }
    }
}

/// A configuration the fetcher cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A limit that must be positive is zero.
    #[error("`{0}` must be greater than zero")]
    Zero(&'static str),
    /// The User-Agent is not a valid header value.
    #[error("user_agent is not a valid header value")]
    UserAgent,
    /// A removed-page rule that could never match or would match everything.
    #[error("removed page rule `{name}`: {problem}")]
    RemovedPageRule {
        /// The rule's name.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the http client: {0}")]
    Client(String),
}

impl FetchConfig {
    /// Checks the values a deserialiser cannot: positive limits, usable rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive: [(&'static str, bool); 9] = [
            ("connect_timeout", !self.connect_timeout.is_zero()),
            ("request_timeout", !self.request_timeout.is_zero()),
            ("total_timeout", !self.total_timeout.is_zero()),
            ("max_body_bytes", self.max_body_bytes > 0),
            ("max_url_length", self.max_url_length > 0),
            ("max_response_headers", self.max_response_headers > 0),
            ("per_host_concurrency", self.per_host_concurrency > 0),
            ("global_concurrency", self.global_concurrency > 0),
            ("backoff_base", !self.backoff_base.is_zero()),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, ok)| !ok) {
            return Err(ConfigError::Zero(name));
        }
        if reqwest::header::HeaderValue::from_str(&self.user_agent).is_err() {
            return Err(ConfigError::UserAgent);
        }
        for rule in &self.removed_pages {
            rule.validate()?;
        }
        Ok(())
    }
}

/// How one provider says "this content was removed" on a page that is not a plain 404/410/451:
/// a 200 page with a notice, or a redirect to a fixed "removed" address.
///
/// A rule matches when the final URL's host is `host_suffix` or one of its subdomains, the
/// status is in `statuses` (any status when empty), and every text condition given holds. At
/// least one of `body_contains` and `final_url_contains` is required: a rule on host and status
/// alone would call every page of the provider removed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovedPageRule {
    /// Short name recorded in the evidence (`youtube-terms-removed`).
    pub name: String,
    /// Host the rule applies to, with its subdomains (`youtube.com` covers `www.youtube.com`).
    pub host_suffix: String,
    /// Statuses the rule applies to; empty for any.
    #[serde(default)]
    pub statuses: Vec<u16>,
    /// Text the body must contain, compared byte for byte (case matters).
    #[serde(default)]
    pub body_contains: Option<String>,
    /// Text the final URL must contain.
    #[serde(default)]
    pub final_url_contains: Option<String>,
}

impl RemovedPageRule {
    /// The rules shipped as defaults. They are examples of the two kinds of rule, taken from
    /// the notices these providers have shown publicly; providers reword their pages, so an
    /// operator should confirm them against a known removed URL and add their own.
    pub fn examples() -> Vec<RemovedPageRule> {
        vec![
            RemovedPageRule {
                name: "youtube-terms-removed".to_owned(),
                host_suffix: "youtube.com".to_owned(),
                statuses: vec![200],
                body_contains: Some("This video has been removed for violating YouTube".to_owned()),
                final_url_contains: None,
            },
            RemovedPageRule {
                name: "archive-org-item-unavailable".to_owned(),
                host_suffix: "archive.org".to_owned(),
                statuses: vec![200, 403],
                body_contains: Some("This item is no longer available".to_owned()),
                final_url_contains: None,
            },
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let problem = if self.host_suffix.trim().is_empty() {
            Some("host_suffix is empty")
        } else if self.body_contains.as_deref().is_none_or(str::is_empty)
            && self.final_url_contains.as_deref().is_none_or(str::is_empty)
        {
            Some("needs a non-empty body_contains or final_url_contains")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(ConfigError::RemovedPageRule {
                name: self.name.clone(),
                problem,
            }),
            None => Ok(()),
        }
    }

    /// Whether the rule matches a response from `host` with `status`, `final_url` and `body`.
    pub fn matches(&self, host: &str, status: u16, final_url: &str, body: &[u8]) -> bool {
        let suffix = self.host_suffix.trim_matches('.').to_ascii_lowercase();
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host_matches = host == suffix
            || host
                .strip_suffix(&suffix)
                .is_some_and(|rest| rest.ends_with('.'));
        if !host_matches {
            return false;
        }
        if !self.statuses.is_empty() && !self.statuses.contains(&status) {
            return false;
        }
        let body_matches = match self.body_contains.as_deref() {
            Some(needle) if !needle.is_empty() => contains_bytes(body, needle.as_bytes()),
            _ => true,
        };
        let url_matches = match self.final_url_contains.as_deref() {
            Some(needle) if !needle.is_empty() => final_url.contains(needle),
            _ => true,
        };
        body_matches && url_matches
    }
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_table_is_the_default_configuration() {
        let config: FetchConfig = toml::from_str("").unwrap();
        assert_eq!(config, FetchConfig::default());
        config.validate().unwrap();
        assert!(config.allowlist.is_empty());
        assert_eq!(config.max_redirects, 5);
        assert_eq!(config.per_host_concurrency, 2);
        assert_eq!(config.per_host_interval, Duration::from_secs(1));
        assert!(config.user_agent.starts_with("takedown/"));
    }

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
            allowlist = ["127.0.0.0/8", "::1"]
            user_agent = "takedown/0.1 (Referral Unit X; +mailto:abuse@unit.example)"
            connect_timeout = "5s"
            request_timeout = "20s"
            total_timeout = "1m"
            max_body_bytes = 1048576
            per_host_interval = "250ms"
            retries = 3
            jitter_seed = 7

            [[removed_pages]]
            name = "example-host-removed"
            host_suffix = "files.example"
            statuses = [200]
            body_contains = "This content has been removed"
        "#;
        let config: FetchConfig = toml::from_str(text).unwrap();
        config.validate().unwrap();
        assert_eq!(config.allowlist.len(), 2);
        assert_eq!(config.total_timeout, Duration::from_secs(60));
        assert_eq!(config.per_host_interval, Duration::from_millis(250));
        assert_eq!(config.removed_pages.len(), 1);
        assert_eq!(config.jitter_seed, Some(7));
    }

    #[test]
    fn bad_configurations_are_refused() {
        assert!(toml::from_str::<FetchConfig>("allowlist = [\"10.0.0.1/8\"]").is_err());
        assert!(toml::from_str::<FetchConfig>("no_such_field = 1").is_err());
        assert!(toml::from_str::<FetchConfig>("connect_timeout = \"soon\"").is_err());
        let zero = FetchConfig {
            per_host_concurrency: 0,
            ..FetchConfig::default()
        };
        assert!(matches!(
            zero.validate(),
            Err(ConfigError::Zero("per_host_concurrency"))
        ));
        let agent = FetchConfig {
            user_agent: "bad\nagent".to_owned(),
            ..FetchConfig::default()
        };
        assert!(matches!(agent.validate(), Err(ConfigError::UserAgent)));
        let vague_rule = FetchConfig {
            removed_pages: vec![RemovedPageRule {
                name: "everything".to_owned(),
                host_suffix: "example.com".to_owned(),
                statuses: vec![200],
                body_contains: None,
                final_url_contains: Some(String::new()),
            }],
            ..FetchConfig::default()
        };
        assert!(matches!(
            vague_rule.validate(),
            Err(ConfigError::RemovedPageRule { .. })
        ));
    }

    #[test]
    fn removed_page_rules_match_host_status_and_text() {
        let rule = RemovedPageRule {
            name: "files".to_owned(),
            host_suffix: "files.example".to_owned(),
            statuses: vec![200],
            body_contains: Some("This content has been removed".to_owned()),
            final_url_contains: None,
        };
        let notice = b"<html><p>This content has been removed</p></html>";
        assert!(rule.matches("files.example", 200, "https://files.example/x", notice));
        assert!(rule.matches(
            "cdn.files.example",
            200,
            "https://cdn.files.example/x",
            notice
        ));
        assert!(!rule.matches("notfiles.example", 200, "https://notfiles.example/", notice));
        assert!(!rule.matches("files.example", 500, "https://files.example/x", notice));
        assert!(!rule.matches("files.example", 200, "https://files.example/x", b"a video"));

        let redirect_rule = RemovedPageRule {
            name: "gone-page".to_owned(),
            host_suffix: "videos.example".to_owned(),
            statuses: vec![],
            body_contains: None,
            final_url_contains: Some("/content-removed".to_owned()),
        };
        assert!(redirect_rule.matches(
            "videos.example",
            302,
            "https://videos.example/content-removed?id=3",
            b""
        ));
        assert!(!redirect_rule.matches("videos.example", 200, "https://videos.example/v/3", b""));
    }

    #[test]
    fn the_shipped_examples_are_valid_and_match_their_notices() {
        let rules = RemovedPageRule::examples();
        for rule in &rules {
            rule.validate().unwrap();
        }
        let youtube = &rules[0];
        assert!(youtube.matches(
            "www.youtube.com",
            200,
            "https://www.youtube.com/watch?v=x",
            b"<div>This video has been removed for violating YouTube&#39;s Terms of Service</div>"
        ));
        let archive = &rules[1];
        assert!(archive.matches(
            "archive.org",
            403,
            "https://archive.org/details/x",
            b"<h1>This item is no longer available.</h1>"
        ));
    }
}
