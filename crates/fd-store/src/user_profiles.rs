//! What HubSpot's users object keeps beside the account: job title, working hours and
//! out-of-office ranges (`user_profiles`, migration 0016), and the times availability was
//! last set (for the object's `updatedAt`). Values arrive checked by fd-domain's `users`.

use fd_domain::*;

use crate::{StoreError, Tx, args};

/// A user's profile row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub user_id: UserId,
    pub job_title: Option<String>,
    pub working_hours: Option<String>,
    pub out_of_office_hours: Option<String>,
    pub updated_at: Millis,
}

/// A user's availability row (no row: away, never set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAvailability {
    pub user_id: UserId,
    pub available: bool,
    pub updated_at: Millis,
}

fn profile_from_row(r: &crate::Row) -> Result<UserProfile, StoreError> {
    Ok(UserProfile {
        user_id: UserId(r.i64("user_id")?),
        job_title: r.opt_string("job_title")?,
        working_hours: r.opt_string("working_hours")?,
        out_of_office_hours: r.opt_string("out_of_office_hours")?,
        updated_at: r.i64("updated_at")?,
    })
}

impl Tx {
    pub async fn user_profiles(&mut self) -> Result<Vec<UserProfile>, StoreError> {
        self.all(
            "SELECT user_id, job_title, working_hours, out_of_office_hours, updated_at \
             FROM user_profiles ORDER BY user_id",
            args![],
        )
        .await?
        .iter()
        .map(profile_from_row)
        .collect()
    }

    pub async fn user_profile(&mut self, user: UserId) -> Result<Option<UserProfile>, StoreError> {
        self.opt(
            "SELECT user_id, job_title, working_hours, out_of_office_hours, updated_at \
             FROM user_profiles WHERE user_id = $1",
            args![user],
        )
        .await?
        .as_ref()
        .map(profile_from_row)
        .transpose()
    }

    pub async fn save_user_profile(&mut self, p: &UserProfile) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO user_profiles (user_id, job_title, working_hours, out_of_office_hours, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET job_title = excluded.job_title, \
             working_hours = excluded.working_hours, \
             out_of_office_hours = excluded.out_of_office_hours, updated_at = excluded.updated_at",
            args![
                p.user_id,
                p.job_title.clone(),
                p.working_hours.clone(),
                p.out_of_office_hours.clone(),
                p.updated_at
            ],
        )
        .await?;
        Ok(())
    }

    /// Every availability row.
    pub async fn user_availabilities(&mut self) -> Result<Vec<UserAvailability>, StoreError> {
        self.all(
            "SELECT user_id, status, updated_at FROM user_availability ORDER BY user_id",
            args![],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(UserAvailability {
                user_id: UserId(r.i64("user_id")?),
                available: r.string("status")? == "available",
                updated_at: r.i64("updated_at")?,
            })
        })
        .collect()
    }
}
