//! [`Referrals`]: the workflow's entry point, holding the engine, the fetcher, the HTTP client
//! for provider endpoints and the settings.

use std::sync::Arc;

use takedown_engine::{Caller, Engine};
use takedown_fetch::{FetchConfig, Fetcher, GuardedResolver, HostResolver, SystemResolver};
use takedown_model::{Clock, OrgId, Permission};
use takedown_store::referrals::{Provider, ProviderId};
use takedown_store::Store;

use crate::{ReferralConfig, ReferralError, ReferralResult};

/// The referral workflow. Create one per process with [`Referrals::new`] and share it as
/// `Arc<Referrals>`; the HTTP server, the command line and the background worker all go
/// through it.
pub struct Referrals {
    pub(crate) engine: Arc<Engine>,
    pub(crate) fetcher: Fetcher,
    /// Client for providers' JSON endpoints: the same address guard as the fetcher, applied
    /// at resolution time, so a provider record cannot be used to reach internal services.
    pub(crate) poster: reqwest::Client,
    pub(crate) policy: Arc<takedown_fetch::AddressPolicy>,
    pub(crate) config: ReferralConfig,
}

impl std::fmt::Debug for Referrals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Referrals")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Referrals {
    /// The workflow over `engine`, fetching with `fetch` and resolving names with the operating
    /// system.
    pub fn new(
        engine: Arc<Engine>,
        fetch: FetchConfig,
        config: ReferralConfig,
    ) -> ReferralResult<Arc<Referrals>> {
        Self::with_resolver(engine, fetch, Arc::new(SystemResolver), config)
    }

    /// The workflow with an injected resolver (tests map provider host names to loopback so no
    /// DNS query leaves the machine).
    pub fn with_resolver(
        engine: Arc<Engine>,
        fetch: FetchConfig,
        resolver: Arc<dyn HostResolver>,
        config: ReferralConfig,
    ) -> ReferralResult<Arc<Referrals>> {
        config.validate().map_err(ReferralError::Config)?;
        let fetcher =
            Fetcher::with_resolver(fetch.clone(), engine.clock().clone(), resolver.clone())
                .map_err(|error| ReferralError::Config(error.to_string()))?;
        let policy = Arc::new(takedown_fetch::AddressPolicy::with_allowlist(
            fetch.allowlist.clone(),
        ));
        let poster = build_poster(
            &fetch,
            &config,
            GuardedResolver::new(resolver, policy.clone()),
        )?;
        Ok(Arc::new(Referrals {
            engine,
            fetcher,
            poster,
            policy,
            config,
        }))
    }

    /// The settings.
    pub fn config(&self) -> &ReferralConfig {
        &self.config
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The fetcher.
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        self.engine.clock()
    }

    /// The organisation a caller's work belongs to: its own; the instance itself must name
    /// one.
    pub(crate) fn owning_org(&self, caller: &Caller, org: Option<OrgId>) -> ReferralResult<OrgId> {
        Ok(caller.owning_org(org)?)
    }

    /// Fails unless the caller may see records of `org`.
    pub(crate) fn check_scope(
        &self,
        caller: &Caller,
        org: OrgId,
        what: &str,
    ) -> ReferralResult<()> {
        match caller.org {
            Some(own) if own != org => Err(ReferralError::not_found(what.to_string())),
            _ => Ok(()),
        }
    }

    /// Every provider with its rules (any caller with the review permission).
    pub async fn providers(&self, caller: &Caller) -> ReferralResult<Vec<Provider>> {
        caller.require(Permission::Review)?;
        Ok(self.store().list_providers().await?)
    }

    /// A provider by name or numeric id.
    pub async fn provider(&self, caller: &Caller, name_or_id: &str) -> ReferralResult<Provider> {
        caller.require(Permission::Review)?;
        self.find_provider(name_or_id).await
    }

    pub(crate) async fn find_provider(&self, name_or_id: &str) -> ReferralResult<Provider> {
        if let Ok(id) = name_or_id.trim().parse::<i64>() {
            if let Ok(provider) = self.store().provider(ProviderId(id)).await {
                return Ok(provider);
            }
        }
        Ok(self.store().provider_by_name(name_or_id).await?)
    }

    /// Creates a provider (administrators).
    pub async fn create_provider(
        &self,
        caller: &Caller,
        new: takedown_store::referrals::NewProvider,
    ) -> ReferralResult<Provider> {
        caller.require(Permission::Administer)?;
        check_delivery(&new.delivery, &new.contact_email, &new.endpoint_url)?;
        Ok(self.store().create_provider(&caller.actor, new).await?)
    }

    /// Changes a provider (administrators).
    pub async fn update_provider(
        &self,
        caller: &Caller,
        name_or_id: &str,
        update: takedown_store::referrals::ProviderUpdate,
    ) -> ReferralResult<Provider> {
        caller.require(Permission::Administer)?;
        let provider = self.find_provider(name_or_id).await?;
        let delivery = update.delivery.unwrap_or(provider.delivery);
        let email = update
            .contact_email
            .clone()
            .unwrap_or_else(|| provider.contact_email.clone());
        let endpoint = update
            .endpoint_url
            .clone()
            .unwrap_or_else(|| provider.endpoint_url.clone());
        check_delivery(&delivery, &email, &endpoint)?;
        Ok(self
            .store()
            .update_provider(&caller.actor, provider.id, update)
            .await?)
    }

    /// Adds a domain-suffix rule (administrators); unassigned observations it covers are
    /// assigned at once. Returns the provider and how many were assigned.
    pub async fn add_provider_rule(
        &self,
        caller: &Caller,
        name_or_id: &str,
        host_suffix: &str,
    ) -> ReferralResult<(Provider, u64)> {
        caller.require(Permission::Administer)?;
        let provider = self.find_provider(name_or_id).await?;
        let (_, assigned) = self
            .store()
            .add_provider_rule(&caller.actor, provider.id, host_suffix)
            .await?;
        Ok((self.store().provider(provider.id).await?, assigned))
    }

    /// Removes a domain-suffix rule (administrators).
    pub async fn remove_provider_rule(
        &self,
        caller: &Caller,
        host_suffix: &str,
    ) -> ReferralResult<()> {
        caller.require(Permission::Administer)?;
        Ok(self
            .store()
            .remove_provider_rule(&caller.actor, host_suffix)
            .await?)
    }
}

fn check_delivery(
    delivery: &takedown_store::referrals::Delivery,
    email: &str,
    endpoint: &str,
) -> ReferralResult<()> {
    use takedown_store::referrals::Delivery;
    match delivery {
        Delivery::Email if !email.contains('@') => Err(ReferralError::invalid(
            "contact_email",
            "e-mail delivery needs a contact address",
        )),
        Delivery::Http => {
            let url = url::Url::parse(endpoint)
                .map_err(|error| ReferralError::invalid("endpoint_url", error.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ReferralError::invalid(
                    "endpoint_url",
                    "http delivery needs an http or https endpoint",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn build_poster(
    fetch: &FetchConfig,
    config: &ReferralConfig,
    resolver: GuardedResolver,
) -> ReferralResult<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ReferralError::Config(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .dns_resolver(Arc::new(resolver))
        .no_proxy()
        // A provider endpoint that redirects is answered as a failure rather than followed:
        // a POST carrying evidence goes exactly where the provider record says.
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .user_agent(fetch.user_agent.as_str())
        .connect_timeout(fetch.connect_timeout)
        .timeout(config.delivery_timeout)
        .http1_only()
        .build()
        .map_err(|error| ReferralError::Config(format!("cannot build the http client: {error}")))
}
