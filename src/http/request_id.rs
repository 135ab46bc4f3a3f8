//! Gives every request an id (the caller's `X-Request-Id` when it is sane), puts it on the
//! response and on every log line written while handling the request.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;
use tracing::Instrument;

const HEADER: &str = "x-request-id";

pub struct RequestId;

impl<S, B> Transform<S, ServiceRequest> for RequestId
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RequestIdService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestIdService { service: Rc::new(service) }))
    }
}

pub struct RequestIdService<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for RequestIdService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let id = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:016x}", fastrand::u64(..)));
        // The path is not logged: later routes carry tokens in it.
        let span = tracing::info_span!("request", request_id = %id, method = %req.method());
        let service = self.service.clone();
        Box::pin(
            async move {
                let mut res = service.call(req).await?;
                tracing::debug!(
                    status = res.status().as_u16(),
                    route = res.request().match_pattern().unwrap_or_default(),
                    "handled"
                );
                if let Ok(value) = HeaderValue::from_str(&id) {
                    res.headers_mut().insert(HeaderName::from_static(HEADER), value);
                }
                Ok(res)
            }
            .instrument(span),
        )
    }
}
