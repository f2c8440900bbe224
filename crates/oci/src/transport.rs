//! Where credentials may travel: over HTTPS, or plain HTTP to this machine only.

/// HTTPS, or plain HTTP to a loopback host.
pub fn encrypted_or_loopback(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback(url),
        _ => false,
    }
}

/// `localhost` (and its subdomains), 127.0.0.0/8 or ::1.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine() {
        let ok = |u: &str| encrypted_or_loopback(&url::Url::parse(u).unwrap());
        assert!(ok("https://registry.example.com/v2/"));
        assert!(ok("http://127.0.0.1:5000/v2/") && ok("http://localhost/") && ok("http://[::1]/"));
        assert!(!ok("http://10.0.0.5:5000/v2/") && !ok("ftp://127.0.0.1/"));
    }
}
