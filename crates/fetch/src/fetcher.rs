//! The [`Fetcher`]: one GET with redirects followed by hand, retries, limits, and a report.

use std::error::Error as _;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap};
use takedown_model::clock::Clock;
use takedown_signals::digest::DigestHasher;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::address::AddressPolicy;
use crate::config::{ConfigError, FetchConfig};
use crate::limits::{Backoff, HostLimits};
use crate::outcome::{
    is_transient_status, BlockReason, Blocked, FetchOutcome, FetchReport, Hop, HopResult, Live,
    Removed, RemovedReason, Unreachable, UnreachableReason,
};
use crate::resolve::{GuardedResolver, HostResolver, ResolveError, SystemResolver};
use crate::target::{TargetUrl, UrlError};

/// Body bytes kept from answers that are not content (404 pages, 403s): enough for removed-page
/// rules and an excerpt, without downloading a provider's whole error page.
const EVIDENCE_BODY_BYTES: u64 = 64 * 1024;
/// Bytes of body quoted in a [`Removed`] outcome.
const EXCERPT_BYTES: usize = 512;

/// Fetches URLs through the address guard, within the configured limits.
///
/// Cheap to clone: clones share the HTTP client, the connection pool and the per-host limits,
/// which is what makes the limits hold across the tasks of a re-check run.
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: FetchConfig,
    policy: Arc<AddressPolicy>,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    hosts: HostLimits,
    global: Semaphore,
    backoff: Backoff,
}

/// What one request came back with, before the fetch loop decides what to do next.
enum Attempt {
    Response(Answer),
    Failed {
        reason: UnreachableReason,
        message: String,
    },
    Blocked(BlockReason),
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    remote_addr: Option<SocketAddr>,
    body: Bytes,
    truncated: bool,
    bytes_received: u64,
    digests: Option<takedown_signals::digest::Digests>,
}

/// Time left for one fetch: requests and backoff pauses count, queueing for limits does not.
struct Budget {
    total: Duration,
    spent: Duration,
}

impl Budget {
    fn remaining(&self) -> Duration {
        self.total.saturating_sub(self.spent)
    }
}

impl Fetcher {
    /// A fetcher resolving names with the operating system; `clock` stamps `fetched_at`.
    pub fn new(config: FetchConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        Self::with_resolver(config, clock, Arc::new(SystemResolver))
    }

    /// A fetcher with an injected resolver (tests use a
    /// [`StaticResolver`](crate::StaticResolver) so no DNS query ever leaves the machine).
    pub fn with_resolver(
        config: FetchConfig,
        clock: Arc<dyn Clock>,
        resolver: Arc<dyn HostResolver>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let policy = Arc::new(AddressPolicy::with_allowlist(config.allowlist.clone()));
        let guarded = GuardedResolver::new(resolver, policy.clone());
        let client = build_client(&config, guarded)?;
        Ok(Fetcher {
            inner: Arc::new(Inner {
                hosts: HostLimits::new(config.per_host_concurrency, config.per_host_interval),
                global: Semaphore::new(config.global_concurrency),
                backoff: Backoff::new(config.backoff_base, config.backoff_max, config.jitter_seed),
                config,
                policy,
                client,
                clock,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &FetchConfig {
        &self.inner.config
    }

    /// The address guard in force.
    pub fn policy(&self) -> &AddressPolicy {
        &self.inner.policy
    }

    /// Checks `text` as a URL to fetch, with the configured length limit. Servers call this on
    /// an analyst's input to answer "bad request" before queueing anything.
    pub fn parse_url(&self, text: &str) -> Result<TargetUrl, UrlError> {
        TargetUrl::parse_with_limit(text, self.inner.config.max_url_length)
    }

    /// Parses `text` and fetches it.
    pub async fn fetch_str(&self, text: &str) -> Result<FetchReport, UrlError> {
        let url = self.parse_url(text)?;
        Ok(self.fetch(&url).await)
    }

    /// Fetches `url`: follows redirects (each hop checked again), retries transient failures,
    /// and reports what it found. Never fails: every ending is a [`FetchOutcome`].
    pub async fn fetch(&self, url: &TargetUrl) -> FetchReport {
        let started = Instant::now();
        let mut hops = Vec::new();
        let outcome = self.run(url, &mut hops).await;
        FetchReport {
            requested_url: url.as_str().to_owned(),
            fetched_at: self.inner.clock.now(),
            elapsed: started.elapsed(),
            hops,
            outcome,
        }
    }

    async fn run(&self, url: &TargetUrl, hops: &mut Vec<Hop>) -> FetchOutcome {
        let config = &self.inner.config;
        let mut budget = Budget {
            total: config.total_timeout,
            spent: Duration::ZERO,
        };
        let mut current = url.clone();
        let mut redirects = 0u32;
        'hops: loop {
            // Literal addresses never reach the resolver, so the guard is applied here.
            if let Some(address) = current.literal_ip() {
                if let Err(refusal) = self.inner.policy.check(address) {
                    return blocked(
                        &current,
                        BlockReason::Address {
                            host: current.host_key(),
                            refusals: vec![refusal],
                        },
                    );
                }
            }
            let mut retry = 0u32;
            loop {
                if budget.remaining().is_zero() {
                    return unreachable(
                        UnreachableReason::Timeout,
                        "total time limit for the fetch reached".to_owned(),
                        None,
                    );
                }
                let attempt = self.attempt(&current, &mut budget, hops).await;
                let answer = match attempt {
                    Attempt::Blocked(reason) => return blocked(&current, reason),
                    Attempt::Failed { reason, message } => {
                        if reason.is_transient() && retry < config.retries {
                            self.pause(self.inner.backoff.delay(retry), &mut budget)
                                .await;
                            retry += 1;
                            continue;
                        }
                        return unreachable(reason, message, None);
                    }
                    Attempt::Response(answer) => answer,
                };
                let status = answer.status;
                if is_transient_status(status) {
                    let asked = retry_after(&answer.headers, self.inner.clock.now());
                    if let Some(wait) = asked {
                        if wait > config.retry_after_cap {
                            // Retrying earlier than asked is rude and futile: report the wait
                            // so a re-check schedule can come back after it.
                            return unreachable(
                                UnreachableReason::HttpStatus(status),
                                format!("server asked to retry after {wait:?}, more than the cap"),
                                Some(wait),
                            );
                        }
                        // Everyone else fetching from this host waits too.
                        self.inner
                            .hosts
                            .defer(&current.host_key(), Instant::now() + wait);
                    }
                    if retry < config.retries {
                        let wait = asked.unwrap_or_else(|| self.inner.backoff.delay(retry));
                        self.pause(wait, &mut budget).await;
                        retry += 1;
                        continue;
                    }
                    return unreachable(
                        UnreachableReason::HttpStatus(status),
                        format!("status {status} after {} attempts", retry + 1),
                        asked,
                    );
                }
                if is_redirect(status) {
                    let target = redirect_target(&current, &answer.headers, config);
                    // The chain records where each hop pointed, refused targets included.
                    let pointed_to = match &target {
                        Ok(next) => Some(next.as_str().to_owned()),
                        Err(RedirectProblem::Refused { url, .. }) => Some(url.clone()),
                        Err(RedirectProblem::Unusable(_)) => None,
                    };
                    if let Some(Hop {
                        result: HopResult::Response { location, .. },
                        ..
                    }) = hops.last_mut()
                    {
                        *location = pointed_to;
                    }
                    let next = match target {
                        Ok(next) => next,
                        Err(problem) => return problem.into_outcome(),
                    };
                    redirects += 1;
                    if redirects > config.max_redirects {
                        return unreachable(
                            UnreachableReason::TooManyRedirects,
                            format!("more than {} redirects", config.max_redirects),
                            None,
                        );
                    }
                    current = next;
                    continue 'hops;
                }
                return self.judge(&current, answer);
            }
        }
    }

    /// Decides what a final (non-redirect, non-retried) answer means.
    fn judge(&self, url: &TargetUrl, answer: Answer) -> FetchOutcome {
        let status = answer.status;
        let final_url = url.as_str().to_owned();
        let host = url.host_key();
        let content_type = header_text(&answer.headers, header::CONTENT_TYPE);
        let rule = self
            .inner
            .config
            .removed_pages
            .iter()
            .find(|rule| rule.matches(&host, status, &final_url, &answer.body));
        let reason = match (rule, status) {
            (Some(rule), _) => Some(RemovedReason::ProviderPage {
                rule: rule.name.clone(),
            }),
            (None, 404) => Some(RemovedReason::Http404),
            (None, 410) => Some(RemovedReason::Http410),
            (None, 451) => Some(RemovedReason::Http451),
            (None, _) => None,
        };
        if let Some(reason) = reason {
            let excerpt_end = answer.body.len().min(EXCERPT_BYTES);
            return FetchOutcome::Removed(Removed {
                reason,
                status,
                final_url,
                content_type,
                excerpt: String::from_utf8_lossy(&answer.body[..excerpt_end])
                    .trim()
                    .to_owned(),
            });
        }
        if !(200..300).contains(&status) {
            let excerpt_end = answer.body.len().min(EXCERPT_BYTES);
            return unreachable(
                UnreachableReason::HttpStatus(status),
                format!(
                    "status {status}: {}",
                    String::from_utf8_lossy(&answer.body[..excerpt_end]).trim()
                ),
                None,
            );
        }
        FetchOutcome::Live(Live {
            status,
            final_url,
            content_type,
            etag: header_text(&answer.headers, header::ETAG),
            last_modified: header_text(&answer.headers, header::LAST_MODIFIED),
            content_length: header_text(&answer.headers, header::CONTENT_LENGTH)
                .and_then(|length| length.parse().ok()),
            body: answer.body,
            truncated: answer.truncated,
            bytes_received: answer.bytes_received,
            digests: answer.digests,
        })
    }

    /// Sleeps between retries, charging the pause to the fetch's time budget.
    async fn pause(&self, wait: Duration, budget: &mut Budget) {
        let wait = wait.min(budget.remaining());
        tokio::time::sleep(wait).await;
        budget.spent += wait;
    }

    /// Sends one request within the host and global limits and records it as a hop.
    async fn attempt(&self, url: &TargetUrl, budget: &mut Budget, hops: &mut Vec<Hop>) -> Attempt {
        let config = &self.inner.config;
        let _host_permit = self.inner.hosts.acquire(&url.host_key()).await;
        // Never closed, so `ok()` only avoids an unwrap.
        let _global_permit = self.inner.global.acquire().await.ok();
        let limit = config.request_timeout.min(budget.remaining());
        let started = Instant::now();
        let result = tokio::time::timeout(limit, self.request(url)).await;
        let elapsed = started.elapsed();
        budget.spent += elapsed;
        let (attempt, remote_addr) = match result {
            Ok(Ok(answer)) => {
                let remote_addr = answer.remote_addr;
                (Attempt::Response(answer), remote_addr)
            }
            Ok(Err(error)) => (classify_error(&error), None),
            Err(_) => (
                Attempt::Failed {
                    reason: UnreachableReason::Timeout,
                    message: format!("no complete answer within {limit:?}"),
                },
                None,
            ),
        };
        let result = match &attempt {
            Attempt::Response(answer) => HopResult::Response {
                status: answer.status,
                location: None,
            },
            Attempt::Failed { reason, message } => HopResult::Failed {
                reason: *reason,
                message: message.clone(),
            },
            // The guard refused before any connection: nothing was sent, so no hop.
            Attempt::Blocked(_) => return attempt,
        };
        hops.push(Hop {
            url: url.as_str().to_owned(),
            at: self.inner.clock.now(),
            elapsed,
            remote_addr,
            result,
        });
        attempt
    }

    /// One GET; the body is read only for answers that end the fetch.
    async fn request(&self, url: &TargetUrl) -> Result<Answer, reqwest::Error> {
        let mut response = self.inner.client.get(url.as_url().clone()).send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let remote_addr = response.remote_addr();
        let limit = if is_redirect(status) || is_transient_status(status) {
            0
        } else if (200..300).contains(&status) {
            self.inner.config.max_body_bytes
        } else {
            EVIDENCE_BODY_BYTES.min(self.inner.config.max_body_bytes)
        };
        let mut body = BytesMut::with_capacity(initial_capacity(&headers, limit));
        let mut hasher = DigestHasher::new();
        let mut bytes_received = 0u64;
        let mut truncated = false;
        if limit > 0 {
            while let Some(chunk) = response.chunk().await? {
                bytes_received += chunk.len() as u64;
                let room = usize::try_from(limit - body.len() as u64).unwrap_or(usize::MAX);
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    // Stop reading: dropping the response closes the connection, so a server
                    // streaming forever costs us `limit` bytes and no more.
                    break;
                }
                hasher.update(&chunk);
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Answer {
            status,
            headers,
            remote_addr,
            body: body.freeze(),
            truncated,
            bytes_received,
            digests: (!truncated).then(|| hasher.finish()),
        })
    }
}

fn build_client(
    config: &FetchConfig,
    resolver: GuardedResolver,
) -> Result<reqwest::Client, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ConfigError::Client(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, header::HeaderValue::from_static("*/*"));
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // Every connection's addresses come from the guarded resolver.
        .dns_resolver(Arc::new(resolver))
        // A proxy from the environment would receive our requests and resolve names itself,
        // beyond the guard's reach.
        .no_proxy()
        // Redirects are followed by hand so each hop is checked and recorded.
        .redirect(reqwest::redirect::Policy::none())
        // Retries are ours alone, so the attempt count in the evidence is true.
        .retry(reqwest::retry::never())
        .referer(false)
        .user_agent(config.user_agent.as_str())
        .default_headers(headers)
        .connect_timeout(config.connect_timeout)
        .http1_only()
        .http1_max_headers(config.max_response_headers)
        .pool_max_idle_per_host(config.per_host_concurrency)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|error| ConfigError::Client(error.to_string()))
}

fn initial_capacity(headers: &HeaderMap, limit: u64) -> usize {
    // Trust Content-Length only as a hint, and never beyond the limit or 8 MiB up front.
    let hinted = header_text(headers, header::CONTENT_LENGTH)
        .and_then(|length| length.parse::<u64>().ok())
        .unwrap_or(0);
    usize::try_from(hinted.min(limit).min(8 * 1024 * 1024)).unwrap_or(0)
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Why a redirect cannot be followed.
#[derive(Debug, PartialEq, Eq)]
enum RedirectProblem {
    /// No usable `Location`: a protocol fault of the server.
    Unusable(String),
    /// The target is a URL the fetcher refuses to fetch.
    Refused { url: String, error: UrlError },
}

impl RedirectProblem {
    fn into_outcome(self) -> FetchOutcome {
        match self {
            RedirectProblem::Unusable(message) => {
                unreachable(UnreachableReason::Protocol, message, None)
            }
            RedirectProblem::Refused { url, error } => FetchOutcome::Blocked(Blocked {
                url,
                reason: BlockReason::Url(error),
            }),
        }
    }
}

fn redirect_target(
    current: &TargetUrl,
    headers: &HeaderMap,
    config: &FetchConfig,
) -> Result<TargetUrl, RedirectProblem> {
    let Some(location) = headers
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
    else {
        return Err(RedirectProblem::Unusable(
            "redirect without a readable location header".to_owned(),
        ));
    };
    let joined = current.as_url().join(location).map_err(|error| {
        RedirectProblem::Unusable(format!(
            "redirect to unusable location `{location}`: {error}"
        ))
    })?;
    let url = joined.as_str().to_owned();
    TargetUrl::from_url(joined, config.max_url_length)
        .map_err(|error| RedirectProblem::Refused { url, error })
}

/// `Retry-After` as a wait: delta-seconds, or an HTTP date measured against the response's own
/// `Date` (so skew between our clock and the server's does not matter), else our clock.
fn retry_after(headers: &HeaderMap, now: takedown_model::clock::Timestamp) -> Option<Duration> {
    let value = header_text(headers, header::RETRY_AFTER)?;
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let until = httpdate::parse_http_date(value.trim()).ok()?;
    let reference = header_text(headers, header::DATE)
        .and_then(|date| httpdate::parse_http_date(&date).ok())
        .unwrap_or_else(|| SystemTime::from(now));
    Some(until.duration_since(reference).unwrap_or(Duration::ZERO))
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn blocked(url: &TargetUrl, reason: BlockReason) -> FetchOutcome {
    FetchOutcome::Blocked(Blocked {
        url: url.as_str().to_owned(),
        reason,
    })
}

fn unreachable(
    reason: UnreachableReason,
    message: String,
    retry_after: Option<Duration>,
) -> FetchOutcome {
    FetchOutcome::Unreachable(Unreachable {
        reason,
        message,
        retry_after,
    })
}

/// Sorts a client error into an outcome by walking its chain of causes: the guard's refusal
/// and DNS failures are our own error type, TLS failures are rustls's, the rest the client
/// labels itself.
fn classify_error(error: &reqwest::Error) -> Attempt {
    let message = error_chain_text(error);
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(resolve) = current.downcast_ref::<ResolveError>() {
            return match resolve {
                ResolveError::Refused { host, refusals } => {
                    Attempt::Blocked(BlockReason::Address {
                        host: host.clone(),
                        refusals: refusals.clone(),
                    })
                }
                ResolveError::Lookup { .. } | ResolveError::NoAddresses { .. } => Attempt::Failed {
                    reason: UnreachableReason::Dns,
                    message: resolve.to_string(),
                },
            };
        }
        if is_tls_error(current) {
            return Attempt::Failed {
                reason: UnreachableReason::Tls,
                message,
            };
        }
        cause = current.source();
    }
    let reason = if error.is_timeout() {
        UnreachableReason::Timeout
    } else if error.is_connect() {
        UnreachableReason::Connect
    } else if error.is_body() || error.is_decode() {
        UnreachableReason::Interrupted
    } else {
        UnreachableReason::Protocol
    };
    Attempt::Failed { reason, message }
}

fn is_tls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    // rustls reports through `io::Error`s, possibly nested, and an `io::Error`'s `source()`
    // skips the error it wraps: unwrap them by hand.
    let mut current = error;
    loop {
        if current.is::<rustls::Error>() {
            return true;
        }
        match current
            .downcast_ref::<io::Error>()
            .and_then(|io_error| io_error.get_ref())
        {
            Some(inner) => current = inner,
            None => return false,
        }
    }
}

fn error_chain_text(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let part = current.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = current.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> takedown_model::clock::Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now()), Some(Duration::from_secs(7)));

        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:30 GMT"),
        );
        headers.insert(
            header::DATE,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers, now()), Some(Duration::from_secs(30)));

        headers.remove(header::DATE);
        // A date in our clock's past means "now".
        assert_eq!(retry_after(&headers, now()), Some(Duration::ZERO));

        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now()), None);
    }

    #[test]
    fn redirect_targets_are_resolved_and_checked() {
        let config = FetchConfig::default();
        let current = TargetUrl::parse("https://a.example/dir/page").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, HeaderValue::from_static("../img.jpg"));
        let next = redirect_target(&current, &headers, &config).unwrap();
        assert_eq!(next.as_str(), "https://a.example/img.jpg");

        headers.insert(
            header::LOCATION,
            HeaderValue::from_static("file:///etc/passwd"),
        );
        assert_eq!(
            redirect_target(&current, &headers, &config).unwrap_err(),
            RedirectProblem::Refused {
                url: "file:///etc/passwd".into(),
                error: UrlError::Scheme("file".into())
            }
        );

        headers.insert(
            header::LOCATION,
            HeaderValue::from_static("http://user:pw@b.example/"),
        );
        assert!(matches!(
            redirect_target(&current, &headers, &config),
            Err(RedirectProblem::Refused {
                error: UrlError::Credentials,
                ..
            })
        ));

        headers.remove(header::LOCATION);
        assert!(matches!(
            redirect_target(&current, &headers, &config),
            Err(RedirectProblem::Unusable(_))
        ));
    }

    #[test]
    fn transient_reasons_are_the_retryable_ones() {
        use UnreachableReason::*;
        for reason in [
            Dns,
            Connect,
            Timeout,
            Interrupted,
            HttpStatus(429),
            HttpStatus(503),
        ] {
            assert!(reason.is_transient(), "{reason:?}");
        }
        for reason in [
            Tls,
            Protocol,
            TooManyRedirects,
            HttpStatus(404),
            HttpStatus(403),
        ] {
            assert!(!reason.is_transient(), "{reason:?}");
        }
    }
}
