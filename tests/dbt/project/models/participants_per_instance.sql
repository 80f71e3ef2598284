select i.account_id, i.uuid, i.topic, i.start_time,
       count(distinct p.participant_key) as participants
from {{ source('zoom', 'meeting_instances') }} i
left join {{ source('zoom', 'meeting_participants') }} p
  on p.account_id = i.account_id and p.meeting_uuid = i.uuid
group by all
