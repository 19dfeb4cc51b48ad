//! The API scenarios' harness: the real router on 127.0.0.1:0 over a fresh database, a
//! bearer token per user, and a small JSON client.

use fd_app::domain::entities::{Conversation, Ticket};
use fd_app::domain::*;
use fd_app::{Actor, InboundMessage, NewConversation, TicketCreation};
use fd_testkit::TestApp;
use reqwest::Method;
use serde_json::Value;
use tokio::net::TcpListener;

pub struct Api {
    pub t: TestApp,
    pub base: String,
    pub http: reqwest::Client,
    /// The Super Admin's token.
    pub token: String,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// Asserts HubSpot's error shape and returns the category.
    pub fn error_category(&self) -> String {
        assert_eq!(self.body["status"], "error", "{}", self.body);
        assert!(self.body["message"].as_str().is_some(), "{}", self.body);
        let cid = self.body["correlationId"].as_str().unwrap();
        assert_eq!(cid.len(), 36, "correlationId is a UUID: {cid}");
        self.body["category"].as_str().unwrap().to_string()
    }
}

impl Api {
    pub async fn start(t: TestApp) -> Api {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = fd_web::router(t.app.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        t.admin("admin@example.com").await;
        let token = t
            .app
            .create_api_token(&Actor::system(), "admin@example.com", Some("tests"))
            .await
            .unwrap()
            .token;
        Api {
            t,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            token,
        }
    }

    /// A token for another user.
    pub async fn token_for(&self, email: &str) -> String {
        self.t
            .app
            .create_api_token(&Actor::system(), email, None)
            .await
            .unwrap()
            .token
    }

    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        Reply { status, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send_as(Some(&self.token), Method::GET, path, None)
            .await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send_as(Some(&self.token), Method::POST, path, Some(body))
            .await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send_as(Some(&self.token), Method::PATCH, path, Some(body))
            .await
    }
    pub async fn put(&self, path: &str, body: Option<Value>) -> Reply {
        self.send_as(Some(&self.token), Method::PUT, path, body)
            .await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send_as(Some(&self.token), Method::DELETE, path, None)
            .await
    }

    /// Creates a ticket through the API (201) and returns its id.
    pub async fn ticket(&self, subject: &str, extra: &[(&str, &str)]) -> String {
        let mut props = serde_json::json!({
            "subject": subject, "hs_pipeline": "0", "hs_pipeline_stage": "1",
        });
        for (k, v) in extra {
            props[*k] = Value::from(*v);
        }
        let r = self
            .post(
                "/crm/v3/objects/tickets",
                serde_json::json!({ "properties": props }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// An email conversation with its automatic ticket (a help-desk channel, HD-07).
    pub async fn email_thread(&self, subject: &str) -> (Conversation, Ticket) {
        let contact = self
            .t
            .app
            .create_contact(
                &Actor::system(),
                fd_app::NewContact {
                    email: Some(format!(
                        "{}@customer.example",
                        subject.to_lowercase().replace(' ', "-")
                    )),
                    firstname: Some("Cora".into()),
                    ..fd_app::NewContact::default()
                },
            )
            .await
            .unwrap();
        let (c, t) = self
            .t
            .app
            .create_conversation(
                &Actor::system(),
                NewConversation {
                    channel: Channel::Email,
                    channel_account: Some("support@frontdesk.example".into()),
                    workspace: Workspace::HelpDesk,
                    team: None,
                    owner: None,
                    contact: Some(contact.id),
                    visitor_name: None,
                    visitor_email: contact.email.clone(),
                    subject: Some(subject.into()),
                    ticket: TicketCreation::Automatic,
                },
                Some(InboundMessage {
                    sender_address: contact.email.clone(),
                    subject: Some(subject.into()),
                    text: format!("Hello, about {subject}"),
                    ..InboundMessage::default()
                }),
            )
            .await
            .unwrap();
        (c, t.unwrap())
    }

    pub async fn live_ticket_count(&self) -> i64 {
        let r = self
            .post(
                "/crm/v3/objects/tickets/search",
                serde_json::json!({"limit": 0}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["total"].as_i64().unwrap()
    }
}

/// The ids of a list or search response.
pub fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}
