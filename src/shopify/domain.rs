//! Shop domains, checked wherever one arrives from outside (a webhook header, a session token,
//! the command line) before it names anything.

/// `name.myshopify.com`-like hostnames: they become part of store keys and hash tags.
pub fn is_shop_domain(shop: &str) -> bool {
    !shop.is_empty()
        && shop.len() <= 255
        && shop.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !shop.starts_with(['.', '-'])
        && !shop.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_domains_are_plain_hostnames() {
        assert!(is_shop_domain("demo-shop.myshopify.com"));
        for bad in ["", "a{b}.myshopify.com", "a b", ".x", "a..b", "x/../y", "evil:6379"] {
            assert!(!is_shop_domain(bad), "{bad}");
        }
    }
}
