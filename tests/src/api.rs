//! A small blocking client for the checkout's JSON API, for tests and `cargo xtask`.

use std::time::Duration;

use serde_json::Value;

/// An HTTP answer: the status and the parsed JSON body (`Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The stable error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Panics with the whole answer unless the status is `status`.
    #[track_caller]
    pub fn expect_status(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "unexpected answer: {:#}", self.body);
        self
    }
}

/// One request being built: method, path, headers and an optional body.
pub struct Call<'a> {
    client: &'a Client,
    method: &'a str,
    path: String,
    headers: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct Client {
    pub base_url: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base_url: &str) -> Client {
        // Redirects are answers to check (a provider callback's 303), not to follow.
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .redirects(0)
            .build();
        Client {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    pub fn call<'a>(&'a self, method: &'a str, path: impl Into<String>) -> Call<'a> {
        Call {
            client: self,
            method,
            path: path.into(),
            headers: Vec::new(),
        }
    }
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A widget request as the pay-password frame sends it: from the Worker's own origin (this
    /// client's base), acting for the page at `parent` (whose origin the token is bound to). The
    /// Worker takes a pay password from no other origin.
    pub fn from_frame_of(self, parent: &str) -> Self {
        let own = self.client.base_url.clone();
        self.header("Origin", &own)
            .header("Checkout-Parent-Origin", parent)
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn json(self, body: &Value) -> Reply {
        self.header("Content-Type", "application/json")
            .raw(&body.to_string())
    }

    pub fn raw(self, body: &str) -> Reply {
        let request = self.request();
        reply(request.send_string(body))
    }

    pub fn send(self) -> Reply {
        let request = self.request();
        reply(request.call())
    }

    fn request(&self) -> ureq::Request {
        // An absolute URL (a provider's page, a redirect target) is called as it is.
        let url = if self.path.starts_with("http://") || self.path.starts_with("https://") {
            self.path.clone()
        } else {
            format!("{}{}", self.client.base_url, self.path)
        };
        let mut request = self.client.agent.request(self.method, &url);
        for (name, value) in &self.headers {
            request = request.set(name, value);
        }
        request
    }
}

/// The answer to a request sent with ureq directly (for bodies [`Call`] cannot send), as a
/// [`Reply`]; a transport error panics.
pub fn reply(result: Result<ureq::Response, ureq::Error>) -> Reply {
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_owned())))
        .collect();
    let text = response.into_string().unwrap_or_default();
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    }
}
