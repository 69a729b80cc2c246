{{ config(order_by='event_time desc, event_id') }}

-- Shaped for Cassandra's analytics.events_by_time (config/events_by_time.cql): one row per event.
with

events as (

    select * from {{ ref('int_events_enriched') }}
    where {{ in_window_dates() }}
      and {{ in_window() }}

),

final as (

    select
        event_date,
        event_time,
        event_id,
        event_type,
        payload,
        event_hour

    from events

)

select * from final
