//! Who a request comes from, for the per-client limits: the connection's peer, or the address a
//! trusted proxy in front wrote into `limits.client_ip_header`.

use actix_web::HttpRequest;

/// The client's address as text. With a header configured, its last address is taken: a proxy
/// appends the address it saw, and anything before that the client may have written itself.
/// A request without the header (or with nonsense in it) counts as the peer.
pub fn address(req: &HttpRequest, header: &str) -> String {
    if !header.is_empty()
        && let Some(value) = req.headers().get_all(header).last().and_then(|v| v.to_str().ok())
        && let Some(last) = value.rsplit(',').next().map(str::trim)
        && let Ok(ip) = last.parse::<std::net::IpAddr>()
    {
        return ip.to_string();
    }
    req.peer_addr().map_or_else(|| "unknown".to_string(), |a| a.ip().to_string())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn peer() -> std::net::SocketAddr {
        "10.0.0.1:5000".parse().unwrap()
    }

    #[test]
    fn without_a_configured_header_the_peer_is_the_client_whatever_the_request_says() {
        let req =
            TestRequest::default().peer_addr(peer()).insert_header(("x-forwarded-for", "1.2.3.4")).to_http_request();
        assert_eq!(address(&req, ""), "10.0.0.1");
    }

    #[test]
    fn behind_a_trusted_proxy_the_last_forwarded_address_is_the_client() {
        let req = TestRequest::default()
            .peer_addr(peer())
            .insert_header(("x-forwarded-for", "6.6.6.6, 203.0.113.9"))
            .to_http_request();
        assert_eq!(address(&req, "X-Forwarded-For"), "203.0.113.9");
    }

    #[test]
    fn a_forwarded_value_that_is_no_address_counts_as_the_peer() {
        let req = TestRequest::default().peer_addr(peer()).insert_header(("x-forwarded-for", "evil")).to_http_request();
        assert_eq!(address(&req, "x-forwarded-for"), "10.0.0.1");
    }
}
