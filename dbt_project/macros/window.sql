{#- The hour window of a run, [window_start, window_end), from vars; without them, every hour the raw zone holds. -#}

{#- The window as the run was given it: vars window_start/window_end, else, at execution time only, the variables
    SLUICE_DBT_WINDOW_START/END. Dagster's runs use the variables: a window in --vars would change dbt's vars at
    every run, and dbt parses the whole project again whenever they change (orchestration/lib/dbt_args.py).
    Read only when `execute`: parsing records the variables it reads, and would re-parse when they change. -#}
{% macro window_vars() %}
  {%- set start, end = var('window_start'), var('window_end') -%}
  {%- if execute and start is none and end is none -%}
    {%- set start = env_var('SLUICE_DBT_WINDOW_START', '') or none -%}
    {%- set end = env_var('SLUICE_DBT_WINDOW_END', '') or none -%}
  {%- endif -%}
  {{ return([start, end]) }}
{% endmacro %}

{% macro window_bounds() %}
  {%- set start, end = window_vars() -%}
  {%- if (start is none or end is none) and execute -%}
    {%- set found = run_query(
          "select strftime(date_trunc('hour', timezone('UTC', min(event_time))), '%Y-%m-%dT%H:00:00Z'), "
          ~ "strftime(date_trunc('hour', timezone('UTC', max(event_time))) + interval 1 hour, '%Y-%m-%dT%H:00:00Z') "
          ~ "from " ~ source('raw', 'events')) -%}
    {%- set start = start if start is not none else found.rows[0][0] -%}
    {%- set end = end if end is not none else found.rows[0][1] -%}
  {%- endif -%}
  {%- if execute and (start is none or end is none) -%}
    {{ exceptions.raise_compiler_error("no window: pass --vars '{window_start: ..., window_end: ...}' or fill the raw zone") }}
  {%- endif -%}
  {{ return([start, end]) }}
{% endmacro %}

{% macro window_start() %}'{{ window_bounds()[0] }}'::timestamptz{% endmacro %}
{% macro window_end() %}'{{ window_bounds()[1] }}'::timestamptz{% endmacro %}

{#- Rows of a curated model whose event_time lies in the window. -#}
{% macro in_window(column='event_time') -%}
  {{ column }} >= {{ window_start() }} and {{ column }} < {{ window_end() }}
{%- endmacro %}

{#- Rows of a curated model whose hour partition (event_date, event_hour) lies in the window; `bounds`: the window's
    [start, end] strings when the caller has them already. -#}
{% macro in_window_hours(bounds=none) -%}
  {%- set start, end = bounds if bounds is not none else window_bounds() -%}
  make_timestamp(year(event_date), month(event_date), day(event_date), event_hour, 0, 0)
    between timezone('UTC', '{{ start }}'::timestamptz) and timezone('UTC', '{{ end }}'::timestamptz) - interval 1 hour
{%- endmacro %}

{#- Raw hour partitions (year=/month=/day=/hour=) that can hold the window's events: pruned before any file is read. -#}
{% macro raw_partition_filter() -%}
  make_timestamp(year::bigint, month::bigint, day::bigint, hour::bigint, 0, 0)
    >= timezone('UTC', {{ window_start() }})
  and make_timestamp(year::bigint, month::bigint, day::bigint, hour::bigint, 0, 0)
    < timezone('UTC', {{ window_end() }}) + interval ({{ var('raw_lookahead_hours') }}) hour
{%- endmacro %}

{#- The window's UTC days as a filter on the curated models' event_date partition column: a constant range, so
    DuckDB reads only those days' files of the lake (hive partition pruning), however long its history. -#}
{% macro in_window_dates() -%}
  {%- set start, end = window_bounds() -%}
  {%- if start is none or end is none -%}
  true {#- parsing: no window yet -#}
  {%- else -%}
  {%- set last_day = modules.datetime.date.fromisoformat(end[:10]) -%}
  {%- if end[11:19] in ('', '00:00:00') -%}{%- set last_day = last_day - modules.datetime.timedelta(days=1) -%}{%- endif -%}
  event_date between date '{{ start[:10] }}' and date '{{ last_day.isoformat() }}'
  {%- endif -%}
{%- endmacro %}
