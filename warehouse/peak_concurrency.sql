-- name: peak_concurrency
-- summary: Most participants in meetings at the same moment, per account and UTC day, with when.
--
-- Answers: how many simultaneous meeting connections does the account need? Computed with a sweep over
-- join segments (zoom.meeting_participants): +1 at each join_time, -1 at each leave_time, running sum in
-- time order. At the same instant leaves count before joins, so a segment ending at 10:30 and one starting
-- at 10:30 never overlap. Segments that cross midnight carry into the next day (a zero event is swept at
-- each such midnight), so a day's peak includes people still connected from the day before. A segment
-- with no leave_time ends at join_time + duration (seconds), else at join_time. Rows in the waiting
-- room (status = 'in_waiting_room') are not in the meeting and are left out. Concurrency counts join
-- segments across all of the account's meetings: one person on two devices counts twice.
--
-- columns:
--   account_id         VARCHAR      Zoom account.
--   day                DATE         UTC day.
--   peak_participants  BIGINT       Highest number of simultaneous join segments during the day.
--   peak_at            TIMESTAMPTZ  First moment of the day the peak was reached (midnight if carried in).
--   segments_started   BIGINT       Join segments that started that day.
CREATE OR REPLACE VIEW analytics.peak_concurrency AS
WITH segments AS (
    SELECT
        account_id,
        join_time AS t_in,
        greatest(join_time, coalesce(leave_time, join_time + to_seconds(coalesce(duration, 0)))) AS t_out
    FROM zoom.meeting_participants
    WHERE status IS DISTINCT FROM 'in_waiting_room'
),
midnights AS (
    -- Every midnight strictly inside a segment (after its join, at or before its leave).
    SELECT DISTINCT
        account_id,
        unnest(range(
            (t_in AT TIME ZONE 'UTC')::DATE::TIMESTAMP + INTERVAL 1 DAY,
            (t_out AT TIME ZONE 'UTC')::DATE::TIMESTAMP + INTERVAL 1 DAY,
            INTERVAL 1 DAY
        )) AT TIME ZONE 'UTC' AS t
    FROM segments
    WHERE (t_out AT TIME ZONE 'UTC')::DATE > (t_in AT TIME ZONE 'UTC')::DATE
),
events AS (
    SELECT account_id, t_in AS t, 1 AS delta FROM segments
    UNION ALL
    SELECT account_id, t_out AS t, -1 AS delta FROM segments
    UNION ALL
    SELECT account_id, t, 0 AS delta FROM midnights
),
swept AS (
    SELECT
        account_id,
        t,
        delta,
        (t AT TIME ZONE 'UTC')::DATE AS day,
        sum(delta) OVER (PARTITION BY account_id ORDER BY t, delta ROWS UNBOUNDED PRECEDING) AS running
    FROM events
),
ranked AS (
    SELECT *, max(running) OVER (PARTITION BY account_id, day) AS peak
    FROM swept
)
SELECT
    account_id,
    day,
    max(peak)::BIGINT AS peak_participants,
    min(t) FILTER (WHERE running = peak) AS peak_at,
    count(*) FILTER (WHERE delta = 1)::BIGINT AS segments_started
FROM ranked
GROUP BY account_id, day
ORDER BY account_id, day;
