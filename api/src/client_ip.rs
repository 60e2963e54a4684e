//! Who is calling, by address: the socket's peer, or — when the peer is one of our own
//! reverse proxies (`TRUSTED_PROXIES`) — the client that proxy says it forwarded for.
//! Rate limits and the sign-in throttle key on this address; an `X-Forwarded-For` from
//! anyone else is ignored, so a client cannot pick its own address.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request},
    http::{HeaderMap, request::Parts},
    middleware::Next,
    response::Response,
};
use config::SettingsError;
use ipnet::IpNet;

use crate::ApiError;

/// `TRUSTED_PROXIES`: comma-separated addresses or networks (`10.0.0.5`,
/// `172.28.0.0/24`) whose `X-Forwarded-For` is believed. Empty (the default): none.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is neither an address nor a network"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        let raw = std::env::var("TRUSTED_PROXIES").unwrap_or_default();
        Self::parse(&raw).map_err(|reason| SettingsError::Invalid {
            name: "TRUSTED_PROXIES",
            value: raw,
            reason,
        })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: walking `X-Forwarded-For` from the right (the hop nearest
    /// us) past our own proxies, the first address they did not add themselves.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().unwrap_or(""))
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            // A hop that is not an address ends what our proxies vouch for.
            let Ok(hop) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = hop.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The calling client's address (its /64 for IPv6, see [`limit_key`]), set on every
/// request by [`resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// The address limits count by: an IPv4 address, or an IPv6 address's /64 (the block one
/// subscriber holds, and can walk through at will).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// Middleware: works out [`ClientIp`] once per request.
pub async fn resolve(
    axum::extract::State(trusted): axum::extract::State<std::sync::Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let client = limit_key(trusted.client(peer, request.headers()));
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("client address not resolved")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_claims() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let claimed = headers(&["1.2.3.4"]);
        assert_eq!(
            trusted.client(ip("203.0.113.9"), &claimed),
            ip("203.0.113.9")
        );
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.1"), &claimed), ip("10.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_first_hop_they_did_not_add() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7").unwrap();
        // The client forged the first entry; our proxies appended the rest.
        let chain = headers(&["6.6.6.6, 198.51.100.4", "192.168.1.7"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &chain), ip("198.51.100.4"));
        // Only proxies in the chain: the leftmost.
        let internal = headers(&["10.9.9.9"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &internal), ip("10.9.9.9"));
        // A garbled entry stops the walk: what the proxies vouch for ends there.
        let garbled = headers(&["198.51.100.4, nonsense"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &garbled), ip("10.1.2.3"));
        // IPv4-mapped IPv6 peers (dual-stack sockets) count as their IPv4 address.
        assert_eq!(
            trusted.client(ip("::ffff:10.1.2.3"), &headers(&["198.51.100.4"])),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64_block() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(limit_key(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(limit_key(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
    }

    #[test]
    fn a_bad_trusted_proxies_value_is_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.internal").is_err());
        assert!(TrustedProxies::parse(" ").unwrap().0.is_empty());
    }
}
