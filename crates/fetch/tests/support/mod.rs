//! A tiny scripted HTTP/1.1 server on loopback for the fetcher's tests and benchmark.
//!
//! Hand-written on a tokio `TcpListener` so a test can script what no framework makes easy:
//! a body that never ends, a connection dropped mid-body, a reply that comes too late. It
//! counts requests, requests in flight (and the most at once) and when each request arrived.

#![allow(dead_code)] // each test binary uses a different part of it

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request target, e.g. `/a?b=c`.
    pub path: String,
    /// The request head's header lines, lowercase names.
    pub headers: Vec<(String, String)>,
    /// 1 for the first request the server received, 2 for the second, ...
    pub number: usize,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What the server does with a request.
pub enum Reply {
    /// A complete response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A 200 whose chunked body never ends (until the client hangs up).
    Forever,
    /// Promises `promised` bytes, sends `sent`, then closes the connection.
    CutShort { promised: usize, sent: usize },
    /// Waits, then does the inner reply.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    /// A response with a status, a content type and a body.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A bare status with a short text body.
    pub fn status(status: u16) -> Self {
        Reply::new(status, "text/plain", format!("status {status}"))
    }

    /// A redirect.
    pub fn redirect(status: u16, location: &str) -> Self {
        Reply::Full {
            status,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        }
    }

    /// Adds a header to a `Full` reply.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// The same reply after `delay`.
    pub fn after(self, delay: Duration) -> Self {
        Reply::Delay(delay, Box::new(self))
    }
}

/// Counters kept by the server.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub connections: AtomicUsize,
    arrivals: Mutex<Vec<(Instant, String)>>,
}

impl Stats {
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// When each request arrived, in order, with its path.
    pub fn arrivals(&self) -> Vec<(Instant, String)> {
        self.arrivals.lock().unwrap().clone()
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Starts a server on `127.0.0.1`, random port.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_on("127.0.0.1".parse().unwrap(), handler).await
    }

    /// Starts a server on `ip` (any of 127.0.0.0/8 works on Linux), random port.
    pub async fn start_on(
        ip: IpAddr,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let handler: Arc<Handler> = Arc::new(handler);
        let task = {
            let stats = stats.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    stats.connections.fetch_add(1, Ordering::SeqCst);
                    // Without this, Nagle's algorithm and delayed ACKs add ~40 ms per response.
                    let _ = stream.set_nodelay(true);
                    let stats = stats.clone();
                    let handler = handler.clone();
                    tokio::spawn(async move {
                        let _ = serve_connection(stream, stats, handler).await;
                    });
                }
            })
        };
        TestServer { addr, stats, task }
    }

    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `http://{name}:port{path}`, for names the test resolver maps to this server.
    pub fn named_url(&self, name: &str, path: &str) -> String {
        format!("http://{}:{}{}", name, self.addr.port(), path)
    }
}

/// Decrements the in-flight count however the response ends.
struct InFlight(Arc<Stats>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    stats: Arc<Stats>,
    handler: Arc<Handler>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        let Some(head_end) = read_head(&mut stream, &mut buffer).await? else {
            return Ok(());
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let number = stats.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let now_in_flight = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let _in_flight = InFlight(stats.clone());
        stats
            .max_in_flight
            .fetch_max(now_in_flight, Ordering::SeqCst);
        stats
            .arrivals
            .lock()
            .unwrap()
            .push((Instant::now(), path.clone()));
        let request = Request {
            path,
            headers,
            number,
        };
        let mut reply = handler(&request);
        while let Reply::Delay(delay, inner) = reply {
            tokio::time::sleep(delay).await;
            reply = *inner;
        }
        match reply {
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let mut response = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (name, value) in headers {
                    response.push_str(&format!("{name}: {value}\r\n"));
                }
                response.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
                let mut bytes = response.into_bytes();
                bytes.extend_from_slice(&body);
                stream.write_all(&bytes).await?;
            }
            Reply::Forever => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await?;
                let chunk = vec![b'x'; 16 * 1024];
                let framed = [
                    format!("{:x}\r\n", chunk.len()).into_bytes(),
                    chunk,
                    b"\r\n".to_vec(),
                ]
                .concat();
                loop {
                    // Ends when the client hangs up and the write fails.
                    stream.write_all(&framed).await?;
                }
            }
            Reply::CutShort { promised, sent } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\ncontent-length: {promised}\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&vec![b'y'; sent]).await?;
                stream.flush().await?;
                return Ok(());
            }
            Reply::Delay(..) => unreachable!("delays are unwrapped above"),
        }
    }
}

async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            return Ok(Some(end));
        }
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        410 => "Gone",
        451 => "Unavailable For Legal Reasons",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
