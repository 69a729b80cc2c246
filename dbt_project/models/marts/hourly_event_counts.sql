{{ config(order_by='event_type') }}

-- Events per UTC hour, event type and category, with distinct users and checkout revenue.
select
    event_date,
    event_hour,
    event_type,
    coalesce(category, 'unknown') as category,
    count(*) as events,
    count(distinct user_id) as users,
    coalesce(sum(amount), 0)::decimal(18, 2) as revenue
from {{ ref('int_events_enriched') }}
where {{ in_window() }}
group by all
