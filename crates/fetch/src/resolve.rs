//! Name resolution with the address guard applied to every answer.
//!
//! [`HostResolver`] is the injectable lookup (the operating system's in production, a map in
//! tests). [`GuardedResolver`] wraps one for the HTTP client: every time the client opens a
//! connection it asks this resolver, which checks each address with the [`AddressPolicy`] and
//! hands back only the allowed ones. The client then connects only to those, so there is no
//! window between "check" and "connect" for a DNS rebinding to slip through, and every
//! redirect hop and every new connection is checked again.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::address::{AddressPolicy, Refusal};

/// The future a [`HostResolver`] returns.
pub type Lookup = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns a host name into IP addresses.
pub trait HostResolver: Send + Sync + fmt::Debug + 'static {
    /// All addresses of `host` (a lowercase name, punycode for international names).
    fn lookup(&self, host: &str) -> Lookup;
}

/// The operating system's resolver (`getaddrinfo` on a blocking thread, through tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn lookup(&self, host: &str) -> Lookup {
        let host = host.to_owned();
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addresses.map(|address| address.ip()).collect())
        })
    }
}

/// A resolver answering from a fixed table, for tests and demos: no DNS traffic at all.
///
/// A name may have a sequence of answers: each lookup takes the next one and the last repeats,
/// which is how tests make a name re-resolve to a different address (DNS rebinding).
#[derive(Debug, Default)]
pub struct StaticResolver {
    table: Mutex<HashMap<String, NameEntry>>,
}

#[derive(Debug, Default)]
struct NameEntry {
    answers: Vec<Vec<IpAddr>>,
    lookups: usize,
}

impl StaticResolver {
    /// An empty table: every name is unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name` answering `addresses` on every lookup.
    pub fn with(self, name: &str, addresses: impl IntoIterator<Item = IpAddr>) -> Self {
        self.with_sequence(name, [addresses.into_iter().collect::<Vec<_>>()])
    }

    /// Adds `name` answering each of `answers` in turn; the last one repeats.
    pub fn with_sequence(self, name: &str, answers: impl IntoIterator<Item = Vec<IpAddr>>) -> Self {
        if let Ok(mut table) = self.table.lock() {
            table.insert(
                name.to_ascii_lowercase(),
                NameEntry {
                    answers: answers.into_iter().collect(),
                    lookups: 0,
                },
            );
        }
        self
    }

    /// How many times `name` has been looked up.
    pub fn lookups(&self, name: &str) -> usize {
        self.table
            .lock()
            .ok()
            .and_then(|table| table.get(name).map(|entry| entry.lookups))
            .unwrap_or(0)
    }
}

impl HostResolver for StaticResolver {
    fn lookup(&self, host: &str) -> Lookup {
        let answer = match self.table.lock() {
            Ok(mut table) => match table.get_mut(host) {
                Some(entry) => {
                    let index = entry.lookups.min(entry.answers.len().saturating_sub(1));
                    entry.lookups += 1;
                    Ok(entry.answers.get(index).cloned().unwrap_or_default())
                }
                None => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no such host `{host}` in the static resolver"),
                )),
            },
            Err(_) => Err(io::Error::other("static resolver table poisoned")),
        };
        Box::pin(async move { answer })
    }
}

/// Why the guarded resolver gave the client no address. Found again in the client's error
/// chain by the fetcher, which turns it into an outcome.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The lookup itself failed (unknown name, no DNS server, ...).
    #[error("dns lookup of `{host}` failed: {source}")]
    Lookup {
        /// The name looked up.
        host: String,
        /// What the resolver said.
        source: io::Error,
    },
    /// The name has no addresses.
    #[error("dns lookup of `{host}` returned no addresses")]
    NoAddresses {
        /// The name looked up.
        host: String,
    },
    /// Every address of the name was refused by the guard.
    #[error("every address of `{host}` was refused: {}", refusal_list(.refusals))]
    Refused {
        /// The name looked up.
        host: String,
        /// One refusal per address.
        refusals: Vec<Refusal>,
    },
}

fn refusal_list(refusals: &[Refusal]) -> String {
    refusals
        .iter()
        .map(Refusal::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A [`HostResolver`] with the [`AddressPolicy`] applied to its answers.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    inner: Arc<dyn HostResolver>,
    policy: Arc<AddressPolicy>,
}

impl GuardedResolver {
    /// Wraps `inner` so only addresses `policy` allows come out.
    pub fn new(inner: Arc<dyn HostResolver>, policy: Arc<AddressPolicy>) -> Self {
        GuardedResolver { inner, policy }
    }

    /// Looks `host` up and keeps the allowed addresses. A name with some refused addresses
    /// still resolves to its allowed ones: the client never sees the refused ones, so it
    /// cannot connect to them.
    pub async fn resolve_allowed(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let addresses = self
            .inner
            .lookup(host)
            .await
            .map_err(|source| ResolveError::Lookup {
                host: host.to_owned(),
                source,
            })?;
        if addresses.is_empty() {
            return Err(ResolveError::NoAddresses {
                host: host.to_owned(),
            });
        }
        let mut allowed = Vec::with_capacity(addresses.len());
        let mut refusals = Vec::new();
        for address in addresses {
            match self.policy.check(address) {
                Ok(()) => allowed.push(address),
                Err(refusal) => refusals.push(refusal),
            }
        }
        if allowed.is_empty() {
            return Err(ResolveError::Refused {
                host: host.to_owned(),
                refusals,
            });
        }
        Ok(allowed)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guarded = self.clone();
        Box::pin(async move {
            let allowed = guarded.resolve_allowed(name.as_str()).await?;
            // Port 0: the client puts the URL's port (or the scheme's default) in its place.
            let addresses: reqwest::dns::Addrs = Box::new(
                allowed
                    .into_iter()
                    .map(|address| SocketAddr::new(address, 0)),
            );
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::SpecialRange;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn guarded(resolver: StaticResolver, allowlist: &[&str]) -> GuardedResolver {
        let policy = AddressPolicy::with_allowlist(allowlist.iter().map(|c| c.parse().unwrap()));
        GuardedResolver::new(Arc::new(resolver), Arc::new(policy))
    }

    #[tokio::test]
    async fn a_name_resolving_to_metadata_is_refused_without_connecting() {
        let resolver = guarded(
            StaticResolver::new().with("metadata.example", [ip("169.254.169.254")]),
            &[],
        );
        let error = resolver
            .resolve_allowed("metadata.example")
            .await
            .unwrap_err();
        let ResolveError::Refused { refusals, .. } = error else {
            panic!("expected a refusal, got {error:?}");
        };
        assert_eq!(refusals.len(), 1);
        assert_eq!(
            refusals[0].classification.range,
            SpecialRange::CloudMetadata
        );
    }

    #[tokio::test]
    async fn refused_addresses_are_dropped_and_allowed_ones_kept() {
        let resolver = guarded(
            StaticResolver::new().with(
                "mixed.example",
                [ip("10.0.0.1"), ip("93.184.216.34"), ip("fe80::1")],
            ),
            &[],
        );
        let allowed = resolver.resolve_allowed("mixed.example").await.unwrap();
        assert_eq!(allowed, vec![ip("93.184.216.34")]);
    }

    #[tokio::test]
    async fn every_lookup_is_checked_again_so_rebinding_is_caught() {
        let inner = Arc::new(StaticResolver::new().with_sequence(
            "rebind.example",
            [vec![ip("127.0.0.1")], vec![ip("10.0.0.1")]],
        ));
        let policy = Arc::new(AddressPolicy::with_allowlist(["127.0.0.0/8"
            .parse()
            .unwrap()]));
        let resolver = GuardedResolver::new(inner.clone(), policy);
        assert_eq!(
            resolver.resolve_allowed("rebind.example").await.unwrap(),
            vec![ip("127.0.0.1")]
        );
        let second = resolver.resolve_allowed("rebind.example").await;
        assert!(matches!(second, Err(ResolveError::Refused { .. })));
        assert_eq!(inner.lookups("rebind.example"), 2);
    }

    #[tokio::test]
    async fn unknown_and_empty_names_are_lookup_failures() {
        let resolver = guarded(StaticResolver::new().with("empty.example", []), &[]);
        assert!(matches!(
            resolver.resolve_allowed("nowhere.example").await,
            Err(ResolveError::Lookup { .. })
        ));
        assert!(matches!(
            resolver.resolve_allowed("empty.example").await,
            Err(ResolveError::NoAddresses { .. })
        ));
    }

    #[tokio::test]
    async fn the_client_facing_resolver_returns_only_allowed_socket_addresses() {
        use reqwest::dns::Resolve as _;
        let resolver = guarded(
            StaticResolver::new().with("two.example", [ip("127.0.0.1"), ip("192.168.0.1")]),
            &["127.0.0.0/8"],
        );
        let addresses: Vec<SocketAddr> = resolver
            .resolve("two.example".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addresses, vec!["127.0.0.1:0".parse().unwrap()]);
    }
}
