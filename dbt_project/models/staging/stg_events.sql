{{ config(order_by='event_time, event_id') }}

-- One row per event of the window: typed, in UTC, without the raw zone's repeats.
with

raw_events as (

    select * from {{ source('raw', 'events') }}
    where {{ raw_partition_filter() }}
      and {{ in_window() }}

),

by_coordinates as (  -- the same Kafka record in two files (a replay of uncommitted offsets)

    select * from raw_events
    qualify row_number() over (
        partition by _kafka_topic, _kafka_partition, _kafka_offset order by _kafka_offset
    ) = 1

),

by_event_id as (  -- the same event sent twice (a producer retry): the earliest offset wins

    select * from by_coordinates
    qualify row_number() over (
        partition by event_id order by _kafka_timestamp, _kafka_partition, _kafka_offset
    ) = 1

),

renamed as (

    select

        ---------- ids
        event_id,
        event_type,

        ---------- event
        event_time,
        payload,
        user_id,
        session_id,
        source,
        user_agent,
        amount,

        ---------- kafka coordinates
        _kafka_topic as kafka_topic,
        _kafka_partition as kafka_partition,
        _kafka_offset as kafka_offset,
        _kafka_timestamp as kafka_timestamp,

        ---------- partitions (UTC)
        cast(timezone('UTC', event_time) as date) as event_date,
        hour(timezone('UTC', event_time)) as event_hour

    from by_event_id

)

select * from renamed
