"""The dbt unit tests of the marts (unit_tests: in models/marts/_marts.yml) pass; production leaves them out.

The unit tests read no lake data: their inputs are SQL fixtures and their window is fixed by vars overrides. A dbt
run still starts with the project's on-run-start hook, which lists the lake's curated models in S3, so the bucket
has to exist; an empty one will do.
"""

import re

import yaml

from support.dbt import PROJECT, dbt

MARTS = PROJECT / "models" / "marts" / "_marts.yml"


def unit_tests() -> dict[str, str]:
    """Each unit test's name -> the model it tests."""
    return {t["name"]: t["model"] for t in yaml.safe_load(MARTS.read_text())["unit_tests"]}


def test_the_unit_tests_of_the_marts_pass(s3, unique_name, tmp_path):
    s3.create_bucket(Bucket=unique_name)
    declared = unit_tests()
    assert {"unknown_type_falls_back_to_unknown_category", "no_amount_gives_zero_revenue",
            "counts_events_distinct_users_and_revenue_per_hour_and_type"} <= declared.keys()

    result = dbt("test --select test_type:unit", unique_name, tmp_path)

    assert result.returncode == 0, result.stdout[-4000:]
    for name, model in declared.items():
        assert re.search(rf"\bPASS {model}::{name}\b", result.stdout), f"{name} not passed:\n{result.stdout[-4000:]}"
    assert f"{len(declared)} unit tests in" in result.stdout  # unit tests only: no model built, no data test run


def test_a_production_build_leaves_the_unit_tests_out(unique_name, tmp_path):
    """What `dbt build` runs: by default the unit tests too; with --exclude-resource-type unit_test, only the rest."""
    def selected(*args: str) -> set[str]:
        result = dbt("ls --quiet --output name --select fqn:*", unique_name, tmp_path, None, *args)
        assert result.returncode == 0, result.stdout[-4000:]
        return set(result.stdout.split())

    names = set(unit_tests())
    assert names <= selected()
    production = selected("--exclude-resource-type", "unit_test")
    assert not names & production
    assert {"stg_events", "int_events_enriched", "events_by_time", "hourly_event_counts"} <= production
