//! Who may open an SMTP connection: a global cap that keeps room for new addresses, a cap
//! per client address and a connection rate per client address (a token bucket).
//!
//! Without these, one address could hold every slot of the listener (hardening finding 2:
//! 256 idle connections locked every other sender out). The listener asks [`Limiter::admit`]
//! for each accepted connection and holds the returned [`Permit`] while the connection
//! lives. This module must not depend on sockets, tokio or the SMTP session: time comes in
//! as an argument so the rules can be tested without a clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// The numbers a site may tune (`frontdesk serve --smtp-max-connections…`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionLimits {
    /// Connections open at once, from everyone.
    pub max_total: usize,
    /// Connections open at once from one address (IPv4) or one /64 (IPv6).
    pub max_per_address: usize,
    /// New connections per minute from one address, sustained; 0 means no rate limit.
    pub per_address_per_minute: u32,
    /// New connections one address may open in a burst before the rate applies.
    pub per_address_burst: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        // 10 per address is more than a sending MTA uses towards one destination (Postfix's
        // default per-destination concurrency starts at 5 and treats a 421 at connect as a
        // signal to back off), and small enough that 25 addresses are needed to fill the
        // listener. 60 a minute with a burst of 20 lets an MTA flush its queue.
        ConnectionLimits {
            max_total: 256,
            max_per_address: 10,
            per_address_per_minute: 60,
            per_address_burst: 20,
        }
    }
}

impl ConnectionLimits {
    /// Above this many open connections, an address that already holds one gets no more:
    /// the last quarter of the listener is kept for addresses not yet connected, so new
    /// senders are served while one address floods.
    pub fn shared_above(&self) -> usize {
        self.max_total.max(1) * 3 / 4
    }

    /// More than half the listener in use: idle timeouts get shorter (see the server).
    pub fn busy_above(&self) -> usize {
        self.max_total.max(1) / 2
    }
}

/// Why a connection was refused; the listener answers 421 4.7.0 with [`Refusal::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The listener is full.
    Full,
    /// The listener is nearly full and this address already has a connection.
    Reserved,
    /// This address has `max_per_address` connections open.
    PerAddress,
    /// This address opened connections faster than the rate allows.
    Rate,
}

impl Refusal {
    /// Human-readable text for the 421 line (RFC 5321 §4.2: the text says why).
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Full => "Too many connections; try again later",
            Refusal::Reserved => "Server busy: one connection per address for now; try again later",
            Refusal::PerAddress => "Too many connections from your address; try again later",
            Refusal::Rate => "Too many new connections from your address; slow down",
        }
    }
}

/// The address a limit counts against: IPv4 as is, IPv6 grouped by its /64 (one customer's
/// network usually gets a whole /64, so counting single IPv6 addresses would limit nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerKey(IpAddr);

impl PeerKey {
    pub fn of(ip: IpAddr) -> PeerKey {
        match ip {
            IpAddr::V4(v4) => PeerKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
                Some(v4) => PeerKey(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    PeerKey(IpAddr::V6(bits.into()))
                }
            },
        }
    }
}

#[derive(Debug)]
struct Peer {
    open: usize,
    tokens: f64,
    refilled: Instant,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    peers: HashMap<PeerKey, Peer>,
    /// Prune idle peers once the map grows past this (amortised: doubles after a prune).
    prune_at: usize,
}

/// The shared counters of one listener.
#[derive(Debug)]
pub struct Limiter {
    limits: ConnectionLimits,
    state: Mutex<State>,
}

/// One admitted connection; dropping it frees its slot.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    key: PeerKey,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.limiter.lock();
        state.total = state.total.saturating_sub(1);
        if let Some(p) = state.peers.get_mut(&self.key) {
            p.open = p.open.saturating_sub(1);
        }
    }
}

const PRUNE_MIN: usize = 1024;

impl Limiter {
    pub fn new(limits: ConnectionLimits) -> Arc<Limiter> {
        Arc::new(Limiter {
            limits,
            state: Mutex::new(State {
                prune_at: PRUNE_MIN,
                ..State::default()
            }),
        })
    }

    pub fn limits(&self) -> &ConnectionLimits {
        &self.limits
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The counters stay consistent even if a holder panicked: every update is one step.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    /// More than half the listener is in use.
    pub fn busy(&self) -> bool {
        self.open() > self.limits.busy_above()
    }

    fn refill(&self, p: &mut Peer, now: Instant) {
        let per_sec = f64::from(self.limits.per_address_per_minute) / 60.0;
        let elapsed = now.saturating_duration_since(p.refilled).as_secs_f64();
        p.tokens = (p.tokens + elapsed * per_sec).min(f64::from(self.limits.per_address_burst));
        p.refilled = now;
    }

    /// Decides on a connection from `ip` accepted at `now`. Every attempt spends a token of
    /// the rate, refused or not, so hammering the port does not pay off.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<Permit, Refusal> {
        let key = PeerKey::of(ip);
        let limits = &self.limits;
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.peers.len() >= state.prune_at {
            let burst = f64::from(limits.per_address_burst);
            let per_sec = f64::from(limits.per_address_per_minute) / 60.0;
            state.peers.retain(|_, p| {
                let elapsed = now.saturating_duration_since(p.refilled).as_secs_f64();
                p.open > 0 || p.tokens + elapsed * per_sec < burst
            });
            state.prune_at = (state.peers.len() * 2).max(PRUNE_MIN);
        }
        let peer = state.peers.entry(key).or_insert(Peer {
            open: 0,
            tokens: f64::from(limits.per_address_burst),
            refilled: now,
        });
        if limits.per_address_per_minute > 0 {
            self.refill(peer, now);
            if peer.tokens < 1.0 {
                return Err(Refusal::Rate);
            }
            peer.tokens -= 1.0;
        }
        if state.total >= limits.max_total.max(1) {
            return Err(Refusal::Full);
        }
        if peer.open >= limits.max_per_address.max(1) {
            return Err(Refusal::PerAddress);
        }
        if peer.open > 0 && state.total >= limits.shared_above() {
            return Err(Refusal::Reserved);
        }
        peer.open += 1;
        state.total += 1;
        Ok(Permit {
            limiter: self.clone(),
            key,
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn ipv6_is_grouped_by_64_and_mapped_ipv4_counts_as_ipv4() {
        assert_eq!(
            PeerKey::of(ip("2001:db8:1:2:aaaa::1")),
            PeerKey::of(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            PeerKey::of(ip("2001:db8:1:2::1")),
            PeerKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            PeerKey::of(ip("::ffff:192.0.2.7")),
            PeerKey::of(ip("192.0.2.7"))
        );
    }

    #[test]
    fn caps_reserve_and_rate() {
        let l = Limiter::new(ConnectionLimits {
            max_total: 8,
            max_per_address: 3,
            per_address_per_minute: 6,
            per_address_burst: 4,
        });
        let t = Instant::now();
        let a = ip("192.0.2.1");
        let mut held: Vec<Permit> = (0..3).filter_map(|_| l.admit(a, t).ok()).collect();
        assert_eq!(held.len(), 3);
        assert_eq!(l.admit(a, t).err(), Some(Refusal::PerAddress));
        // The burst (4) is spent: the next attempt is over the rate even after a slot frees.
        held.pop();
        assert_eq!(l.admit(a, t).err(), Some(Refusal::Rate));
        // One token comes back every 10 s at 6 a minute.
        let later = t + Duration::from_secs(10);
        held.push(l.admit(a, later).unwrap_or_else(|e| panic!("{e:?}")));
        // Fill up to 3/4 (6) with other addresses; then a holder is refused, a newcomer not.
        for i in 2..5 {
            held.push(
                l.admit(ip(&format!("192.0.2.{i}")), later)
                    .unwrap_or_else(|e| panic!("{e:?}")),
            );
        }
        assert_eq!(l.open(), 6);
        assert!(l.busy());
        assert_eq!(
            l.admit(ip("192.0.2.2"), later).err(),
            Some(Refusal::Reserved)
        );
        held.push(
            l.admit(ip("192.0.2.9"), later)
                .unwrap_or_else(|e| panic!("{e:?}")),
        );
        held.push(
            l.admit(ip("192.0.2.10"), later)
                .unwrap_or_else(|e| panic!("{e:?}")),
        );
        assert_eq!(l.admit(ip("192.0.2.11"), later).err(), Some(Refusal::Full));
        drop(held);
        assert_eq!(l.open(), 0);
    }
}
