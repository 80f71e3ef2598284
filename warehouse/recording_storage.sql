-- name: recording_storage
-- summary: Cloud recording storage per host: recordings, files, bytes in use and in the trash.
--
-- Answers: who uses the cloud recording storage? One row per account and host (recordings.host_id).
-- Sizes come from recording_files (file_size, bytes); a file with a deleted_time is in the trash and
-- counts in trash_bytes, not storage_bytes. A recording whose files were not synced falls back to its
-- own total_size and recording_count. storage_gb is decimal (1 GB = 10^9 bytes), as Zoom reports it.
--
-- columns:
--   account_id          VARCHAR      Zoom account.
--   host_id             VARCHAR      Zoom user id of the host.
--   email               VARCHAR      Host's email (NULL if the user is not in zoom.users).
--   display_name        VARCHAR      Host's display name.
--   recordings          BIGINT       Recorded meeting instances.
--   files               BIGINT       Recording files not in the trash.
--   storage_bytes       BIGINT       Bytes of the files not in the trash.
--   storage_gb          DOUBLE       storage_bytes / 10^9, three decimals.
--   trash_bytes         BIGINT       Bytes of the files in the trash.
--   first_recording_at  TIMESTAMPTZ  Start of the earliest recorded meeting.
--   last_recording_at   TIMESTAMPTZ  Start of the latest recorded meeting.
CREATE OR REPLACE VIEW analytics.recording_storage AS
WITH files AS (
    SELECT
        account_id,
        meeting_uuid,
        count(*) AS all_files,
        count(*) FILTER (WHERE deleted_time IS NULL) AS files,
        coalesce(sum(file_size) FILTER (WHERE deleted_time IS NULL), 0) AS bytes,
        coalesce(sum(file_size) FILTER (WHERE deleted_time IS NOT NULL), 0) AS trash_bytes
    FROM zoom.recording_files
    GROUP BY account_id, meeting_uuid
),
per_recording AS (
    SELECT
        r.account_id,
        r.host_id,
        r.start_time,
        CASE WHEN f.all_files IS NULL THEN coalesce(r.recording_count, 0) ELSE f.files END AS files,
        CASE WHEN f.all_files IS NULL THEN coalesce(r.total_size, 0) ELSE f.bytes END AS bytes,
        coalesce(f.trash_bytes, 0) AS trash_bytes
    FROM zoom.recordings AS r
    LEFT JOIN files AS f ON f.account_id = r.account_id AND f.meeting_uuid = r.meeting_uuid
)
SELECT
    p.account_id,
    p.host_id,
    any_value(u.email) AS email,
    any_value(u.display_name) AS display_name,
    count(*)::BIGINT AS recordings,
    sum(p.files)::BIGINT AS files,
    sum(p.bytes)::BIGINT AS storage_bytes,
    round(sum(p.bytes) / 1e9, 3)::DOUBLE AS storage_gb,
    sum(p.trash_bytes)::BIGINT AS trash_bytes,
    min(p.start_time) AS first_recording_at,
    max(p.start_time) AS last_recording_at
FROM per_recording AS p
LEFT JOIN zoom.users AS u ON u.account_id = p.account_id AND u.id = p.host_id
GROUP BY p.account_id, p.host_id
ORDER BY p.account_id, storage_bytes DESC, p.host_id;
