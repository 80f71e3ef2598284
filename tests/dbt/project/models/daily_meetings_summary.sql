select day, sum(meetings) as meetings, sum(participants) as participants
from {{ source('analytics', 'daily_meetings') }}
group by day
