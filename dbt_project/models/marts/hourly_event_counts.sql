{{ config(order_by='event_type') }}

-- Events per UTC hour, event type and category, with distinct users and checkout revenue.
with

events as (

    select * from {{ ref('int_events_enriched') }}
    where {{ in_window_dates() }}
      and {{ in_window() }}

),

final as (

    select
        event_date,
        event_hour,
        event_type,
        coalesce(category, 'unknown') as category,
        count(*) as events,
        count(distinct user_id) as users,
        cast(coalesce(sum(amount), 0) as decimal(18, 2)) as revenue

    from events

    group by all

)

select * from final
