//! A mail server that keeps nothing but who got which message: the chaos run counts emails by
//! their `Message-ID` (stable per order and occasion), so a message sent twice shows.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Default)]
pub struct Received {
    ids: Arc<Mutex<Vec<String>>>,
}

impl Received {
    /// The `Message-ID` of every message taken, in order, repeats included.
    pub fn message_ids(&self) -> Vec<String> {
        self.ids.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Serves SMTP on a free port until the process ends; returns the port and what it takes.
pub async fn start() -> std::io::Result<(u16, Received)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let received = Received::default();
    let keep = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let _ = session(stream, keep).await;
            });
        }
    });
    Ok((port, received))
}

async fn session(stream: tokio::net::TcpStream, keep: Received) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 chaos sink\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "DATA" => {
                write.write_all(b"354 go on\r\n").await?;
                let mut id = String::new();
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("message-id")
                    {
                        id = value.trim().to_string();
                    }
                }
                keep.ids.lock().unwrap_or_else(PoisonError::into_inner).push(id);
                write.write_all(b"250 taken\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"250 ok\r\n").await?,
        }
    }
    Ok(())
}
