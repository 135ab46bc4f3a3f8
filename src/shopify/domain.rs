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

/// A shop's myshopify domain, and nothing else: letters, digits and hyphens, then
/// `.myshopify.com`. Stricter than webhook intake, because this name becomes the host the
/// service sends a code and its secret to.
pub fn is_myshopify_domain(shop: &str) -> bool {
    let Some(handle) = shop.strip_suffix(".myshopify.com") else { return false };
    !handle.is_empty()
        && handle.len() <= 63
        && handle.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !handle.starts_with('-')
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
