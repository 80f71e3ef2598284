-- name: sign_ins_daily
-- summary: Sign-ins, sign-outs and distinct users signing in, per account, UTC day and client type.
--
-- Answers: how many people sign in, when, and from which clients? One row per account, UTC day and
-- client_type (NULL when Zoom gave none) from zoom.sign_in_activity. users_signed_in counts distinct
-- emails (case-insensitive) with a sign-in that day on that client type, so it does not add up across
-- client types.
--
-- columns:
--   account_id       VARCHAR  Zoom account.
--   day              DATE     UTC day.
--   client_type      VARCHAR  Client type (Browser, Windows, Mac...).
--   sign_ins         BIGINT   'Sign in' events.
--   sign_outs        BIGINT   'Sign out' events.
--   users_signed_in  BIGINT   Distinct emails with a sign-in.
CREATE OR REPLACE VIEW analytics.sign_ins_daily AS
SELECT
    account_id,
    (time AT TIME ZONE 'UTC')::DATE AS day,
    client_type,
    count(*) FILTER (WHERE lower(type) = 'sign in')::BIGINT AS sign_ins,
    count(*) FILTER (WHERE lower(type) = 'sign out')::BIGINT AS sign_outs,
    count(DISTINCT lower(email)) FILTER (WHERE lower(type) = 'sign in')::BIGINT AS users_signed_in
FROM zoom.sign_in_activity
GROUP BY account_id, day, client_type
ORDER BY account_id, day, client_type NULLS LAST;
