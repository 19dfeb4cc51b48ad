//! Test harness shared by the crates' integration tests: a fresh, migrated database per test
//! on SQLite (a temporary file) or PostgreSQL (a new database in the cluster named by
//! `FRONTDESK_TEST_POSTGRES_URL`), an [`App`] on it with a manual clock, and small fixtures.
//!
//! Test-only: nothing in the product depends on this crate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fd_app::domain::*;
use fd_app::{Actor, App, ManualClock, NewUserInput};
use fd_store::{Backend, Db, User};

/// The environment variable naming a PostgreSQL server (a maintenance database URL such as
/// `postgres://postgres@127.0.0.1:5432/postgres`) on which tests may create databases.
pub const POSTGRES_ENV: &str = "FRONTDESK_TEST_POSTGRES_URL";

/// Set to `1` (CI does, where it starts a cluster) to make a PostgreSQL variant fail rather
/// than skip when [`POSTGRES_ENV`] is missing: a run that was meant to cover PostgreSQL then
/// cannot pass without having done so.
pub const REQUIRE_POSTGRES_ENV: &str = "FRONTDESK_REQUIRE_POSTGRES";

/// The PostgreSQL maintenance URL tests may use: `None` means skip the PostgreSQL run,
/// which is refused (a panic, so the test fails) when PostgreSQL is required.
pub fn postgres_url() -> Option<String> {
    choose_postgres(
        std::env::var(POSTGRES_ENV).ok().as_deref(),
        std::env::var(REQUIRE_POSTGRES_ENV).ok().as_deref(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The decision of [`postgres_url`] from the two variables' values: a URL to use, `None`
/// to skip, or why skipping is not allowed.
fn choose_postgres(url: Option<&str>, require: Option<&str>) -> Result<Option<String>, String> {
    match url.filter(|s| !s.trim().is_empty()) {
        Some(u) => Ok(Some(u.to_string())),
        None if require.is_some_and(|r| r.trim() == "1") => Err(format!(
            "{REQUIRE_POSTGRES_ENV}=1 but {POSTGRES_ENV} is not set: this PostgreSQL run \
             cannot be skipped (run the tests under .ci/with-postgres)"
        )),
        None => Ok(None),
    }
}

/// A fresh database and an app on it. Dropping it removes the SQLite file.
pub struct TestApp {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 2026-01-01T00:00:00Z: tests start from a fixed instant.
pub const START_MS: i64 = 1_767_225_600_000;

impl TestApp {
    /// A migrated SQLite database in a temporary directory.
    pub async fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let url = dir.path().join("frontdesk.db").display().to_string();
        Self::open(url, Backend::Sqlite, Some(dir)).await
    }

    /// A migrated database of its own on the PostgreSQL server of `FRONTDESK_TEST_POSTGRES_URL`,
    /// or `None` when the variable is not set — a panic instead when PostgreSQL runs are
    /// required (`FRONTDESK_REQUIRE_POSTGRES=1`), and always when the server cannot be used.
    pub async fn postgres() -> Option<TestApp> {
        let admin = postgres_url()?;
        let name = format!(
            "fd_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            START_MS
                ^ (std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos() as i64)
                    .unwrap_or(0))
        );
        let url = fd_store::create_postgres_database(&admin, &name)
            .await
            .unwrap_or_else(|e| panic!("create test database on {admin}: {e}"));
        Some(Self::open(url, Backend::Postgres, None).await)
    }

    pub async fn new(backend: Backend) -> Option<TestApp> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::Postgres => Self::postgres().await,
        }
    }

    async fn open(url: String, backend: Backend, dir: Option<tempfile::TempDir>) -> TestApp {
        let db = Db::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}"));
        db.migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate {url}: {e}"));
        let clock = Arc::new(ManualClock::new(START_MS));
        let app = App::new(db, clock.clone());
        TestApp {
            app,
            clock,
            url,
            backend,
            _dir: dir,
        }
    }

    /// Another app on the same database with a pool of its own, as a second `frontdesk serve`
    /// node on it has; it shares this one's clock.
    pub async fn another_node(&self) -> App {
        let db = Db::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url));
        App::new(db, self.clock.clone())
    }

    /// Creates a team by name.
    pub async fn team(&self, name: &str) -> TeamId {
        self.app
            .create_team(&Actor::system(), name)
            .await
            .unwrap_or_else(|e| panic!("create team {name}: {e}"))
            .id
    }

    /// Creates an agent with Service access and the given ticket access and teams.
    pub async fn agent(
        &self,
        email: &str,
        access: TicketAccessLevel,
        teams: &[&str],
    ) -> (User, Actor) {
        self.user_with(email, Role::Agent, access, teams, true)
            .await
    }

    pub async fn admin(&self, email: &str) -> (User, Actor) {
        self.user_with(email, Role::SuperAdmin, TicketAccessLevel::All, &[], true)
            .await
    }

    pub async fn user_with(
        &self,
        email: &str,
        role: Role,
        access: TicketAccessLevel,
        teams: &[&str],
        service_access: bool,
    ) -> (User, Actor) {
        let name = email.split('@').next().unwrap_or(email).to_string();
        let user = self
            .app
            .create_user(
                &Actor::system(),
                NewUserInput {
                    email: email.into(),
                    name,
                    role,
                    password: "correct horse battery".into(),
                    teams: teams.iter().map(|t| t.to_string()).collect(),
                    ticket_access: access,
                    account_access: false,
                    service_access,
                    sales_access: false,
                    seat: Seat::Service,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("create user {email}: {e}"));
        let actor = self
            .app
            .actor_for(user.id)
            .await
            .unwrap_or_else(|e| panic!("actor {email}: {e}"));
        (user, actor)
    }
}

/// Defines `mod $name { sqlite, postgres }`: the same scenario on both backends. The
/// PostgreSQL run returns early (and says so) when `FRONTDESK_TEST_POSTGRES_URL` is unset,
/// and fails instead when `FRONTDESK_REQUIRE_POSTGRES=1`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident => $scenario:path;)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::TestApp::sqlite().await;
                $scenario(t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::TestApp::postgres().await {
                    Some(t) => $scenario(t).await,
                    None => eprintln!("{} is not set: PostgreSQL run skipped", $crate::POSTGRES_ENV),
                }
            }
        }
    )*};
}

#[cfg(test)]
mod tests {
    use super::choose_postgres;

    #[test]
    fn postgres_runs_skip_only_when_not_required() {
        let url = "postgres://postgres@127.0.0.1:5432/postgres";
        assert_eq!(choose_postgres(Some(url), None), Ok(Some(url.into())));
        assert_eq!(choose_postgres(Some(url), Some("1")), Ok(Some(url.into())));
        assert_eq!(choose_postgres(None, None), Ok(None));
        assert_eq!(choose_postgres(Some(""), Some("0")), Ok(None));
        assert!(choose_postgres(None, Some("1")).is_err());
        assert!(choose_postgres(Some("  "), Some("1")).is_err());
    }
}
