{#- The lake's bucket: var lake_bucket (Dagster passes it), else $SLUICE_LAKE_BUCKET, else Sluice's default. -#}
{% macro lake_bucket() -%}
  {{ var('lake_bucket', env_var('SLUICE_LAKE_BUCKET', 'data-lake')) }}
{%- endmacro %}

{#- Where a curated model lives in the lake: s3://<bucket>/<curated prefix>/<model>/event_date=/event_hour=/ -#}
{% macro lake_location(name) -%}
  s3://{{ lake_bucket() }}/{{ var('curated_prefix') }}/{{ name }}
{%- endmacro %}

{% macro lake_glob(name) -%}
  {{ lake_location(name) }}/*/*/*.parquet
{%- endmacro %}

{% macro lake_read(name) -%}
  read_parquet('{{ lake_glob(name) }}', hive_partitioning = true, union_by_name = true,
               hive_types = {'event_date': 'date', 'event_hour': 'integer'})
{%- endmacro %}

{#- on-run-start: DuckDB is in memory, so nothing survives between runs but the lake and the project's files.
    Make every curated model already in the lake a view, and load every seed, so a run of any selection (a
    `dbt run -s marts` after a build, one Dagster partition) can ref() what it did not build itself. -#}
{% macro register_lake_views() %}
  {%- if execute -%}
    {%- for node in graph.nodes.values()
          if node.resource_type == 'seed'
             and (node.unique_id not in selected_resources or flags.WHICH not in ('build', 'seed')) -%}
      {%- set types = [] -%}
      {%- for column, type in (node.config.column_types or {}).items() -%}
        {%- do types.append("'" ~ column ~ "': '" ~ type ~ "'") -%}
      {%- endfor -%}
      {% do run_query("create or replace table " ~ node.alias ~ " as select * from read_csv('"
                      ~ node.root_path ~ "/" ~ node.original_file_path ~ "', header = true"
                      ~ (", types = {" ~ types | join(", ") ~ "}" if types else "") ~ ")") %}
    {%- endfor -%}
    {%- for node in graph.nodes.values()
          if node.resource_type == 'model' and node.config.materialized == 'lake_window' -%}
      {%- set found = run_query("select count(*) from glob('" ~ lake_glob(node.alias) ~ "')") -%}
      {%- if found.rows[0][0] > 0 -%}
        {% do run_query("create or replace view " ~ node.alias ~ " as select * from " ~ lake_read(node.alias)) %}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}
