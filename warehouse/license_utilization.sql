-- name: license_utilization
-- summary: Licensed users and whether they hosted in the 30/60/90 days before the last sync (or any time).
--
-- Answers: which paid licenses sit idle? One row per licensed user (zoom.users.type = 2) whose status is
-- active or pending (both hold a seat; deactivated users free theirs) and who existed at the reference
-- time (user_created_at unknown or not after it). Users are taken as they are now (zoom.users); only the
-- hosting window moves with the reference time. Hosting counts meeting AND webinar instances that started
-- at or before the reference time. idle_Nd is true when the user hosted nothing in the N x 24 hours before
-- the reference time (never hosted included); hosting exactly N days before is not idle.
--
-- Objects:
--   analytics.license_utilization_at(ref)  table macro; ref is a TIMESTAMPTZ (or a string castable to one)
--   analytics.license_utilization          view: license_utilization_at(analytics.reference_time()), the
--                                          instant the latest sync read Zoom at (not the reader's clock)
--
-- Example: SELECT count(*) FILTER (WHERE idle_90d) FROM analytics.license_utilization_at('2024-06-30');
--
-- columns:
--   account_id              VARCHAR      Zoom account.
--   user_id                 VARCHAR      Zoom user id.
--   email                   VARCHAR      User's email.
--   display_name            VARCHAR      Display name.
--   status                  VARCHAR      active or pending.
--   user_created_at         TIMESTAMPTZ  When the user was created.
--   last_hosted_at          TIMESTAMPTZ  Start of the last meeting or webinar hosted at or before the reference time.
--   days_since_last_hosted  BIGINT       Whole days (24 h) from last_hosted_at to the reference time; NULL if never.
--   idle_30d                BOOLEAN      Hosted nothing in the 30 days before the reference time.
--   idle_60d                BOOLEAN      Hosted nothing in the 60 days before the reference time.
--   idle_90d                BOOLEAN      Hosted nothing in the 90 days before the reference time.
--   reference_time          TIMESTAMPTZ  The reference time.
CREATE OR REPLACE MACRO analytics.license_utilization_at(ref) AS TABLE
WITH hosting AS (
    SELECT account_id, host_id, start_time FROM zoom.meeting_instances
    UNION ALL
    SELECT account_id, host_id, start_time FROM zoom.webinar_instances
),
last_hosted AS (
    SELECT account_id, host_id, max(start_time) AS last_hosted_at
    FROM hosting
    WHERE host_id IS NOT NULL AND start_time <= ref::TIMESTAMPTZ
    GROUP BY account_id, host_id
),
idle AS (
    SELECT
        u.account_id,
        u.id AS user_id,
        u.email,
        u.display_name,
        u.status,
        u.user_created_at,
        l.last_hosted_at,
        epoch(ref::TIMESTAMPTZ) - epoch(l.last_hosted_at) AS idle_seconds
    FROM zoom.users AS u
    LEFT JOIN last_hosted AS l ON l.account_id = u.account_id AND l.host_id = u.id
    WHERE u.type = 2
      AND u.status IN ('active', 'pending')
      AND (u.user_created_at IS NULL OR u.user_created_at <= ref::TIMESTAMPTZ)
)
SELECT
    account_id,
    user_id,
    email,
    display_name,
    status,
    user_created_at,
    last_hosted_at,
    floor(idle_seconds / 86400)::BIGINT AS days_since_last_hosted,
    coalesce(idle_seconds > 30 * 86400, true) AS idle_30d,
    coalesce(idle_seconds > 60 * 86400, true) AS idle_60d,
    coalesce(idle_seconds > 90 * 86400, true) AS idle_90d,
    ref::TIMESTAMPTZ AS reference_time
FROM idle
ORDER BY account_id, user_id;

CREATE OR REPLACE VIEW analytics.license_utilization AS
SELECT * FROM analytics.license_utilization_at(analytics.reference_time());
