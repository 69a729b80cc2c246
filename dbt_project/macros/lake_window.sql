{#-
  lake_window: build the model for the run's window and replace, in the lake, exactly the window's hour partitions:
  one Parquet file per hour at s3://<bucket>/curated/<model>/event_date=YYYY-MM-DD/event_hour=HH/part-0.parquet,
  rows in a fixed order (config `order_by`), an empty file for an hour of an explicit window without rows. The same window run twice
  writes the same files; windows run in any order add up to one long run. The model must have `event_date` and
  `event_hour` columns; they become the partition directories. The relation is a view over every partition.
-#}
{% materialization lake_window, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set location = lake_location(this.identifier) -%}
  {%- set order_by = config.get('order_by', 'all') -%}
  {%- set build = this.identifier ~ '__window' -%}
  {%- set start, end = window_bounds() -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('build_window') -%}
    create or replace temp table {{ build }} as (
      {{ sql }}
    )
  {%- endcall %}

  {%- set outside = run_query("select count(*) from " ~ build ~ " where not (" ~ in_window_hours([start, end]) ~ ")") -%}
  {%- if outside.rows[0][0] > 0 -%}
    {{ exceptions.raise_compiler_error(this.identifier ~ ": " ~ outside.rows[0][0] ~ " rows outside the window "
                                       ~ start ~ " .. " ~ end) }}
  {%- endif -%}

  {#- An explicit window replaces each of its hours, an empty one with an empty file; the implied window (none given:
      every hour the raw zone holds) writes only the hours that have rows. -#}
  {%- set given = window_vars() -%}
  {%- if given[0] is not none and given[1] is not none -%}
    {%- set hours_sql = "select h from generate_series(timezone('UTC', '" ~ start ~ "'::timestamptz), "
        ~ "timezone('UTC', '" ~ end ~ "'::timestamptz) - interval 1 hour, interval 1 hour) t(h)" -%}
  {%- else -%}
    {%- set hours_sql = "select distinct make_timestamp(year(event_date), month(event_date), day(event_date), "
        ~ "event_hour, 0, 0) as h from " ~ build -%}
  {%- endif -%}
  {%- set hours = run_query("select strftime(h, '%Y-%m-%d'), strftime(h, '%H'), hour(h) from (" ~ hours_sql
                            ~ ") order by h") -%}
  {%- for day, hh, hour_number in hours.rows %}
    {% call statement('write_' ~ loop.index) -%}
      copy (
        select * exclude (event_date, event_hour) from {{ build }}
        where event_date = '{{ day }}'::date and event_hour = {{ hour_number }}
        order by {{ order_by }}
      ) to '{{ location }}/event_date={{ day }}/event_hour={{ hh }}/part-0.parquet' (format parquet, compression zstd)
    {%- endcall %}
  {%- endfor %}

  {% call statement('main') -%}
    create or replace view {{ target_relation }} as select * from {{ lake_read(this.identifier) }}
  {%- endcall %}
  {% do run_query("drop table if exists " ~ build) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
