//! A real browser for the end-to-end tests: Debian's headless Chromium driven through
//! ChromeDriver (WebDriver, `fantoccini`). Needs `chromium` and `chromium-driver` (`.ci/run`
//! installs them; `REPLYGUARD_CHROMIUM` and `REPLYGUARD_CHROMEDRIVER` point elsewhere).
//! Screenshots land in `target/browser-screenshots/`.

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for the page.
pub const WAIT: Duration = Duration::from_secs(20);

/// ChromeDriver on a free port; killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start() -> Driver {
        let binary =
            std::env::var("REPLYGUARD_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            // Its own process group, so that Chromium goes with it even when a test panics.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {binary} ({e}): the browser tests need Debian's chromium and \
                     chromium-driver (apt-get install chromium chromium-driver)"
                )
            });
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh headless Chromium session with JavaScript on or off.
pub async fn browser(driver: &Driver, javascript: bool, profile: &Path) -> Client {
    let chromium =
        std::env::var("REPLYGUARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let capabilities = json!({
        "browserName": "chrome",
        // Leave dialogs open so the test can see that one appeared.
        "unhandledPromptBehavior": "ignore",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1100,1400",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 }
            }
        }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn save_screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(name), png).unwrap();
}

pub async fn wait_for(client: &Client, xpath: &str) -> Element {
    match client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
    {
        Ok(element) => element,
        Err(e) => {
            // Enough to diagnose a failure from CI's log and artifacts alone.
            let url = client.current_url().await.map(|u| u.to_string());
            let source = client.source().await.unwrap_or_default();
            let shot = format!("failure-{}.png", std::process::id());
            if let Ok(png) = client.screenshot().await {
                let _ = std::fs::write(screenshot_dir().join(&shot), png);
            }
            let tail: String = source
                .chars()
                .rev()
                .take(3000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            panic!(
                "waited for {xpath}: {e}; at {url:?}; screenshot {shot}; page ends with:\n{tail}"
            )
        }
    }
}

/// Waits until nothing matches `xpath` (the page may be mid-navigation meanwhile).
pub async fn wait_gone(client: &Client, xpath: &str) {
    let started = Instant::now();
    loop {
        if let Ok(found) = client.find_all(Locator::XPath(xpath)).await
            && found.is_empty()
        {
            return;
        }
        assert!(started.elapsed() < WAIT, "{xpath} is still on the page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types `text` into the field `css` finds, replacing what it held.
pub async fn type_into(client: &Client, css: &str, text: &str) {
    let field = client.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Clicks the element `css` finds.
pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits until the page's text contains (or, with `present` false, no longer contains) `text`.
pub async fn wait_text(client: &Client, text: &str, present: bool) {
    let started = Instant::now();
    loop {
        let body = client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap_or_default();
        if body.contains(text) == present {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "waited for {text:?} to be {}: page text is\n{body}",
            if present { "shown" } else { "gone" }
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
