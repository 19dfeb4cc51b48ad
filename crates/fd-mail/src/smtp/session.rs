//! The receiving side of one SMTP connection as a sans-IO state machine (RFC 5321 with SIZE
//! RFC 1870, 8BITMIME RFC 6152, PIPELINING RFC 2920, SMTPUTF8 RFC 6531, ENHANCEDSTATUSCODES
//! RFC 2034/3463 and STARTTLS RFC 3207).
//!
//! The driver feeds received bytes with [`Session::feed`] and calls [`Session::poll`] until it
//! returns `None`, acting on each [`Action`]: write replies, check a recipient, deliver a
//! message, start TLS or close. Recipient checks and deliveries are asynchronous in the
//! driver, so the session waits for [`Session::recipient_verdict`] / [`Session::delivered`]
//! before it reads on. Commands are answered strictly in order, which is what PIPELINING
//! needs; the driver flushes its replies whenever `poll` runs out of input.

use smtp_proto::{Error as ProtoError, Request};

use crate::sink::{DeliveryError, RecipientVerdict};

/// Limits and capabilities of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our name in the greeting and EHLO reply.
    pub hostname: String,
    /// RFC 1870 SIZE: larger messages are refused with 552.
    pub max_message_size: usize,
    /// RFC 5321 §4.5.3.1.8 requires at least 100.
    pub max_recipients: usize,
    /// Longest command line accepted. RFC 5321 §4.5.3.1.4 says 512 octets, RFC 1869 lets
    /// extensions add parameters; 2048 leaves room for every parameter we know.
    pub max_command_line: usize,
    /// Bad commands before the session is closed with 421.
    pub max_errors: usize,
    /// STARTTLS may be offered (a certificate is configured).
    pub tls_available: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            hostname: "localhost".into(),
            max_message_size: crate::DEFAULT_MAX_MESSAGE_BYTES,
            max_recipients: 100,
            max_command_line: 2048,
            max_errors: 10,
            tls_available: false,
        }
    }
}

/// One completed mail transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub helo: String,
    /// `""` for the null reverse-path `<>`.
    pub mail_from: String,
    pub recipients: Vec<String>,
    /// The message with dot-stuffing removed (RFC 5321 §4.5.2); only its header section
    /// when it was over the size limit.
    pub data: Vec<u8>,
    /// Set when the message exceeded the limit: its full size.
    pub too_large: Option<u64>,
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this reply (CRLF-terminated, possibly multi-line).
    Reply(String),
    /// Ask the sink about a recipient, then call [`Session::recipient_verdict`].
    CheckRecipient(String),
    /// Store the message, then call [`Session::delivered`].
    Deliver(Envelope),
    /// Flush replies, upgrade the connection, then call [`Session::tls_established`].
    /// (After QUIT or a fatal error [`Session::is_closed`] turns true: flush and close.)
    StartTls,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Command,
    /// Discarding an over-long command line up to its end.
    SkipLine,
    Data,
    WaitRecipient(String),
    WaitDelivery {
        too_large: Option<u64>,
    },
    WaitTls,
    Closed,
}

/// The session state machine.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    input: Vec<u8>,
    helo: Option<String>,
    mail_from: Option<String>,
    recipients: Vec<String>,
    data: Vec<u8>,
    data_size: u64,
    /// In DATA: the previous chunk ended inside a line.
    mid_line: bool,
    /// In DATA: the previous line ended with CRLF (needed for a valid `CRLF . CRLF`).
    prev_crlf: bool,
    errors: usize,
    tls_active: bool,
    tls_signalled: bool,
}

/// Once a partial DATA line reaches this many bytes it is appended without waiting for its
/// end (it cannot be the terminator any more).
const PARTIAL_LINE_FLUSH: usize = 4096;

fn reply(code: u16, enhanced: &str, text: &str) -> Action {
    if enhanced.is_empty() {
        Action::Reply(format!("{code} {text}\r\n"))
    } else {
        Action::Reply(format!("{code} {enhanced} {text}\r\n"))
    }
}

impl Session {
    pub fn new(config: SessionConfig) -> Session {
        Session {
            config,
            state: State::Command,
            input: Vec::new(),
            helo: None,
            mail_from: None,
            recipients: Vec::new(),
            data: Vec::new(),
            data_size: 0,
            mid_line: false,
            prev_crlf: true,
            errors: 0,
            tls_active: false,
            tls_signalled: false,
        }
    }

    /// The 220 greeting (RFC 5321 §4.2).
    pub fn greeting(&self) -> String {
        format!("220 {} ESMTP Frontdesk ready\r\n", self.config.hostname)
    }

    /// The 421 a driver sends when a command or data timeout expires (RFC 5321 §4.5.3.2).
    pub fn timeout_reply(&self) -> String {
        format!(
            "421 4.4.2 {} Timeout waiting for client input; closing connection\r\n",
            self.config.hostname
        )
    }

    /// The 421 a driver sends when a connection has reached its maximum lifetime.
    pub fn lifetime_reply(&self) -> String {
        format!(
            "421 4.4.2 {} Connection time limit reached; closing connection\r\n",
            self.config.hostname
        )
    }

    /// The 421 sent when the server shuts down.
    pub fn shutdown_reply(&self) -> String {
        format!(
            "421 4.3.2 {} Service shutting down; try again later\r\n",
            self.config.hostname
        )
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// True while receiving message data (the driver uses the longer data timeout).
    pub fn in_data(&self) -> bool {
        self.state == State::Data
    }

    pub fn tls_active(&self) -> bool {
        self.tls_active
    }

    pub fn helo(&self) -> &str {
        self.helo.as_deref().unwrap_or("")
    }

    /// Bytes received from the client.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.state != State::Closed {
            self.input.extend_from_slice(bytes);
        }
    }

    /// The next thing to do, or `None` when more input (or an answer) is needed.
    pub fn poll(&mut self) -> Option<Action> {
        loop {
            match &self.state {
                State::WaitTls => {
                    // Once, right after the 220: the driver flushes and upgrades.
                    if self.tls_signalled {
                        return None;
                    }
                    self.tls_signalled = true;
                    return Some(Action::StartTls);
                }
                State::Closed | State::WaitRecipient(_) | State::WaitDelivery { .. } => {
                    return None;
                }
                State::SkipLine => {
                    let Some(pos) = self.input.iter().position(|&b| b == b'\n') else {
                        // Nothing of an over-long line is kept, however long it goes on.
                        self.input.clear();
                        return None;
                    };
                    self.input.drain(..=pos);
                    self.state = State::Command;
                }
                State::Command => {
                    let Some(pos) = self.input.iter().position(|&b| b == b'\n') else {
                        if self.input.len() > self.config.max_command_line {
                            self.input.clear();
                            self.state = State::SkipLine;
                            return Some(self.error(500, "5.5.2", "Line too long"));
                        }
                        return None;
                    };
                    let line: Vec<u8> = self.input.drain(..=pos).collect();
                    if line.len() > self.config.max_command_line {
                        return Some(self.error(500, "5.5.2", "Line too long"));
                    }
                    if let Some(a) = self.command(&line) {
                        return Some(a);
                    }
                }
                State::Data => {
                    if let Some(a) = self.data_step() {
                        return Some(a);
                    }
                    if self.state == State::Data {
                        return None;
                    }
                }
            }
        }
    }

    /// Counts a protocol error; past the limit the session ends (RFC 5321 §4.3.2 421).
    fn error(&mut self, code: u16, enhanced: &str, text: &str) -> Action {
        self.errors += 1;
        if self.errors > self.config.max_errors {
            self.state = State::Closed;
            return Action::Reply(format!(
                "421 4.7.0 {} Too many errors; closing connection\r\n",
                self.config.hostname
            ));
        }
        reply(code, enhanced, text)
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.recipients.clear();
        self.data.clear();
        self.data_size = 0;
        self.mid_line = false;
        self.prev_crlf = true;
    }

    fn ehlo_reply(&self) -> String {
        let mut lines = vec![
            format!("{} Hello", self.config.hostname),
            format!("SIZE {}", self.config.max_message_size),
            "8BITMIME".to_string(),
            "PIPELINING".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if self.config.tls_available && !self.tls_active {
            lines.push("STARTTLS".to_string());
        }
        lines.push("HELP".to_string());
        let n = lines.len();
        let mut out = String::new();
        for (i, l) in lines.into_iter().enumerate() {
            out.push_str(if i + 1 == n { "250 " } else { "250-" });
            out.push_str(&l);
            out.push_str("\r\n");
        }
        out
    }

    fn command(&mut self, line: &[u8]) -> Option<Action> {
        // Commands are ASCII (or UTF-8 with SMTPUTF8); a NUL has no place in them.
        if line.contains(&0) {
            return Some(self.error(500, "5.5.2", "NUL byte in command"));
        }
        let mut bytes = line.iter();
        let request = Request::parse(&mut bytes);
        match request {
            Ok(Request::Ehlo { host }) => {
                self.reset_transaction();
                self.helo = Some(host.to_string());
                Some(Action::Reply(self.ehlo_reply()))
            }
            Ok(Request::Helo { host }) => {
                self.reset_transaction();
                self.helo = Some(host.to_string());
                Some(Action::Reply(format!("250 {}\r\n", self.config.hostname)))
            }
            Ok(Request::Lhlo { .. }) => Some(self.error(500, "5.5.1", "This is SMTP, not LMTP")),
            Ok(Request::Mail { from }) => {
                if self.helo.is_none() {
                    return Some(self.error(503, "5.5.1", "Send EHLO or HELO first"));
                }
                if self.mail_from.is_some() {
                    return Some(self.error(503, "5.5.1", "Nested MAIL command"));
                }
                if from.size > self.config.max_message_size {
                    return Some(reply(
                        552,
                        "5.3.4",
                        &format!(
                            "Message size exceeds fixed maximum message size ({} bytes)",
                            self.config.max_message_size
                        ),
                    ));
                }
                let addr = from.address.trim().to_string();
                if !addr.is_empty() && crate::address::normalize(&addr).is_none() {
                    return Some(self.error(501, "5.1.7", "Bad sender address syntax"));
                }
                self.mail_from = Some(crate::address::normalize(&addr).unwrap_or_default());
                Some(reply(250, "2.1.0", "Sender OK"))
            }
            Ok(Request::Rcpt { to }) => {
                if self.mail_from.is_none() {
                    return Some(self.error(503, "5.5.1", "Need MAIL before RCPT"));
                }
                if self.recipients.len() >= self.config.max_recipients {
                    return Some(reply(452, "4.5.3", "Too many recipients"));
                }
                let Some(addr) = crate::address::normalize(&to.address) else {
                    return Some(self.error(501, "5.1.3", "Bad recipient address syntax"));
                };
                self.state = State::WaitRecipient(addr.clone());
                Some(Action::CheckRecipient(addr))
            }
            Ok(Request::Data) => {
                if self.mail_from.is_none() {
                    return Some(self.error(503, "5.5.1", "Need MAIL command"));
                }
                if self.recipients.is_empty() {
                    // RFC 2920 §3.1: with pipelining, DATA after failed recipients gets 554.
                    return Some(reply(554, "5.5.1", "No valid recipients"));
                }
                self.state = State::Data;
                self.data.clear();
                self.data_size = 0;
                self.mid_line = false;
                self.prev_crlf = true;
                Some(reply(354, "", "Start mail input; end with <CRLF>.<CRLF>"))
            }
            Ok(Request::Rset) => {
                self.reset_transaction();
                Some(reply(250, "2.0.0", "OK"))
            }
            Ok(Request::Noop { .. }) => Some(reply(250, "2.0.0", "OK")),
            Ok(Request::Quit) => {
                self.state = State::Closed;
                Some(Action::Reply(format!(
                    "221 2.0.0 {} Bye\r\n",
                    self.config.hostname
                )))
            }
            // RFC 5321 §3.5.3: 252 when the server will not verify.
            Ok(Request::Vrfy { .. }) => Some(reply(
                252,
                "2.5.2",
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Ok(Request::Expn { .. }) => Some(reply(502, "5.5.1", "EXPN not available")),
            Ok(Request::Help { .. }) => Some(reply(
                214,
                "2.0.0",
                "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS",
            )),
            Ok(Request::StartTls) => {
                if !self.config.tls_available || self.tls_active {
                    return Some(self.error(502, "5.5.1", "STARTTLS not available"));
                }
                if self.mail_from.is_some() {
                    return Some(self.error(
                        503,
                        "5.5.1",
                        "STARTTLS not allowed during a mail transaction",
                    ));
                }
                // RFC 3207 §4.2 and CVE-2011-0411: nothing pipelined before the TLS
                // handshake may be acted on afterwards.
                self.input.clear();
                self.state = State::WaitTls;
                Some(reply(220, "2.0.0", "Ready to start TLS"))
            }
            Ok(Request::Auth { .. }) => {
                Some(self.error(502, "5.5.1", "Authentication is not needed here"))
            }
            Ok(Request::Bdat { .. }) => Some(self.error(502, "5.5.1", "CHUNKING is not supported")),
            Ok(_) => Some(self.error(502, "5.5.1", "Command not implemented")),
            Err(ProtoError::UnknownCommand) => {
                Some(self.error(500, "5.5.2", "Command unrecognized"))
            }
            Err(ProtoError::InvalidSenderAddress) => {
                Some(self.error(501, "5.1.7", "Bad sender address syntax"))
            }
            Err(ProtoError::InvalidRecipientAddress) => {
                Some(self.error(501, "5.1.3", "Bad recipient address syntax"))
            }
            Err(ProtoError::SyntaxError { syntax }) => {
                Some(self.error(501, "5.5.4", &format!("Syntax: {syntax}")))
            }
            Err(ProtoError::InvalidParameter { param }) => {
                Some(self.error(501, "5.5.4", &format!("Invalid parameter {param}")))
            }
            Err(ProtoError::UnsupportedParameter { param }) => Some(self.error(
                555,
                "5.5.4",
                &format!(
                    "Unsupported parameter {}",
                    crate::truncate_chars(&param, 40)
                ),
            )),
            Err(ProtoError::NeedsMoreData { .. }) | Err(_) => {
                Some(self.error(500, "5.5.2", "Syntax error"))
            }
        }
    }

    fn append_data(&mut self, content: &[u8]) {
        self.data_size += content.len() as u64;
        if self.data_size <= self.config.max_message_size as u64 {
            self.data.extend_from_slice(content);
        } else if self.data.len() < crate::OVERSIZE_KEEP_BYTES {
            // Keep the beginning (its header section) for the notice to the agent.
            let room = crate::OVERSIZE_KEEP_BYTES - self.data.len();
            self.data
                .extend_from_slice(&content[..content.len().min(room)]);
        }
    }

    /// Consumes DATA lines; returns the Deliver action at `CRLF . CRLF`.
    fn data_step(&mut self) -> Option<Action> {
        loop {
            match self.input.iter().position(|&b| b == b'\n') {
                Some(pos) => {
                    let line: Vec<u8> = self.input.drain(..=pos).collect();
                    let crlf = line.ends_with(b"\r\n");
                    // Only CRLF . CRLF ends the data (RFC 5321 §4.1.1.4); accepting bare LF
                    // variants would allow SMTP smuggling.
                    if !self.mid_line && self.prev_crlf && line == b".\r\n" {
                        return Some(self.finish_data());
                    }
                    let content: &[u8] = if !self.mid_line && line.first() == Some(&b'.') {
                        &line[1..]
                    } else {
                        &line
                    };
                    let content = content.to_vec();
                    self.append_data(&content);
                    self.mid_line = false;
                    self.prev_crlf = crlf;
                }
                None => {
                    if self.input.len() >= PARTIAL_LINE_FLUSH {
                        let chunk: Vec<u8> = std::mem::take(&mut self.input);
                        let content: &[u8] = if !self.mid_line && chunk.first() == Some(&b'.') {
                            &chunk[1..]
                        } else {
                            &chunk
                        };
                        let content = content.to_vec();
                        self.append_data(&content);
                        self.mid_line = true;
                        self.prev_crlf = false;
                    }
                    return None;
                }
            }
        }
    }

    fn finish_data(&mut self) -> Action {
        let too_large =
            (self.data_size > self.config.max_message_size as u64).then_some(self.data_size);
        let mut data = std::mem::take(&mut self.data);
        if too_large.is_some() {
            data = crate::header_section(&data, crate::OVERSIZE_KEEP_BYTES);
        }
        self.state = State::WaitDelivery { too_large };
        Action::Deliver(Envelope {
            helo: self.helo.clone().unwrap_or_default(),
            mail_from: self.mail_from.clone().unwrap_or_default(),
            recipients: self.recipients.clone(),
            data,
            too_large,
        })
    }

    /// The sink's answer to [`Action::CheckRecipient`].
    pub fn recipient_verdict(&mut self, verdict: RecipientVerdict) -> Action {
        let State::WaitRecipient(addr) = std::mem::replace(&mut self.state, State::Command) else {
            return reply(503, "5.5.1", "Bad sequence of commands");
        };
        match verdict {
            RecipientVerdict::Accept => {
                if !self.recipients.contains(&addr) {
                    self.recipients.push(addr);
                }
                reply(250, "2.1.5", "Recipient OK")
            }
            RecipientVerdict::Unknown => {
                reply(550, "5.1.1", &format!("<{addr}>: no such mailbox here"))
            }
            RecipientVerdict::TempFail(why) => reply(
                451,
                "4.3.0",
                &format!(
                    "Cannot check <{addr}> now, try again later ({})",
                    crate::truncate_chars(&why, 80)
                ),
            ),
        }
    }

    /// The sink's answer to [`Action::Deliver`]: 250 only once the message is stored.
    pub fn delivered(&mut self, result: Result<(), DeliveryError>) -> Action {
        let too_large = match std::mem::replace(&mut self.state, State::Command) {
            State::WaitDelivery { too_large } => too_large,
            other => {
                self.state = other;
                return reply(503, "5.5.1", "Bad sequence of commands");
            }
        };
        self.reset_transaction();
        if let Some(size) = too_large {
            // RFC 1870 §6.3: 552 for a message over the declared maximum.
            return reply(
                552,
                "5.3.4",
                &format!(
                    "Message size {size} exceeds fixed maximum message size ({} bytes)",
                    self.config.max_message_size
                ),
            );
        }
        match result {
            Ok(()) => reply(250, "2.0.0", "Message accepted for delivery"),
            Err(DeliveryError::Temporary(why)) => reply(
                451,
                "4.3.0",
                &format!(
                    "Local error, try again later ({})",
                    crate::truncate_chars(&why, 80)
                ),
            ),
            Err(DeliveryError::Permanent(why)) => reply(
                554,
                "5.6.0",
                &format!("Message refused ({})", crate::truncate_chars(&why, 80)),
            ),
        }
    }

    /// The TLS handshake succeeded: the session starts over (RFC 3207 §4.2).
    pub fn tls_established(&mut self) {
        self.input.clear();
        self.reset_transaction();
        self.helo = None;
        self.tls_active = true;
        self.tls_signalled = false;
        self.state = State::Command;
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn drain(s: &mut Session) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(a) = s.poll() {
            out.push(a);
        }
        out
    }

    #[test]
    fn pipelined_transaction() {
        let mut s = Session::new(SessionConfig::default());
        s.feed(b"EHLO client.example\r\nMAIL FROM:<a@example.com> SIZE=100\r\nRCPT TO:<support@example.com>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n");
        let a = drain(&mut s);
        assert!(
            matches!(&a[0], Action::Reply(r) if r.contains("PIPELINING") && r.contains("SIZE"))
        );
        assert_eq!(a[1], reply(250, "2.1.0", "Sender OK"));
        assert_eq!(a[2], Action::CheckRecipient("support@example.com".into()));
        assert!(
            matches!(s.recipient_verdict(RecipientVerdict::Accept), Action::Reply(r) if r.starts_with("250"))
        );
        assert_eq!(
            drain(&mut s)[0],
            Action::CheckRecipient("x@example.com".into())
        );
        assert!(
            matches!(s.recipient_verdict(RecipientVerdict::Unknown), Action::Reply(r) if r.starts_with("550"))
        );
        let a = drain(&mut s);
        assert!(matches!(&a[0], Action::Reply(r) if r.starts_with("354")));
        s.feed(b"Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n");
        let a = drain(&mut s);
        match &a[0] {
            Action::Deliver(e) => {
                assert_eq!(e.data, b"Subject: x\r\n\r\n.dot\r\n");
                assert_eq!(e.recipients, vec!["support@example.com".to_string()]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.delivered(Ok(())), Action::Reply(r) if r.starts_with("250")));
        assert!(matches!(&drain(&mut s)[0], Action::Reply(r) if r.starts_with("221")));
        assert!(s.is_closed());
    }
}
