-- name: webinar_attendance
-- summary: Per webinar instance: registered vs attended, absentees, attendees, average time in session.
--
-- Answers: did registrants show up, and how long did attendees stay? One row per webinar instance known
-- from webinar_instances, webinar_participants or webinar_absentees. Registrants who attended are the
-- distinct non-empty registrant_ids among the instance's participants (a rejoin counts once); absentees
-- come from webinar_absentees; registrants = attended registrants + absentees. Attendees are distinct
-- participant_keys (registered or not, panelists included). Time in session sums each attendee's join
-- segments, then averages over attendees. Waiting-room rows do not count as attendance.
--
-- columns:
--   account_id              VARCHAR      Zoom account.
--   webinar_uuid            VARCHAR      Webinar instance UUID.
--   webinar_id              BIGINT       Webinar id (NULL when the instance row is missing).
--   topic                   VARCHAR      Webinar topic.
--   start_time              TIMESTAMPTZ  Actual start of the instance.
--   registrants             BIGINT       Registrants who attended plus absentees.
--   attended_registrants    BIGINT       Distinct registrant_ids among participants.
--   absentees               BIGINT       Registrants who did not attend (webinar_absentees).
--   attendance_rate         DOUBLE       attended_registrants / registrants (NULL without registrants).
--   attendees               BIGINT       Distinct participants (participant_key), registered or not.
--   avg_minutes_in_session  DOUBLE       Average per attendee of their summed segment time, in minutes.
CREATE OR REPLACE VIEW analytics.webinar_attendance AS
WITH present AS (
    SELECT *, coalesce(duration, date_diff('second', join_time, leave_time)) AS seconds
    FROM zoom.webinar_participants
    WHERE status IS DISTINCT FROM 'in_waiting_room'
),
per_attendee AS (
    SELECT account_id, webinar_uuid, participant_key, sum(seconds) AS seconds
    FROM present
    GROUP BY account_id, webinar_uuid, participant_key
),
attendance AS (
    SELECT account_id, webinar_uuid, count(*) AS attendees, avg(seconds) / 60.0 AS avg_minutes
    FROM per_attendee
    GROUP BY account_id, webinar_uuid
),
registered AS (
    SELECT account_id, webinar_uuid, count(DISTINCT registrant_id) AS attended_registrants
    FROM present
    WHERE registrant_id IS NOT NULL AND registrant_id <> ''
    GROUP BY account_id, webinar_uuid
),
absent AS (
    SELECT account_id, webinar_uuid, count(DISTINCT id) AS absentees
    FROM zoom.webinar_absentees
    GROUP BY account_id, webinar_uuid
),
instances AS (
    SELECT account_id, uuid AS webinar_uuid FROM zoom.webinar_instances
    UNION
    SELECT account_id, webinar_uuid FROM zoom.webinar_participants
    UNION
    SELECT account_id, webinar_uuid FROM zoom.webinar_absentees
),
counts AS (
    SELECT
        k.account_id,
        k.webinar_uuid,
        coalesce(r.attended_registrants, 0) AS attended_registrants,
        coalesce(a.absentees, 0) AS absentees,
        coalesce(t.attendees, 0) AS attendees,
        t.avg_minutes
    FROM instances AS k
    LEFT JOIN registered AS r USING (account_id, webinar_uuid)
    LEFT JOIN absent AS a USING (account_id, webinar_uuid)
    LEFT JOIN attendance AS t USING (account_id, webinar_uuid)
)
SELECT
    c.account_id,
    c.webinar_uuid,
    i.id AS webinar_id,
    i.topic,
    i.start_time,
    (c.attended_registrants + c.absentees)::BIGINT AS registrants,
    c.attended_registrants::BIGINT AS attended_registrants,
    c.absentees::BIGINT AS absentees,
    CASE
        WHEN c.attended_registrants + c.absentees > 0
        THEN round(c.attended_registrants / (c.attended_registrants + c.absentees), 4)
    END::DOUBLE AS attendance_rate,
    c.attendees::BIGINT AS attendees,
    round(c.avg_minutes, 2)::DOUBLE AS avg_minutes_in_session
FROM counts AS c
LEFT JOIN zoom.webinar_instances AS i ON i.account_id = c.account_id AND i.uuid = c.webinar_uuid
ORDER BY c.account_id, i.start_time NULLS LAST, c.webinar_uuid;
