//! Outbound HTTP to URLs that API callers give us (media now; webhooks and
//! sheets share it): http and https only, bounded redirects, timeouts, a
//! size cap enforced while streaming, and a guard against server-side
//! request forgery.
//!
//! The guard refuses any address that is not global unicast (loopback,
//! private, link-local, unique-local, carrier-grade NAT, unspecified,
//! multicast, documentation and the other special-purpose ranges, and any
//! IPv6 form that embeds such an IPv4 address: see [`addr`]) unless the
//! operator allows its range in `fetch.allow_ranges`. It checks the addresses a name *resolves to*, in
//! the resolver reqwest connects with, so a name cannot pass the check and
//! then connect somewhere else; IP literals (which reqwest does not
//! resolve) are checked on the first URL and on every redirect.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use ipnet::IpNet;
use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
    redirect,
};

use crate::config;

mod addr;

/// Why a fetch did not produce a body.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL, or a redirect, points at an address the policy refuses.
    #[error("{0}")]
    Refused(String),
    /// No connection, a timeout, a TLS failure, too many redirects.
    #[error("could not fetch {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server answered with an error status.
    #[error("fetching {url} returned HTTP {status}")]
    Status { url: String, status: u16 },
    /// The body is over the caller's limit.
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
}

/// Which addresses outbound requests may reach.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddrPolicy {
    allow: Vec<IpNet>,
}

impl AddrPolicy {
    pub(crate) fn new(allow: Vec<IpNet>) -> AddrPolicy {
        AddrPolicy { allow }
    }

    /// A global unicast address (see [`addr`]), or one in a range the
    /// operator allowed (as written, or as the IPv4 address it embeds).
    pub(crate) fn permits(&self, ip: IpAddr) -> bool {
        let v4 = addr::unwrap_v4(ip).map(IpAddr::V4);
        addr::is_global(ip)
            || self
                .allow
                .iter()
                .any(|net| net.contains(&ip) || v4.is_some_and(|v4| net.contains(&v4)))
    }

    fn check_literal(&self, url: &Url) -> Result<(), FetchError> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(FetchError::Refused(format!("{url} has no host"))),
        };
        if self.permits(ip) {
            Ok(())
        } else {
            Err(refused(url.host_str().unwrap_or_default(), ip))
        }
    }
}

fn refused(host: &str, ip: IpAddr) -> FetchError {
    FetchError::Refused(format!(
        "{host} is a private, loopback or link-local address ({ip}); \
         the operator can allow its range in fetch.allow_ranges"
    ))
}

/// Resolves names with the system resolver and keeps only the addresses
/// the policy permits.
struct GuardedResolver(Arc<AddrPolicy>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            match (permitted.is_empty(), all.first()) {
                (false, _) => Ok(Box::new(permitted.into_iter()) as Addrs),
                (true, Some(first)) => Err(Box::new(refused(&host, first.ip())) as _),
                (true, None) => Err(format!("{host} has no address").into()),
            }
        })
    }
}

/// An HTTP client for caller-given URLs.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// The same guard, no redirects: a webhook POST answered with a
    /// redirect is a failed delivery, not a GET somewhere else.
    no_redirects: reqwest::Client,
    policy: Arc<AddrPolicy>,
}

impl Fetcher {
    pub fn new(config: &config::Fetch) -> anyhow::Result<Fetcher> {
        let allow = config
            .allow_ranges
            .iter()
            .map(|r| {
                r.parse::<IpNet>()
                    .or_else(|_| r.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| anyhow::anyhow!("fetch.allow_ranges: {r:?} is not a CIDR range"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let policy = Arc::new(AddrPolicy::new(allow));
        let max_redirects = config.max_redirects;
        let redirect_policy = policy.clone();
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
            .redirect(redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > max_redirects {
                    return attempt.error(format!("more than {max_redirects} redirects"));
                }
                let url = attempt.url().clone();
                if !matches!(url.scheme(), "http" | "https") {
                    return attempt.error(format!("redirect to a {} URL", url.scheme()));
                }
                match redirect_policy.check_literal(&url) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            // A redirect must not tell its target where it came from (the
            // first URL may carry a token in its query).
            .referer(false)
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("wadesk/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let no_redirects = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
            .redirect(redirect::Policy::none())
            .referer(false)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("wadesk/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher {
            client,
            no_redirects,
            policy,
        })
    }

    /// The client, for requests other than a plain GET (webhooks). Every
    /// request through it goes through the same guard.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A guarded client that follows no redirects (webhook deliveries set
    /// their own timeout per request).
    pub fn client_without_redirects(&self) -> &reqwest::Client {
        &self.no_redirects
    }

    /// [`Fetcher::check_url`], and for a host name, that it resolves to at
    /// least one address the policy permits: early feedback for a URL kept
    /// for later (a webhook). Every request is still checked as it connects.
    pub async fn check_url_resolved(&self, url: &Url) -> Result<(), FetchError> {
        self.check_url(url)?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let all: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|err| FetchError::Refused(format!("{host} does not resolve: {err}")))?
            .collect();
        if all.iter().any(|a| self.policy.permits(a.ip())) {
            return Ok(());
        }
        match all.first() {
            Some(denied) => Err(refused(host, denied.ip())),
            None => Err(FetchError::Refused(format!("{host} has no address"))),
        }
    }

    /// Checks a caller-given URL before any request: scheme and, for IP
    /// literals, the address policy.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Refused(format!(
                "only http and https URLs are fetched, not {}",
                url.scheme()
            )));
        }
        self.policy.check_literal(url)
    }

    /// GETs `url` and returns its body and Content-Type, refusing bodies
    /// over `limit` bytes (by Content-Length up front, then while reading).
    pub async fn get(&self, url: &Url, limit: u64) -> Result<Fetched, FetchError> {
        self.check_url(url)?;
        let mut resp = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| classify(url, e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let final_url = resp.url().clone();
        let mut body = Vec::with_capacity(resp.content_length().unwrap_or(0) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(url, e))? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body,
            content_type,
            final_url,
        })
    }
}

/// A fetched body.
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// Where the body came from after redirects.
    pub final_url: Url,
}

/// Turns a reqwest error into ours, finding a refusal from the resolver or
/// the redirect policy in its chain of causes.
pub(crate) fn classify(url: &Url, err: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(FetchError::Refused(msg)) = e.downcast_ref::<FetchError>() {
            return FetchError::Refused(msg.clone());
        }
        source = e.source();
    }
    let reason = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_redirect() {
        let mut msg = err.to_string();
        let mut s = std::error::Error::source(&err);
        while let Some(e) = s {
            msg = e.to_string();
            s = e.source();
        }
        msg
    } else if err.is_connect() {
        let mut msg = "connection failed".to_owned();
        let mut s = std::error::Error::source(&err);
        while let Some(e) = s {
            msg = format!("connection failed: {e}");
            s = e.source();
        }
        msg
    } else {
        err.to_string()
    };
    FetchError::Unreachable {
        url: url.to_string(),
        reason,
    }
}

/// A Retry-After header: seconds, or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_private_addresses() {
        let policy = AddrPolicy::default();
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(policy.permits(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!policy.permits(ip.parse().unwrap()), "{ip}");
        }
        let loopback = AddrPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(loopback.permits("127.0.0.1".parse().unwrap()));
        assert!(!loopback.permits("10.0.0.1".parse().unwrap()));
    }

    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_are_refused() {
        let fetcher = Fetcher::new(&config::Fetch {
            allow_ranges: vec![],
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_redirects: 2,
        })
        .unwrap();
        for url in ["http://localhost:9/x.png", "http://127.0.0.1:9/x.png"] {
            match fetcher.get(&url.parse().unwrap(), 10).await {
                Err(FetchError::Refused(msg)) => assert!(msg.contains("loopback"), "{msg}"),
                other => panic!("{url}: {:?}", other.map(|f| f.body.len())),
            }
        }
        assert!(
            Fetcher::new(&config::Fetch {
                allow_ranges: vec!["not a range".into()],
                connect_timeout: Duration::from_secs(2),
                timeout: Duration::from_secs(5),
                max_redirects: 2,
            })
            .is_err()
        );
    }

    /// Issue 18, defect 8: the first URL (and a token in its query) must
    /// not reach a redirect's target in a Referer header.
    #[tokio::test]
    async fn redirects_carry_no_referer() {
        use axum::{Router, http::HeaderMap, response::Redirect, routing::get};
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let app = Router::new()
            .route("/start", get(|| async { Redirect::temporary("/end") }))
            .route(
                "/end",
                get(move |headers: HeaderMap| {
                    let referer = headers
                        .get("referer")
                        .map(|v| v.to_str().unwrap_or_default().to_owned());
                    let _ = seen_tx.send(referer);
                    async { "done" }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let fetcher = Fetcher::new(&config::Fetch {
            allow_ranges: vec!["127.0.0.0/8".into()],
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_redirects: 2,
        })
        .unwrap();
        let url = format!("http://{addr}/start?token=secret").parse().unwrap();
        let fetched = fetcher.get(&url, 100).await.unwrap();
        assert_eq!(fetched.body, b"done");
        assert_eq!(seen.recv().await.unwrap(), None, "a Referer was sent");
    }

    #[test]
    fn allowed_ranges_cover_the_ipv4_inside_ipv6_forms() {
        let loopback = AddrPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        for ip in ["127.0.0.1", "::ffff:127.0.0.1", "::127.0.0.1"] {
            assert!(loopback.permits(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["64:ff9b::a9fe:a9fe", "::1", "10.0.0.1"] {
            assert!(!loopback.permits(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
