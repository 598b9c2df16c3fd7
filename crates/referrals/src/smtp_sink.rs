//! A small SMTP receiver on loopback, for tests and the demo: it accepts every message,
//! keeps it in memory and answers like a mail server, so e-mail referrals go through a real
//! SMTP conversation without leaving the machine.
//!
//! It speaks enough of RFC 5321 for a client such as lettre: greeting, `EHLO`/`HELO`,
//! `MAIL FROM`, `RCPT TO`, `DATA` (with dot-unstuffing), `RSET`, `NOOP`, `QUIT`. It offers no
//! STARTTLS and no authentication. Like a mail store keyed by `Message-ID`, [`SmtpSink::distinct`]
//! drops a message whose `Message-ID` it has already received: that is how a re-delivery after
//! a crash (same message, same id) is told apart from a second referral.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message (headers and body), dot-unstuffed, CRLF line ends.
    pub data: String,
}

impl ReceivedMail {
    /// The value of the first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut value: Option<String> = None;
        for line in self.data.split("\r\n") {
            if line.is_empty() {
                break;
            }
            if let Some(current) = value.as_mut() {
                if line.starts_with(' ') || line.starts_with('\t') {
                    current.push(' ');
                    current.push_str(line.trim());
                    continue;
                }
                break;
            }
            if let Some((key, rest)) = line.split_once(':') {
                if key.trim().eq_ignore_ascii_case(name) {
                    value = Some(rest.trim().to_string());
                }
            }
        }
        value
    }

    /// The `Message-ID` header.
    pub fn message_id(&self) -> Option<String> {
        self.header("Message-ID")
    }
}

/// A running SMTP receiver. Stops when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    address: SocketAddr,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on `address` (e.g. `127.0.0.1:0` for any free port).
    pub async fn start(address: &str) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    if let Err(error) = session(stream, store).await {
                        tracing::debug!(%error, "smtp sink session ended");
                    }
                });
            }
        });
        Ok(SmtpSink {
            address,
            received,
            task,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Every message received, in order, re-deliveries included.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Messages received, without re-deliveries (the first of each `Message-ID`).
    pub fn distinct(&self) -> Vec<ReceivedMail> {
        let mut seen = std::collections::HashSet::new();
        self.received()
            .into_iter()
            .filter(|mail| match mail.message_id() {
                Some(id) => seen.insert(id),
                None => true,
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: TcpStream, store: Arc<Mutex<Vec<ReceivedMail>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 takedown-sink ESMTP ready\r\n")
        .await?;
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-takedown-sink\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n"
        } else if upper.starts_with("HELO") {
            b"250 takedown-sink\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address_in(&command["MAIL FROM:".len()..]);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address_in(&command["RCPT TO:".len()..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let content = line.trim_end_matches(['\r', '\n']);
                if content == "." {
                    break;
                }
                // Dot-stuffing: a line starting with "." was sent with one more.
                data.push_str(content.strip_prefix('.').unwrap_or(content));
                data.push_str("\r\n");
            }
            store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(ReceivedMail {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
            b"250 OK queued\r\n"
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            b"250 OK\r\n"
        } else if upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// The address inside `<...>` of a `MAIL FROM` or `RCPT TO` argument.
fn address_in(argument: &str) -> String {
    let argument = argument.trim();
    match (argument.find('<'), argument.find('>')) {
        (Some(start), Some(end)) if start < end => argument[start + 1..end].to_string(),
        _ => argument
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_and_unfolded() {
        let mail = ReceivedMail {
            from: "a@x".into(),
            to: vec!["b@y".into()],
            data: "Subject: a long\r\n subject\r\nMessage-ID: <k@x>\r\n\r\nbody: no\r\n".into(),
        };
        assert_eq!(mail.header("subject").unwrap(), "a long subject");
        assert_eq!(mail.message_id().unwrap(), "<k@x>");
        assert_eq!(mail.header("body"), None);
        assert_eq!(address_in(" <a@x> SIZE=10"), "a@x");
    }
}
