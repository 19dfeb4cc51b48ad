//! Free-text search (`query` of the CRM search, the web UI's search box) over the full-text
//! index of migration 0005: words and a prefix of the last one, every term required, ids, scoping,
//! index upkeep on update, trash, archive and delete, and input that is not query syntax.

use std::collections::BTreeMap;

use fd_app::Actor;
use fd_app::domain::*;
use fd_store::*;
use fd_testkit::{TestApp, on_both_backends};

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn create(t: &TestApp, kind: ObjectType, pairs: &[(&str, &str)]) -> i64 {
    let mut p = props(pairs);
    if kind == ObjectType::Ticket {
        p.entry("hs_pipeline".into()).or_insert_with(|| "0".into());
        p.entry("hs_pipeline_stage".into())
            .or_insert_with(|| "1".into());
    }
    t.app
        .create_record(&Actor::system(), kind, p, Vec::new())
        .await
        .unwrap()
        .id
}

async fn update(t: &TestApp, kind: ObjectType, id: i64, pairs: &[(&str, &str)]) {
    t.app
        .update_record(&Actor::system(), kind, id, props(pairs))
        .await
        .unwrap();
}

async fn ticket(t: &TestApp, subject: &str, content: &str) -> i64 {
    create(
        t,
        ObjectType::Ticket,
        &[("subject", subject), ("content", content)],
    )
    .await
}

/// The ids a free-text search finds, in id order, for a viewer.
async fn find_as(t: &TestApp, scope: &ViewerScope, object: ObjectType, text: &str) -> Vec<i64> {
    let mut tx = t.app.db().read().await.unwrap();
    let ids = search_in(&mut tx, scope, object, text).await;
    tx.commit().await.unwrap();
    ids
}

/// The same inside the transaction `tx`, as it sees the data.
async fn search_in(tx: &mut Tx, scope: &ViewerScope, object: ObjectType, text: &str) -> Vec<i64> {
    let page = tx
        .search(
            scope,
            &SearchQuery {
                object,
                groups: Vec::new(),
                text: Some(text.into()),
                sort: None,
                limit: 100,
                offset: 0,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("search {text:?}: {e}"));
    assert_eq!(page.total, page.ids.len() as i64, "total of {text:?}");
    page.ids
}

async fn find(t: &TestApp, object: ObjectType, text: &str) -> Vec<i64> {
    find_as(t, &ViewerScope::All, object, text).await
}

async fn tickets(t: &TestApp, text: &str) -> Vec<i64> {
    find(t, ObjectType::Ticket, text).await
}

/// The web UI's search box: a ticket view with text.
async fn ui_tickets(t: &TestApp, view: TicketView, text: &str) -> Vec<i64> {
    let mut tx = t.app.db().read().await.unwrap();
    let q = TicketListQuery {
        view,
        limit: 1000,
        text: Some(text.into()),
        ..TicketListQuery::default()
    };
    let mut ids: Vec<i64> = tx
        .list_tickets(&ViewerScope::All, &q)
        .await
        .unwrap_or_else(|e| panic!("list {text:?}: {e}"))
        .iter()
        .map(|t| t.id.0)
        .collect();
    let n = tx.count_tickets(&ViewerScope::All, &q).await.unwrap();
    tx.commit().await.unwrap();
    ids.sort_unstable();
    assert_eq!(n, ids.len() as i64, "count of {text:?}");
    ids
}

on_both_backends! {
    free_text_matches_whole_words_and_a_prefix_of_the_last => whole_words_and_prefixes;
    free_text_requires_every_term_in_any_field => every_term_required;
    free_text_number_matches_the_id_or_the_text => numbers_and_ids;
    free_text_is_case_insensitive_and_ignores_punctuation => case_and_punctuation;
    free_text_sees_a_changed_subject_at_once => updates_reflected;
    free_text_skips_trashed_archived_and_deleted_records => trashed_archived_deleted;
    free_text_stays_within_the_viewers_scope => scoped;
    free_text_covers_contacts_and_companies => contacts_and_companies;
    free_text_treats_query_syntax_as_literal_text => hostile_syntax;
    free_text_follows_every_change_of_one_transaction => one_transaction;
    free_text_index_is_rebuilt_from_the_backfill_queue_on_migrate => backfill_on_migrate;
    sorted_pages_break_ties_by_id_and_put_missing_values_last => sorted_pages;
}

async fn whole_words_and_prefixes(t: TestApp) {
    let printer = ticket(&t, "Printer jammed", "Paper stuck in tray 2").await;
    let reprint = ticket(&t, "Please reprint invoice", "").await;
    assert_eq!(tickets(&t, "printer").await, vec![printer]);
    assert_eq!(tickets(&t, "print").await, vec![printer], "a word prefix");
    assert_eq!(tickets(&t, "pr").await, vec![printer], "a short prefix");
    assert_eq!(tickets(&t, "reprint").await, vec![reprint]);
    // Words match from their start, as HubSpot's `query` does: no infix matches.
    assert!(tickets(&t, "rinter").await.is_empty());
    assert!(tickets(&t, "jammed tray 3").await.is_empty());
    // Only the last word may be unfinished; the words before it are whole words.
    assert_eq!(tickets(&t, "jammed stu").await, vec![printer]);
    assert_eq!(tickets(&t, "stuck jam").await, vec![printer]);
    assert!(tickets(&t, "jam stuck").await.is_empty());
    // The UI's search box uses the same index.
    assert_eq!(
        ui_tickets(&t, TicketView::All, "PRINT").await,
        vec![printer]
    );
}

async fn every_term_required(t: TestApp) {
    let both = ticket(&t, "Refund request", "The order arrived broken").await;
    let refund_only = ticket(&t, "Refund please", "Changed my mind").await;
    let broken_only = ticket(&t, "Screen broken", "").await;
    assert_eq!(tickets(&t, "refund").await, vec![both, refund_only]);
    assert_eq!(tickets(&t, "broken").await, vec![both, broken_only]);
    // Words from the subject and the description together.
    assert_eq!(tickets(&t, "refund broken").await, vec![both]);
    assert_eq!(tickets(&t, "  broken   REFUND ").await, vec![both]);
    assert!(tickets(&t, "refund broken missing").await.is_empty());
    assert_eq!(
        ui_tickets(&t, TicketView::All, "refund broken").await,
        vec![both]
    );
    // A term spelled with punctuation is a phrase: its words adjacent, in order.
    let order = ticket(&t, "Order 12-345 lost", "").await;
    assert_eq!(tickets(&t, "12-345").await, vec![order]);
    assert!(tickets(&t, "345-12").await.is_empty());
}

async fn numbers_and_ids(t: TestApp) {
    let a = ticket(&t, "First", "").await;
    let b = ticket(&t, "Second", "").await;
    let by_text = ticket(&t, "Invoice 7777", "").await;
    assert_eq!(tickets(&t, &a.to_string()).await, vec![a]);
    assert_eq!(tickets(&t, "7777").await, vec![by_text]);
    assert_eq!(tickets(&t, "77").await, vec![by_text], "a number prefix");
    // The id stands for its term; the other terms still have to be in the text.
    assert_eq!(tickets(&t, &format!("second {b}")).await, vec![b]);
    assert!(tickets(&t, &format!("first {b}")).await.is_empty());
    assert_eq!(tickets(&t, &format!("invoice 7777 {a}")).await.len(), 0);
    assert_eq!(
        tickets(&t, &format!("{b} {b} second")).await,
        vec![b],
        "a repeated id"
    );
}

async fn case_and_punctuation(t: TestApp) {
    let id = ticket(
        &t,
        "ERROR: disk-full on db-01!",
        "Contact ann.smith@example.com (urgent)",
    )
    .await;
    for q in [
        "error",
        "Error:",
        "DISK",
        "disk-full",
        "full",
        "db-01",
        "ann.smith@example.com",
        "example.com",
        "smith",
        "(urgent)",
    ] {
        assert_eq!(tickets(&t, q).await, vec![id], "{q:?}");
    }
    assert!(tickets(&t, "full-disk").await.is_empty());
}

async fn updates_reflected(t: TestApp) {
    let id = ticket(&t, "Printer jammed", "Tray 2").await;
    assert_eq!(tickets(&t, "printer").await, vec![id]);
    update(
        &t,
        ObjectType::Ticket,
        id,
        &[("subject", "Scanner offline")],
    )
    .await;
    assert!(tickets(&t, "printer").await.is_empty(), "the old subject");
    assert_eq!(tickets(&t, "scanner").await, vec![id]);
    assert_eq!(tickets(&t, "scanner tray").await, vec![id], "content kept");
    // A change of something else leaves the text findable.
    update(
        &t,
        ObjectType::Ticket,
        id,
        &[("hs_ticket_priority", "HIGH"), ("hs_pipeline_stage", "2")],
    )
    .await;
    assert_eq!(tickets(&t, "scanner tray").await, vec![id]);
    update(&t, ObjectType::Ticket, id, &[("content", "")]).await;
    assert!(tickets(&t, "tray").await.is_empty(), "cleared content");
    assert_eq!(tickets(&t, "scanner").await, vec![id]);
}

async fn trashed_archived_deleted(t: TestApp) {
    let kept = ticket(&t, "Invoice missing", "").await;
    let trashed = ticket(&t, "Invoice duplicated", "").await;
    t.app
        .archive_record(&Actor::system(), ObjectType::Ticket, trashed)
        .await
        .unwrap();
    assert_eq!(tickets(&t, "invoice").await, vec![kept]);
    assert_eq!(ui_tickets(&t, TicketView::All, "invoice").await, vec![kept]);
    // The trash view still finds it by text.
    assert_eq!(
        ui_tickets(&t, TicketView::Trash, "invoice").await,
        vec![trashed]
    );
    // Purged: gone from the index too (a row id reused later must not inherit its words).
    let mut tx = t.app.db().write().await.unwrap();
    tx.purge_ticket(TicketId(trashed), 0).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        ui_tickets(&t, TicketView::Trash, "invoice")
            .await
            .is_empty()
    );
    assert_eq!(tickets(&t, "invoice").await, vec![kept]);

    let contact = create(&t, ObjectType::Contact, &[("firstname", "Ada")]).await;
    assert_eq!(find(&t, ObjectType::Contact, "ada").await, vec![contact]);
    t.app
        .archive_record(&Actor::system(), ObjectType::Contact, contact)
        .await
        .unwrap();
    assert!(find(&t, ObjectType::Contact, "ada").await.is_empty());
}

async fn scoped(t: TestApp) {
    let (ann, _) = t
        .agent("ann@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let mine = create(
        &t,
        ObjectType::Ticket,
        &[
            ("subject", "Shared words"),
            ("hubspot_owner_id", &ann.id.0.to_string()),
        ],
    )
    .await;
    let other = ticket(&t, "Shared words", "").await;
    let owned = ViewerScope::Owned { user: ann.id };
    assert_eq!(
        find_as(&t, &owned, ObjectType::Ticket, "shared words").await,
        vec![mine]
    );
    // Not even by its id.
    assert!(
        find_as(&t, &owned, ObjectType::Ticket, &other.to_string())
            .await
            .is_empty()
    );
    assert_eq!(tickets(&t, "shared").await, vec![mine, other]);
}

async fn contacts_and_companies(t: TestApp) {
    let ada = create(
        &t,
        ObjectType::Contact,
        &[
            ("firstname", "Ada"),
            ("lastname", "Lovelace"),
            ("email", "ada@analytical.example"),
            ("phone", "+44 20 7946 0018"),
            ("company", "Analytical Engines"),
        ],
    )
    .await;
    let grace = create(
        &t,
        ObjectType::Contact,
        &[("firstname", "Grace"), ("lastname", "Hopper")],
    )
    .await;
    for q in [
        "ada lovelace",
        "lovel",
        "analytical",
        "ada@analytical.example",
        "7946",
        "engines",
    ] {
        assert_eq!(find(&t, ObjectType::Contact, q).await, vec![ada], "{q:?}");
    }
    assert_eq!(find(&t, ObjectType::Contact, "hopper").await, vec![grace]);
    update(&t, ObjectType::Contact, grace, &[("lastname", "Brewster")]).await;
    assert!(find(&t, ObjectType::Contact, "hopper").await.is_empty());
    assert_eq!(
        find(&t, ObjectType::Contact, "brewster grace").await,
        vec![grace]
    );

    let acme = create(
        &t,
        ObjectType::Company,
        &[("name", "Acme Corp"), ("domain", "acme.example")],
    )
    .await;
    assert_eq!(find(&t, ObjectType::Company, "acme").await, vec![acme]);
    assert_eq!(
        find(&t, ObjectType::Company, "acme.example").await,
        vec![acme]
    );
    assert!(find(&t, ObjectType::Company, "ada").await.is_empty());
    update(&t, ObjectType::Company, acme, &[("name", "Globex")]).await;
    assert_eq!(find(&t, ObjectType::Company, "globex").await, vec![acme]);
    assert!(find(&t, ObjectType::Company, "corp").await.is_empty());
}

async fn hostile_syntax(t: TestApp) {
    let plain = ticket(&t, "foo bar", "").await;
    let special = ticket(&t, "Costs 100% * 2 - x \\ ( \" ' :", "").await;
    // Operators of FTS5 and tsquery are plain words or separators here.
    for (q, expected) in [
        ("\"foo AND (", vec![]),
        ("\"foo", vec![plain]),
        ("foo)", vec![plain]),
        ("foo OR nothing", vec![]),
        ("NOT foo", vec![]),
        ("foo NEAR(bar)", vec![]),
        ("-foo", vec![plain]),
        ("!foo", vec![plain]),
        ("foo & !bar", vec![]),
        ("foo|bar", vec![plain]),
        ("foo:*", vec![plain]),
        ("'foo'", vec![plain]),
        ("foo<->bar", vec![plain]),
        ("subject:foo", vec![]),
        ("{body}:foo", vec![]),
        ("^foo", vec![plain]),
        ("f*", vec![plain]),
        ("*", vec![special]),
        ("%", vec![special]),
        ("\\", vec![special]),
        ("-", vec![special]),
        ("\"", vec![special]),
        ("'", vec![special]),
        ("(", vec![special]),
        ("*)", vec![]),
        ("_", vec![]),
        ("🎫", vec![]),
        ("\u{0}", vec![plain, special]),
    ] {
        assert_eq!(tickets(&t, q).await, expected, "{q:?}");
        assert_eq!(
            ui_tickets(&t, TicketView::All, q).await,
            expected,
            "UI {q:?}"
        );
    }
    // Over-long words and many terms are cut, not refused.
    let long = "a".repeat(5000);
    assert!(tickets(&t, &long).await.is_empty());
    let many = vec!["foo"; 500].join(" ");
    assert_eq!(tickets(&t, &many).await, vec![plain]);
    assert!(find(&t, ObjectType::Contact, "\"(*").await.is_empty());
    assert!(find(&t, ObjectType::Company, "AND OR NOT").await.is_empty());
}

async fn find_in(tx: &mut Tx, text: &str) -> Vec<i64> {
    search_in(tx, &ViewerScope::All, ObjectType::Ticket, text).await
}

async fn edit(tx: &mut Tx, id: i64, subject: &str) {
    let mut t = tx
        .ticket_for_update(&ViewerScope::All, TicketId(id))
        .await
        .unwrap()
        .unwrap();
    t.subject = subject.into();
    assert!(tx.save_ticket(&t).await.unwrap(), "saved {id}");
}

/// The index is brought up to date at the end of a write transaction (SQLite) or by the
/// database (PostgreSQL); either way a search inside the transaction, and every search after
/// it, sees each change exactly once, and a rolled-back transaction leaves nothing behind.
async fn one_transaction(t: TestApp) {
    let kept = ticket(&t, "Printer jammed", "").await;
    let purged = ticket(&t, "Printer offline", "").await;
    let edited = ticket(&t, "Toner low", "").await;

    let mut tx = t.app.db().write().await.unwrap();
    let mut template = tx
        .ticket(&ViewerScope::All, TicketId(kept))
        .await
        .unwrap()
        .unwrap();
    template.subject = "Scanner broken".into();
    let created = tx.insert_ticket(&template).await.unwrap().0;
    // Created and edited in the same transaction: never indexed under its first subject.
    edit(&mut tx, created, "Scanner fixed").await;
    edit(&mut tx, edited, "Toner empty").await;
    edit(&mut tx, edited, "Toner refilled").await;
    tx.purge_ticket(TicketId(purged), 0).await.unwrap();

    assert_eq!(find_in(&mut tx, "printer").await, vec![kept]);
    assert!(find_in(&mut tx, "broken").await.is_empty());
    assert_eq!(find_in(&mut tx, "fixed").await, vec![created]);
    assert!(find_in(&mut tx, "low").await.is_empty());
    assert!(find_in(&mut tx, "empty").await.is_empty());
    assert_eq!(find_in(&mut tx, "refilled").await, vec![edited]);
    // Changes after a search inside the transaction are indexed too.
    edit(&mut tx, created, "Scanner replaced").await;
    tx.commit().await.unwrap();

    assert!(tickets(&t, "fixed").await.is_empty());
    assert_eq!(tickets(&t, "replaced").await, vec![created]);
    assert_eq!(tickets(&t, "refilled").await, vec![edited]);
    assert_eq!(tickets(&t, "printer").await, vec![kept]);
    assert_eq!(tickets(&t, "scanner toner").await, Vec::<i64>::new());

    // Rolled back: neither the ticket nor its words remain, and the next write is unaffected.
    let mut tx = t.app.db().write().await.unwrap();
    template.subject = "Modem dead".into();
    tx.insert_ticket(&template).await.unwrap();
    edit(&mut tx, kept, "Modem dead too").await;
    drop(tx);
    assert!(tickets(&t, "modem").await.is_empty());
    assert_eq!(tickets(&t, "printer").await, vec![kept]);
    let later = ticket(&t, "Modem blinking", "").await;
    assert_eq!(tickets(&t, "modem").await, vec![later]);
}

/// Migration 0008 rebuilds the index by queueing every record in `search_backfill`; migrating
/// indexes the queue (here: one ticket whose index entry was removed behind the store's back)
/// and leaves it empty.
async fn backfill_on_migrate(t: TestApp) {
    let id = ticket(&t, "Quarterly invoice", "Zoë's problème").await;
    let mut tx = t.app.db().write().await.unwrap();
    let forget = match tx.backend() {
        Backend::Sqlite => format!("DELETE FROM tickets_fts WHERE rowid = {id}"),
        Backend::Postgres => format!("UPDATE tickets SET search_vector = NULL WHERE id = {id}"),
    };
    tx.exec_test_sql(&forget).await.unwrap();
    tx.exec_test_sql(&format!(
        "INSERT INTO search_backfill (kind, id) VALUES ('ticket', {id})"
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(tickets(&t, "quarterly").await.is_empty());
    t.app.db().migrate().await.unwrap();
    assert_eq!(tickets(&t, "quarterly").await, vec![id]);
    assert_eq!(tickets(&t, "zoe probleme").await, vec![id]);
    let mut tx = t.app.db().write().await.unwrap();
    assert_eq!(
        tx.exec_test_sql("DELETE FROM search_backfill")
            .await
            .unwrap(),
        0,
        "the queue is empty"
    );
    tx.commit().await.unwrap();
}

/// One page of tickets in stage `stage` (any stage when `None`), sorted by `sort`.
async fn sorted_page(
    t: &TestApp,
    stage: Option<&str>,
    sort: &str,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Vec<i64> {
    let groups = match stage {
        Some(s) => vec![vec![SearchFilter {
            field: SearchField::Property {
                name: "hs_pipeline_stage".into(),
                kind: ValueKind::Enum,
            },
            op: SearchOperator::Eq,
            value: Some(s.into()),
            high_value: None,
            values: Vec::new(),
        }]],
        None => Vec::new(),
    };
    let q = SearchQuery {
        object: ObjectType::Ticket,
        groups,
        text: None,
        sort: Some(SearchSort {
            name: sort.into(),
            kind: ValueKind::Number,
            descending,
        }),
        limit,
        offset,
    };
    let mut tx = t.app.db().read().await.unwrap();
    let page = tx.search(&ViewerScope::All, &q).await.unwrap();
    tx.commit().await.unwrap();
    page.ids
}

/// Sorts by a column that is never NULL are served in an index's order (migration 0032):
/// still ties by id in the sort's direction, across pages; a column that may be NULL
/// (`closed_date`) still puts the records without a value last in both directions.
async fn sorted_pages(t: TestApp) {
    // (created_at, id) of each ticket in stage 1; several share a creation time.
    let mut stage_one: Vec<(i64, i64)> = Vec::new();
    let mut all = Vec::new();
    let mut now = 0;
    for i in 0..9 {
        if i % 3 == 0 {
            t.clock.advance_ms(1_000);
            now += 1_000;
        }
        let stage = if i % 4 == 3 { "2" } else { "1" };
        let id = create(
            &t,
            ObjectType::Ticket,
            &[
                ("subject", &format!("Sorted {i}")),
                ("hs_pipeline_stage", stage),
            ],
        )
        .await;
        all.push(id);
        if stage == "1" {
            stage_one.push((now, id));
        }
    }
    let mut newest: Vec<i64> = stage_one.iter().rev().map(|(_, id)| *id).collect();
    stage_one.sort();
    assert_eq!(
        newest,
        {
            let mut v = stage_one.clone();
            v.sort_by(|a, b| b.cmp(a));
            v.iter().map(|(_, id)| *id).collect::<Vec<_>>()
        },
        "ids grow with creation"
    );
    let mut paged = sorted_page(&t, Some("1"), "createdate", true, 0, 4).await;
    paged.extend(sorted_page(&t, Some("1"), "createdate", true, 4, 4).await);
    assert_eq!(paged, newest);
    newest.reverse();
    assert_eq!(
        sorted_page(&t, Some("1"), "createdate", false, 0, 100).await,
        newest
    );
    assert_eq!(
        sorted_page(&t, None, "hs_object_id", true, 0, 100).await,
        all.iter().rev().copied().collect::<Vec<_>>()
    );

    // Two tickets closed at different times; the others have no closed date.
    t.clock.advance_ms(1_000);
    update(
        &t,
        ObjectType::Ticket,
        all[5],
        &[("hs_pipeline_stage", "4")],
    )
    .await;
    t.clock.advance_ms(1_000);
    update(
        &t,
        ObjectType::Ticket,
        all[1],
        &[("hs_pipeline_stage", "4")],
    )
    .await;
    let asc = sorted_page(&t, None, "closed_date", false, 0, 100).await;
    assert_eq!(asc[..2], [all[5], all[1]]);
    let desc = sorted_page(&t, None, "closed_date", true, 0, 100).await;
    assert_eq!(desc[..2], [all[1], all[5]]);
    // The rest follow, without a closed date, by id in the sort's direction.
    let open: Vec<i64> = all
        .iter()
        .copied()
        .filter(|id| *id != all[1] && *id != all[5])
        .collect();
    assert_eq!(asc[2..], open[..]);
    assert_eq!(
        desc[2..],
        open.iter().rev().copied().collect::<Vec<_>>()[..]
    );
}
