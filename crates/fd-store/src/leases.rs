//! Named leases: which node runs a piece of work that must run on one node at a time (an IMAP
//! mailbox's poller, the periodic sweeps). Taking a lease is one upsert that succeeds when the
//! lease is free, expired, or already this holder's; on PostgreSQL the upsert locks the row,
//! so two nodes racing for it cannot both win. Knows nothing of what the work is.

use fd_domain::Millis;

use crate::{StoreError, Tx, args};

impl Tx {
    /// Takes or renews the lease `name` for `holder` until `now + ttl_ms`. `false` when
    /// another holder has it and it has not expired.
    pub async fn take_lease(
        &mut self,
        name: &str,
        holder: &str,
        now: Millis,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let row = self
            .opt(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE leases.holder = excluded.holder OR leases.expires_at <= $4 \
                 RETURNING holder",
                args![name, holder, now + ttl_ms.max(1), now],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Gives the lease up if `holder` has it (a node shutting down), so another node need not
    /// wait for it to expire.
    pub async fn release_lease(&mut self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM leases WHERE name = $1 AND holder = $2",
            args![name, holder],
        )
        .await?;
        Ok(())
    }

    /// Who holds `name` now, if anyone does and it has not expired.
    pub async fn lease_holder(
        &mut self,
        name: &str,
        now: Millis,
    ) -> Result<Option<String>, StoreError> {
        match self
            .opt(
                "SELECT holder FROM leases WHERE name = $1 AND expires_at > $2",
                args![name, now],
            )
            .await?
        {
            Some(r) => Ok(Some(r.string("holder")?)),
            None => Ok(None),
        }
    }
}
