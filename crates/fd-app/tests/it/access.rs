//! Ticket access: HD-05 (Service or Sales access) and HD-09 (all / team / owned) on every
//! read — lists, counts, records, associations, notifications, a contact's conversations,
//! and the child records (a ticket's conversations, messages, comments, attachments, mail
//! metadata) — plus a property test, on both backends, holding the store's SQL to
//! `ViewerScope::allows`.

use std::collections::BTreeSet;

use fd_app::domain::access::TicketAccessFacts;
use fd_app::domain::*;
use fd_app::{Actor, AssociationEnd, InboundMessage, NewConversation, NewTicket, TicketCreation};
use fd_store::*;
use fd_testkit::TestApp;
use proptest::prelude::*;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_05_user_without_service_or_sales_access_is_forbidden_and_sees_nothing => hd_05;
    hd_09_lists_counts_and_records_obey_ticket_access => hd_09_lists;
    hd_09_associations_notifications_and_contact_conversations_obey_access => hd_09_elsewhere;
    hd_09_randomized_access_matches_policy => hd_09_randomized;
    hd_09_team_agent_keeps_sight_of_tickets_they_create => hd_09_team_creator;
    hd_09_owned_agent_owns_tickets_they_create => hd_09_owned_creator;
    hardening_3_search_by_ticket_association_obeys_access => hd_09_association_search;
    hardening_8_hidden_ticket_writes_nothing_and_drafts_stay_inside => hidden_ticket_writes_nothing;
}

async fn hd_09_owned_creator(t: TestApp) {
    let (me, agent) = t
        .agent("own@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let (other, _) = t
        .agent("other@example.com", TicketAccessLevel::All, &[])
        .await;
    let created = ticket(&t, &agent, "Mine").await;
    assert_eq!(created.owner_id, Some(me.id), "owned-only creators own it");
    assert!(t.app.ticket(&agent, created.id).await.is_ok());
    // An explicitly chosen owner wins, even if the creator then loses sight of it.
    let mut props = std::collections::BTreeMap::new();
    props.insert("subject".to_string(), "For someone else".to_string());
    props.insert("hs_pipeline_stage".to_string(), "1".to_string());
    props.insert("hubspot_owner_id".to_string(), other.id.to_string());
    let given = t
        .app
        .create_ticket(
            &agent,
            NewTicket {
                properties: props,
                ..NewTicket::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(given.owner_id, Some(other.id));
    assert_not_found(t.app.ticket(&agent, given.id).await);
}

async fn hd_09_team_creator(t: TestApp) {
    let blue = t.team("Blue").await;
    t.team("Red").await;
    let (_, agent) = t
        .agent(
            "blue@example.com",
            TicketAccessLevel::Team,
            &["Blue", "Red"],
        )
        .await;
    let (_, outsider) = t
        .agent("green@example.com", TicketAccessLevel::Team, &[])
        .await;
    let created = ticket(&t, &agent, "Mine").await;
    assert_eq!(created.owner_id, None);
    assert_eq!(
        created.team_id,
        Some(blue),
        "lands in the creator's first team"
    );
    assert!(t.app.ticket(&agent, created.id).await.is_ok());
    assert_not_found(t.app.ticket(&outsider, created.id).await);
}

fn ids(tickets: &[Ticket]) -> BTreeSet<TicketId> {
    tickets.iter().map(|t| t.id).collect()
}

async fn hd_05(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let (_, nobody) = t
        .user_with(
            "nobody@example.com",
            Role::Agent,
            TicketAccessLevel::All,
            &[],
            false,
        )
        .await;
    let created = ticket(&t, &admin, "Secret").await;
    let (with_ticket, _, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let (without_ticket, _) = email_conversation(&t, &k, TicketCreation::None).await;

    assert_forbidden(
        t.app
            .create_ticket(
                &nobody,
                NewTicket {
                    properties: props(&[("subject", "Mine"), ("hs_pipeline_stage", STAGE_NEW)]),
                    ..NewTicket::default()
                },
            )
            .await,
    );
    assert_eq!(ticket_count(&t).await, 2);
    assert_forbidden(t.app.list_tickets(&nobody, &all_tickets()).await);
    assert_forbidden(t.app.count_tickets(&nobody, &all_tickets()).await);
    assert_forbidden(t.app.ticket(&nobody, created.id).await);
    assert_forbidden(t.app.ticket_details(&nobody, created.id).await);
    assert_forbidden(
        t.app
            .update_ticket(
                &nobody,
                created.id,
                fd_app::TicketChanges {
                    properties: props(&[("subject", "Hijacked")]),
                    expected_version: None,
                },
            )
            .await,
    );
    assert_eq!(tk(&t, created.id).await.subject, "Secret");
    assert_forbidden(t.app.send_reply(&nobody, with_ticket.id, reply("hi")).await);
    assert_forbidden(
        t.app
            .create_ticket_from_conversation(&nobody, without_ticket.id, Default::default())
            .await,
    );
    assert_forbidden(
        t.app
            .associations(
                &nobody,
                AssociationEnd::new(ObjectType::Ticket, created.id.0),
                ObjectType::Contact,
            )
            .await,
    );
    // Conversations with a ticket are hidden; the record itself is "not found".
    let listed = t
        .app
        .list_conversations(&nobody, &ConversationListQuery::default())
        .await
        .unwrap();
    assert!(listed.iter().all(|c| c.ticket_id.is_none()), "{listed:?}");
    assert!(!listed.iter().any(|c| c.id == with_ticket.id));
    assert_not_found(t.app.conversation(&nobody, with_ticket.id).await);
    assert_not_found(t.app.messages(&nobody, with_ticket.id).await);
    let tickets_of_contact = t
        .app
        .associations(
            &nobody,
            AssociationEnd::new(ObjectType::Contact, k.id.0),
            ObjectType::Ticket,
        )
        .await
        .unwrap();
    assert!(tickets_of_contact.is_empty(), "{tickets_of_contact:?}");

    // Sales access is enough.
    let (sales_user, _) = t
        .user_with(
            "sales@example.com",
            Role::Agent,
            TicketAccessLevel::All,
            &[],
            false,
        )
        .await;
    let u = t
        .app
        .update_user_access(
            &admin,
            sales_user.id,
            Role::Agent,
            false,
            false,
            true,
            Seat::Core,
            TicketAccessLevel::All,
        )
        .await
        .unwrap();
    let sales = t.app.actor_for(u.id).await.unwrap();
    assert_eq!(
        t.app.count_tickets(&sales, &all_tickets()).await.unwrap(),
        2
    );
}

/// Teams Blue and Red; an all-access agent, a Blue team agent, an owned-only agent, a Red
/// member; five tickets spread over owners and teams.
struct World {
    admin: Actor,
    all: Actor,
    blue: Actor,
    owned: Actor,
    red: Actor,
    owned_id: UserId,
    red_id: UserId,
    /// owned by `owned`, by nobody in Blue, by `red`, unassigned, by `blue`
    tickets: [TicketId; 5],
}

async fn world(t: &TestApp) -> World {
    let blue_team = t.team("Blue").await;
    t.team("Red").await;
    let (_, admin) = t.admin("boss@example.com").await;
    let (_, all) = t
        .agent("all@example.com", TicketAccessLevel::All, &[])
        .await;
    let (blue_u, blue) = t
        .agent("blue@example.com", TicketAccessLevel::Team, &["Blue"])
        .await;
    let (owned_u, owned) = t
        .agent("owned@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let (red_u, red) = t
        .agent("red@example.com", TicketAccessLevel::Team, &["Red"])
        .await;
    let sys = Actor::system();
    let t1 = ticket_with(t, &sys, &[("hubspot_owner_id", &owned_u.id.to_string())]).await;
    let t2 = ticket_with(t, &sys, &[("hubspot_team_id", &blue_team.to_string())]).await;
    let t3 = ticket_with(t, &sys, &[("hubspot_owner_id", &red_u.id.to_string())]).await;
    let t4 = ticket_with(t, &sys, &[]).await;
    let t5 = ticket_with(t, &sys, &[("hubspot_owner_id", &blue_u.id.to_string())]).await;
    World {
        admin,
        all,
        blue,
        owned,
        red,
        owned_id: owned_u.id,
        red_id: red_u.id,
        tickets: [t1.id, t2.id, t3.id, t4.id, t5.id],
    }
}

async fn hd_09_lists(t: TestApp) {
    let w = world(&t).await;
    let [t1, t2, t3, t4, t5] = w.tickets;
    let cases: Vec<(&str, &Actor, Vec<TicketId>)> = vec![
        ("admin", &w.admin, vec![t1, t2, t3, t4, t5]),
        ("all", &w.all, vec![t1, t2, t3, t4, t5]),
        ("blue team", &w.blue, vec![t2, t5]),
        ("owned", &w.owned, vec![t1]),
        ("red team", &w.red, vec![t3]),
    ];
    for (who, actor, expected) in cases {
        let expected: BTreeSet<TicketId> = expected.into_iter().collect();
        let listed = t.app.list_tickets(actor, &all_tickets()).await.unwrap();
        assert_eq!(ids(&listed), expected, "{who}: list");
        let n = t.app.count_tickets(actor, &all_tickets()).await.unwrap();
        assert_eq!(n as usize, expected.len(), "{who}: count");
        // Other views are scoped too.
        let open = TicketListQuery {
            view: TicketView::AllOpen,
            ..all_tickets()
        };
        assert_eq!(
            ids(&t.app.list_tickets(actor, &open).await.unwrap()),
            expected,
            "{who}: open view"
        );
        let unassigned = TicketListQuery {
            view: TicketView::Unassigned,
            ..all_tickets()
        };
        let expected_unassigned: BTreeSet<TicketId> = expected
            .iter()
            .copied()
            .filter(|id| [t2, t4].contains(id))
            .collect();
        assert_eq!(
            ids(&t.app.list_tickets(actor, &unassigned).await.unwrap()),
            expected_unassigned,
            "{who}: unassigned view"
        );
        // Text search does not widen anything.
        let search = TicketListQuery {
            text: Some("ticket".into()),
            ..all_tickets()
        };
        assert_eq!(
            t.app.count_tickets(actor, &search).await.unwrap() as usize,
            expected.len(),
            "{who}: search"
        );
        for id in w.tickets {
            let read = t.app.ticket(actor, id).await;
            let details = t.app.ticket_details(actor, id).await;
            if expected.contains(&id) {
                assert!(read.is_ok() && details.is_ok(), "{who} may read {id}");
            } else {
                assert_not_found(read);
                assert_not_found(details);
                assert_not_found(
                    t.app
                        .update_ticket(
                            actor,
                            id,
                            fd_app::TicketChanges {
                                properties: props(&[("subject", "Not yours")]),
                                expected_version: None,
                            },
                        )
                        .await,
                );
                assert_not_found(t.app.trash_ticket(actor, id).await);
                assert_not_found(t.app.follow_ticket(actor, id, true).await);
            }
        }
    }
    assert!(tk(&t, t4).await.subject != "Not yours");
    assert_eq!(tk(&t, t4).await.trashed_at, None);

    // Access follows changes: assigning t4 to the owned-only agent shows it to them.
    t.app
        .assign_ticket_owner(&w.admin, t4, Some(w.owned_id))
        .await
        .unwrap();
    assert_eq!(
        ids(&t.app.list_tickets(&w.owned, &all_tickets()).await.unwrap()),
        [t1, t4].into_iter().collect()
    );
    // The owned-only agent can edit what they own.
    update(&t, &w.owned, t4, &[("hs_ticket_priority", "LOW")]).await;
}

async fn hd_09_elsewhere(t: TestApp) {
    let w = world(&t).await;
    let [t1, t2, t3, t4, t5] = w.tickets;
    let sys = Actor::system();

    // Associations: a contact linked to every ticket lists only the visible ones.
    let k = contact(&t, "carl@customer.example").await;
    for id in w.tickets {
        t.app
            .associate(
                &sys,
                AssociationEnd::new(ObjectType::Contact, k.id.0),
                AssociationEnd::new(ObjectType::Ticket, id.0),
            )
            .await
            .unwrap();
    }
    for (who, actor, expected) in [
        ("all", &w.all, vec![t1, t2, t3, t4, t5]),
        ("blue", &w.blue, vec![t2, t5]),
        ("owned", &w.owned, vec![t1]),
    ] {
        let got: BTreeSet<i64> = t
            .app
            .associations(
                actor,
                AssociationEnd::new(ObjectType::Contact, k.id.0),
                ObjectType::Ticket,
            )
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.to_id)
            .collect();
        let expected: BTreeSet<i64> = expected.into_iter().map(|t| t.0).collect();
        assert_eq!(got, expected, "{who}: associated tickets");
    }
    // A ticket's own associations are not readable without access to it.
    assert_not_found(
        t.app
            .associations(
                &w.owned,
                AssociationEnd::new(ObjectType::Ticket, t4.0),
                ObjectType::Contact,
            )
            .await,
    );
    // Nor can one associate with it.
    assert_not_found(
        t.app
            .associate(
                &w.owned,
                AssociationEnd::new(ObjectType::Ticket, t4.0),
                AssociationEnd::new(ObjectType::Contact, k.id.0),
            )
            .await,
    );

    // Notifications: a mention on a ticket the user cannot see stays hidden until they can.
    // (Being assigned their own tickets notified them already: counted from here.)
    let earlier = t.app.notifications(&w.owned, 50).await.unwrap().len();
    t.app
        .comment(&w.admin, Some(t4), None, "@owned FYI")
        .await
        .unwrap();
    assert_eq!(
        t.app.notifications(&w.owned, 50).await.unwrap().len(),
        earlier
    );
    t.app
        .comment(&w.admin, Some(t1), None, "@owned yours")
        .await
        .unwrap();
    let notes = t.app.notifications(&w.owned, 50).await.unwrap();
    assert_eq!(notes.len(), earlier + 1);
    assert_eq!(notes[0].ticket_id, Some(t1));
    assert!(notes.iter().all(|n| n.ticket_id != Some(t4)));
    t.app
        .assign_ticket_owner(&w.admin, t4, Some(w.owned_id))
        .await
        .unwrap();
    // Now visible: the mention, and the assignment itself.
    let notes = t.app.notifications(&w.owned, 50).await.unwrap();
    assert_eq!(notes.len(), earlier + 3);
    assert_eq!(notes.iter().filter(|n| n.ticket_id == Some(t4)).count(), 2);

    // A contact's conversations (INB-03) and conversation lists: tickets the viewer cannot
    // see hide their conversations; conversations without a ticket are the inbox's.
    let dora = contact(&t, "dora@customer.example").await;
    let conversation = |owner: Option<UserId>, ticket: TicketCreation| NewConversation {
        owner,
        ticket,
        ..new_conversation(Channel::Email, Some(dora.id))
    };
    let (mine, _) = t
        .app
        .create_conversation(
            &sys,
            conversation(Some(w.owned_id), TicketCreation::Automatic),
            None,
        )
        .await
        .unwrap();
    let (theirs, _) = t
        .app
        .create_conversation(
            &sys,
            conversation(Some(w.red_id), TicketCreation::Automatic),
            None,
        )
        .await
        .unwrap();
    let (open_inbox, _) = t
        .app
        .create_conversation(&sys, conversation(None, TicketCreation::None), None)
        .await
        .unwrap();
    let others = |actor: Actor| {
        let app = t.app.clone();
        async move {
            app.other_conversations_of_contact(&actor, mine.id)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect::<BTreeSet<_>>()
        }
    };
    assert_eq!(
        others(w.owned.clone()).await,
        [open_inbox.id].into_iter().collect()
    );
    assert_eq!(
        others(w.all.clone()).await,
        [theirs.id, open_inbox.id].into_iter().collect()
    );
    assert_not_found(
        t.app
            .other_conversations_of_contact(&w.owned, theirs.id)
            .await,
    );
    let listed: BTreeSet<ConversationId> = t
        .app
        .list_conversations(&w.owned, &ConversationListQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(listed.contains(&mine.id) && listed.contains(&open_inbox.id));
    assert!(!listed.contains(&theirs.id));
    assert_not_found(t.app.send_reply(&w.owned, theirs.id, reply("hi")).await);
    assert_not_found(t.app.close_conversation(&w.owned, theirs.id).await);
    assert_eq!(conv(&t, theirs.id).await.status, ConversationStatus::Open);
}

/// A generated account: teams, users (access level and team memberships), tickets (owner
/// and team by index).
#[derive(Debug, Clone)]
struct Fixture {
    teams: usize,
    users: Vec<(TicketAccessLevel, Vec<usize>)>,
    tickets: Vec<(Option<usize>, Option<usize>)>,
}

/// Builds the fixture and checks, for every user, that lists, counts and record reads select
/// exactly the tickets `ViewerScope::allows` accepts given the fixture's own facts.
async fn check_access_matches_policy(t: &TestApp, f: &Fixture) {
    let mut team_ids = Vec::new();
    for i in 0..f.teams {
        team_ids.push(t.team(&format!("team{i}")).await);
    }
    let mut users = Vec::new();
    for (i, (level, teams)) in f.users.iter().enumerate() {
        let names: Vec<String> = teams.iter().map(|k| format!("team{k}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let (u, actor) = t.agent(&format!("u{i}@example.com"), *level, &names).await;
        users.push((u.id, actor));
    }
    let sys = Actor::system();
    let mut tickets = Vec::new();
    for (i, (owner, team)) in f.tickets.iter().enumerate() {
        let mut p = props(&[
            ("subject", &format!("ticket {i}")),
            ("hs_pipeline_stage", STAGE_NEW),
        ]);
        if let Some(o) = owner {
            p.insert("hubspot_owner_id".into(), users[*o].0.to_string());
        }
        if let Some(k) = team {
            p.insert("hubspot_team_id".into(), team_ids[*k].to_string());
        }
        let created = t
            .app
            .create_ticket(
                &sys,
                NewTicket {
                    properties: p,
                    ..NewTicket::default()
                },
            )
            .await
            .unwrap();
        let facts = TicketAccessFacts {
            owner: owner.map(|o| users[o].0),
            team: team.map(|k| team_ids[k]),
            owner_teams: owner
                .map(|o| f.users[o].1.iter().map(|k| team_ids[*k]).collect())
                .unwrap_or_default(),
        };
        tickets.push((created.id, facts));
    }
    for (i, (_, actor)) in users.iter().enumerate() {
        let scope = actor.scope();
        let expected: BTreeSet<TicketId> = tickets
            .iter()
            .filter(|(_, facts)| scope.allows(facts))
            .map(|(id, _)| *id)
            .collect();
        let listed = t.app.list_tickets(actor, &all_tickets()).await.unwrap();
        assert_eq!(
            ids(&listed),
            expected,
            "user {i} {:?}: list ({f:?})",
            f.users[i]
        );
        assert_eq!(listed.len(), expected.len(), "user {i}: no duplicates");
        let n = t.app.count_tickets(actor, &all_tickets()).await.unwrap();
        assert_eq!(n as usize, expected.len(), "user {i}: count ({f:?})");
        for (id, _) in &tickets {
            assert_eq!(
                t.app.ticket(actor, *id).await.is_ok(),
                expected.contains(id),
                "user {i}: read of {id} ({f:?})"
            );
        }
    }
    check_associations_and_events_match_policy(t, f, &users, &tickets).await;
}

/// Findings 3 and 4 of the hardening review, held to the same predicate: each ticket gets a
/// contact and a conversation; for every user (and one without Service access), a contact
/// search by `associations.ticket` finds exactly the contacts of the tickets `allows`
/// accepts, and an event about a ticket or its conversation reaches them iff `allows`.
async fn check_associations_and_events_match_policy(
    t: &TestApp,
    f: &Fixture,
    users: &[(UserId, Actor)],
    tickets: &[(TicketId, TicketAccessFacts)],
) {
    let sys = Actor::system();
    let mut linked = Vec::new();
    for (i, (id, _)) in tickets.iter().enumerate() {
        let k = contact(t, &format!("linked{i}@customer.example")).await;
        t.app
            .associate(
                &sys,
                AssociationEnd::new(ObjectType::Contact, k.id.0),
                AssociationEnd::new(ObjectType::Ticket, id.0),
            )
            .await
            .unwrap();
        let c = attach_new_conversation(t, &sys, *id, &k).await;
        linked.push((k.id.0, c.id));
    }
    check_child_reads_match_policy(t, f, users, tickets, &linked).await;
    let (_, nobody) = t
        .user_with(
            "no-service@example.com",
            Role::Agent,
            TicketAccessLevel::All,
            &[],
            false,
        )
        .await;
    let viewers = users.iter().map(|(_, a)| a).chain([&nobody]).enumerate();
    let ticket_ids: Vec<TicketId> = tickets.iter().map(|(id, _)| *id).collect();
    for (i, actor) in viewers {
        let scope = actor.scope();
        let expected: BTreeSet<i64> = tickets
            .iter()
            .zip(&linked)
            .filter(|((_, facts), _)| scope.allows(facts))
            .map(|(_, (k, _))| *k)
            .collect();
        // IN needs values: a fixture without tickets has none.
        let ops: &[&str] = if ticket_ids.is_empty() {
            &["HAS_PROPERTY"]
        } else {
            &["HAS_PROPERTY", "IN"]
        };
        for op in ops {
            let found = search_by_ticket(t, actor, ObjectType::Contact, op, &ticket_ids).await;
            assert_eq!(found, expected, "viewer {i}: contacts by {op} ({f:?})");
        }
        for ((id, facts), (k, c)) in tickets.iter().zip(&linked) {
            let allowed = scope.allows(facts);
            let found = search_by_ticket(t, actor, ObjectType::Contact, "EQ", &[*id]).await;
            let want: BTreeSet<i64> = allowed.then_some(*k).into_iter().collect();
            assert_eq!(found, want, "viewer {i}: contacts of {id} ({f:?})");
            for e in [
                fd_app::Event::TicketChanged(*id),
                fd_app::Event::ConversationChanged(*c),
                fd_app::Event::MessageAdded {
                    conversation: *c,
                    ticket: Some(*id),
                },
            ] {
                assert_eq!(
                    t.app.may_see_event(actor, &e).await.unwrap(),
                    allowed,
                    "viewer {i}: {e:?} ({f:?})"
                );
            }
            assert_eq!(
                t.app
                    .may_watch(actor, fd_app::WatchTarget::Ticket(*id))
                    .await
                    .unwrap(),
                allowed,
                "viewer {i}: watch {id} ({f:?})"
            );
        }
    }
}

/// HD-09 on child records: for each ticket (its conversation from `linked`), a message with
/// an attachment, a comment on the ticket and one on the conversation. Every viewer reads
/// them exactly when `allows` accepts the ticket — through the use cases and through the
/// store's scoped queries themselves, which must hide them without any check in front.
async fn check_child_reads_match_policy(
    t: &TestApp,
    f: &Fixture,
    users: &[(UserId, Actor)],
    tickets: &[(TicketId, TicketAccessFacts)],
    linked: &[(i64, ConversationId)],
) {
    let sys = Actor::system();
    let (_, commenter) = t.admin("commenter@example.com").await;
    let content = b"attached bytes";
    let sha = fd_mail::sha256_hex(content);
    let mut tx = t.app.db().write().await.unwrap();
    tx.put_blob(&sha, content, fd_testkit::START_MS)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut children = Vec::new();
    for ((id, _), (_, c)) in tickets.iter().zip(linked) {
        let mid = t
            .app
            .record_inbound_message(
                &sys,
                *c,
                InboundMessage {
                    attachments: vec![AttachmentMeta {
                        filename: "a.txt".into(),
                        content_type: "text/plain".into(),
                        size: content.len() as i64,
                        sha256: sha.clone(),
                        content_id: None,
                    }],
                    ..inbound(
                        "with attachment",
                        "linked@customer.example",
                        &unique_message_id(),
                    )
                },
            )
            .await
            .unwrap();
        t.app
            .comment(&commenter, Some(*id), None, "on the ticket")
            .await
            .unwrap();
        t.app
            .comment(&commenter, None, Some(*c), "on the conversation")
            .await
            .unwrap();
        children.push(mid);
    }
    for (i, (_, actor)) in users.iter().enumerate() {
        let scope = actor.scope();
        for (((id, facts), (_, c)), mid) in tickets.iter().zip(linked).zip(&children) {
            let allowed = scope.allows(facts);
            let why = format!("user {i}, ticket {id} ({f:?})");
            // Use cases.
            assert_eq!(
                t.app.messages(actor, *c).await.is_ok(),
                allowed,
                "messages: {why}"
            );
            assert_eq!(
                t.app.thread_items(actor, *c).await.is_ok(),
                allowed,
                "thread items: {why}"
            );
            assert_eq!(
                t.app.message_attachment(actor, *mid, 0).await.is_ok(),
                allowed,
                "attachment: {why}"
            );
            assert_eq!(
                t.app.message_mail_meta(actor, *mid).await.is_ok(),
                allowed,
                "mail meta: {why}"
            );
            assert_eq!(
                t.app
                    .message_html(actor, *mid, false, None, |i| format!("/a/{i}"))
                    .await
                    .is_ok(),
                allowed,
                "message html: {why}"
            );
            assert_eq!(
                t.app.thread_messages(actor, *c).await.is_ok(),
                allowed,
                "thread with mail meta: {why}"
            );
            // The store's queries, with no use case in front.
            let mut tx = t.app.db().read().await.unwrap();
            let messages = tx.messages(&scope, *c).await.unwrap();
            assert_eq!(messages.is_some(), allowed, "store messages: {why}");
            if let Some(m) = messages {
                assert_eq!(m.len(), 2, "both messages of a visible conversation: {why}");
            }
            assert_eq!(
                tx.message(&scope, *mid).await.unwrap().is_some(),
                allowed,
                "store message: {why}"
            );
            assert_eq!(
                tx.comments_of_conversation(&scope, *c).await.unwrap().len(),
                usize::from(allowed),
                "store conversation comments: {why}"
            );
            assert_eq!(
                tx.comments_of_ticket(&scope, *id).await.unwrap().len(),
                2 * usize::from(allowed),
                "store ticket comments: {why}"
            );
            assert_eq!(
                tx.conversations_of_ticket(&scope, *id, false)
                    .await
                    .unwrap()
                    .iter()
                    .map(|x| x.id)
                    .collect::<Vec<_>>(),
                allowed.then_some(*c).into_iter().collect::<Vec<_>>(),
                "store ticket conversations: {why}"
            );
            assert_eq!(
                tx.thread_mail_meta(&scope, *c).await.unwrap(),
                Vec::new(),
                "no notices in these messages: {why}"
            );
            tx.commit().await.unwrap();
            if allowed {
                let d = t.app.ticket_details(actor, *id).await.unwrap();
                assert_eq!(d.comments.len(), 2, "details comments: {why}");
                assert_eq!(d.conversations.len(), 1, "details conversations: {why}");
            } else {
                assert_not_found(t.app.ticket_details(actor, *id).await);
            }
        }
    }
}

fn level(n: u8) -> TicketAccessLevel {
    match n % 3 {
        0 => TicketAccessLevel::All,
        1 => TicketAccessLevel::Team,
        _ => TicketAccessLevel::Owned,
    }
}

fn fixture_strategy() -> impl Strategy<Value = Fixture> {
    (1usize..=3)
        .prop_flat_map(|teams| {
            let user = (0u8..3, prop::collection::btree_set(0..teams, 0..=teams));
            (Just(teams), prop::collection::vec(user, 1..=4))
        })
        .prop_flat_map(|(teams, users)| {
            let n = users.len();
            let ticket = (prop::option::of(0..n), prop::option::of(0..teams));
            (
                Just(teams),
                Just(users),
                prop::collection::vec(ticket, 0..=10),
            )
        })
        .prop_map(|(teams, users, tickets)| Fixture {
            teams,
            users: users
                .into_iter()
                .map(|(l, ts)| (level(l), ts.into_iter().collect()))
                .collect(),
            tickets,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn hd_09_access_scoping_matches_policy_property(f in fixture_strategy()) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let t = TestApp::sqlite().await;
            check_access_matches_policy(&t, &f).await;
        });
    }

    /// The same property on PostgreSQL (skipped without a cluster, failing instead when
    /// `FRONTDESK_REQUIRE_POSTGRES=1`).
    #[test]
    fn hd_09_access_scoping_matches_policy_property_postgres(f in fixture_strategy()) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            match TestApp::postgres().await {
                Some(t) => check_access_matches_policy(&t, &f).await,
                None => eprintln!("{} is not set: PostgreSQL run skipped", fd_testkit::POSTGRES_ENV),
            }
        });
    }
}

/// A fixed pseudo-random account (an LCG with a constant seed), larger than the property
/// test's, on both backends.
async fn hd_09_randomized(t: TestApp) {
    let mut state: u64 = 0x5eed_f00d_dead_beef;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n
    };
    let teams = 3;
    let users = (0..6)
        .map(|_| {
            let l = level(next(3) as u8);
            let memberships: Vec<usize> = (0..teams).filter(|_| next(2) == 0).collect();
            (l, memberships)
        })
        .collect::<Vec<_>>();
    let tickets = (0..24)
        .map(|_| {
            let owner = (next(4) != 0).then(|| next(users.len()));
            let team = (next(3) != 0).then(|| next(teams));
            (owner, team)
        })
        .collect();
    let f = Fixture {
        teams,
        users,
        tickets,
    };
    // Every access level appears, so every branch of the scope is exercised.
    for l in [
        TicketAccessLevel::All,
        TicketAccessLevel::Team,
        TicketAccessLevel::Owned,
    ] {
        assert!(
            f.users.iter().any(|(x, _)| *x == l),
            "the seed yields a {l} user"
        );
    }
    check_access_matches_policy(&t, &f).await;
}

/// One search of `kind` with a single `associations.ticket` filter; the matching ids.
async fn search_by_ticket(
    t: &TestApp,
    actor: &Actor,
    kind: ObjectType,
    operator: &str,
    tickets: &[TicketId],
) -> BTreeSet<i64> {
    let filter = fd_app::FilterInput {
        property_name: "associations.ticket".into(),
        operator: operator.into(),
        value: (operator == "EQ" || operator == "NEQ")
            .then(|| tickets.first().map(|id| id.to_string()))
            .flatten(),
        high_value: None,
        values: if matches!(operator, "IN" | "NOT_IN") {
            tickets.iter().map(|id| id.to_string()).collect()
        } else {
            Vec::new()
        },
    };
    let req = fd_app::SearchRequest {
        groups: vec![vec![filter]],
        limit: 200,
        ..fd_app::SearchRequest::default()
    };
    let (total, records) = t.app.search_records(actor, kind, &req).await.unwrap();
    let found: BTreeSet<i64> = records.iter().map(|r| r.id).collect();
    assert_eq!(total as usize, found.len(), "{kind} {operator}: total");
    found
}

/// Finding 3 of the hardening review: contacts and companies searched by
/// `associations.ticket` (EQ, NEQ, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY) only consider
/// the tickets the viewer may see, for team, owned and all access and for a user without
/// Service access; trashed tickets are no one's.
async fn hd_09_association_search(t: TestApp) {
    let w = world(&t).await;
    let sys = Actor::system();
    let (_, nobody) = t
        .user_with(
            "nobody@example.com",
            Role::Agent,
            TicketAccessLevel::All,
            &[],
            false,
        )
        .await;
    // Contact and company i are linked to ticket i; one of each is linked to none.
    let mut contacts = Vec::new();
    let mut companies = Vec::new();
    for (i, id) in w.tickets.iter().enumerate() {
        let link = vec![AssociationEnd::new(ObjectType::Ticket, id.0)];
        let k = t
            .app
            .create_record(
                &sys,
                ObjectType::Contact,
                props(&[("email", &format!("k{i}@customer.example"))]),
                link.clone(),
            )
            .await
            .unwrap();
        let c = t
            .app
            .create_record(
                &sys,
                ObjectType::Company,
                props(&[("name", &format!("Company {i}"))]),
                link,
            )
            .await
            .unwrap();
        contacts.push(k.id);
        companies.push(c.id);
    }
    let lone_contact = contact(&t, "lone@customer.example").await.id.0;
    let lone_company = t
        .app
        .create_record(
            &sys,
            ObjectType::Company,
            props(&[("name", "Lone")]),
            Vec::new(),
        )
        .await
        .unwrap()
        .id;
    let [t1, t2, t3, t4, t5] = w.tickets;
    let cases: Vec<(&str, &Actor, Vec<TicketId>)> = vec![
        ("all", &w.all, vec![t1, t2, t3, t4, t5]),
        ("blue team", &w.blue, vec![t2, t5]),
        ("owned", &w.owned, vec![t1]),
        ("red team", &w.red, vec![t3]),
        ("no service access", &nobody, vec![]),
    ];
    for (kind, records, lone) in [
        (ObjectType::Contact, &contacts, lone_contact),
        (ObjectType::Company, &companies, lone_company),
    ] {
        let all: BTreeSet<i64> = records.iter().copied().chain([lone]).collect();
        for (who, actor, visible) in &cases {
            let of = |ids: &[TicketId]| -> BTreeSet<i64> {
                w.tickets
                    .iter()
                    .zip(records.iter())
                    .filter(|(id, _)| ids.contains(id) && visible.contains(id))
                    .map(|(_, r)| *r)
                    .collect()
            };
            let linked = of(&w.tickets);
            let unlinked: BTreeSet<i64> = all.difference(&linked).copied().collect();
            for id in w.tickets {
                assert_eq!(
                    search_by_ticket(&t, actor, kind, "EQ", &[id]).await,
                    of(&[id]),
                    "{who}: {kind} EQ {id}"
                );
                let others: BTreeSet<i64> = all.difference(&of(&[id])).copied().collect();
                assert_eq!(
                    search_by_ticket(&t, actor, kind, "NEQ", &[id]).await,
                    others,
                    "{who}: {kind} NEQ {id}"
                );
            }
            assert_eq!(
                search_by_ticket(&t, actor, kind, "IN", &w.tickets).await,
                linked,
                "{who}: {kind} IN"
            );
            assert_eq!(
                search_by_ticket(&t, actor, kind, "NOT_IN", &w.tickets).await,
                unlinked,
                "{who}: {kind} NOT_IN"
            );
            assert_eq!(
                search_by_ticket(&t, actor, kind, "HAS_PROPERTY", &[]).await,
                linked,
                "{who}: {kind} HAS_PROPERTY"
            );
            assert_eq!(
                search_by_ticket(&t, actor, kind, "NOT_HAS_PROPERTY", &[]).await,
                unlinked,
                "{who}: {kind} NOT_HAS_PROPERTY"
            );
        }
    }
    // The ticket list's contact column looks up only tickets the viewer may see, whatever
    // tickets the caller hands it.
    let hidden = tk(&t, t3).await;
    let theirs = t
        .app
        .contacts_of_tickets(&w.owned, &[hidden, tk(&t, t1).await])
        .await
        .unwrap();
    assert_eq!(
        theirs.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![t1],
        "{theirs:?}"
    );
    // A trashed ticket is nobody's: its contacts no longer match it.
    t.app.trash_ticket(&w.admin, t4).await.unwrap();
    assert!(
        search_by_ticket(&t, &w.all, ObjectType::Contact, "EQ", &[t4])
            .await
            .is_empty()
    );
    // Tickets searched by their contacts are scoped as tickets.
    let filter = fd_app::FilterInput {
        property_name: "associations.contact".into(),
        operator: "IN".into(),
        value: None,
        high_value: None,
        values: contacts.iter().map(|k| k.to_string()).collect(),
    };
    let req = fd_app::SearchRequest {
        groups: vec![vec![filter]],
        limit: 200,
        ..fd_app::SearchRequest::default()
    };
    let (_, found) = t
        .app
        .search_records(&w.blue, ObjectType::Ticket, &req)
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|r| r.id).collect::<BTreeSet<_>>(),
        [t2.0, t5.0].into_iter().collect()
    );
}

/// Finding 8 of the hardening review: creating a contact, company or deal for a ticket the
/// actor may not see is "not found" and writes nothing; a draft naming a message it does
/// not hold (hidden, foreign or missing) is refused alike.
async fn hidden_ticket_writes_nothing(t: TestApp) {
    let w = world(&t).await;
    let [t1, _, t3, _, _] = w.tickets;
    let sys = Actor::system();
    let refused = [
        fd_app::NewLinkedRecord::Contact(fd_app::NewContact {
            email: Some("sneaky@customer.example".into()),
            ..fd_app::NewContact::default()
        }),
        fd_app::NewLinkedRecord::Company {
            name: "Sneaky Ltd".into(),
            domain: None,
        },
        fd_app::NewLinkedRecord::Deal {
            name: "Sneaky deal".into(),
            amount: None,
        },
    ];
    for new in refused.clone() {
        assert_not_found(t.app.create_for_ticket(&w.owned, t3, new).await);
    }
    assert!(
        t.app
            .contact_id_by_email("sneaky@customer.example")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        t.app
            .search_companies("Sneaky", 10)
            .await
            .unwrap()
            .is_empty()
    );
    let mut tx = t.app.db().read().await.unwrap();
    let links = tx
        .associations_from(ObjectType::Ticket, t3.0, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(links.is_empty(), "{links:?}");
    // On a ticket they see, the same request works, and reuses a known address.
    for new in refused {
        t.app.create_for_ticket(&w.owned, t1, new).await.unwrap();
    }
    let again = fd_app::NewLinkedRecord::Contact(fd_app::NewContact {
        email: Some("sneaky@customer.example".into()),
        ..fd_app::NewContact::default()
    });
    let end = t.app.create_for_ticket(&w.all, t3, again).await.unwrap();
    assert_eq!(
        Some(end.id),
        t.app
            .contact_id_by_email("sneaky@customer.example")
            .await
            .unwrap()
    );

    // Drafts: a message of a hidden ticket's conversation, of another visible conversation,
    // or no message at all is refused like a missing one.
    let k = contact(&t, "carl@customer.example").await;
    let mine = attach_new_conversation(&t, &sys, t1, &k).await;
    let hidden = attach_new_conversation(&t, &sys, t3, &k).await;
    let mine_msg = t.app.messages(&sys, mine.id).await.unwrap()[0].id;
    let hidden_msg = t.app.messages(&sys, hidden.id).await.unwrap()[0].id;
    let draft = |conversation: Option<ConversationId>, ticket, reply_to| Draft {
        id: DraftId(0),
        author_id: UserId(0),
        ticket_id: ticket,
        conversation_id: conversation,
        body_text: "Working on it".into(),
        body_html: None,
        recipients: Recipients::default(),
        from_address: None,
        reply_to_message_id: reply_to,
        seen_message_id: None,
        created_at: 0,
        updated_at: 0,
    };
    for bad in [hidden_msg, MessageId(hidden_msg.0 + 1000)] {
        assert_invalid(
            t.app
                .save_draft(&w.owned, draft(Some(mine.id), None, Some(bad)))
                .await,
            "reply_to",
        );
        assert_invalid(
            t.app
                .save_draft(&w.owned, draft(None, Some(t1), Some(bad)))
                .await,
            "reply_to",
        );
    }
    assert!(t.app.drafts(&w.owned).await.unwrap().is_empty());
    let saved = t
        .app
        .save_draft(&w.owned, draft(Some(mine.id), None, Some(mine_msg)))
        .await
        .unwrap();
    assert_eq!(saved.reply_to_message_id, Some(mine_msg));
    let saved = t
        .app
        .save_draft(&w.owned, draft(None, Some(t1), Some(mine_msg)))
        .await
        .unwrap();
    assert_eq!(saved.reply_to_message_id, Some(mine_msg));
}
