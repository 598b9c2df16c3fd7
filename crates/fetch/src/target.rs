//! [`TargetUrl`]: a URL that has passed the checks that need no network, so the fetcher and
//! every redirect hop start from the same validated type.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// Why a URL cannot be fetched, decided from its text alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("invalid url: {0}")]
    Parse(String),
    /// Only `http` and `https` are fetched: `file:`, `ftp:`, `gopher:` and friends reach local
    /// files or speak protocols an attacker can abuse through a fetcher.
    #[error("unsupported scheme `{0}`: only http and https are fetched")]
    Scheme(String),
    /// `user:password@` in a URL: the fetcher must not send credentials an analyst pasted by
    /// accident, nor let a page smuggle them in a redirect, and such URLs are a classic
    /// phishing disguise (`https://provider.com@evil.example/`).
    #[error("url carries credentials (user or password): remove them before fetching")]
    Credentials,
    /// Longer than the configured maximum.
    #[error("url is {length} bytes long, more than the limit of {limit}")]
    TooLong {
        /// Length of the URL text.
        length: usize,
        /// The configured maximum.
        limit: usize,
    },
    /// No host to connect to.
    #[error("url has no host")]
    NoHost,
}

/// An absolute `http` or `https` URL with a host, no credentials, and a bounded length.
///
/// The host's addresses are checked later, at resolution time, because only then are they known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetUrl {
    url: Url,
}

/// URLs above this many bytes are refused unless the configuration says otherwise.
pub const DEFAULT_MAX_URL_LENGTH: usize = 4096;

impl TargetUrl {
    /// Parses and checks `text` with the default length limit.
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        Self::parse_with_limit(text, DEFAULT_MAX_URL_LENGTH)
    }

    /// Parses and checks `text`, refusing URLs longer than `max_length` bytes.
    pub fn parse_with_limit(text: &str, max_length: usize) -> Result<Self, UrlError> {
        // Check the raw length before parsing so an absurd input costs nothing.
        if text.len() > max_length {
            return Err(UrlError::TooLong {
                length: text.len(),
                limit: max_length,
            });
        }
        let url = Url::parse(text.trim()).map_err(|error| UrlError::Parse(error.to_string()))?;
        Self::from_url(url, max_length)
    }

    /// Checks an already parsed URL (a redirect target, a media URL found in a page).
    pub fn from_url(url: Url, max_length: usize) -> Result<Self, UrlError> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(UrlError::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        if url.host().is_none() {
            return Err(UrlError::NoHost);
        }
        // Normalisation (percent-encoding, IDNA) can make the URL longer than its text.
        let length = url.as_str().len();
        if length > max_length {
            return Err(UrlError::TooLong {
                length,
                limit: max_length,
            });
        }
        Ok(TargetUrl { url })
    }

    /// The URL.
    pub fn as_url(&self) -> &Url {
        &self.url
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The host as the per-host limits key it: lowercase name or IP address text, no port
    /// (two ports of one provider are still one provider to be polite to).
    pub fn host_key(&self) -> String {
        match self.url.host() {
            Some(Host::Domain(name)) => name.trim_end_matches('.').to_ascii_lowercase(),
            Some(Host::Ipv4(v4)) => v4.to_string(),
            Some(Host::Ipv6(v6)) => v6.to_string(),
            None => String::new(),
        }
    }

    /// The host's IP address when the URL names one literally (`http://10.0.0.1/`): such URLs
    /// never go through the resolver, so the fetcher checks them itself.
    pub fn literal_ip(&self) -> Option<IpAddr> {
        match self.url.host() {
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        }
    }

    /// The host name when the URL names one (lowercase, punycode for international names).
    pub fn domain(&self) -> Option<&str> {
        match self.url.host() {
            Some(Host::Domain(name)) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

impl std::str::FromStr for TargetUrl {
    type Err = UrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TargetUrl::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_urls() {
        let url = TargetUrl::parse("https://Example.COM/a/b.jpg?x=1#frag").unwrap();
        assert_eq!(url.host_key(), "example.com");
        assert_eq!(url.domain(), Some("example.com"));
        assert_eq!(url.literal_ip(), None);
        assert!(TargetUrl::parse("http://example.com:8080/").is_ok());
    }

    #[test]
    fn refuses_other_schemes() {
        for text in [
            "file:///etc/passwd",
            "ftp://example.com/x",
            "gopher://127.0.0.1:6379/_INFO",
            "javascript:alert(1)",
            "data:text/plain,hi",
            "dict://localhost:11211/stat",
        ] {
            assert!(
                matches!(TargetUrl::parse(text), Err(UrlError::Scheme(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_credentials_with_a_reason() {
        for text in [
            "http://user:pass@example.com/",
            "http://user@example.com/",
            "https://provider.com@evil.example/",
            "http://:secret@example.com/",
        ] {
            let error = TargetUrl::parse(text).unwrap_err();
            assert_eq!(error, UrlError::Credentials, "{text}");
        }
        assert!(UrlError::Credentials.to_string().contains("credentials"));
    }

    #[test]
    fn refuses_absurd_lengths_and_garbage() {
        let long = format!("https://example.com/{}", "a".repeat(5000));
        assert!(matches!(
            TargetUrl::parse(&long),
            Err(UrlError::TooLong { limit: 4096, .. })
        ));
        assert!(TargetUrl::parse_with_limit(&long, 10_000).is_ok());
        assert!(matches!(
            TargetUrl::parse("not a url"),
            Err(UrlError::Parse(_))
        ));
        assert!(matches!(
            TargetUrl::parse("http://"),
            Err(UrlError::Parse(_))
        ));
    }

    #[test]
    fn literal_ip_hosts_are_normalised_so_the_guard_sees_the_real_address() {
        // WHATWG parsing turns every spelling of an IPv4 address into dotted decimal, so
        // `0x7f.1` or `2130706433` cannot slip past a check on 127.0.0.1.
        for text in [
            "http://127.0.0.1/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://127.1/",
        ] {
            let url = TargetUrl::parse(text).unwrap();
            assert_eq!(
                url.literal_ip(),
                Some("127.0.0.1".parse().unwrap()),
                "{text}"
            );
            assert_eq!(url.host_key(), "127.0.0.1");
        }
        let v6 = TargetUrl::parse("http://[::ffff:169.254.169.254]/").unwrap();
        assert_eq!(v6.literal_ip(), Some("::ffff:a9fe:a9fe".parse().unwrap()));
    }

    #[test]
    fn international_names_become_punycode() {
        let url = TargetUrl::parse("https://bücher.example/").unwrap();
        assert_eq!(url.domain(), Some("xn--bcher-kva.example"));
    }
}
