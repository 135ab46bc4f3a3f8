//! Handing emails over: to an SMTP server when one is configured, else as `.eml` files in the
//! outbox directory (the demo, and a machine without mail).
//!
//! Low in the stack and knowing nothing of orders or settings: the configuration checks the email
//! settings by building a [`Mailer`], the state holds one, and `notify` decides what to send.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: the server is down, busy, or said "try later" (4xx).
    #[error("the mail server is unavailable: {0}")]
    Unavailable(String),
    /// Will never succeed as it is (5xx, a malformed address).
    #[error("the mail server refused the message: {0}")]
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("email.smtp_url is not a usable SMTP URL: {0}")]
    Url(String),
    #[error("email.from is not an email address: {0}")]
    From(String),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// While the server is down every pass would fail at once: wait between tries instead.
struct Backoff {
    until: Option<Instant>,
    delay: Duration,
}

const FIRST_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(30);

/// One message, rendered, as it is handed over.
#[derive(Debug, Clone, Copy)]
pub struct Letter<'a> {
    pub to: &'a str,
    /// Stable per order and occasion: a resend after a crash is the same message.
    pub message_id: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    backoff: Mutex<Backoff>,
}

impl Mailer {
    /// An SMTP mailer for `smtp_url`, or files in `outbox_dir` when it is blank.
    pub fn new(smtp_url: &str, from: &str, outbox_dir: &str) -> Result<Self, MailerError> {
        let from: Mailbox = from.parse().map_err(|e| MailerError::From(format!("{e}")))?;
        let transport = if smtp_url.trim().is_empty() {
            Transport::Files(PathBuf::from(outbox_dir))
        } else {
            let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url.trim())
                .map_err(|e| MailerError::Url(e.to_string()))?
                .timeout(Some(Duration::from_secs(15)))
                .build();
            Transport::Smtp(smtp)
        };
        Ok(Self { transport, from, backoff: Mutex::new(Backoff { until: None, delay: FIRST_DELAY }) })
    }

    /// `false` while backing off after the server was unavailable.
    pub fn ready(&self) -> bool {
        let b = self.backoff.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        b.until.is_none_or(|t| Instant::now() >= t)
    }

    fn note(&self, ok: bool) {
        let mut b = self.backoff.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if ok {
            *b = Backoff { until: None, delay: FIRST_DELAY };
        } else {
            // Jittered, so instances sharing a server do not retry in step.
            let jitter = Duration::from_millis(fastrand::u64(..=b.delay.as_millis() as u64 / 4));
            b.until = Some(Instant::now() + b.delay + jitter);
            b.delay = (b.delay * 2).min(MAX_DELAY);
        }
    }

    pub fn build(&self, out: &Letter<'_>) -> Result<Message, SendError> {
        let to: Mailbox =
            out.to.parse().map_err(|_| SendError::Refused("the order's email address is malformed".into()))?;
        Message::builder()
            .message_id(Some(out.message_id.to_string()))
            .from(self.from.clone())
            .to(to)
            .subject(out.subject)
            .multipart(MultiPart::alternative_plain_html(out.text.to_string(), out.html.to_string()))
            .map_err(|e| SendError::Refused(e.to_string()))
    }

    /// Hands `out` over. `shop` names the folder of a written file.
    pub async fn send(&self, shop: &str, out: &Letter<'_>) -> Result<(), SendError> {
        let message = self.build(out)?;
        let result = match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| {
                // A server's reply often quotes the recipient's address: only its code is kept
                // (errors are logged, and logs never carry a customer's email).
                let why = match e.status() {
                    Some(code) => format!("SMTP reply {code}"),
                    // Not a reply: the connection, TLS or a timeout, with no address in it.
                    None if !e.is_response() => e.to_string(),
                    None => "an unreadable SMTP reply".to_string(),
                };
                if e.is_permanent() { SendError::Refused(why) } else { SendError::Unavailable(why) }
            }),
            Transport::Files(dir) => write_file(&dir.join(shop), out, &message.formatted()).await,
        };
        self.note(!matches!(result, Err(SendError::Unavailable(_))));
        result
    }
}

/// Written files hold customers' addresses and names: they go with the shop (`shop/redact`), with
/// their order (`customers/redact`), and once older than the retention (audit M6). With SMTP,
/// nothing is kept here, and these do nothing.
impl Mailer {
    fn files(&self) -> Option<&std::path::Path> {
        match &self.transport {
            Transport::Files(dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// Deletes every file written for `shop`.
    pub async fn forget_shop(&self, shop: &str) -> std::io::Result<()> {
        let Some(dir) = self.files() else { return Ok(()) };
        match tokio::fs::remove_dir_all(dir.join(shop)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Deletes the files written for one order of `shop` (its id is part of every name).
    pub async fn forget_order(&self, shop: &str, order_id: u64) -> std::io::Result<u64> {
        let Some(dir) = self.files() else { return Ok(0) };
        let needle = format!(".{order_id}.");
        remove_files(&dir.join(shop), |name, _| name.contains(&needle)).await
    }

    /// Deletes files older than `keep`, in every shop's folder; returns how many went.
    pub async fn expire(&self, keep: Duration) -> std::io::Result<u64> {
        let Some(dir) = self.files() else { return Ok(0) };
        let Some(mut shops) = read_dir(dir).await? else { return Ok(0) };
        let mut removed = 0;
        while let Some(shop) = shops.next_entry().await? {
            if shop.file_type().await?.is_dir() {
                removed += remove_files(&shop.path(), |_, age| age >= keep).await?;
            }
        }
        Ok(removed)
    }
}

/// The entries of `dir`; `None` when there is no such folder (nothing was ever written).
async fn read_dir(dir: &std::path::Path) -> std::io::Result<Option<tokio::fs::ReadDir>> {
    match tokio::fs::read_dir(dir).await {
        Ok(entries) => Ok(Some(entries)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes the `.eml` files of `dir` for which `doomed(name, age)` holds.
async fn remove_files(dir: &std::path::Path, doomed: impl Fn(&str, Duration) -> bool) -> std::io::Result<u64> {
    let Some(mut entries) = read_dir(dir).await? else { return Ok(0) };
    let mut removed = 0;
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".eml") {
            continue;
        }
        let age = entry.metadata().await?.modified().ok().and_then(|m| m.elapsed().ok()).unwrap_or_default();
        if doomed(&name, age) {
            match tokio::fs::remove_file(entry.path()).await {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

/// Written under a name fixed by the message, through a temporary file: a resend replaces the
/// same file, and a reader never sees half a message.
async fn write_file(dir: &std::path::Path, out: &Letter<'_>, bytes: &[u8]) -> Result<(), SendError> {
    let name: String =
        out.message_id.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    let unavailable = |e: std::io::Error| SendError::Unavailable(format!("outbox directory {}: {e}", dir.display()));
    tokio::fs::create_dir_all(dir).await.map_err(unavailable)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, bytes).await.map_err(unavailable)?;
    tokio::fs::rename(&tmp, dir.join(format!("{name}.eml"))).await.map_err(unavailable)
}
