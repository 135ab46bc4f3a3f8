//! A body as Shopify signs it.

use bytes::Bytes;
use reqwest::header::HeaderValue;

use crate::webhook::verify;

/// One body and the `X-Shopify-Hmac-Sha256` Shopify would send with it.
#[derive(Debug, Clone)]
pub struct Signed {
    pub body: Bytes,
    pub hmac: HeaderValue,
}

/// Signs `body` with the app secret.
pub fn sign(secret: &[u8], body: Vec<u8>) -> Signed {
    let hmac = HeaderValue::from_str(&verify::sign(secret, &body)).expect("base64 is a valid header value");
    Signed { body: Bytes::from(body), hmac }
}
