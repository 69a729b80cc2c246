-- Distinct valid raw events of the window = staged rows = mart rows = the hourly counts' total.
-- Returns a row (and fails) when any of them differ. Each curated model is read for the window's days only
-- (in_window_dates(): partition pruning), then for its exact window.
with raw as (
    select count(distinct event_id) as n from {{ source('raw', 'events') }}
    where {{ raw_partition_filter() }} and {{ in_window() }}
),
staged as (select count(*) as n from {{ ref('stg_events') }}
    where {{ in_window_dates() }} and {{ in_window() }}),
enriched as (select count(*) as n from {{ ref('int_events_enriched') }}
    where {{ in_window_dates() }} and {{ in_window() }}),
mart as (select count(*) as n from {{ ref('events_by_time') }}
    where {{ in_window_dates() }} and {{ in_window() }}),
hourly as (
    select coalesce(sum(events), 0) as n from {{ ref('hourly_event_counts') }}
    where {{ in_window_dates() }} and {{ in_window_hours() }}
)
select raw.n as raw_events, staged.n as staged, enriched.n as enriched, mart.n as mart, hourly.n as hourly
from raw, staged, enriched, mart, hourly
where not (raw.n = staged.n and staged.n = enriched.n and enriched.n = mart.n and mart.n = hourly.n)
