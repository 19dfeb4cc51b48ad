//! Messages between the nodes that share one PostgreSQL database (issue 17, item 3), over
//! PostgreSQL's LISTEN/NOTIFY: a node tells the others what it committed (so their live
//! screens refresh) and who has which page open (presence). On SQLite there is one node, so
//! sending is a no-op and there is nothing to listen to. Knows nothing of what the messages
//! mean: fd-app encodes and decodes them.

use sqlx::postgres::PgListener;

use crate::{Db, StoreError, db::Pool};

/// PostgreSQL's limit on a notification's payload is 8000 bytes; longer messages are split
/// by the sender.
pub const MAX_PAYLOAD: usize = 7900;

/// A node's subscription to the messages of the others.
pub struct ClusterListener {
    listener: PgListener,
}

impl ClusterListener {
    /// The next message on the channel. A lost connection is re-established (messages sent
    /// meanwhile are lost, which live screens survive: they refresh on their next event).
    pub async fn recv(&mut self) -> Result<String, StoreError> {
        let n = self.listener.recv().await.map_err(StoreError::connect)?;
        Ok(n.payload().to_string())
    }
}

impl Db {
    /// Whether other nodes can share this database (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// Sends `payload` to every node listening on `channel`, this one included.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(()),
            Pool::Postgres(p) => {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(channel)
                    .bind(payload)
                    .execute(p)
                    .await
                    .map_err(StoreError::from)?;
                Ok(())
            }
        }
    }

    /// Listens on `channel` on a connection of its own; `None` on SQLite.
    pub async fn listen(&self, channel: &str) -> Result<Option<ClusterListener>, StoreError> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(None),
            Pool::Postgres(p) => {
                let mut listener = PgListener::connect_with(p)
                    .await
                    .map_err(StoreError::connect)?;
                listener
                    .listen(channel)
                    .await
                    .map_err(StoreError::connect)?;
                Ok(Some(ClusterListener { listener }))
            }
        }
    }
}
