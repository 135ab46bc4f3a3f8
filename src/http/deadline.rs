//! A deadline on every request body (M4). actix times the request head only; a client that sends
//! a body a byte now and then would hold its connection and a worker's attention for as long as
//! it likes. Here the body stream fails once the deadline has passed, the handler's read stops,
//! and the client gets 408 with the connection closed.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{Error, HttpMessage, HttpResponse};
use bytes::Bytes;
use futures_util::Stream;
use futures_util::future::LocalBoxFuture;
use tokio::time::Sleep;

/// Bodies must arrive whole within `limit` of the request's head.
pub struct BodyDeadline {
    pub limit: Duration,
}

impl<S, B> Transform<S, ServiceRequest> for BodyDeadline
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = BodyDeadlineService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BodyDeadlineService { service: Rc::new(service), limit: self.limit }))
    }
}

pub struct BodyDeadlineService<S> {
    service: Rc<S>,
    limit: Duration,
}

impl<S, B> Service<ServiceRequest> for BodyDeadlineService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let late = Arc::new(AtomicBool::new(false));
        let body = Deadlined {
            inner: req.take_payload(),
            sleep: Box::pin(tokio::time::sleep(self.limit)),
            late: late.clone(),
        };
        req.set_payload(Payload::from(Box::pin(body) as Pin<Box<dyn Stream<Item = _>>>));
        let service = self.service.clone();
        Box::pin(async move {
            let res = service.call(req).await?;
            if !late.load(Ordering::Relaxed) {
                return Ok(res.map_into_left_body());
            }
            tracing::info!("request body not received in time; connection closed");
            let timeout = HttpResponse::RequestTimeout()
                .insert_header((header::CONNECTION, "close"))
                .json(serde_json::json!({"error": "request body not received in time"}));
            Ok(res.into_response(timeout).map_into_right_body())
        })
    }
}

/// The request's body, failing once its deadline has passed.
struct Deadlined {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    late: Arc<AtomicBool>,
}

impl Stream for Deadlined {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.late.store(true, Ordering::Relaxed);
            let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "request body not received in time");
            return Poll::Ready(Some(Err(PayloadError::Io(late))));
        }
        Poll::Pending
    }
}
