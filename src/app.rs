//! Assembles the service: store, HTTP server and queue workers, and takes them down in order.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App as ActixApp, HttpServer, web};

use crate::config::{ConfigError, Settings};
use crate::effects::Effects;
use crate::operator::handoff;
use crate::state::AppState;
use crate::store::{self, StoreError};
use crate::sync::drift::Drift;
use crate::worker::Workers;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}

/// A running service. Tests start it on port 0 and read [`App::addr`].
pub struct App {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    server: ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: Workers,
    effects: Option<Effects>,
    drift: Option<Drift>,
    grace: Duration,
}

impl App {
    pub async fn start(settings: Settings) -> Result<Self, StartError> {
        settings.validate()?;
        let store = store::open_with(&settings.store.url, &settings.store.prefix, settings.queue.shards).await?;
        let state = Arc::new(AppState::new(store, Arc::new(settings)));
        Self::start_with_state(state).await
    }

    /// Starts around an existing state, e.g. a store a test wants to inspect.
    pub async fn start_with_state(state: Arc<AppState>) -> Result<Self, StartError> {
        let settings = state.settings.clone();
        let bind = settings.server.bind.clone();
        let listener = TcpListener::bind(&bind).map_err(|source| StartError::Bind { addr: bind.clone(), source })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: bind.clone(), source })?;
        let grace = Duration::from_secs(settings.server.shutdown_timeout_secs);

        let data = web::Data::from(state.clone());
        let body_limit = Duration::from_millis(settings.server.body_timeout_ms);
        let mut server = HttpServer::new(move || {
            ActixApp::new()
                .app_data(data.clone())
                .wrap(crate::http::BodyDeadline { limit: body_limit })
                .wrap(crate::http::RequestId)
                .configure(crate::http::routes)
        })
        // Signals are ours to handle: the queue workers must stop too, after the server.
        .disable_signals()
        .shutdown_timeout(grace.as_secs())
        // Limits of our own (M4): a head sent slowly, an idle connection and too many of them
        // are cut here; a body sent slowly is cut by the body deadline (`http::deadline`).
        .client_request_timeout(Duration::from_millis(settings.server.head_timeout_ms))
        .keep_alive(Duration::from_secs(settings.server.keep_alive_secs))
        .max_connections(settings.server.max_connections.max(1));
        if settings.server.http_workers > 0 {
            server = server.workers(settings.server.http_workers);
        }
        let server = server.listen(listener).map_err(|source| StartError::Bind { addr: bind, source })?.run();
        let handle = server.handle();
        let server_task = tokio::spawn(server);
        let workers = Workers::spawn(state.clone());
        let effects = (settings.effects.sweep_ms > 0)
            .then(|| Effects::spawn(state.clone(), Duration::from_millis(settings.effects.sweep_ms)));
        let drift = (settings.reconcile.interval_secs > 0).then(|| Drift::spawn(state.clone()));
        hand_off(&state, addr);
        tracing::info!(%addr, store = state.queue.backend(), "backorder is serving");
        Ok(Self { addr, state, server: handle, server_task, workers, effects, drift, grace })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Whether this process answers the CLI's operator commands (it serves the embedded store).
    pub fn hands_off(&self) -> bool {
        self.state.operator_token.get().is_some()
    }

    /// Stops accepting, lets in-flight requests finish, then lets each worker finish the entry in
    /// hand. Whatever is still queued stays durable for the next start.
    pub async fn stop(self) {
        if self.hands_off() {
            handoff::remove(&self.state.settings.store.url);
        }
        self.server.stop(true).await;
        let _ = self.server_task.await;
        self.workers.shutdown(self.grace).await;
        if let Some(drift) = self.drift {
            drift.shutdown().await;
        }
        if let Some(effects) = self.effects {
            effects.shutdown().await;
        }
        tracing::info!("backorder stopped");
    }

    /// Serves until SIGTERM or SIGINT (heard by `signals`), then stops gracefully.
    pub async fn run_until_signal(self, mut signals: Signals) -> std::io::Result<()> {
        signals.wait().await;
        tracing::info!("shutdown signal received");
        self.stop().await;
        Ok(())
    }
}

/// SIGTERM and SIGINT listeners. Installed before the service starts, so a signal that arrives
/// right after it says it is serving still stops it gracefully instead of killing it.
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// On the embedded store, which one process may open at a time, tells the CLI where to ask
/// this process for its operator commands (`operator::handoff`).
fn hand_off(state: &AppState, addr: SocketAddr) {
    let store_url = &state.settings.store.url;
    if handoff::path(store_url).is_none() {
        return;
    }
    let token = handoff::new_token();
    let host = if addr.ip().is_unspecified() { std::net::Ipv4Addr::LOCALHOST.into() } else { addr.ip() };
    let url = format!("http://{}", SocketAddr::new(host, addr.port()));
    match handoff::write(store_url, &handoff::Handoff { url, token: token.clone() }) {
        Ok(()) => {
            let _ = state.operator_token.set(crate::secret::Secret::new(token));
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot write the operator handoff; `backorder dlq` and `reconcile` wait until the service stops")
        }
    }
}
