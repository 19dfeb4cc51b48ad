//! A small browser for the UI tests: the real router on a loopback port, a cookie jar of one
//! session cookie, and the page's CSRF token.

use fd_app::Actor;
use fd_app::domain::*;
use fd_testkit::TestApp;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

pub const PASSWORD: &str = "correct horse battery";

/// Serves the whole router (API and UI) on 127.0.0.1:0; returns its base URL.
pub async fn serve(t: &TestApp) -> String {
    serve_app(t.app.clone()).await
}

/// [`serve`] for an app of one's own (a second node on the same database).
pub async fn serve_app(app: fd_app::App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = fd_web::router(app);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// [`serve`] as `frontdesk serve` does: each connection's peer address reaches the handlers,
/// so per-client limits apply (every test client is 127.0.0.1).
pub async fn serve_with_peers(t: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = fd_web::router(t.app.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    format!("http://{addr}")
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

pub struct Browser {
    pub base: String,
    client: reqwest::Client,
    pub cookie: Option<String>,
    /// The browser's sign-in device cookie (`fd_device=…`), once a sign-in set one.
    pub device: Option<String>,
    pub csrf: String,
}

impl Browser {
    pub fn anonymous(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            device: None,
            csrf: String::new(),
        }
    }

    pub async fn login(base: &str, email: &str) -> Browser {
        let mut b = Browser::anonymous(base);
        b.sign_in(email, PASSWORD).await;
        b
    }

    /// Signs this browser in (keeping its device cookie); panics unless it succeeds.
    pub async fn sign_in(&mut self, email: &str, password: &str) {
        let p = self
            .post_raw(
                "/login",
                &[
                    ("email", email),
                    ("password", password),
                    ("next", "/helpdesk"),
                ],
                &[],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "login failed: {}", p.body);
        self.take_cookies(&p);
        assert!(self.cookie.is_some(), "no session cookie");
        let mut home = self.get("/notifications").await;
        if home.status == StatusCode::SEE_OTHER {
            // A password an administrator set: only the change-password page opens.
            home = self.get("/profile/password").await;
        }
        self.csrf = attr(&home.body, "data-csrf").unwrap();
    }

    /// Keeps the session and device cookies a response sets.
    pub fn take_cookies(&mut self, p: &Page) {
        for set in p.headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Lax"),
                "{set}"
            );
            let pair = set.split(';').next().unwrap().to_string();
            if pair.starts_with("fd_session=") {
                self.cookie = Some(pair);
            } else if pair.starts_with("fd_device=") {
                self.device = Some(pair);
            }
        }
    }

    fn cookie_header(&self) -> Option<String> {
        let all: Vec<&str> = [self.cookie.as_deref(), self.device.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    }

    async fn finish(resp: reqwest::Response) -> Page {
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let mut rq = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = self.cookie_header() {
            rq = rq.header("cookie", c);
        }
        Self::finish(rq.send().await.unwrap()).await
    }

    /// [`Self::get`] with one more cookie (a confirmation left by a redirect).
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Page {
        let mut all: Vec<String> = self.cookie_header().into_iter().collect();
        all.push(cookie.to_string());
        let rq = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", all.join("; "));
        Self::finish(rq.send().await.unwrap()).await
    }

    /// A same-origin form post with the session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = vec![("_csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(
            path,
            &all,
            &[
                ("origin", self.base.as_str()),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut rq = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        if let Some(c) = self.cookie_header() {
            rq = rq.header("cookie", c);
        }
        for (k, v) in headers {
            rq = rq.header(*k, *v);
        }
        Self::finish(rq.send().await.unwrap()).await
    }
}

/// The first value of `name="…"` in a page.
pub fn attr(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// Creates an agent whose password is [`PASSWORD`].
pub async fn agent(t: &TestApp, email: &str) -> (fd_app::domain::entities::User, Actor) {
    t.agent(email, TicketAccessLevel::All, &[]).await
}

/// The id at the end of a redirect like `/helpdesk/tickets/12`.
pub fn id_in(location: &Option<String>) -> i64 {
    let l = location.as_deref().unwrap();
    l.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A server-sent-event stream read one event at a time.
pub struct Stream {
    resp: reqwest::Response,
    buf: String,
}

impl Stream {
    /// Opens `/ui/events…` as `b`; `Err` with the status when refused.
    pub async fn open(b: &Browser, query: &str) -> Result<Stream, StatusCode> {
        let resp = reqwest::Client::new()
            .get(format!("{}/ui/events{query}", b.base))
            .header("cookie", b.cookie.clone().unwrap())
            .send()
            .await
            .unwrap();
        if resp.status() != StatusCode::OK {
            return Err(resp.status());
        }
        Ok(Stream {
            resp,
            buf: String::new(),
        })
    }

    /// The next event as (name, data); keep-alive comments are skipped. A generous bound
    /// only turns a missing event into a failure instead of a hang.
    pub async fn next(&mut self) -> (String, String) {
        self.next_by(tokio::time::Instant::now() + STREAM_BOUND)
            .await
    }

    async fn next_by(&mut self, deadline: tokio::time::Instant) -> (String, String) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = v.trim().to_string();
                    }
                }
                if !name.is_empty() {
                    return (name, data);
                }
                continue;
            }
            // One deadline for the whole wait: keep-alive comments must not extend it.
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .expect("an event within the bound")
                .unwrap()
                .expect("the stream is still open");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event named `name`, skipping others, within the same bound.
    pub async fn next_named(&mut self, name: &str) -> String {
        let deadline = tokio::time::Instant::now() + STREAM_BOUND;
        loop {
            let (n, data) = self.next_by(deadline).await;
            if n == name {
                return data;
            }
        }
    }
}

/// How long a test waits for an event before failing.
const STREAM_BOUND: std::time::Duration = std::time::Duration::from_secs(30);
