//! The boundary between mail transport and the application: transports (SMTP listener, IMAP
//! poller, mailgate) hand every received message to a [`MailSink`], which must store it
//! durably before returning `Ok` — only then does SMTP answer 250, the IMAP poller flag or
//! move the message, or the mailgate exit 0.

use std::future::Future;

/// Where a message came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailSource {
    Smtp {
        peer: String,
        helo: String,
        tls: bool,
    },
    Mailgate,
    Imap {
        /// Identifies the mailbox (`user@host:port/INBOX`); the checkpoint key.
        account: String,
        uid_validity: u32,
        uid: u32,
    },
}

impl MailSource {
    pub fn kind(&self) -> &'static str {
        match self {
            MailSource::Smtp { .. } => "smtp",
            MailSource::Mailgate => "mailgate",
            MailSource::Imap { .. } => "imap",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            MailSource::Smtp { peer, helo, tls } => {
                format!("{peer} helo={helo}{}", if *tls { " tls" } else { "" })
            }
            MailSource::Mailgate => "stdin".to_string(),
            MailSource::Imap {
                account,
                uid_validity,
                uid,
            } => format!("{account} uidvalidity={uid_validity} uid={uid}"),
        }
    }
}

/// One received message, exactly as it arrived.
#[derive(Debug, Clone)]
pub struct IncomingMail {
    pub source: MailSource,
    /// The envelope sender: `Some("")` for the null reverse-path `<>`, `None` when unknown.
    pub envelope_from: Option<String>,
    /// Envelope recipients (lower-cased); empty when unknown (IMAP, mailgate without
    /// `--recipient`).
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    /// The message was larger than the limit: `raw` holds only its header section and this
    /// is the size it had.
    pub truncated_from: Option<u64>,
}

/// The answer to `RCPT TO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientVerdict {
    Accept,
    /// Not an address served here: 550 (RFC 5321 §3.3).
    Unknown,
    /// Cannot tell right now (database down): 451, the client retries.
    TempFail(String),
}

/// Why a message could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later (SMTP 451, mailgate exit 75, IMAP: leave it for the next poll).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Will never be accepted (SMTP 554).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Receives mail from the transports.
pub trait MailSink: Send + Sync + 'static {
    fn check_recipient(&self, address: &str) -> impl Future<Output = RecipientVerdict> + Send;

    /// Stores the message durably (committed) or fails; never parses it first.
    fn deliver(&self, mail: IncomingMail)
    -> impl Future<Output = Result<(), DeliveryError>> + Send;

    /// Seconds since the Unix epoch, from the application's clock: the date of the
    /// `Received` trace field (transports never read the system clock themselves, so tests
    /// that inject a clock see it in stored mail too).
    fn now_unix(&self) -> i64;

    /// The IMAP checkpoint of a mailbox: (UIDVALIDITY, highest UID stored).
    fn imap_checkpoint(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Option<(u32, u32)>, DeliveryError>> + Send;
}
