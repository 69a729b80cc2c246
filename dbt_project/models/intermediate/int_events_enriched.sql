{{ config(order_by='event_time, event_id') }}

-- The enrichment pattern: each event joined to its event type's reference data (seed event_types).
with

events as (

    select * from {{ ref('stg_events') }}
    where {{ in_window_dates() }}
      and {{ in_window() }}

),

event_types as (

    select * from {{ ref('event_types') }}

),

enriched as (

    select
        events.event_id,
        events.event_type,
        events.event_time,
        events.payload,
        events.user_id,
        events.source,
        events.amount,
        event_types.category,
        event_types.owning_team,
        event_types.retention_days,
        events.event_date,
        events.event_hour

    from events

    left join event_types
        on events.event_type = event_types.event_type

)

select * from enriched
