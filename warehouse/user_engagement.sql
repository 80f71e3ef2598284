-- name: user_engagement
-- summary: Per user: meetings hosted and attended, minutes, last activity.
--
-- Answers: who uses Zoom, how much, and when were they last active? One row per user in zoom.users
-- (current state, every status). A participant row is attributed to a user by its Zoom user id
-- (meeting_participants.id), else by email (case-insensitive). "Attended" counts every meeting instance
-- the user joined in any role, including those they hosted. last_active_at is the latest of: last hosted
-- start, last attended leave, last sign-in event, users.last_login_time.
--
-- columns:
--   account_id         VARCHAR      Zoom account.
--   user_id            VARCHAR      Zoom user id.
--   email              VARCHAR      User's email.
--   display_name       VARCHAR      Display name.
--   user_type          INTEGER      1 Basic, 2 Licensed, 3 On-prem, 99 None.
--   status             VARCHAR      active, inactive or pending.
--   meetings_hosted    BIGINT       Meeting instances hosted (meeting_instances.host_id).
--   hosted_minutes     BIGINT       Sum of the hosted instances' durations, in minutes.
--   meetings_attended  BIGINT       Distinct meeting instances joined (any role).
--   attended_minutes   DOUBLE       Time in meetings, summed over join segments, in minutes.
--   last_hosted_at     TIMESTAMPTZ  Start of the last hosted instance.
--   last_attended_at   TIMESTAMPTZ  Last time the user left a meeting.
--   last_active_at     TIMESTAMPTZ  Latest of hosting, attending, sign-in events and last_login_time.
CREATE OR REPLACE VIEW analytics.user_engagement AS
WITH by_email AS (
    SELECT account_id, lower(email) AS email_key, min(id) AS user_id
    FROM zoom.users
    WHERE email IS NOT NULL AND email <> ''
    GROUP BY account_id, lower(email)
),
hosted AS (
    SELECT
        account_id,
        host_id AS user_id,
        count(*) AS meetings_hosted,
        sum(coalesce(duration, round(date_diff('second', start_time, end_time) / 60.0))) AS hosted_minutes,
        max(start_time) AS last_hosted_at
    FROM zoom.meeting_instances
    WHERE host_id IS NOT NULL
    GROUP BY account_id, host_id
),
segments AS (
    SELECT
        p.account_id,
        coalesce(u.id, e.user_id) AS user_id,
        p.meeting_uuid,
        coalesce(p.duration, date_diff('second', p.join_time, p.leave_time)) AS seconds,
        coalesce(p.leave_time, p.join_time + to_seconds(coalesce(p.duration, 0))) AS left_at
    FROM zoom.meeting_participants AS p
    LEFT JOIN zoom.users AS u ON u.account_id = p.account_id AND u.id = p.id
    LEFT JOIN by_email AS e ON e.account_id = p.account_id AND e.email_key = lower(p.user_email)
),
attended AS (
    SELECT
        account_id,
        user_id,
        count(DISTINCT meeting_uuid) AS meetings_attended,
        sum(seconds) AS attended_seconds,
        max(left_at) AS last_attended_at
    FROM segments
    WHERE user_id IS NOT NULL
    GROUP BY account_id, user_id
),
sign_ins AS (
    SELECT s.account_id, e.user_id, max(s.time) AS last_sign_in_at
    FROM zoom.sign_in_activity AS s
    JOIN by_email AS e ON e.account_id = s.account_id AND e.email_key = lower(s.email)
    WHERE lower(s.type) = 'sign in'
    GROUP BY s.account_id, e.user_id
)
SELECT
    u.account_id,
    u.id AS user_id,
    u.email,
    u.display_name,
    u.type AS user_type,
    u.status,
    coalesce(h.meetings_hosted, 0)::BIGINT AS meetings_hosted,
    coalesce(h.hosted_minutes, 0)::BIGINT AS hosted_minutes,
    coalesce(a.meetings_attended, 0)::BIGINT AS meetings_attended,
    round(coalesce(a.attended_seconds, 0) / 60.0, 2)::DOUBLE AS attended_minutes,
    h.last_hosted_at,
    a.last_attended_at,
    greatest(h.last_hosted_at, a.last_attended_at, s.last_sign_in_at, u.last_login_time) AS last_active_at
FROM zoom.users AS u
LEFT JOIN hosted AS h ON h.account_id = u.account_id AND h.user_id = u.id
LEFT JOIN attended AS a ON a.account_id = u.account_id AND a.user_id = u.id
LEFT JOIN sign_ins AS s ON s.account_id = u.account_id AND s.user_id = u.id
ORDER BY u.account_id, u.id;
