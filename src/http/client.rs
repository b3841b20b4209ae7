//! Who the client is: the peer's address, or behind trusted reverse
//! proxies the address they say they were connected from.
//!
//! A proxy appends the address of whoever connected to it to
//! `X-Forwarded-For`; everything to the left of that came from the client
//! and may be invented. So the client is found from the right: skip the
//! addresses of our own proxies, and the first one that is not ours is the
//! client. A client cannot choose its own address (and so cannot escape its
//! login limit or write another address into the audit log) by sending the
//! header itself.

use std::net::IpAddr;

use ipnet::IpNet;

/// `SIJILL_TRUSTED_PROXIES`: addresses and CIDR ranges of our own proxies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// `10.0.0.5, 10.1.0.0/16, ::1` — a bare address is a range of one.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{item}` is neither an IP address nor a CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client's address, from the peer's address and the
    /// `X-Forwarded-For` header (all of its lines, in order).
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            // Not from our proxy: whatever the header says was written by the client.
            return peer;
        }
        let mut client = peer;
        let hops = forwarded_for
            .iter()
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .rev();
        for hop in hops {
            match parse_hop(hop) {
                // Told to us by a proxy we trust: believe it, and go on if it
                // is one of ours too.
                Some(address) => {
                    client = address;
                    if !self.trusts(address) {
                        break;
                    }
                }
                // Garbage where an address should be: the last proxy we trust
                // is as far as we can see.
                None => break,
            }
        }
        client
    }
}

/// An IPv4 address that reached a dual-stack socket as `::ffff:a.b.c.d` is
/// that IPv4 address (for the proxy list, the limits and the audit log alike).
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` hop as proxies write them: `1.2.3.4`, `2001:db8::1`,
/// and with a port `1.2.3.4:5678` or `[2001:db8::1]:5678` (or bracketed
/// without one).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let address = if let Some(rest) = hop.strip_prefix('[') {
        rest.split_once(']')?.0.parse().ok()?
    } else if let Ok(address) = hop.parse::<IpAddr>() {
        address
    } else {
        let (host, port) = hop.rsplit_once(':')?;
        port.parse::<u16>().ok()?;
        IpAddr::V4(host.parse().ok()?)
    };
    Some(canonical(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_rightmost_address_that_is_not_a_proxy() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        let via_proxy = ip("10.0.0.5");
        // No proxies configured: the header is never read.
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.5"), &["1.2.3.4"]),
            ip("10.0.0.5")
        );
        // A stranger connecting directly cannot choose its address.
        assert_eq!(proxies.client(ip("8.8.8.8"), &["1.2.3.4"]), ip("8.8.8.8"));
        // Behind our proxy: the address it appended.
        assert_eq!(
            proxies.client(via_proxy, &["203.0.113.7"]),
            ip("203.0.113.7")
        );
        // The client sent its own header; the proxy appended the real address.
        assert_eq!(
            proxies.client(via_proxy, &["1.2.3.4, 203.0.113.7"]),
            ip("203.0.113.7")
        );
        // Two of our proxies in a row, and a header split over two lines.
        assert_eq!(
            proxies.client(
                via_proxy,
                &["6.6.6.6, 203.0.113.7", "192.168.1.1, 10.2.3.4"]
            ),
            ip("203.0.113.7")
        );
        // Garbage behind our proxies: the last proxy is the client we know.
        assert_eq!(
            proxies.client(via_proxy, &["not-an-ip, 10.2.3.4"]),
            ip("10.2.3.4")
        );
        // No header at all.
        assert_eq!(proxies.client(via_proxy, &[]), via_proxy);
        // IPv4-mapped IPv6 peers and hops are IPv4.
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.5"), &["::ffff:203.0.113.7"]),
            ip("203.0.113.7")
        );
        // Hops written with ports or brackets.
        assert_eq!(
            proxies.client(via_proxy, &["203.0.113.7:51234, 10.2.3.4:443"]),
            ip("203.0.113.7")
        );
        assert_eq!(
            proxies.client(via_proxy, &["[2001:db8::7]:51234"]),
            ip("2001:db8::7")
        );
        assert_eq!(
            proxies.client(via_proxy, &["[2001:db8::8]"]),
            ip("2001:db8::8")
        );
        assert_eq!(parse_hop("1.2.3.4:notaport"), None);
    }
}
