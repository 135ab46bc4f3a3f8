//! Phase a's reference point: an actix-web server that does nothing but answer 200.

use std::io;
use std::net::TcpListener;

use actix_web::{App, HttpResponse, HttpServer, web};
use reqwest::Url;

/// Reads the body and answers 200, nothing else. Reading the body keeps the comparison honest
/// (the service must read it too) and keeps connections alive (actix may close a connection
/// whose request body was left unread).
async fn bare_ok(_body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().finish()
}

pub struct Bare {
    pub url: Url,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

/// Starts the bare handler on a free port, configured like the service's server (default
/// worker count unless told otherwise, no logging middleware, signals left to us).
pub fn start_bare(workers: usize) -> io::Result<Bare> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut server = HttpServer::new(|| App::new().route("/webhooks", web::post().to(bare_ok)))
        .disable_signals()
        .shutdown_timeout(1);
    if workers > 0 {
        server = server.workers(workers);
    }
    let server = server.listen(listener)?.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    let url = Url::parse(&format!("http://{addr}/webhooks")).map_err(io::Error::other)?;
    Ok(Bare { url, handle, task })
}

impl Bare {
    /// Stops it before the next phases, so its idle workers take nothing from the service.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}
