//! Every route of the service, registered through one recorder so that the list of them can be
//! read back ([`table`]): the hostile-input suite sends each route its share of bad requests, and
//! fails on a route it has no generator for, so a route added later joins it.

use actix_web::http::Method;
use actix_web::{App, FromRequest, Handler, Resource, Responder, web};

/// What a request must carry to reach a route's parsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Nothing.
    Open,
    /// A webhook HMAC over the raw body.
    Webhook,
    /// An App Bridge session token (`Authorization: Bearer`).
    SessionToken,
    /// A session token in the URL (`id_token`): a page of the merchant's app.
    PageToken,
    /// Shopify's query HMAC (installs, the admin's first load).
    QueryHmac,
    /// A signed status link in the path.
    StatusLink,
    /// The app proxy's `signature`.
    ProxySignature,
    /// The operator token of an embedded-store process.
    Operator,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// actix's pattern, `{name}` for a path segment.
    pub path: &'static str,
    pub access: Access,
}

/// Registers routes on actix's config and writes each down.
pub struct Routes<'a> {
    cfg: &'a mut web::ServiceConfig,
    table: &'a mut Vec<Route>,
}

impl<'a> Routes<'a> {
    pub fn new(cfg: &'a mut web::ServiceConfig, table: &'a mut Vec<Route>) -> Self {
        Self { cfg, table }
    }

    /// One method on a path of its own.
    pub fn route<F, Args>(&mut self, method: Method, path: &'static str, access: Access, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.cfg.route(path, web::method(method.clone()).to(handler));
        self.table.push(Route { method, path, access });
        self
    }

    /// A path with several methods, or with data of its own (a body limit): `resource` must have
    /// a route for each of `methods`, and none other.
    pub fn resource(
        &mut self,
        path: &'static str,
        access: Access,
        methods: &[Method],
        resource: Resource,
    ) -> &mut Self {
        self.cfg.service(resource);
        self.table.extend(methods.iter().map(|method| Route { method: method.clone(), path, access }));
        self
    }
}

/// Every route the service serves, as registered.
pub fn table() -> Vec<Route> {
    let mut table = Vec::new();
    let _ = App::new().configure(|cfg| super::register(&mut Routes::new(cfg, &mut table)));
    table
}
