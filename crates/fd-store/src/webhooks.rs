//! Webhooks' rows (migration 0030): developer apps, their settings and subscriptions, the
//! event outbox and the delivery log — and the outbox's writer.
//!
//! Every write transaction notes the changes it makes that HubSpot reports as events: each
//! activity row it records (through `fd_domain::webhooks::change_of_activity`), each
//! association row it adds or removes, each message and each purge. At commit, if any active
//! subscription of an app with a target URL matches, the events are inserted in that same
//! transaction: a change that rolls back reports nothing, a committed one is never lost. The
//! active subscriptions are cached per `Db` behind `account_settings.config_version` (every
//! change to apps, settings or subscriptions bumps it), so a write pays one single-row read,
//! and nothing more while nobody subscribes.
//!
//! Plain reads and writes otherwise: what an event means, when to retry and how to sign are
//! decided in fd-domain and fd-app. Never reads the clock.

use std::sync::{Arc, RwLock};

use fd_domain::webhooks::{ActiveSubscription, Change, ChangeKind, EventObject, event_body};
use fd_domain::*;

use crate::error::decode;
use crate::{Association, NewActivity, Sql, StoreError, Tx, args};

/// A developer app (its key is stored only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookApp {
    pub id: i64,
    pub name: String,
    pub client_secret: String,
    pub created_at: Millis,
}

/// An app's webhook settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub app_id: i64,
    pub target_url: String,
    pub max_concurrent: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSubscription {
    pub id: i64,
    pub app_id: i64,
    pub event_type: String,
    pub property_name: Option<String>,
    pub active: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The event's `eventId`.
    pub id: i64,
    pub app_id: i64,
    pub subscription_id: i64,
    pub event_type: String,
    pub object_id: i64,
    /// The event's JSON without `eventId` and `attemptNumber`.
    pub body: String,
    pub occurred_at: Millis,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made, the one a claim starts included.
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<Millis>,
}

/// One request of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: i64,
    pub app_id: i64,
    pub event_ids: Vec<i64>,
    pub attempt_number: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    pub started_at: Millis,
    pub duration_ms: i64,
}

/// Where an app's events go (settings and secret together, for the sender).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub app_id: i64,
    pub target_url: String,
    pub max_concurrent: i64,
    pub client_secret: String,
}

/// What an event's attempt came to, for [`Tx::finish_webhook_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFate {
    Delivered,
    RetryAt(Millis),
    Failed,
}

/// The active subscriptions of apps that have a target URL, as of one configuration version.
#[derive(Debug)]
struct Subscriptions {
    version: i64,
    portal_id: i64,
    active: Vec<ActiveSubscription>,
}

/// The per-`Db` cache of [`Subscriptions`].
#[derive(Debug, Default)]
pub(crate) struct HookCache(RwLock<Option<Arc<Subscriptions>>>);

/// A change noted during a transaction; `inherit` marks those noted where no actor or time
/// is known (association rows), which take the transaction's last activity row's.
#[derive(Debug, Clone)]
pub(crate) struct Noted {
    change: Change,
    inherit: bool,
}

fn app_from_row(r: &crate::Row) -> Result<WebhookApp, StoreError> {
    Ok(WebhookApp {
        id: r.i64("id")?,
        name: r.string("name")?,
        client_secret: r.string("client_secret")?,
        created_at: r.i64("created_at")?,
    })
}

fn settings_from_row(r: &crate::Row) -> Result<WebhookSettings, StoreError> {
    Ok(WebhookSettings {
        app_id: r.i64("app_id")?,
        target_url: r.string("target_url")?,
        max_concurrent: r.i64("max_concurrent")?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
    })
}

fn subscription_from_row(r: &crate::Row) -> Result<WebhookSubscription, StoreError> {
    Ok(WebhookSubscription {
        id: r.i64("id")?,
        app_id: r.i64("app_id")?,
        event_type: r.string("event_type")?,
        property_name: r.opt_string("property_name")?,
        active: r.bool("active")?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
    })
}

fn event_from_row(r: &crate::Row) -> Result<WebhookEvent, StoreError> {
    Ok(WebhookEvent {
        id: r.i64("id")?,
        app_id: r.i64("app_id")?,
        subscription_id: r.i64("subscription_id")?,
        event_type: r.string("event_type")?,
        object_id: r.i64("object_id")?,
        body: r.string("body")?,
        occurred_at: r.i64("occurred_at")?,
        state: r.string("state")?,
        attempts: r.i64("attempts")?,
        next_attempt_at: r.i64("next_attempt_at")?,
        last_status: r.opt_i64("last_status")?,
        last_error: r.opt_string("last_error")?,
        last_attempt_at: r.opt_i64("last_attempt_at")?,
    })
}

fn delivery_from_row(r: &crate::Row) -> Result<WebhookDelivery, StoreError> {
    let ids: Vec<i64> = decode(serde_json::from_str(&r.string("event_ids")?))?;
    Ok(WebhookDelivery {
        id: r.i64("id")?,
        app_id: r.i64("app_id")?,
        event_ids: ids,
        attempt_number: r.i64("attempt_number")?,
        status: r.opt_i64("status")?,
        error: r.opt_string("error")?,
        outcome: r.string("outcome")?,
        started_at: r.i64("started_at")?,
        duration_ms: r.i64("duration_ms")?,
    })
}

const APP_COLS: &str = "id, name, client_secret, created_at";
const SETTINGS_COLS: &str = "app_id, target_url, max_concurrent, created_at, updated_at";
const SUB_COLS: &str = "id, app_id, event_type, property_name, active, created_at, updated_at";
const EVENT_COLS: &str = "id, app_id, subscription_id, event_type, object_id, body, occurred_at, \
    state, attempts, next_attempt_at, last_status, last_error, last_attempt_at";
const DELIVERY_COLS: &str =
    "id, app_id, event_ids, attempt_number, status, error, outcome, started_at, duration_ms";

/// Noting changes as the transaction makes them.
impl Tx {
    pub(crate) fn note_change(&mut self, change: Change, inherit: bool) {
        if self.hooks.is_some() {
            self.noted_changes.push(Noted { change, inherit });
        }
    }

    /// Called by `flush_activity` with the rows it writes.
    pub(crate) fn note_activity(&mut self, rows: &[NewActivity]) {
        if self.hooks.is_none() {
            return;
        }
        for a in rows {
            if let Some(c) = fd_domain::webhooks::change_of_activity(a) {
                self.noted_changes.push(Noted {
                    change: c,
                    inherit: false,
                });
            }
            self.last_activity = Some((a.actor, a.at));
        }
    }

    pub(crate) fn note_association(&mut self, a: &Association, removed: bool, at: Millis) {
        let Some(object) = EventObject::of(a.from_type) else {
            return;
        };
        self.note_change(
            Change {
                object,
                object_id: a.from_id,
                kind: ChangeKind::Association {
                    to: a.to_type,
                    to_id: a.to_id,
                    type_id: a.type_id,
                    removed,
                },
                actor: ActorRef::System,
                at,
            },
            true,
        );
    }

    /// Writes the events of the changes noted in this transaction (see the module's doc).
    pub(crate) async fn write_outbox(&mut self) -> Result<(), StoreError> {
        if self.noted_changes.is_empty() {
            return Ok(());
        }
        let noted = std::mem::take(&mut self.noted_changes);
        let subs = self.active_subscriptions().await?;
        if subs.active.is_empty() {
            return Ok(());
        }
        let (actor, at) = self.last_activity.unwrap_or((ActorRef::System, 0));
        let latest = noted
            .iter()
            .map(|n| n.change.at)
            .max()
            .unwrap_or(at)
            .max(at);
        let mut rows = Vec::new();
        for n in noted {
            let mut c = n.change;
            if n.inherit {
                c.actor = actor;
                if c.at == 0 {
                    c.at = latest;
                }
            }
            for s in subs.active.iter().filter(|s| s.matches(&c)) {
                let body = event_body(s, &c, subs.portal_id);
                rows.push((
                    s.app_id,
                    s.id,
                    s.event_type.to_string(),
                    c.object_id,
                    body.to_string(),
                    c.at,
                ));
            }
        }
        // SQLite allows 32766 bound values per statement; 8 per row.
        for chunk in rows.chunks(500) {
            let mut sql = Sql::new(
                "INSERT INTO webhook_events (app_id, subscription_id, event_type, object_id, body, \
                 occurred_at, state, attempts, next_attempt_at) VALUES ",
            );
            for (i, (app, sub, kind, object, body, at)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(*app).push(", ").bind(*sub).push(", ");
                sql.bind(kind.as_str()).push(", ").bind(*object).push(", ");
                sql.bind(body.as_str()).push(", ").bind(*at);
                sql.push(", 'pending', 0, ").bind(*at).push(")");
            }
            self.exec_sql(sql).await?;
        }
        Ok(())
    }

    async fn active_subscriptions(&mut self) -> Result<Arc<Subscriptions>, StoreError> {
        let version = self.config_version().await?;
        let cache = self.hooks.clone();
        if let Some(cache) = &cache
            && let Ok(slot) = cache.0.read()
            && let Some(s) = slot.as_ref()
            && s.version == version
        {
            return Ok(s.clone());
        }
        let rows = self
            .all(
                "SELECT s.id, s.app_id, s.event_type, s.property_name FROM webhook_subscriptions s \
                 JOIN webhook_settings w ON w.app_id = s.app_id WHERE s.active ORDER BY s.id",
                args![],
            )
            .await?;
        let mut active = Vec::new();
        for r in &rows {
            // A type this version does not know (written by a newer one) matches nothing.
            if let Ok(event_type) = r.string("event_type")?.parse() {
                active.push(ActiveSubscription {
                    id: r.i64("id")?,
                    app_id: r.i64("app_id")?,
                    event_type,
                    property_name: r.opt_string("property_name")?,
                });
            }
        }
        let portal_id = if active.is_empty() {
            0
        } else {
            self.portal_id().await?
        };
        let subs = Arc::new(Subscriptions {
            version,
            portal_id,
            active,
        });
        if let Some(cache) = &cache
            && let Ok(mut slot) = cache.0.write()
        {
            *slot = Some(subs.clone());
        }
        Ok(subs)
    }
}

/// Apps, settings and subscriptions. Each change bumps the configuration version, so every
/// node's cache of active subscriptions reloads at its next write.
impl Tx {
    pub async fn insert_webhook_app(
        &mut self,
        name: &str,
        key_hash: &str,
        client_secret: &str,
        now: Millis,
    ) -> Result<i64, StoreError> {
        let id = self
            .one(
                "INSERT INTO webhook_apps (name, developer_key_hash, client_secret, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
                args![name, key_hash, client_secret, now],
            )
            .await?
            .i64("id")?;
        self.bump_config_version().await?;
        Ok(id)
    }

    pub async fn webhook_apps(&mut self) -> Result<Vec<WebhookApp>, StoreError> {
        let rows = self
            .all(
                &format!("SELECT {APP_COLS} FROM webhook_apps ORDER BY id"),
                args![],
            )
            .await?;
        rows.iter().map(app_from_row).collect()
    }

    pub async fn webhook_app(&mut self, id: i64) -> Result<Option<WebhookApp>, StoreError> {
        self.opt(
            &format!("SELECT {APP_COLS} FROM webhook_apps WHERE id = $1"),
            args![id],
        )
        .await?
        .as_ref()
        .map(app_from_row)
        .transpose()
    }

    /// The app whose developer key hashes to `key_hash`.
    pub async fn webhook_app_by_key(
        &mut self,
        key_hash: &str,
    ) -> Result<Option<WebhookApp>, StoreError> {
        self.opt(
            &format!("SELECT {APP_COLS} FROM webhook_apps WHERE developer_key_hash = $1"),
            args![key_hash],
        )
        .await?
        .as_ref()
        .map(app_from_row)
        .transpose()
    }

    pub async fn webhook_settings(
        &mut self,
        app: i64,
    ) -> Result<Option<WebhookSettings>, StoreError> {
        self.opt(
            &format!("SELECT {SETTINGS_COLS} FROM webhook_settings WHERE app_id = $1"),
            args![app],
        )
        .await?
        .as_ref()
        .map(settings_from_row)
        .transpose()
    }

    /// Sets an app's settings (created on first use) and returns them.
    pub async fn put_webhook_settings(
        &mut self,
        app: i64,
        target_url: &str,
        max_concurrent: i64,
        now: Millis,
    ) -> Result<WebhookSettings, StoreError> {
        let r = self
            .one(
                &format!(
                    "INSERT INTO webhook_settings (app_id, target_url, max_concurrent, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $4) ON CONFLICT (app_id) DO UPDATE SET \
                     target_url = excluded.target_url, max_concurrent = excluded.max_concurrent, \
                     updated_at = excluded.updated_at RETURNING {SETTINGS_COLS}"
                ),
                args![app, target_url, max_concurrent, now],
            )
            .await?;
        self.bump_config_version().await?;
        settings_from_row(&r)
    }

    pub async fn delete_webhook_settings(&mut self, app: i64) -> Result<bool, StoreError> {
        let n = self
            .exec("DELETE FROM webhook_settings WHERE app_id = $1", args![app])
            .await?;
        self.bump_config_version().await?;
        Ok(n == 1)
    }

    pub async fn webhook_subscriptions(
        &mut self,
        app: i64,
    ) -> Result<Vec<WebhookSubscription>, StoreError> {
        let rows = self
            .all(
                &format!(
                    "SELECT {SUB_COLS} FROM webhook_subscriptions WHERE app_id = $1 ORDER BY id"
                ),
                args![app],
            )
            .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    pub async fn webhook_subscription(
        &mut self,
        app: i64,
        id: i64,
    ) -> Result<Option<WebhookSubscription>, StoreError> {
        self.opt(
            &format!("SELECT {SUB_COLS} FROM webhook_subscriptions WHERE app_id = $1 AND id = $2"),
            args![app, id],
        )
        .await?
        .as_ref()
        .map(subscription_from_row)
        .transpose()
    }

    pub async fn insert_webhook_subscription(
        &mut self,
        app: i64,
        event_type: &str,
        property_name: Option<&str>,
        active: bool,
        now: Millis,
    ) -> Result<WebhookSubscription, StoreError> {
        let r = self
            .one(
                &format!(
                    "INSERT INTO webhook_subscriptions (app_id, event_type, property_name, active, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING {SUB_COLS}"
                ),
                args![app, event_type, property_name, active, now],
            )
            .await?;
        self.bump_config_version().await?;
        subscription_from_row(&r)
    }

    /// Turns a subscription on or off; `None` when the app has no such subscription.
    pub async fn set_webhook_subscription_active(
        &mut self,
        app: i64,
        id: i64,
        active: bool,
        now: Millis,
    ) -> Result<Option<WebhookSubscription>, StoreError> {
        let r = self
            .opt(
                &format!(
                    "UPDATE webhook_subscriptions SET active = $3, updated_at = $4 \
                     WHERE app_id = $1 AND id = $2 RETURNING {SUB_COLS}"
                ),
                args![app, id, active, now],
            )
            .await?;
        self.bump_config_version().await?;
        r.as_ref().map(subscription_from_row).transpose()
    }

    pub async fn delete_webhook_subscription(
        &mut self,
        app: i64,
        id: i64,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM webhook_subscriptions WHERE app_id = $1 AND id = $2",
                args![app, id],
            )
            .await?;
        self.bump_config_version().await?;
        Ok(n == 1)
    }
}

/// The outbox and the delivery log.
impl Tx {
    /// Leases up to `limit` due events of apps with a target URL until `now + lease_ms`,
    /// counting the attempt that starts; oldest first.
    pub async fn claim_webhook_events(
        &mut self,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let lock = match self.backend() {
            crate::Backend::Postgres => " FOR UPDATE OF e SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE webhook_events SET lease_until = $2, attempts = attempts + 1, last_attempt_at = $1 \
             WHERE id IN (SELECT e.id FROM webhook_events e JOIN webhook_settings w ON w.app_id = e.app_id \
             WHERE e.state = 'pending' AND e.next_attempt_at <= $1 \
             AND (e.lease_until IS NULL OR e.lease_until <= $1) ORDER BY e.id LIMIT $3{lock}) \
             RETURNING {EVENT_COLS}"
        );
        let rows = self.all(&sql, args![now, now + lease_ms, limit]).await?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING does not keep the subquery's order.
        events.sort_by_key(|e| e.id);
        Ok(events)
    }

    /// The targets of the given apps (those with settings).
    pub async fn webhook_targets(
        &mut self,
        apps: &[i64],
    ) -> Result<Vec<WebhookTarget>, StoreError> {
        if apps.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT w.app_id, w.target_url, w.max_concurrent, a.client_secret FROM webhook_settings w \
             JOIN webhook_apps a ON a.id = w.app_id WHERE w.app_id IN (",
        );
        sql.bind_list(apps.iter().copied()).push(")");
        let rows = self.all_sql(sql).await?;
        rows.iter()
            .map(|r| {
                Ok(WebhookTarget {
                    app_id: r.i64("app_id")?,
                    target_url: r.string("target_url")?,
                    max_concurrent: r.i64("max_concurrent")?,
                    client_secret: r.string("client_secret")?,
                })
            })
            .collect()
    }

    /// Records what an event's attempt came to and releases its lease.
    pub async fn finish_webhook_event(
        &mut self,
        id: i64,
        fate: &EventFate,
        status: Option<i64>,
        error: Option<&str>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let (state, next, finished) = match fate {
            EventFate::Delivered => ("delivered", None, Some(now)),
            EventFate::RetryAt(at) => ("pending", Some(*at), None),
            EventFate::Failed => ("failed", None, Some(now)),
        };
        self.exec(
            "UPDATE webhook_events SET state = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
             finished_at = $4, lease_until = NULL, last_status = $5, last_error = $6 WHERE id = $1",
            args![id, state, next, finished, status, error],
        )
        .await?;
        Ok(())
    }

    pub async fn insert_webhook_delivery(
        &mut self,
        d: &WebhookDelivery,
    ) -> Result<i64, StoreError> {
        let ids =
            serde_json::to_string(&d.event_ids).map_err(|e| StoreError::Internal(e.to_string()))?;
        self.one(
            "INSERT INTO webhook_deliveries (app_id, event_ids, attempt_number, status, error, outcome, \
             started_at, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![
                d.app_id,
                ids,
                d.attempt_number,
                d.status,
                d.error.clone(),
                d.outcome.as_str(),
                d.started_at,
                d.duration_ms
            ],
        )
        .await?
        .i64("id")
    }

    /// An app's newest requests, newest first.
    pub async fn webhook_deliveries(
        &mut self,
        app: i64,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows = self
            .all(
                &format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE app_id = $1 ORDER BY id DESC LIMIT $2"
                ),
                args![app, limit],
            )
            .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    pub async fn webhook_delivery(
        &mut self,
        app: i64,
        id: i64,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        self.opt(
            &format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE app_id = $1 AND id = $2"
            ),
            args![app, id],
        )
        .await?
        .as_ref()
        .map(delivery_from_row)
        .transpose()
    }

    /// An app's newest events, newest first.
    pub async fn webhook_events(
        &mut self,
        app: i64,
        limit: i64,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let rows = self
            .all(
                &format!(
                    "SELECT {EVENT_COLS} FROM webhook_events WHERE app_id = $1 ORDER BY id DESC LIMIT $2"
                ),
                args![app, limit],
            )
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Queues an app's events again, due at `now`, with their attempts counted afresh (the
    /// same `eventId`s: it is the same event). Returns how many were queued.
    pub async fn replay_webhook_events(
        &mut self,
        app: i64,
        ids: &[i64],
        now: Millis,
    ) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut sql = Sql::new(
            "UPDATE webhook_events SET state = 'pending', attempts = 0, next_attempt_at = ",
        );
        sql.bind(now)
            .push(", lease_until = NULL, finished_at = NULL WHERE app_id = ")
            .bind(app)
            .push(" AND id IN (");
        sql.bind_list(ids.iter().copied()).push(")");
        self.exec_sql(sql).await
    }

    /// Deletes delivered and failed events finished before `before`, and log rows older.
    pub async fn prune_webhook_events(&mut self, before: Millis) -> Result<u64, StoreError> {
        let n = self
            .exec(
                "DELETE FROM webhook_events WHERE state <> 'pending' AND finished_at < $1",
                args![before],
            )
            .await?;
        self.exec(
            "DELETE FROM webhook_deliveries WHERE started_at < $1",
            args![before],
        )
        .await?;
        Ok(n)
    }
}
