//! Loopback "hosting providers" for the demo and the tests: HTTP hosts serving pages and
//! generated media (never real propaganda) that can take content down and put it back, an SMTP
//! sink, and a JSON endpoint that deduplicates by `Idempotency-Key`.
//!
//! `takedown serve --demo` starts them with [`start_demo_providers`], builds its
//! [`Referrals`](crate::Referrals) with [`demo_settings`], starts the worker, and calls
//! [`seed_demo`] after the engine's demo data is loaded. A newcomer then sees three referrals
//! sent at start (two by e-mail, one by JSON POST) and, about 30 seconds later, the first
//! provider's copies disappear and its referral goes from `sent` to `removed`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use takedown_corpus::{encode, generate, Format, Style, Transform};
use takedown_engine::{Caller, DEMO_UNIT};
use takedown_fetch::{FetchConfig, IpCidr};
use takedown_store::referrals::{
    CaseStatus, DecisionKind, Delivery, NewProvider, NoticeFormat, ProviderUpdate,
};
use tokio::net::TcpListener;

use crate::smtp_sink::SmtpSink;
use crate::{
    CheckSchedule, CreateReferrals, Decision, IntakeRequest, ReferralConfig, ReferralError,
    ReferralResult, Referrals, SenderInfo, SmtpConfig,
};

/// A file a host serves.
#[derive(Clone)]
struct Hosted {
    content_type: String,
    body: Bytes,
    /// Gone (410) from this moment on.
    gone_at: Option<tokio::time::Instant>,
    /// How long to wait before answering (a slow provider).
    delay: Duration,
}

type Files = Arc<Mutex<HashMap<String, Hosted>>>;

/// A hosting provider on loopback: serves what was put at each path; a path taken down
/// answers 410 Gone, an unknown path 404.
#[derive(Debug)]
pub struct ProviderHost {
    address: SocketAddr,
    files: Files,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Hosted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hosted")
            .field("content_type", &self.content_type)
            .field("bytes", &self.body.len())
            .finish()
    }
}

impl ProviderHost {
    /// Starts a host listening on `address` (e.g. `127.0.0.1:0`).
    pub async fn start(address: &str) -> std::io::Result<ProviderHost> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let files: Files = Arc::new(Mutex::new(HashMap::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .fallback(serve_file)
            .with_state((files.clone(), requests.clone()));
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "demo host stopped");
            }
        });
        Ok(ProviderHost {
            address,
            files,
            requests,
            task,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://IP:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// The same URL with a host name instead of the address (for a resolver that maps the
    /// name to loopback).
    pub fn url_as(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{}", self.address.port(), path)
    }

    /// Serves `body` at `path`.
    pub fn put(&self, path: &str, content_type: &str, body: Vec<u8>) {
        self.lock().insert(
            path.to_string(),
            Hosted {
                content_type: content_type.to_string(),
                body: Bytes::from(body),
                gone_at: None,
                delay: Duration::ZERO,
            },
        );
    }

    /// Makes `path` answer only after `delay` (a slow provider).
    pub fn slow_down(&self, path: &str, delay: Duration) {
        if let Some(file) = self.lock().get_mut(path) {
            file.delay = delay;
        }
    }

    /// Serves an HTML page embedding the images at `images` (paths or URLs).
    pub fn put_page(&self, path: &str, title: &str, images: &[&str]) {
        let mut html = format!(
            "<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
        );
        for image in images {
            html.push_str(&format!("<p><img src=\"{image}\" alt=\"\"></p>"));
        }
        html.push_str("</body></html>");
        self.put(path, "text/html; charset=utf-8", html.into_bytes());
    }

    /// Takes `path` down now: it answers 410 Gone.
    pub fn take_down(&self, path: &str) {
        self.take_down_after(path, Duration::ZERO);
    }

    /// Takes `path` down after `delay` (real time).
    pub fn take_down_after(&self, path: &str, delay: Duration) {
        if let Some(file) = self.lock().get_mut(path) {
            file.gone_at = Some(tokio::time::Instant::now() + delay);
        }
    }

    /// Paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Hosted>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ProviderHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_file(
    State((files, requests)): State<(Files, Arc<Mutex<Vec<String>>>)>,
    uri: Uri,
) -> Response {
    let path = uri.path().to_string();
    requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.clone());
    let file = files
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&path)
        .cloned();
    if let Some(delay) = file
        .as_ref()
        .map(|file| file.delay)
        .filter(|d| !d.is_zero())
    {
        tokio::time::sleep(delay).await;
    }
    match file {
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
        Some(file)
            if file
                .gone_at
                .is_some_and(|at| at <= tokio::time::Instant::now()) =>
        {
            (
                StatusCode::GONE,
                "This content has been removed for violating our terms of service.",
            )
                .into_response()
        }
        Some(file) => (
            [(axum::http::header::CONTENT_TYPE, file.content_type)],
            file.body,
        )
            .into_response(),
    }
}

/// One request a [`JsonEndpoint`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRequest {
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
    /// The JSON body.
    pub body: String,
}

/// A provider's referral endpoint on loopback: accepts JSON POSTs and answers a repeated
/// `Idempotency-Key` with the first answer, without counting it as a new referral.
#[derive(Debug)]
pub struct JsonEndpoint {
    address: SocketAddr,
    received: Arc<Mutex<Vec<EndpointRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl JsonEndpoint {
    /// Starts an endpoint listening on `address`.
    pub async fn start(address: &str) -> std::io::Result<JsonEndpoint> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .fallback(receive)
            .with_state(received.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "demo endpoint stopped");
            }
        });
        Ok(JsonEndpoint {
            address,
            received,
            task,
        })
    }

    /// The URL to POST referrals to.
    pub fn url(&self) -> String {
        format!("http://{}/referrals", self.address)
    }

    /// Every request, re-deliveries included.
    pub fn received(&self) -> Vec<EndpointRequest> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests without re-deliveries (the first of each idempotency key).
    pub fn distinct(&self) -> Vec<EndpointRequest> {
        let mut seen = std::collections::HashSet::new();
        self.received()
            .into_iter()
            .filter(|request| match &request.idempotency_key {
                Some(key) => seen.insert(key.clone()),
                None => true,
            })
            .collect()
    }
}

impl Drop for JsonEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(received): State<Arc<Mutex<Vec<EndpointRequest>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim_matches('"').to_string());
    let body = String::from_utf8_lossy(&body).into_owned();
    if serde_json::from_str::<serde_json::Value>(&body).is_err() {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    }
    let mut list = received.lock().unwrap_or_else(|e| e.into_inner());
    let first = key.as_ref().and_then(|key| {
        list.iter()
            .position(|request| request.idempotency_key.as_ref() == Some(key))
    });
    list.push(EndpointRequest {
        idempotency_key: key,
        body,
    });
    let (status, number) = match first {
        Some(index) => (StatusCode::OK, index + 1),
        None => (StatusCode::ACCEPTED, list.len()),
    };
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        format!(
            "{{\"received\": {number}, \"duplicate\": {}}}",
            first.is_some()
        ),
    )
        .into_response()
}

/// Settings of the demo providers.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// When the first host removes its copies (real time from start).
    pub removal_after: Duration,
    /// Loopback addresses for the three hosts: one address per provider, so host rules can
    /// tell them apart (Linux routes all of 127.0.0.0/8 to the loopback interface).
    pub host_addresses: [String; 3],
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            removal_after: Duration::from_secs(30),
            host_addresses: ["127.0.0.2".into(), "127.0.0.3".into(), "127.0.0.4".into()],
        }
    }
}

/// The running demo providers. Everything stops when this is dropped.
#[derive(Debug)]
pub struct DemoProviders {
    /// "Demo Video Host" (e-mail, EU removal order): removes its copies after the delay.
    pub video_host: ProviderHost,
    /// "Demo File Locker" (e-mail, plain text): keeps its copy.
    pub file_locker: ProviderHost,
    /// "Demo Social" (JSON endpoint): keeps its copy.
    pub social: ProviderHost,
    /// Where e-mail referrals arrive.
    pub smtp: SmtpSink,
    /// Where Demo Social's JSON referrals arrive.
    pub endpoint: JsonEndpoint,
    /// The URLs the demo submits.
    pub urls: Vec<String>,
}

/// The engine demo's generated items (see `takedown_engine::load_demo`): same styles and seeds,
/// so the hosted copies match the demo banks.
fn demo_item(outlet: usize, item: u64) -> takedown_signals::Image {
    const STYLES: [Style; 4] = [Style::Poster, Style::Chat, Style::VideoStill, Style::Poster];
    let style = STYLES[outlet % STYLES.len()];
    let (width, height) = style.default_size();
    generate(
        style,
        2018_0425 + outlet as u64 * 1000 + item,
        width,
        height,
    )
}

/// Starts three loopback hosting providers serving copies of the demo banks' items (one
/// original, transformed copies, a page embedding one), the SMTP sink and the JSON endpoint.
pub async fn start_demo_providers(options: DemoOptions) -> std::io::Result<DemoProviders> {
    let [video_address, locker_address, social_address] = &options.host_addresses;
    let video_host = ProviderHost::start(&format!("{video_address}:0")).await?;
    let file_locker = ProviderHost::start(&format!("{locker_address}:0")).await?;
    let social = ProviderHost::start(&format!("{social_address}:0")).await?;
    let smtp = SmtpSink::start("127.0.0.1:0").await?;
    let endpoint = JsonEndpoint::start("127.0.0.1:0").await?;

    let amaq = demo_item(0, 0);
    video_host.put(
        "/media/release-0.png",
        "image/png",
        encode(&amaq, Format::Png),
    );
    video_host.put(
        "/media/release-0-copy.jpg",
        "image/jpeg",
        encode(
            &Transform::Jpeg(70).apply(&amaq, 1),
            Format::Jpeg { quality: 80 },
        ),
    );
    video_host.put_page(
        "/watch/amaq-release",
        "New release",
        &["/media/release-0-copy.jpg"],
    );
    for path in ["/media/release-0.png", "/media/release-0-copy.jpg"] {
        video_host.take_down_after(path, options.removal_after);
    }
    let al_bayan = demo_item(1, 1);
    file_locker.put(
        "/f/8d1c2a.jpg",
        "image/jpeg",
        encode(
            &Transform::Logo(10).apply(&al_bayan, 1),
            Format::Jpeg { quality: 85 },
        ),
    );
    let nashir = demo_item(3, 2);
    social.put(
        "/p/2231/photo.jpg",
        "image/jpeg",
        encode(
            &Transform::Jpeg(80).apply(&nashir, 2),
            Format::Jpeg { quality: 85 },
        ),
    );
    let urls = vec![
        video_host.url("/media/release-0.png"),
        video_host.url("/watch/amaq-release"),
        file_locker.url("/f/8d1c2a.jpg"),
        social.url("/p/2231/photo.jpg"),
    ];
    Ok(DemoProviders {
        video_host,
        file_locker,
        social,
        smtp,
        endpoint,
        urls,
    })
}

/// Fetcher and referral settings for the demo: loopback allowed, short timeouts, the SMTP
/// sink, and re-checks every 10 seconds for 10 minutes.
pub fn demo_settings(providers: &DemoProviders) -> (FetchConfig, ReferralConfig) {
    let loopback = "127.0.0.0/8".parse::<IpCidr>().ok();
    let fetch = FetchConfig {
        allowlist: loopback.into_iter().collect(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(10),
        per_host_interval: Duration::from_millis(50),
        retries: 1,
        backoff_base: Duration::from_millis(100),
        ..FetchConfig::default()
    };
    let smtp = providers.smtp.address();
    let referrals = ReferralConfig {
        schedule: CheckSchedule::every(Duration::from_secs(10), Duration::from_secs(600)),
        check_lease: Duration::from_secs(60),
        outbox_lease: Duration::from_secs(60),
        delivery_backoff: Duration::from_secs(5),
        delivery_timeout: Duration::from_secs(10),
        worker_interval: Duration::from_secs(2),
        sender: SenderInfo {
            organisation: DEMO_UNIT.into(),
            email: "iru@demo-unit.invalid".into(),
            issuing_authority: "Demo National Police, Internet Referral Unit".into(),
            member_state: "BE".into(),
            contact_point: "Demo IRU duty desk, +32 2 000 00 00, iru@demo-unit.invalid".into(),
            ..SenderInfo::default()
        },
        smtp: Some(SmtpConfig::plain(&smtp.ip().to_string(), smtp.port())),
        ..ReferralConfig::default()
    };
    (fetch, referrals)
}

/// What [`seed_demo`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSeed {
    /// References of the referrals created and sent.
    pub references: Vec<String>,
    /// URLs submitted.
    pub urls: Vec<String>,
}

/// Registers the demo providers (with host rules for their loopback addresses), submits the
/// demo URLs for the demo referral unit, confirms the cases, creates one referral per provider,
/// and delivers them at once. Waits (up to a minute) for the engine's index to finish loading.
/// Call after `takedown_engine::load_demo`.
pub async fn seed_demo(
    referrals: &Referrals,
    providers: &DemoProviders,
) -> ReferralResult<DemoSeed> {
    let engine = referrals.engine();
    for _ in 0..600 {
        if engine.is_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let admin = Caller::cli();
    let unit = engine.organisation_by_name(DEMO_UNIT).await?;
    let registry = [
        (
            "Demo Video Host",
            &providers.video_host,
            Delivery::Email,
            NoticeFormat::EuOrder,
            "abuse@video-host.demo.invalid".to_string(),
            String::new(),
        ),
        (
            "Demo File Locker",
            &providers.file_locker,
            Delivery::Email,
            NoticeFormat::Text,
            "legal@file-locker.demo.invalid".to_string(),
            String::new(),
        ),
        (
            "Demo Social",
            &providers.social,
            Delivery::Http,
            NoticeFormat::Json,
            String::new(),
            providers.endpoint.url(),
        ),
    ];
    for (name, host, delivery, notice_format, email, endpoint) in registry {
        let suffix = host.address().ip().to_string();
        match referrals.store().provider_by_name(name).await {
            Ok(_) => {
                referrals
                    .update_provider(
                        &admin,
                        name,
                        ProviderUpdate {
                            endpoint_url: Some(endpoint),
                            ..ProviderUpdate::default()
                        },
                    )
                    .await?;
            }
            Err(takedown_store::StoreError::NotFound(_)) => {
                referrals
                    .create_provider(
                        &admin,
                        NewProvider {
                            name: name.into(),
                            contact_email: email,
                            endpoint_url: endpoint,
                            delivery,
                            notice_format,
                            legal_representative: format!("{name} EU Legal Representative"),
                            member_state: "IE".into(),
                            contact_point: format!("{name} trust and safety"),
                        },
                    )
                    .await?;
                referrals.add_provider_rule(&admin, name, &suffix).await?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    referrals
        .submit_urls(
            &admin,
            IntakeRequest {
                urls: providers.urls.clone(),
                org: Some(unit.id),
                source: "demo".into(),
            },
        )
        .await?;
    let caller = Caller {
        org: Some(unit.id),
        ..Caller::cli()
    };
    for case in referrals
        .cases(&caller, Some(CaseStatus::Open), 100)
        .await?
    {
        if case.content_id.is_none() {
            continue;
        }
        referrals
            .decide(
                &caller,
                case.id,
                Decision {
                    decision: DecisionKind::Confirm,
                    entity: None,
                    tier: None,
                    grounds: Vec::new(),
                    reason: "matches a known release in the demo banks".into(),
                    add_to_bank: None,
                },
            )
            .await?;
    }
    let created = referrals
        .create_referrals(
            &caller,
            CreateReferrals {
                note: "Demo referral: generated media, not real propaganda.".into(),
                ..CreateReferrals::default()
            },
        )
        .await?;
    let mut references = Vec::new();
    for referral in &created.referrals {
        referrals.send(&caller, &referral.reference).await?;
        references.push(referral.reference.clone());
    }
    let owner = format!("demo-seed-{}", std::process::id());
    referrals.run_outbox(&owner).await?;
    if references.is_empty() {
        return Err(ReferralError::internal(
            "the demo created no referral (were the demo banks loaded?)",
        ));
    }
    Ok(DemoSeed {
        references,
        urls: providers.urls.clone(),
    })
}
