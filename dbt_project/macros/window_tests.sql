{#- Data tests of the curated models look at the run's window only (config where: "__window__", set for every
    model folder in dbt_project.yml): the lake holds every earlier window too, and a run answers for its own.
    The constant event_date range first, so DuckDB opens only the window's days' files (hive partition pruning). -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if where == '__window__' -%}
    {%- set where = in_window_dates() ~ ' and ' ~ in_window_hours() -%}
  {%- endif -%}
  {%- if where -%}
    (select * from {{ relation }} where {{ where }}) dbt_subquery
  {%- else -%}
    {{ relation }}
  {%- endif -%}
{%- endmacro %}
