//! A token bucket per client address, in this node's memory: the one mechanism behind the
//! per-address limits of sign-in failures, form submissions and new chats. IPv4 addresses
//! count one by one and IPv6 by /64 (`PeerKey`, as the SMTP listener counts them), since one
//! household or one attacker holds a whole /64. A restart forgets it. Must not depend on the
//! store.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use fd_mail::smtp::limits::PeerKey;

/// `burst` takes at once, then one more per `refill_ms`, for each client address; at most
/// `max_clients` addresses are remembered (past that, those whose budget is whole are
/// forgotten, and all of them if that is not enough).
pub(crate) struct AddressBudget {
    burst: i64,
    refill_ms: i64,
    max_clients: usize,
    /// Per address: (level in milliseconds of refill, when it was measured).
    buckets: Mutex<HashMap<PeerKey, (i64, i64)>>,
}

impl AddressBudget {
    pub(crate) fn new(burst: i64, refill_ms: i64, max_clients: usize) -> AddressBudget {
        AddressBudget {
            burst,
            refill_ms,
            max_clients,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn full(&self) -> i64 {
        self.burst * self.refill_ms
    }

    /// Takes one from the client's budget, or says how many milliseconds until it has one.
    pub(crate) fn take(&self, ip: IpAddr, now: i64) -> Result<(), i64> {
        let full = self.full();
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(());
        };
        if map.len() >= self.max_clients {
            map.retain(|_, (level, at)| *level + (now - *at) < full);
            if map.len() >= self.max_clients {
                map.clear();
            }
        }
        let (level, at) = map.entry(PeerKey::of(ip)).or_insert((full, now));
        *level = fd_domain::limits::take_from_bucket(*level, *at, now, self.burst, self.refill_ms)?;
        *at = now;
        Ok(())
    }

    /// Gives one back (the attempt it paid for turned out not to count).
    pub(crate) fn refund(&self, ip: IpAddr) {
        if let Ok(mut map) = self.buckets.lock()
            && let Some((level, _)) = map.get_mut(&PeerKey::of(ip))
        {
            *level = (*level + self.refill_ms).min(self.full());
        }
    }
}
