-- HubSpot's users object (`/crm/v3/objects/users`, HUBSPOT-API-2.md §8): what a user keeps
-- beside their account. Availability stays in `user_availability` (0014) and the time zone
-- in `users.time_zone` (0010). Working hours and out-of-office ranges are HubSpot's
-- stringified JSON, checked by fd-domain's `users` module and stored canonically; routing
-- will read them. No row: none set.
CREATE TABLE user_profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    job_title TEXT,
    working_hours TEXT,
    out_of_office_hours TEXT,
    updated_at BIGINT NOT NULL
);

-- Settings → Calling disconnects a number by archiving its channel: its calls keep their
-- conversations, and connecting the number again brings the row back with a new secret.
ALTER TABLE calling_channels ADD COLUMN archived_at BIGINT;
