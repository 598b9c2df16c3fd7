//! The address guard: which IP addresses a fetch may connect to.
//!
//! [`classify`] is a pure function from an [`IpAddr`] to the special-purpose range it falls in
//! (loopback, private, link-local, cloud metadata, ...), or `None` for an ordinary public
//! address. [`AddressPolicy`] adds the operator's allowlist on top: an address is allowed when it
//! is public or inside an allowlisted CIDR, except cloud metadata endpoints, which no allowlist
//! can open (a careless `0.0.0.0/0` must not hand out the host's cloud credentials).
//!
//! IPv6 forms that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, the deprecated
//! IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and 6to4 `2002::/16`) are judged by the
//! IPv4 address inside, because that is where the packets end up.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A CIDR block such as `127.0.0.0/8` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCidr {
    network: IpAddr,
    prefix_len: u8,
}

/// Why a CIDR string was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before the `/` is not an IP address.
    #[error("invalid address in cidr `{0}`")]
    Address(String),
    /// The prefix length is not a number or longer than the address.
    #[error("invalid prefix length in cidr `{0}`")]
    PrefixLength(String),
    /// Bits are set after the prefix (`10.0.0.1/8`): almost always a typo for another block.
    #[error("cidr `{0}` has host bits set after the prefix")]
    HostBits(String),
}

impl IpCidr {
    /// A block from a network address and prefix length; host bits must be zero.
    pub fn new(network: IpAddr, prefix_len: u8) -> Result<Self, CidrError> {
        let text = format!("{network}/{prefix_len}");
        let max = match network {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix_len > max {
            return Err(CidrError::PrefixLength(text));
        }
        let cidr = IpCidr {
            network,
            prefix_len,
        };
        if mask_address(network, prefix_len) != network {
            return Err(CidrError::HostBits(text));
        }
        Ok(cidr)
    }

    /// A block holding exactly one address.
    pub fn single(address: IpAddr) -> Self {
        let prefix_len = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        IpCidr {
            network: address,
            prefix_len,
        }
    }

    /// Whether `address` lies in the block. IPv4 and IPv6 never contain each other: an
    /// IPv4-mapped IPv6 address is unwrapped by [`AddressPolicy`] before it is compared.
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                prefix_matches(&network.octets(), &address.octets(), self.prefix_len)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                prefix_matches(&network.octets(), &address.octets(), self.prefix_len)
            }
            _ => false,
        }
    }
}

fn mask_address(address: IpAddr, prefix_len: u8) -> IpAddr {
    fn mask<const N: usize>(mut octets: [u8; N], prefix_len: u8) -> [u8; N] {
        for (index, octet) in octets.iter_mut().enumerate() {
            let start = index * 8;
            let keep = (prefix_len as usize).saturating_sub(start).min(8);
            *octet &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
        }
        octets
    }
    match address {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(mask(v4.octets(), prefix_len))),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(mask(v6.octets(), prefix_len))),
    }
}

fn prefix_matches(network: &[u8], address: &[u8], prefix_len: u8) -> bool {
    let full_bytes = (prefix_len / 8) as usize;
    let rest_bits = prefix_len % 8;
    if network[..full_bytes] != address[..full_bytes] {
        return false;
    }
    if rest_bits == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest_bits);
    (network[full_bytes] & mask) == (address[full_bytes] & mask)
}

impl FromStr for IpCidr {
    type Err = CidrError;

    /// Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a block of one).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        match text.split_once('/') {
            None => text
                .parse::<IpAddr>()
                .map(IpCidr::single)
                .map_err(|_| CidrError::Address(text.to_owned())),
            Some((address, prefix)) => {
                let address: IpAddr = address
                    .parse()
                    .map_err(|_| CidrError::Address(text.to_owned()))?;
                let prefix_len: u8 = prefix
                    .parse()
                    .map_err(|_| CidrError::PrefixLength(text.to_owned()))?;
                IpCidr::new(address, prefix_len).map_err(|error| match error {
                    CidrError::HostBits(_) => CidrError::HostBits(text.to_owned()),
                    _ => CidrError::PrefixLength(text.to_owned()),
                })
            }
        }
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

impl<'de> serde::Deserialize<'de> for IpCidr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A special-purpose address range a fetch must not reach unless allowlisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpecialRange {
    /// `0.0.0.0` or `::`: connecting to it reaches the local host.
    Unspecified,
    /// `0.0.0.0/8`, "this network".
    ThisNetwork,
    /// `127.0.0.0/8` and `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT space, often used inside clouds.
    SharedAddressSpace,
    /// `169.254.0.0/16` and `fe80::/10`.
    LinkLocal,
    /// A cloud provider's instance metadata service (credentials live there). Never allowlistable.
    CloudMetadata,
    /// `192.0.0.0/24` and `2001::/23` (IETF protocol assignments, including Teredo).
    ProtocolAssignments,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15` and `2001:2::/48`.
    Benchmarking,
    /// `224.0.0.0/4` and `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `240.0.0.0/4`, reserved for future use.
    Reserved,
    /// `192.88.99.0/24`, the deprecated 6to4 relay anycast.
    Deprecated6to4Relay,
    /// `fc00::/7`.
    UniqueLocal,
    /// `fec0::/10`, deprecated site-local.
    SiteLocal,
    /// `::a.b.c.d`, the deprecated IPv4-compatible form (its embedded address is public).
    Ipv4Compatible,
    /// `64:ff9b:1::/48`, NAT64 prefix for local use (RFC 8215).
    LocalNat64,
    /// `100::/64`, discard-only.
    DiscardOnly,
    /// `5f00::/16`, segment routing identifiers (RFC 9602).
    SegmentRouting,
    /// IPv6 outside `2000::/3`, the only block allocated for global unicast.
    NotGlobalUnicast,
}

impl SpecialRange {
    /// A short lowercase name, for evidence records and messages.
    pub fn name(self) -> &'static str {
        match self {
            SpecialRange::Unspecified => "unspecified",
            SpecialRange::ThisNetwork => "this-network",
            SpecialRange::Loopback => "loopback",
            SpecialRange::Private => "private",
            SpecialRange::SharedAddressSpace => "shared-address-space",
            SpecialRange::LinkLocal => "link-local",
            SpecialRange::CloudMetadata => "cloud-metadata",
            SpecialRange::ProtocolAssignments => "protocol-assignments",
            SpecialRange::Documentation => "documentation",
            SpecialRange::Benchmarking => "benchmarking",
            SpecialRange::Multicast => "multicast",
            SpecialRange::Broadcast => "broadcast",
            SpecialRange::Reserved => "reserved",
            SpecialRange::Deprecated6to4Relay => "deprecated-6to4-relay",
            SpecialRange::UniqueLocal => "unique-local",
            SpecialRange::SiteLocal => "site-local",
            SpecialRange::Ipv4Compatible => "ipv4-compatible",
            SpecialRange::LocalNat64 => "local-nat64",
            SpecialRange::DiscardOnly => "discard-only",
            SpecialRange::SegmentRouting => "segment-routing",
            SpecialRange::NotGlobalUnicast => "not-global-unicast",
        }
    }
}

impl fmt::Display for SpecialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an IPv6 address carries an IPv4 address inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`.
    Ipv4Mapped,
    /// `::a.b.c.d` (deprecated).
    Ipv4Compatible,
    /// `64:ff9b::a.b.c.d` (RFC 6052 well-known NAT64 prefix).
    Nat64,
    /// `2002:aabb:ccdd::/48` (6to4).
    SixToFour,
}

/// Why an address is special: the range, and the IPv4 address inside when that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Classification {
    /// The range the address (or the IPv4 address inside it) falls in.
    pub range: SpecialRange,
    /// The embedded IPv4 address that was judged, for IPv6 forms that carry one.
    pub embedded: Option<(Embedding, Ipv4Addr)>,
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embedded {
            None => write!(f, "{}", self.range),
            Some((embedding, inner)) => {
                write!(f, "{} (embeds {inner} via {embedding:?})", self.range)
            }
        }
    }
}

/// Cloud instance-metadata endpoints: AWS/GCP/Azure/OpenStack/DigitalOcean, AWS ECS and EKS
/// credential agents, Oracle Cloud's legacy address, Alibaba Cloud, and AWS's IPv6 endpoints.
const CLOUD_METADATA: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0023)),
];

/// The special-purpose range `address` falls in, or `None` for an ordinary public address.
///
/// Pure and total: this is the function the guard's tests exercise exhaustively.
pub fn classify(address: IpAddr) -> Option<Classification> {
    match address {
        IpAddr::V4(v4) => classify_v4(v4).map(|range| Classification {
            range,
            embedded: None,
        }),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(address: Ipv4Addr) -> Option<SpecialRange> {
    if CLOUD_METADATA.contains(&IpAddr::V4(address)) {
        return Some(SpecialRange::CloudMetadata);
    }
    let [a, b, c, _] = address.octets();
    let range = match (a, b, c) {
        _ if address.is_unspecified() => SpecialRange::Unspecified,
        _ if address.is_broadcast() => SpecialRange::Broadcast,
        (0, _, _) => SpecialRange::ThisNetwork,
        (10, _, _) => SpecialRange::Private,
        (100, 64..=127, _) => SpecialRange::SharedAddressSpace,
        (127, _, _) => SpecialRange::Loopback,
        (169, 254, _) => SpecialRange::LinkLocal,
        (172, 16..=31, _) => SpecialRange::Private,
        (192, 0, 0) => SpecialRange::ProtocolAssignments,
        (192, 0, 2) => SpecialRange::Documentation,
        (192, 88, 99) => SpecialRange::Deprecated6to4Relay,
        (192, 168, _) => SpecialRange::Private,
        (198, 18..=19, _) => SpecialRange::Benchmarking,
        (198, 51, 100) => SpecialRange::Documentation,
        (203, 0, 113) => SpecialRange::Documentation,
        (224..=239, _, _) => SpecialRange::Multicast,
        (240..=255, _, _) => SpecialRange::Reserved,
        _ => return None,
    };
    Some(range)
}

fn classify_v6(address: Ipv6Addr) -> Option<Classification> {
    let plain = |range| {
        Some(Classification {
            range,
            embedded: None,
        })
    };
    // Judge an embedded IPv4 address by its own range; a public one inside a form that is
    // itself suspect is refused with `otherwise`.
    let embedded = |embedding, inner: Ipv4Addr, otherwise: Option<SpecialRange>| {
        classify_v4(inner)
            .or(otherwise)
            .map(|range| Classification {
                range,
                embedded: Some((embedding, inner)),
            })
    };
    if CLOUD_METADATA.contains(&IpAddr::V6(address)) {
        return plain(SpecialRange::CloudMetadata);
    }
    if address.is_unspecified() {
        return plain(SpecialRange::Unspecified);
    }
    if address.is_loopback() {
        return plain(SpecialRange::Loopback);
    }
    let segments = address.segments();
    let octets = address.octets();
    let last_v4 = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    if let Some(inner) = address.to_ipv4_mapped() {
        return embedded(Embedding::Ipv4Mapped, inner, None);
    }
    if segments[..6] == [0, 0, 0, 0, 0, 0] {
        // `::a.b.c.d`: deprecated since 2006, no legitimate server is reached this way.
        return embedded(
            Embedding::Ipv4Compatible,
            last_v4,
            Some(SpecialRange::Ipv4Compatible),
        );
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // DNS64 synthesises these for public IPv4 servers on IPv6-only networks: allow those.
        return embedded(Embedding::Nat64, last_v4, None);
    }
    if segments[..3] == [0x64, 0xff9b, 1] {
        return plain(SpecialRange::LocalNat64);
    }
    if segments[0] == 0x2002 {
        let inner = Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]);
        return embedded(Embedding::SixToFour, inner, None);
    }
    let range = match segments {
        [0x0100, 0, 0, 0, ..] => SpecialRange::DiscardOnly,
        [0x2001, 0x0db8, ..] => SpecialRange::Documentation,
        [0x2001, 0x0002, 0, ..] => SpecialRange::Benchmarking,
        [0x2001, 0x0000..=0x01ff, ..] => SpecialRange::ProtocolAssignments,
        [0x3fff, 0x0000..=0x0fff, ..] => SpecialRange::Documentation,
        [0x5f00, ..] => SpecialRange::SegmentRouting,
        [0xfc00..=0xfdff, ..] => SpecialRange::UniqueLocal,
        [0xfe80..=0xfebf, ..] => SpecialRange::LinkLocal,
        [0xfec0..=0xfeff, ..] => SpecialRange::SiteLocal,
        [0xff00..=0xffff, ..] => SpecialRange::Multicast,
        [0x2000..=0x3fff, ..] => return None,
        _ => SpecialRange::NotGlobalUnicast,
    };
    plain(range)
}

/// Why the guard refused an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Refusal {
    /// The refused address.
    pub address: IpAddr,
    /// The range it falls in.
    pub classification: Classification,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "address {} is {}", self.address, self.classification)?;
        if self.classification.range == SpecialRange::CloudMetadata {
            f.write_str(" and can never be allowlisted")
        } else {
            f.write_str(" and not in the allowlist")
        }
    }
}

/// The guard: public addresses plus the operator's allowlist, never cloud metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allowlist: Vec<IpCidr>,
}

impl AddressPolicy {
    /// A policy that allows only public addresses.
    pub fn public_only() -> Self {
        AddressPolicy::default()
    }

    /// A policy that also allows the given blocks (tests and demos allow `127.0.0.0/8`).
    pub fn with_allowlist(allowlist: impl IntoIterator<Item = IpCidr>) -> Self {
        AddressPolicy {
            allowlist: allowlist.into_iter().collect(),
        }
    }

    /// The allowlisted blocks.
    pub fn allowlist(&self) -> &[IpCidr] {
        &self.allowlist
    }

    /// Allows `address`, or says why not.
    pub fn check(&self, address: IpAddr) -> Result<(), Refusal> {
        let Some(classification) = classify(address) else {
            return Ok(());
        };
        if classification.range != SpecialRange::CloudMetadata && self.allowlisted(address) {
            return Ok(());
        }
        Err(Refusal {
            address,
            classification,
        })
    }

    fn allowlisted(&self, address: IpAddr) -> bool {
        // `::ffff:127.0.0.1` is 127.0.0.1 on the wire: an IPv4 allowlist entry covers it.
        let unwrapped = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.allowlist.iter().any(|cidr| {
            cidr.contains(address) || unwrapped.is_some_and(|inner| cidr.contains(inner))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range_of(text: &str) -> Option<SpecialRange> {
        classify(text.parse().unwrap()).map(|c| c.range)
    }

    #[test]
    fn public_addresses_are_not_special() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.0.3.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:82a::200e",
            "2001:4860:4860::8888",
            "2001:200::1",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(range_of(text), None, "{text}");
        }
    }

    #[test]
    fn every_special_ipv4_range_is_classified() {
        use SpecialRange::*;
        for (text, expected) in [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", ThisNetwork),
            ("0.255.255.255", ThisNetwork),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("100.64.0.0", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("100.100.100.200", CloudMetadata),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("169.254.0.1", LinkLocal),
            ("169.254.169.254", CloudMetadata),
            ("169.254.170.2", CloudMetadata),
            ("172.16.0.0", Private),
            ("172.31.255.255", Private),
            ("192.0.0.1", ProtocolAssignments),
            ("192.0.0.192", CloudMetadata),
            ("192.0.2.1", Documentation),
            ("192.88.99.1", Deprecated6to4Relay),
            ("192.168.1.1", Private),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("254.255.255.255", Reserved),
            ("255.255.255.255", Broadcast),
        ] {
            assert_eq!(range_of(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn every_special_ipv6_range_is_classified() {
        use SpecialRange::*;
        for (text, expected) in [
            ("::", Unspecified),
            ("::1", Loopback),
            ("fd00:ec2::254", CloudMetadata),
            ("fd00:ec2::23", CloudMetadata),
            ("fd12:3456::1", UniqueLocal),
            ("fc00::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", SiteLocal),
            ("ff02::1", Multicast),
            ("ff0e::1", Multicast),
            ("100::1", DiscardOnly),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001:2::1", Benchmarking),
            ("2001::1", ProtocolAssignments),
            ("2001:10::1", ProtocolAssignments),
            ("5f00::1", SegmentRouting),
            ("64:ff9b:1::1", LocalNat64),
            ("4000::1", NotGlobalUnicast),
            ("1234::1", NotGlobalUnicast),
            ("::2:0:0:1", NotGlobalUnicast),
            ("::8.8.8.8", Ipv4Compatible),
        ] {
            assert_eq!(range_of(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn ipv6_forms_embedding_ipv4_are_judged_by_the_inner_address() {
        use SpecialRange::*;
        for (text, expected, embedding, inner) in [
            (
                "::ffff:127.0.0.1",
                Loopback,
                Embedding::Ipv4Mapped,
                "127.0.0.1",
            ),
            (
                "::ffff:10.1.2.3",
                Private,
                Embedding::Ipv4Mapped,
                "10.1.2.3",
            ),
            (
                "::ffff:169.254.169.254",
                CloudMetadata,
                Embedding::Ipv4Mapped,
                "169.254.169.254",
            ),
            (
                "::ffff:0.0.0.0",
                Unspecified,
                Embedding::Ipv4Mapped,
                "0.0.0.0",
            ),
            (
                "::192.168.0.1",
                Private,
                Embedding::Ipv4Compatible,
                "192.168.0.1",
            ),
            (
                "::169.254.169.254",
                CloudMetadata,
                Embedding::Ipv4Compatible,
                "169.254.169.254",
            ),
            ("64:ff9b::10.0.0.1", Private, Embedding::Nat64, "10.0.0.1"),
            (
                "64:ff9b::a9fe:a9fe",
                CloudMetadata,
                Embedding::Nat64,
                "169.254.169.254",
            ),
            (
                "64:ff9b::127.0.0.1",
                Loopback,
                Embedding::Nat64,
                "127.0.0.1",
            ),
            (
                "2002:c0a8:0101::1",
                Private,
                Embedding::SixToFour,
                "192.168.1.1",
            ),
            (
                "2002:7f00:0001::",
                Loopback,
                Embedding::SixToFour,
                "127.0.0.1",
            ),
            (
                "2002:a9fe:a9fe::1",
                CloudMetadata,
                Embedding::SixToFour,
                "169.254.169.254",
            ),
        ] {
            let classification = classify(text.parse().unwrap()).expect(text);
            assert_eq!(classification.range, expected, "{text}");
            assert_eq!(
                classification.embedded,
                Some((embedding, inner.parse().unwrap())),
                "{text}"
            );
        }
    }

    #[test]
    fn every_ipv4_slash_16_agrees_with_the_standard_library_predicates() {
        // One address in each /16 (65,536 of them), both ends of the /16, and every address
        // the standard library calls special must be refused here too.
        for high in 0..=u16::MAX {
            for low in [0u16, 1, 0xfffe, 0xffff] {
                let address = Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
                let std_special = address.is_private()
                    || address.is_loopback()
                    || address.is_link_local()
                    || address.is_multicast()
                    || address.is_broadcast()
                    || address.is_documentation()
                    || address.is_unspecified();
                let ours = classify(IpAddr::V4(address));
                if std_special {
                    assert!(ours.is_some(), "{address} is special to std but not to us");
                }
                // The IPv4-mapped and NAT64 forms of every address are judged the same way.
                let mapped = IpAddr::V6(address.to_ipv6_mapped());
                assert_eq!(classify(mapped).map(|c| c.range), ours.map(|c| c.range));
                let [a, b, c, d] = address.octets();
                let nat64 = IpAddr::V6(Ipv6Addr::new(
                    0x64,
                    0xff9b,
                    0,
                    0,
                    0,
                    0,
                    u16::from_be_bytes([a, b]),
                    u16::from_be_bytes([c, d]),
                ));
                assert_eq!(classify(nat64).map(|c| c.range), ours.map(|c| c.range));
            }
        }
    }

    #[test]
    fn every_ipv6_first_segment_agrees_with_the_standard_library_predicates() {
        for first in 0..=u16::MAX {
            for rest in [0u16, 1, 0xffff] {
                let address = Ipv6Addr::new(first, rest, rest, rest, rest, rest, rest, rest | 1);
                let std_special = address.is_loopback()
                    || address.is_unspecified()
                    || address.is_multicast()
                    || address.is_unique_local()
                    || address.is_unicast_link_local();
                let global_unicast_block = (0x2000..=0x3fff).contains(&first);
                let ours = classify(IpAddr::V6(address));
                if std_special || !global_unicast_block {
                    assert!(ours.is_some(), "{address} should be special");
                }
            }
        }
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let loopback: IpCidr = "127.0.0.0/8".parse().unwrap();
        assert!(loopback.contains("127.0.0.1".parse().unwrap()));
        assert!(loopback.contains("127.255.0.9".parse().unwrap()));
        assert!(!loopback.contains("128.0.0.1".parse().unwrap()));
        assert!(!loopback.contains("::1".parse().unwrap()));
        let odd: IpCidr = "100.64.0.0/10".parse().unwrap();
        assert!(odd.contains("100.127.1.1".parse().unwrap()));
        assert!(!odd.contains("100.128.0.0".parse().unwrap()));
        let v6: IpCidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe00::1".parse().unwrap()));
        let everything: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains("203.0.113.1".parse().unwrap()));
        let single: IpCidr = "10.0.0.7".parse().unwrap();
        assert_eq!(single.to_string(), "10.0.0.7/32");
        assert!(single.contains("10.0.0.7".parse().unwrap()));
        assert!(!single.contains("10.0.0.8".parse().unwrap()));

        assert!(matches!(
            "10.0.0.1/8".parse::<IpCidr>(),
            Err(CidrError::HostBits(_))
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<IpCidr>(),
            Err(CidrError::PrefixLength(_))
        ));
        assert!(matches!(
            "::/129".parse::<IpCidr>(),
            Err(CidrError::PrefixLength(_))
        ));
        assert!(matches!(
            "ten/8".parse::<IpCidr>(),
            Err(CidrError::Address(_))
        ));
        assert!(matches!(
            "10.0.0.0/x".parse::<IpCidr>(),
            Err(CidrError::PrefixLength(_))
        ));
    }

    #[test]
    fn policy_refuses_special_addresses_unless_allowlisted() {
        let strict = AddressPolicy::public_only();
        assert!(strict.check("93.184.216.34".parse().unwrap()).is_ok());
        let refusal = strict.check("127.0.0.1".parse().unwrap()).unwrap_err();
        assert_eq!(refusal.classification.range, SpecialRange::Loopback);
        assert!(refusal.to_string().contains("127.0.0.1 is loopback"));

        let loopback_allowed = AddressPolicy::with_allowlist(["127.0.0.0/8".parse().unwrap()]);
        assert!(loopback_allowed.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(loopback_allowed.check("127.0.0.2".parse().unwrap()).is_ok());
        assert!(loopback_allowed
            .check("::ffff:127.0.0.1".parse().unwrap())
            .is_ok());
        assert!(loopback_allowed.check("::1".parse().unwrap()).is_err());
        assert!(loopback_allowed.check("10.0.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn cloud_metadata_is_refused_even_when_everything_is_allowlisted() {
        let everything =
            AddressPolicy::with_allowlist(["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()]);
        assert!(everything.check("10.0.0.1".parse().unwrap()).is_ok());
        for text in [
            "169.254.169.254",
            "100.100.100.200",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            let refusal = everything.check(text.parse().unwrap()).unwrap_err();
            assert_eq!(
                refusal.classification.range,
                SpecialRange::CloudMetadata,
                "{text}"
            );
            assert!(refusal.to_string().contains("never be allowlisted"));
        }
    }
}
