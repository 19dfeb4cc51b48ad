//! Reply suggestions (issue 16, item 6; HD-04: Service Seat only): the knowledge-base
//! articles and past agent replies on resolved tickets most relevant to the ticket being
//! answered, ranked by BM25 over an in-memory index kept per node. Must not depend on HTTP
//! or HTML templates.
//!
//! Why in memory, in Rust: the ranking must be the same on SQLite and PostgreSQL, and FTS5's
//! `bm25()` has no PostgreSQL counterpart (`ts_rank` is not BM25). The `bm25` crate (pinned)
//! supplies the tokenizer (Unicode words, English stop words, Snowball stemming) and the
//! scorer with its inverted index. The index is caught up incrementally: a message-id
//! watermark says which tickets changed since the last query (each is re-read and
//! re-indexed, so a ticket appears once, with its agents' last reply), and a fingerprint of
//! the live articles says when to re-read those. Length normalisation uses the average
//! document length of the last full build, redone when the index doubled since.
//!
//! Which past tickets an agent is shown is decided by the scoped ticket read
//! (`tickets_by_ids` with the actor's scope, HD-09) after ranking, together with "resolved"
//! (a closed stage) — so a reply from a ticket the agent cannot see never leaves this module.

use std::collections::{HashMap, HashSet};

use bm25::{Embedder, EmbedderBuilder, Language, LanguageMode, Scorer};
use fd_domain::*;
use fd_store::{SuggestionSource, Tx};
use tokio::sync::Mutex;

use crate::{Actor, App, AppError};

/// How many suggestions the editor shows.
pub(crate) const SUGGESTIONS_SHOWN: usize = 3;
/// Messages read per step while catching the index up.
const CATCH_UP_BATCH: i64 = 5_000;
/// Ranked past tickets checked against the viewer's access per query at most (an agent who
/// may see few tickets gets fewer past replies rather than a slow editor).
const SCOPE_CHECK_LIMIT: usize = 2_000;
/// Ranked past tickets checked per scoped read.
const SCOPE_CHECK_CHUNK: usize = 32;
/// Below this many documents the average length is refitted on every doubling anyway.
const MIN_REFIT_DOCS: usize = 16;

/// What a suggestion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SuggestionKind {
    Article,
    Reply,
}

impl SuggestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionKind::Article => "article",
            SuggestionKind::Reply => "reply",
        }
    }
}

/// One suggestion for the editor.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub kind: SuggestionKind,
    /// The article's id, or the reply's message id.
    pub id: i64,
    /// The article's title, or the past ticket's subject.
    pub title: String,
    /// What "insert" puts in: the article's HTML, or the reply as escaped text.
    pub body_html: String,
    /// The past ticket a reply was written on.
    pub ticket: Option<TicketId>,
    pub score: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum DocKey {
    Article(i64),
    Ticket(TicketId),
}

struct Article {
    title: String,
    body_html: String,
}

struct PastReply {
    subject: String,
    message: MessageId,
    text: String,
}

/// The per-node index (see the module header).
pub(crate) struct SuggestIndex {
    state: Mutex<Option<IndexState>>,
}

impl Default for SuggestIndex {
    fn default() -> Self {
        SuggestIndex {
            state: Mutex::new(None),
        }
    }
}

struct IndexState {
    embedder: Embedder<u64>,
    scorer: Scorer<DocKey, u64>,
    watermark: MessageId,
    article_fingerprint: Option<(i64, i64, i64)>,
    articles: HashMap<i64, Article>,
    replies: HashMap<TicketId, PastReply>,
    /// Documents at the last full build (whose average length the embedder uses).
    fitted_docs: usize,
}

fn language() -> LanguageMode {
    LanguageMode::Fixed(Language::English)
}

fn article_text(title: &str, body_html: &str) -> String {
    format!("{title}\n{}", fd_mail::html::to_text(body_html))
}

fn ticket_text(s: &SuggestionSource, reply: &str) -> String {
    format!("{}\n{}\n{reply}", s.subject, s.customer_text)
}

fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.trim().chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    format!("<p>{out}</p>")
}

impl IndexState {
    fn docs(&self) -> usize {
        self.articles.len() + self.replies.len()
    }

    fn embed(&mut self, key: DocKey, text: &str) {
        let e = self.embedder.embed(text);
        self.scorer.upsert(&key, e);
    }

    fn set_ticket(&mut self, s: SuggestionSource) {
        let key = DocKey::Ticket(s.ticket_id);
        match s.reply.clone() {
            Some((message, text)) => {
                let doc = ticket_text(&s, &text);
                self.embed(key, &doc);
                self.replies.insert(
                    s.ticket_id,
                    PastReply {
                        subject: s.subject,
                        message,
                        text,
                    },
                );
            }
            None => {
                self.scorer.remove(&key);
                self.replies.remove(&s.ticket_id);
            }
        }
    }
}

/// Reads every article and ticket and builds the index with the corpus' average length.
async fn full_build(tx: &mut Tx) -> Result<IndexState, AppError> {
    let fingerprint = tx.article_fingerprint().await?;
    let articles = tx.library_items(Some("article")).await?;
    let mut sources = Vec::new();
    let mut watermark = MessageId(0);
    loop {
        let (tickets, last) = tx
            .tickets_with_messages_after(watermark, CATCH_UP_BATCH)
            .await?;
        if last == watermark {
            break;
        }
        watermark = last;
        sources.extend(tx.suggestion_sources(&tickets).await?);
    }
    // A ticket read in two batches: keep its last reading.
    let mut latest: HashMap<TicketId, SuggestionSource> = HashMap::new();
    for s in sources {
        latest.insert(s.ticket_id, s);
    }
    let mut texts: Vec<(DocKey, String)> = Vec::new();
    for a in &articles {
        texts.push((DocKey::Article(a.id), article_text(&a.title, &a.body_html)));
    }
    for s in latest.values() {
        if let Some((_, reply)) = &s.reply {
            texts.push((DocKey::Ticket(s.ticket_id), ticket_text(s, reply)));
        }
    }
    let corpus: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
    let embedder = EmbedderBuilder::<u64>::with_fit_to_corpus(language(), &corpus).build();
    let mut state = IndexState {
        embedder,
        scorer: Scorer::new(),
        watermark,
        article_fingerprint: Some(fingerprint),
        articles: HashMap::new(),
        replies: HashMap::new(),
        fitted_docs: texts.len(),
    };
    for (key, text) in &texts {
        state.embed(*key, text);
    }
    for a in articles {
        state.articles.insert(
            a.id,
            Article {
                title: a.title,
                body_html: a.body_html,
            },
        );
    }
    for s in latest.into_values() {
        if let Some((message, text)) = s.reply {
            state.replies.insert(
                s.ticket_id,
                PastReply {
                    subject: s.subject,
                    message,
                    text,
                },
            );
        }
    }
    Ok(state)
}

/// Brings the index up to date with what changed since it last looked.
async fn catch_up(tx: &mut Tx, state: &mut IndexState) -> Result<(), AppError> {
    let fingerprint = tx.article_fingerprint().await?;
    if state.article_fingerprint != Some(fingerprint) {
        for id in state.articles.keys() {
            state.scorer.remove(&DocKey::Article(*id));
        }
        state.articles.clear();
        for a in tx.library_items(Some("article")).await? {
            state.embed(DocKey::Article(a.id), &article_text(&a.title, &a.body_html));
            state.articles.insert(
                a.id,
                Article {
                    title: a.title,
                    body_html: a.body_html,
                },
            );
        }
        state.article_fingerprint = Some(fingerprint);
    }
    loop {
        let (tickets, last) = tx
            .tickets_with_messages_after(state.watermark, CATCH_UP_BATCH)
            .await?;
        if last == state.watermark {
            return Ok(());
        }
        state.watermark = last;
        let sources = tx.suggestion_sources(&tickets).await?;
        let found: Vec<TicketId> = sources.iter().map(|s| s.ticket_id).collect();
        for t in tickets.iter().filter(|t| !found.contains(t)) {
            // Trashed since: out of the index.
            state.scorer.remove(&DocKey::Ticket(*t));
            state.replies.remove(t);
        }
        for s in sources {
            state.set_ticket(s);
        }
    }
}

/// The query text for a ticket: its subject and its customers' latest messages.
pub(crate) fn query_text(subject: &str, latest_customer_texts: &[String]) -> String {
    let mut q = subject.to_string();
    for t in latest_customer_texts {
        q.push('\n');
        q.push_str(t);
    }
    q
}

impl App {
    /// HD-04: reply suggestions (Service Seat only) for the ticket being answered: the
    /// best-ranked articles and past agent replies on resolved tickets the actor may see.
    pub async fn reply_suggestions(
        &self,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<Vec<Suggestion>, AppError> {
        if !actor.viewer.has_service_seat() {
            return Err(AppError::Forbidden(
                "reply suggestions requires a Service Seat (HD-04)".into(),
            ));
        }
        let t = self.ticket(actor, ticket).await?;
        let mut tx = self.db().read().await?;
        let latest = tx.latest_customer_texts(t.id, 2).await?;
        tx.commit().await?;
        let mut query = query_text(&t.subject, &latest);
        if latest.is_empty()
            && let Some(c) = &t.content
        {
            query.push('\n');
            query.push_str(c);
        }
        self.suggest_for_text(actor, &query, Some(t.id), SUGGESTIONS_SHOWN)
            .await
    }

    /// Ranks the index against free text (the benchmark's road too): at most `limit`
    /// suggestions, past replies only from closed tickets the actor may see (HD-09),
    /// never from `exclude`.
    pub async fn suggest_for_text(
        &self,
        actor: &Actor,
        query: &str,
        exclude: Option<TicketId>,
        limit: usize,
    ) -> Result<Vec<Suggestion>, AppError> {
        actor.require_ticket_access()?;
        let mut guard = self.suggest_index().state.lock().await;
        let mut tx = self.db().read().await?;
        let rebuild = match guard.as_ref() {
            None => true,
            Some(s) => s.docs() > MIN_REFIT_DOCS && s.docs() > s.fitted_docs * 2,
        };
        if rebuild {
            *guard = Some(full_build(&mut tx).await?);
        }
        let Some(state) = guard.as_mut() else {
            return Err(AppError::Internal("suggestion index missing".into()));
        };
        catch_up(&mut tx, state).await?;
        let q = state.embedder.embed(query);
        let mut ranked: Vec<(f32, DocKey)> = state
            .scorer
            .matches(&q)
            .into_iter()
            .map(|m| (m.score, m.id))
            .collect();
        // Equal scores in a fixed order (the scorer's own order of ties is a hash set's).
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        // Which of the best-ranked past tickets the actor may be shown: scoped reads of the
        // next few ranked tickets at a time, until enough suggestions are found.
        let mut out = Vec::new();
        let mut next = 0;
        let mut checked = 0;
        while out.len() < limit && next < ranked.len() {
            let mut end = next;
            let mut chunk = Vec::new();
            while end < ranked.len() && chunk.len() < SCOPE_CHECK_CHUNK {
                if let DocKey::Ticket(t) = ranked[end].1
                    && Some(t) != exclude
                    && checked < SCOPE_CHECK_LIMIT
                {
                    chunk.push(t);
                }
                end += 1;
            }
            checked += chunk.len();
            let shown: HashSet<TicketId> = if chunk.is_empty() {
                HashSet::new()
            } else {
                tx.tickets_by_ids(&actor.scope(), &chunk)
                    .await?
                    .into_iter()
                    .filter(|t| !t.is_open && t.trashed_at.is_none())
                    .map(|t| t.id)
                    .collect()
            };
            for (score, key) in &ranked[next..end] {
                if out.len() >= limit {
                    break;
                }
                match *key {
                    DocKey::Article(id) => {
                        if let Some(a) = state.articles.get(&id) {
                            out.push(Suggestion {
                                kind: SuggestionKind::Article,
                                id,
                                title: a.title.clone(),
                                body_html: a.body_html.clone(),
                                ticket: None,
                                score: *score,
                            });
                        }
                    }
                    DocKey::Ticket(t) if shown.contains(&t) => {
                        if let Some(r) = state.replies.get(&t) {
                            out.push(Suggestion {
                                kind: SuggestionKind::Reply,
                                id: r.message.0,
                                title: r.subject.clone(),
                                body_html: escape_text(&r.text),
                                ticket: Some(t),
                                score: *score,
                            });
                        }
                    }
                    DocKey::Ticket(_) => {}
                }
            }
            next = end;
        }
        tx.commit().await?;
        Ok(out)
    }
}
