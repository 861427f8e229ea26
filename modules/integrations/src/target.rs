//! Webhook targets: an `http(s)` URL whose host must not be (or resolve to) a loopback,
//! private, link-local or otherwise internal address, unless `webhooks.allow_private_targets`.
//! Checked when an endpoint is created and again before every delivery, which then connects
//! only to the addresses checked (no second lookup an attacker's DNS could answer otherwise).

use keiyaku_kernel::FieldCode;
use keiyaku_kernel::validate::{Invalid, Rule};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Longest accepted URL.
pub const URL_MAX: usize = 2000;

/// Whether an address is one a webhook must not reach without `allow_private_targets`.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || v6.is_multicast()
                // Documentation (2001:db8::/32) and the NAT64 prefix of IPv4 addresses.
                || (v6.segments()[0] == 0x2001 && v6.segments()[1] == 0x0db8)
                || (v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0])
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        // 0.0.0.0/8, shared address space 100.64.0.0/10, benchmarking 198.18.0.0/15, 240.0.0.0/4.
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

/// A parsed, acceptable target URL (before its host is resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: url::Url,
    pub host: String,
    pub port: u16,
}

fn refused(field: &str, ja: &str, en: &str, code: FieldCode) -> Invalid {
    Invalid::new(field, Rule::Custom { code, ja: ja.into(), en: en.into() })
}

fn private(field: &str) -> Invalid {
    refused(
        field,
        "内部ネットワーク(ループバック・プライベート・リンクローカル)のアドレスには送信できません。",
        "Loopback, private and link-local addresses cannot be webhook targets.",
        FieldCode::PrivateTarget,
    )
}

/// Parses `raw` as a target: `http` or `https`, a host, no credentials, at most
/// [`URL_MAX`] characters; refuses names and literal addresses that are internal unless
/// `allow_private`.
pub fn parse(field: &str, raw: &str, allow_private: bool) -> Result<Target, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Invalid::new(field, Rule::Required));
    }
    if raw.chars().count() > URL_MAX {
        return Err(Invalid::new(field, Rule::TooLong { max: URL_MAX }));
    }
    let bad_url = || {
        refused(
            field,
            "http:// または https:// で始まるURLを入力してください。",
            "Enter a URL starting with http:// or https://.",
            FieldCode::InvalidUrl,
        )
    };
    let url = url::Url::parse(raw).map_err(|_| bad_url())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad_url());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            field,
            "URLにユーザー名やパスワードは含められません。",
            "A URL with a user name or password is not accepted.",
            FieldCode::InvalidUrl,
        ));
    }
    let Some(host) = url.host() else { return Err(bad_url()) };
    let port = url.port_or_known_default().unwrap_or(443);
    let (host, literal) = match host {
        url::Host::Domain(d) => (d.trim_end_matches('.').to_ascii_lowercase(), None),
        url::Host::Ipv4(ip) => (ip.to_string(), Some(IpAddr::V4(ip))),
        url::Host::Ipv6(ip) => (ip.to_string(), Some(IpAddr::V6(ip))),
    };
    if !allow_private {
        let local_name = host == "localhost"
            || host.ends_with(".localhost")
            || host.ends_with(".local")
            || host.ends_with(".internal")
            || !host.contains('.') && literal.is_none();
        if local_name || literal.is_some_and(is_internal) {
            return Err(private(field));
        }
    }
    Ok(Target { url, host, port })
}

/// Resolves the target's host and checks every address; the addresses to connect to.
pub async fn resolve(field: &str, target: &Target, allow_private: bool) -> Result<Vec<SocketAddr>, Invalid> {
    let addrs: Vec<SocketAddr> = match target.url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), target.port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), target.port)],
        _ => match tokio::net::lookup_host((target.host.as_str(), target.port)).await {
            Ok(a) => a.collect(),
            Err(_) => Vec::new(),
        },
    };
    if addrs.is_empty() {
        return Err(refused(
            field,
            "URLのホスト名を解決できません。",
            "The URL's host name cannot be resolved.",
            FieldCode::UnresolvableHost,
        ));
    }
    if !allow_private && addrs.iter().any(|a| is_internal(a.ip())) {
        return Err(private(field));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_and_public_ones_allowed() {
        let refused = [
            "http://127.0.0.1/hook",
            "http://127.10.0.1:8080/",
            "http://[::1]/",
            "http://10.0.0.5/",
            "http://10.255.255.255/",
            "http://172.16.0.1/",
            "http://172.31.255.254/",
            "http://192.168.1.10/",
            "http://169.254.169.254/latest/meta-data",
            "http://[fc00::1]/",
            "http://[fd12:3456::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
            "http://localhost/",
            "http://LOCALHOST:3000/",
            "http://api.localhost/",
            "http://printer.local/",
            "http://metadata.google.internal/",
            "http://intranet/",
        ];
        for url in refused {
            let e = parse("url", url, false).err();
            assert_eq!(e.map(|e| e.rule.code()), Some(FieldCode::PrivateTarget), "{url}");
            assert!(parse("url", url, true).is_ok(), "{url} with allow_private_targets");
        }
        let allowed = [
            "https://hooks.example.com/keiyaku",
            "http://203.0.114.1/",
            "https://8.8.8.8/",
            "https://172.32.0.1/",
            "https://192.169.0.1/",
            "https://[2606:4700::1111]/",
            "https://example.jp:8443/a?b=c",
        ];
        for url in allowed {
            assert!(parse("url", url, false).is_ok(), "{url}");
        }
        assert!(is_internal("172.16.0.0".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))));
        assert!(!is_internal("172.15.255.255".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))));
    }

    #[test]
    fn only_plain_http_urls_without_credentials() {
        for (url, code) in [
            ("", "required"),
            ("ftp://example.com/", "invalid_url"),
            ("file:///etc/passwd", "invalid_url"),
            ("example.com/hook", "invalid_url"),
            ("https://user:pw@example.com/", "invalid_url"),
        ] {
            assert_eq!(parse("url", url, false).err().map(|e| e.rule.code().as_str()), Some(code), "{url}");
        }
        let long = format!("https://example.com/{}", "a".repeat(URL_MAX));
        assert_eq!(parse("url", &long, false).err().map(|e| e.rule.code()), Some(FieldCode::TooLong));
    }

    #[tokio::test]
    async fn resolved_addresses_are_checked_too() {
        // A name that resolves to loopback is refused like the literal.
        let t = parse("url", "http://localhost./", true).unwrap_or_else(|e| panic!("{e:?}"));
        let e = resolve("url", &t, false).await.err();
        assert_eq!(e.map(|e| e.rule.code()), Some(FieldCode::PrivateTarget));
        assert!(resolve("url", &t, true).await.is_ok());
    }
}
