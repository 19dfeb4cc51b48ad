//! Bulk seeding for benchmarks: tickets, each with one email conversation and one inbound
//! message, written with multi-row inserts so a million rows load in minutes. It bypasses the
//! use cases on purpose — benchmarks measure the use cases' own write rate separately — and
//! writes rows shaped exactly like the ones `fd-app` creates.

use fd_domain::{TeamId, UserId};

use crate::{Sql, StoreError, Tx};

/// What a seeded ticket looks like; `i` numbers it.
pub struct SeedSpec<'a> {
    pub teams: &'a [TeamId],
    pub agents: &'a [UserId],
    /// Every `unassigned_every`-th ticket has no owner.
    pub unassigned_every: u64,
    /// Every `closed_every`-th ticket is in the CLOSED stage 4.
    pub closed_every: u64,
    pub now: i64,
}

impl Tx {
    /// Inserts tickets numbered `from..to` (at most a few thousand per call: one transaction).
    pub async fn seed_tickets(
        &mut self,
        spec: &SeedSpec<'_>,
        from: u64,
        to: u64,
    ) -> Result<(), StoreError> {
        const CHUNK: u64 = 500;
        let mut start = from;
        while start < to {
            let end = (start + CHUNK).min(to);
            let first_id = self.seed_ticket_rows(spec, start, end).await?;
            let first_conv = self
                .seed_conversation_rows(spec, start, end, first_id)
                .await?;
            self.seed_message_rows(start, end, first_conv, spec.now)
                .await?;
            self.seed_contact_rows(start, end, first_id, spec.now)
                .await?;
            start = end;
        }
        Ok(())
    }

    async fn seed_ticket_rows(
        &mut self,
        spec: &SeedSpec<'_>,
        from: u64,
        to: u64,
    ) -> Result<i64, StoreError> {
        let mut sql = Sql::new(
            "INSERT INTO tickets (subject, content, pipeline_id, stage_id, priority, owner_id, team_id, \
             source_type, workspace, is_open, created_at, updated_at, closed_at, last_activity_at, version) VALUES ",
        );
        for i in from..to {
            if i > from {
                sql.push(", ");
            }
            let closed = spec.closed_every > 0 && i % spec.closed_every == 0;
            let owner = (spec.unassigned_every == 0 || i % spec.unassigned_every != 0)
                .then(|| spec.agents[(i as usize) % spec.agents.len()]);
            let team = spec.teams[(i as usize) % spec.teams.len()];
            let at = spec.now + i as i64;
            sql.push("(")
                .bind(format!("Order {i} did not arrive"))
                .push(", ")
                .bind(format!("Hello, my order number {i} has not arrived yet."))
                .push(", 0, ")
                .bind(if closed { 4 } else { 1 + (i % 3) as i64 })
                .push(", ")
                .bind(["LOW", "MEDIUM", "HIGH"][(i % 3) as usize])
                .push(", ")
                .bind(owner)
                .push(", ")
                .bind(team)
                .push(", 'EMAIL', 'help_desk', ")
                .bind(!closed)
                .push(", ")
                .bind(at)
                .push(", ")
                .bind(at)
                .push(", ")
                .bind(closed.then_some(at))
                .push(", ")
                .bind(at)
                .push(", 1)");
        }
        sql.push(" RETURNING id");
        let rows = self.all_sql(sql).await?;
        let first = rows
            .iter()
            .map(|r| r.i64("id"))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .min()
            .ok_or_else(|| StoreError::Internal("seed inserted no ticket".into()))?;
        Ok(first)
    }

    async fn seed_conversation_rows(
        &mut self,
        spec: &SeedSpec<'_>,
        from: u64,
        to: u64,
        first_ticket: i64,
    ) -> Result<i64, StoreError> {
        let mut sql = Sql::new(
            "INSERT INTO conversations (channel, channel_account, workspace, status, owner_id, team_id, \
             visitor_name, visitor_email, subject, ticket_id, created_at, updated_at, last_message_at, closed_at, version) VALUES ",
        );
        for i in from..to {
            if i > from {
                sql.push(", ");
            }
            let closed = spec.closed_every > 0 && i % spec.closed_every == 0;
            let owner = (spec.unassigned_every == 0 || i % spec.unassigned_every != 0)
                .then(|| spec.agents[(i as usize) % spec.agents.len()]);
            let team = spec.teams[(i as usize) % spec.teams.len()];
            let at = spec.now + i as i64;
            sql.push("('EMAIL', 'support@bench.example', 'help_desk', ")
                .bind(if closed { "CLOSED" } else { "OPEN" })
                .push(", ")
                .bind(owner)
                .push(", ")
                .bind(team)
                .push(", ")
                .bind(seed_customer_name(i))
                .push(", ")
                .bind(seed_customer_email(i))
                .push(", ")
                .bind(format!("Order {i} did not arrive"))
                .push(", ")
                .bind(first_ticket + (i - from) as i64)
                .push(", ")
                .bind(at)
                .push(", ")
                .bind(at)
                .push(", ")
                .bind(at)
                .push(", ")
                .bind(closed.then_some(at))
                .push(", 1)");
        }
        sql.push(" RETURNING id");
        let rows = self.all_sql(sql).await?;
        rows.iter()
            .map(|r| r.i64("id"))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .min()
            .ok_or_else(|| StoreError::Internal("seed inserted no conversation".into()))
    }

    async fn seed_message_rows(
        &mut self,
        from: u64,
        to: u64,
        first_conv: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut sql = Sql::new(
            "INSERT INTO messages (conversation_id, direction, channel, sender_name, sender_address, subject, \
             text, message_id_header, status, created_at) VALUES ",
        );
        for i in from..to {
            if i > from {
                sql.push(", ");
            }
            sql.push("(")
                .bind(first_conv + (i - from) as i64)
                .push(", 'INCOMING', 'EMAIL', ")
                .bind(seed_customer_name(i))
                .push(", ")
                .bind(seed_customer_email(i))
                .push(", ")
                .bind(format!("Order {i} did not arrive"))
                .push(", ")
                .bind(format!(
                    "Hello, my order number {i} has not arrived yet. Can you help? {}",
                    SEED_TOPICS[(i as usize) % SEED_TOPICS.len()]
                ))
                .push(", ")
                .bind(format!("<seed-{i}@example.com>"))
                .push(", 'received', ")
                .bind(now + i as i64)
                .push(")");
        }
        self.exec_sql(sql).await?;
        Ok(())
    }

    /// One contact per ticket ([`seed_customer`]), associated both ways as the use cases
    /// associate them, so search finds tickets by their customer.
    async fn seed_contact_rows(
        &mut self,
        from: u64,
        to: u64,
        first_ticket: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut sql = Sql::new(
            "INSERT INTO contacts (email, firstname, lastname, created_at, updated_at) VALUES ",
        );
        for i in from..to {
            if i > from {
                sql.push(", ");
            }
            let (first, last) = seed_customer(i);
            sql.push("(")
                .bind(seed_customer_email(i))
                .push(", ")
                .bind(first)
                .push(", ")
                .bind(last)
                .push(", ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.push(" RETURNING id");
        let rows = self.all_sql(sql).await?;
        let first_contact = rows
            .iter()
            .map(|r| r.i64("id"))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .min()
            .ok_or_else(|| StoreError::Internal("seed inserted no contact".into()))?;
        let mut sql = Sql::new(
            "INSERT INTO associations (from_type, from_id, to_type, to_id, type_id, created_at) VALUES ",
        );
        for i in from..to {
            if i > from {
                sql.push(", ");
            }
            let ticket = first_ticket + (i - from) as i64;
            let contact = first_contact + (i - from) as i64;
            sql.push("('ticket', ")
                .bind(ticket)
                .push(", 'contact', ")
                .bind(contact)
                .push(", ")
                .bind(i64::from(
                    fd_domain::model::association_type::TICKET_TO_CONTACT,
                ))
                .push(", ")
                .bind(now)
                .push("), ('contact', ")
                .bind(contact)
                .push(", 'ticket', ")
                .bind(ticket)
                .push(", ")
                .bind(i64::from(
                    fd_domain::model::association_type::CONTACT_TO_TICKET,
                ))
                .push(", ")
                .bind(now)
                .push(")");
        }
        self.exec_sql(sql).await?;
        Ok(())
    }
}

/// What the seeded customers write about after their order number (one per ticket, in turn):
/// accented words, so the benchmark's search folds accents at scale.
const SEED_TOPICS: [&str; 8] = [
    "Problème de livraison.",
    "La facture est erronée.",
    "L'écran est cassé.",
    "Je voudrais un remboursement.",
    "Le colis est endommagé.",
    "Où en est ma réclamation ?",
    "Adresse de livraison modifiée.",
    "Merci d'avance, cordialement.",
];

const SEED_FIRST_NAMES: [&str; 40] = [
    "Ada", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Giulia", "Hannah", "Ivan", "Julia",
    "Kenji", "Laura", "Marco", "Nadia", "Oscar", "Paola", "Quentin", "Rosa", "Stefan", "Tanya",
    "Umberto", "Vera", "Walter", "Xenia", "Yusuf", "Zoe", "Amélie", "Björn", "Céline", "Dario",
    "Émile", "Fatima", "Gérard", "Hélène", "Inès", "José", "Karin", "Léa", "Mónica", "Noé",
];
const SEED_LAST_NAMES: [&str; 50] = [
    "Rossi",
    "Müller",
    "Dubois",
    "García",
    "Smith",
    "Kowalski",
    "Novak",
    "Jensen",
    "Silva",
    "Ricci",
    "Schmidt",
    "Martin",
    "López",
    "Brown",
    "Nowak",
    "Horvat",
    "Hansen",
    "Santos",
    "Greco",
    "Weber",
    "Bernard",
    "Pérez",
    "Taylor",
    "Wójcik",
    "Kovač",
    "Nielsen",
    "Costa",
    "Bruno",
    "Fischer",
    "Moreau",
    "Sánchez",
    "Wilson",
    "Lewandowski",
    "Babić",
    "Larsen",
    "Ferreira",
    "Gallo",
    "Wagner",
    "Laurent",
    "Romero",
    "Evans",
    "Kamiński",
    "Jurić",
    "Pedersen",
    "Oliveira",
    "Conti",
    "Becker",
    "Lefèvre",
    "Navarro",
    "Walker",
];

/// The seeded customer of ticket `i`: one of 2,000 first and last name pairs, so a name
/// search finds one ticket in 2,000, as a desk's repeat customers and namesakes do.
pub fn seed_customer(i: u64) -> (&'static str, &'static str) {
    let first = SEED_FIRST_NAMES[(i as usize) % SEED_FIRST_NAMES.len()];
    let last = SEED_LAST_NAMES[((i as usize) / SEED_FIRST_NAMES.len()) % SEED_LAST_NAMES.len()];
    (first, last)
}

fn seed_customer_name(i: u64) -> String {
    let (first, last) = seed_customer(i);
    format!("{first} {last}")
}

/// `first.last.<i>@example.com`, folded to ASCII as mail addresses usually are: unique per
/// ticket, made of words other addresses share (a desk's addresses are not one word with a
/// million different endings).
pub fn seed_customer_email(i: u64) -> String {
    let (first, last) = seed_customer(i);
    let ascii = |s: &str| fd_domain::search::fold(s);
    format!("{}.{}.{i}@example.com", ascii(first), ascii(last))
}
