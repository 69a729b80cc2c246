{{ config(order_by='event_time, event_id') }}

-- The enrichment pattern: each event joined to its event type's reference data (seed event_types).
select
    e.event_id,
    e.event_type,
    e.event_time,
    e.payload,
    e.user_id,
    e.source,
    e.amount,
    t.category,
    t.owning_team,
    t.retention_days,
    e.event_date,
    e.event_hour
from {{ ref('stg_events') }} as e
left join {{ ref('event_types') }} as t using (event_type)
where {{ in_window('e.event_time') }}
