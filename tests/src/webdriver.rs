//! A minimal W3C WebDriver client for Debian's `chromedriver` and headless `chromium`.
//!
//! Enough for end-to-end tests: navigate, find (including inside shadow roots, through script),
//! click, type, run script (also asynchronous), wait, and screenshot. Chromedriver runs in its
//! own process group on a free loopback port and is stopped on drop.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::free_port;

/// The keys under which WebDriver returns element and shadow-root references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const SHADOW_KEY: &str = "shadow-6066-11e4-a52e-4f735466cecf";

/// Chromium flags for this machine: headless, and no background traffic to hosts that the
/// closed network refuses.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
];

/// A running chromedriver with one browser session.
pub struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
}

/// A reference to an element on the page.
#[derive(Debug, Clone)]
pub struct Element(Value);

impl Browser {
    /// Starts chromedriver and a headless Chromium window of `width` x `height` CSS pixels.
    pub fn start(width: u32, height: u32) -> Browser {
        Browser::start_as(width, height, None)
    }

    /// As [`Browser::start`], with the browser calling itself `user_agent` (a phone's, or
    /// WeChat's in-app browser).
    pub fn start_as(width: u32, height: u32, user_agent: Option<&str>) -> Browser {
        let args = user_agent.map(|agent| format!("--user-agent={agent}"));
        Browser::launch(width, height, args.into_iter().collect(), json!({}))
    }

    /// As [`Browser::start`], with the browser's preferred languages set to `languages` (an
    /// Accept-Language list such as `"bn-BD,bn"`), which `navigator.languages` reports.
    pub fn start_in_language(width: u32, height: u32, languages: &str) -> Browser {
        let first = languages.split(',').next().unwrap_or(languages);
        let prefs = json!({"intl": {"accept_languages": languages}});
        Browser::launch(width, height, vec![format!("--lang={first}")], prefs)
    }

    fn launch(width: u32, height: u32, extra_args: Vec<String>, prefs: Value) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn chromedriver (run `cargo xtask setup`)");
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build(),
        };
        browser.wait_for_driver();
        browser.open_session(width, height, extra_args, prefs);
        browser
    }

    fn wait_for_driver(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if self
                .agent
                .get(&format!("{}/status", self.base))
                .call()
                .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not start");
    }

    fn open_session(&mut self, width: u32, height: u32, extra_args: Vec<String>, prefs: Value) {
        let profile = crate::temp_dir("chromium-profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--window-size={width},{height}"));
        args.extend(extra_args);
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args, "prefs": prefs}
        }}});
        let value = self.post("/session", &capabilities);
        let id = value["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        self.base = format!("{}/session/{id}", self.base);
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        let url = format!("{}{path}", self.base);
        self.answer(self.agent.post(&url).send_json(body.clone()))
    }

    fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.base);
        self.answer(self.agent.get(&url).call())
    }

    fn answer(&self, result: Result<ureq::Response, ureq::Error>) -> Value {
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => {
                let body = r.into_string().unwrap_or_default();
                panic!("webdriver error: {body}");
            }
            Err(e) => panic!("webdriver transport error: {e}"),
        };
        let body: Value = response.into_json().expect("webdriver JSON");
        body.get("value").cloned().unwrap_or(body)
    }

    pub fn goto(&self, url: &str) {
        self.post("/url", &json!({ "url": url }));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", &json!({"script": script, "args": args}))
    }

    /// Runs `script` (a function body whose last argument is a callback) and returns the value
    /// it passes to that callback: WebDriver's asynchronous script. Chromedriver's default script
    /// timeout is 30 seconds.
    pub fn script_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/async", &json!({"script": script, "args": args}))
    }

    /// The first element matching `selector`, searching the page and then every open shadow root
    /// (the widget renders in one), or `None`.
    ///
    /// Inside a shadow root the element is fetched through WebDriver's shadow-root commands:
    /// chromedriver cannot click a shadow element that a script returned.
    pub fn find(&self, selector: &str) -> Option<Element> {
        let found = self.script(FIND_HOST, vec![json!(selector)]);
        match found.get("host") {
            Some(host) if !host.is_null() => self.find_in_shadow(&Element(host.clone()), selector),
            _ => {
                let element = found.get("element")?.clone();
                element
                    .get(ELEMENT_KEY)
                    .is_some()
                    .then_some(Element(element))
            }
        }
    }

    /// Makes the page a `width` x `height` CSS-pixel phone screen, through Chrome's device
    /// emulation: the window itself cannot be narrower than 500 px. Applies to later loads too.
    pub fn emulate_phone(&self, width: u32, height: u32) {
        let params =
            json!({"width": width, "height": height, "deviceScaleFactor": 2, "mobile": true});
        let body = json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": params});
        self.post("/goog/cdp/execute", &body);
    }

    /// The first element matching `selector` in the shadow root of the page element matching
    /// `host` (one widget among several on a page), or `None`.
    pub fn find_in(&self, host: &str, selector: &str) -> Option<Element> {
        let script = "return document.querySelector(arguments[0]);";
        let found = self.script(script, vec![json!(host)]);
        found.get(ELEMENT_KEY)?;
        self.find_in_shadow(&Element(found), selector)
    }

    /// Waits up to `timeout` for `selector` to exist and be visible in `host`'s shadow root.
    #[track_caller]
    pub fn wait_in(&self, host: &str, selector: &str, timeout: Duration) -> Element {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find_in(host, selector) {
                if self.is_visible(&element) {
                    return element;
                }
            }
            if started.elapsed() > timeout {
                panic!("{selector} did not appear in {host} within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn find_in_shadow(&self, host: &Element, selector: &str) -> Option<Element> {
        let url = format!("{}/element/{}/shadow", self.base, host.id());
        let shadow: Value = self.agent.get(&url).call().ok()?.into_json().ok()?;
        let shadow_id = shadow.get("value")?.get(SHADOW_KEY)?.as_str()?.to_owned();
        let body = json!({"using": "css selector", "value": selector});
        let url = format!("{}/shadow/{shadow_id}/element", self.base);
        let value: Value = self
            .agent
            .post(&url)
            .send_json(body)
            .ok()?
            .into_json()
            .ok()?;
        let element = value.get("value")?.clone();
        element
            .get(ELEMENT_KEY)
            .is_some()
            .then_some(Element(element))
    }

    /// Waits up to `timeout` for `selector` to exist and be visible.
    #[track_caller]
    pub fn wait_for(&self, selector: &str, timeout: Duration) -> Element {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find(selector) {
                if self.is_visible(&element) {
                    return element;
                }
            }
            if started.elapsed() > timeout {
                panic!("{selector} did not appear within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for `selector` to be visible with some text, and returns the text. A widget notice
    /// is on screen before its words: they come with the error messages' part, which may still
    /// be on its way.
    #[track_caller]
    pub fn wait_for_text(&self, selector: &str, timeout: Duration) -> String {
        let started = Instant::now();
        let element = self.wait_for(selector, timeout);
        loop {
            let text = self.text(&element);
            if !text.trim().is_empty() {
                return text;
            }
            if started.elapsed() > timeout {
                panic!("{selector} had no text within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `predicate` (a script returning a boolean) is true.
    #[track_caller]
    pub fn wait_until(&self, what: &str, predicate: &str, timeout: Duration) {
        let started = Instant::now();
        while self.script(predicate, vec![]) != json!(true) {
            if started.elapsed() > timeout {
                panic!("timed out waiting for {what}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn is_visible(&self, element: &Element) -> bool {
        let script =
            "const r = arguments[0].getBoundingClientRect(); return r.width > 0 && r.height > 0;";
        self.script(script, vec![element.0.clone()]) == json!(true)
    }

    pub fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.id()), &json!({}));
    }

    pub fn type_text(&self, element: &Element, text: &str) {
        self.post(
            &format!("/element/{}/value", element.id()),
            &json!({ "text": text }),
        );
    }

    /// Empties a text field (WebDriver's Element Clear), so what is typed next replaces it.
    pub fn clear(&self, element: &Element) {
        self.post(&format!("/element/{}/clear", element.id()), &json!({}));
    }

    /// Presses `keys` on whatever has focus. WebDriver key codes (e.g. "\u{E004}" for Tab) work.
    pub fn press_keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                let key = c.to_string();
                [
                    json!({"type": "keyDown", "value": key}),
                    json!({"type": "keyUp", "value": key}),
                ]
            })
            .collect();
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.post("/actions", &body);
    }

    /// Switches into the frame `frame` (an `<iframe>` element, also one in a shadow root): later
    /// commands act on its document until [`Browser::leave_frames`].
    pub fn enter_frame(&self, frame: &Element) {
        self.post("/frame", &json!({ "id": frame.0 }));
    }

    /// Switches back to the top-level page.
    pub fn leave_frames(&self) {
        self.post("/frame", &json!({ "id": null }));
    }

    /// Types `text` into the pay-password field of the pay-password frame `frame` (the widget's
    /// `[data-testid=pay-password-frame]`), then comes back to the page. The field lives on the
    /// checkout's origin, in the frame, never in the widget itself.
    pub fn type_pay_password(&self, frame: &Element, text: &str) {
        self.enter_frame(frame);
        let field = self.wait_for("[data-testid=pay-password]", Duration::from_secs(20));
        self.clear(&field);
        self.type_text(&field, text);
        self.leave_frames();
    }

    /// The element's attribute `name`, if it has one.
    pub fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        let value = self.get(&format!("/element/{}/attribute/{name}", element.id()));
        value.as_str().map(str::to_owned)
    }

    /// Opens a new tab and switches to it; returns the previous tab's handle.
    pub fn open_tab(&self) -> String {
        let current = self.get("/window");
        let opened = self.post("/window/new", &json!({"type": "tab"}));
        self.switch_to(opened["handle"].as_str().expect("a new tab handle"));
        current.as_str().expect("the current tab handle").to_owned()
    }

    pub fn switch_to(&self, handle: &str) {
        self.post("/window", &json!({ "handle": handle }));
    }

    pub fn text(&self, element: &Element) -> String {
        let value = self.get(&format!("/element/{}/text", element.id()));
        value.as_str().unwrap_or_default().trim().to_owned()
    }

    /// Saves a PNG of the viewport.
    pub fn screenshot(&self, path: &Path) {
        let encoded = self.get("/screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 screenshot"))
            .expect("valid base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the screenshot folder");
        }
        std::fs::write(path, png).expect("write the screenshot");
    }
}

impl Element {
    fn id(&self) -> &str {
        self.0[ELEMENT_KEY].as_str().expect("an element id")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.base).call();
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// Finds `selector` in the document (`{element}`) or in an open shadow root (`{host}`: the
/// element whose shadow root holds the first match).
const FIND_HOST: &str = r#"
const selector = arguments[0];
const inDocument = document.querySelector(selector);
if (inDocument) return { element: inDocument, host: null };
const search = (root) => {
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) {
      if (el.shadowRoot.querySelector(selector)) return el;
      const inner = search(el.shadowRoot);
      if (inner) return inner;
    }
  }
  return null;
};
return { element: null, host: search(document) };
"#;
