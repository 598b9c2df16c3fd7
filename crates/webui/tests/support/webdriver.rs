//! A minimal W3C WebDriver client over reqwest (the few commands the browser test needs), and
//! chromedriver started on a free loopback port. Written out rather than pulled in so the test
//! has no dependency beyond the workspace's HTTP client.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The element reference key of the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver, killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group, which its browsers join: ending the group
        // leaves no browser behind when a test fails before closing its session.
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

impl Driver {
    /// Starts `chromedriver` on loopback and waits until it answers.
    pub async fn start(chromedriver: &Path, client: &reqwest::Client) -> Driver {
        let port = free_port();
        let mut command = Command::new(chromedriver);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", chromedriver.display()));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(format!("{}/status", driver.url)).send().await {
                if let Ok(body) = response.json::<Value>().await {
                    if body["value"]["ready"] == json!(true) {
                        return driver;
                    }
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not become ready on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One browser session.
pub struct Browser {
    client: reqwest::Client,
    base: String,
}

impl Browser {
    /// A headless Chromium session.
    pub async fn new(client: &reqwest::Client, driver: &Driver, chromium: &Path) -> Browser {
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium.to_string_lossy(),
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=1280,1000",
                             "--no-first-run", "--no-default-browser-check",
                             "--disable-extensions", "--disable-background-networking"]
                }
            }}
        });
        let answer: Value = client
            .post(format!("{}/session", driver.url))
            .json(&capabilities)
            .send()
            .await
            .expect("new session request")
            .json()
            .await
            .expect("new session answer");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session: {answer}"))
            .to_string();
        Browser {
            client: client.clone(),
            base: format!("{}/session/{id}", driver.url),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        } else if method == reqwest::Method::POST {
            request = request.json(&json!({}));
        }
        let answer: Value = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("webdriver {path}: {error}"))
            .json()
            .await
            .unwrap_or_else(|error| panic!("webdriver {path} answer: {error}"));
        if answer["value"].get("error").is_some() {
            panic!("webdriver {method} {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    /// Opens a URL and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The current URL.
    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn try_find(&self, css: &str) -> Option<String> {
        let answer: Value = self
            .client
            .post(format!("{}/element", self.base))
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        answer["value"][ELEMENT].as_str().map(str::to_string)
    }

    /// The first element matching `css`, waiting up to 20 seconds for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(element) = self.try_find(css).await {
                return element;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let url = self.current_url().await;
                let text = self.text("body").await;
                panic!("no element {css:?} on {url}; the page says:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            None,
        )
        .await;
    }

    /// Types `text` into the element matching `css` (for a file input: the file's path).
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// The rendered text of the element matching `css`, or "" if there is none.
    pub async fn text(&self, css: &str) -> String {
        // The page may change between finding and reading (a form that navigates): that
        // reads as no text, and callers that wait simply look again.
        let Some(element) = self.try_find(css).await else {
            return String::new();
        };
        let answer: Option<Value> = async {
            self.client
                .get(format!("{}/element/{element}/text", self.base))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()
        }
        .await;
        answer
            .and_then(|answer| answer["value"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Presses and releases one key with the focus where it is.
    pub async fn press(&self, key: &str) {
        let actions = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
            { "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }
        ]}]});
        self.call(reqwest::Method::POST, "/actions", Some(actions))
            .await;
    }

    /// Runs an asynchronous script; the last argument is the callback.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Runs a script and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
    }

    /// Saves a PNG screenshot of the whole page (Chrome's DevTools capture beyond the
    /// viewport).
    pub async fn screenshot(&self, path: &Path) {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let width = size["width"].as_f64().unwrap_or(1280.0).ceil();
        let height = size["height"].as_f64().unwrap_or(1000.0).ceil().min(6000.0);
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true,
                        "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 } }),
            )
            .await;
        let data = shot["data"].clone();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        std::fs::write(path, bytes)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }

    /// Ends the session (closes the browser).
    pub async fn quit(self) {
        let _ = self.client.delete(&self.base).send().await;
    }
}
