-- name: daily_meetings
-- summary: Meetings, meeting minutes and participants per account and UTC day.
--
-- Answers: how much did the account meet each day? One row per account and UTC day on which at least
-- one meeting instance started. An instance belongs to the day of its start_time; an instance we only
-- know from its participants (no meeting_instances row) belongs to the day of its first join.
-- Meeting minutes are the instances' own durations (wall-clock length); participant minutes add up every
-- join segment (person-minutes). A participant who rejoins counts once per instance.
--
-- columns:
--   account_id           VARCHAR  Zoom account.
--   day                  DATE     UTC day the instances started.
--   meetings             BIGINT   Meeting instances that started that day.
--   meeting_minutes      BIGINT   Sum of the instances' durations in minutes (end - start when Zoom gave none).
--   participants         BIGINT   Sum over instances of distinct participants (participant_key); rejoins count once.
--   participant_minutes  DOUBLE   Sum of every join segment's length, in minutes (segments are in seconds).
CREATE OR REPLACE VIEW analytics.daily_meetings AS
WITH per_instance_participants AS (
    SELECT
        account_id,
        meeting_uuid AS uuid,
        count(DISTINCT participant_key) AS participants,
        sum(coalesce(duration, date_diff('second', join_time, leave_time))) AS participant_seconds,
        min(join_time) AS first_join
    FROM zoom.meeting_participants
    GROUP BY account_id, meeting_uuid
),
per_instance AS (
    SELECT
        coalesce(i.account_id, p.account_id) AS account_id,
        (coalesce(i.start_time, p.first_join) AT TIME ZONE 'UTC')::DATE AS day,
        coalesce(i.duration, round(date_diff('second', i.start_time, i.end_time) / 60.0)) AS minutes,
        coalesce(p.participants, 0) AS participants,
        coalesce(p.participant_seconds, 0) AS participant_seconds
    FROM zoom.meeting_instances AS i
    FULL OUTER JOIN per_instance_participants AS p ON p.account_id = i.account_id AND p.uuid = i.uuid
)
SELECT
    account_id,
    day,
    count(*) AS meetings,
    coalesce(sum(minutes), 0)::BIGINT AS meeting_minutes,
    sum(participants)::BIGINT AS participants,
    round(sum(participant_seconds) / 60.0, 2)::DOUBLE AS participant_minutes
FROM per_instance
WHERE day IS NOT NULL
GROUP BY account_id, day
ORDER BY account_id, day;
