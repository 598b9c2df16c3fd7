//! `takedown serve --demo` as a new user runs it: the binary on an ephemeral loopback port over
//! a fresh SQLite file answers `/status` and the lookup its banner prints.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the server when the test ends, also when it fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One plain HTTP/1.1 GET on loopback: (status, body).
fn get(address: &str, path: &str, token: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let authorization = token.map_or_else(String::new, |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Connection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_string();
    Ok((status, body))
}

#[test]
fn serve_demo_answers_status_and_the_printed_lookup() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let database = directory.path().join("takedown.sqlite");
    let child = Command::new(env!("CARGO_BIN_EXE_takedown"))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--database"])
        .arg(&database)
        .env("TAKEDOWN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start takedown serve");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("banner line");
        let done = line.starts_with("The demo tokens are public");
        banner.push(line);
        if done {
            break;
        }
    }
    let base = banner
        .first()
        .and_then(|line| line.strip_prefix("takedown demo is serving at http://"))
        .unwrap_or_else(|| panic!("no address in the banner: {banner:#?}"))
        .to_string();
    assert!(base.starts_with("127.0.0.1:"), "{base}");

    // The index loads in the background: /status says 503 until it is ready.
    let mut ready = false;
    for _ in 0..600 {
        let (status, _) = get(&base, "/status", None).expect("GET /status");
        if status == 200 {
            ready = true;
            break;
        }
        assert_eq!(status, 503);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ready, "the demo index did not load");
    assert_eq!(get(&base, "/status/live", None).expect("live").0, 200);

    // The printed lookup by hash, sent as the same request.
    let curl = banner
        .iter()
        .map(|line| line.trim())
        .find(|line| line.starts_with("curl") && line.contains("/api/v1/lookup?"))
        .unwrap_or_else(|| panic!("no lookup line in the banner: {banner:#?}"));
    let url = curl
        .rsplit('\'')
        .nth(1)
        .expect("quoted URL at the end of the curl line");
    let path = url
        .strip_prefix(&format!("http://{base}"))
        .expect("the URL is on the server");
    let (status, body) =
        get(&base, path, Some(takedown_engine::DEMO_MATCHER_TOKEN)).expect("lookup");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"bank\":\"AL_BAYAN\""), "{body}");
    assert!(body.contains("\"distance\":"), "{body}");

    // Without the token the same lookup is refused with a JSON reason.
    let (status, body) = get(&base, path, None).expect("lookup without token");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"error\""), "{body}");
}
