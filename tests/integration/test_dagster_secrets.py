"""Secrets reach Dagster as environment variables: its GraphQL API, which the UI's resource pages read, shows the
variables' names and never their values (the code location is loaded as `dagster dev` loads it)."""

import json

from dagster import instance_for_test
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql, infer_repository

from ingest.connections import REPO_ROOT

QUERY = """
query Resources($selector: RepositorySelector!) {
  allTopLevelResourceDetailsOrError(repositorySelector: $selector) {
    __typename
    ... on ResourceDetailsList { results { name configuredValues { key value type } } }
  }
}
"""


def test_the_resource_pages_show_the_secrets_variables_never_their_values(monkeypatch):
    monkeypatch.setenv("SLUICE_CASSANDRA_PASSWORD", "cassandra-password-not-for-the-ui")
    monkeypatch.setenv("SLUICE_S3_SECRET_ACCESS_KEY", "s3-secret-not-for-the-ui")
    with instance_for_test() as instance, define_out_of_process_context(
            str(REPO_ROOT / "workspace.yaml"), None, instance) as context:
        repository = infer_repository(context)
        selector = {"repositoryLocationName": context.code_location_names[0], "repositoryName": repository.name}
        result = execute_dagster_graphql(context, QUERY, {"selector": selector})

    answer = result.data["allTopLevelResourceDetailsOrError"]
    assert answer["__typename"] == "ResourceDetailsList", answer
    values = {(r["name"], v["key"]): (v["value"], v["type"]) for r in answer["results"] for v in r["configuredValues"]}
    assert values[("cassandra", "password")] == ("SLUICE_CASSANDRA_PASSWORD", "ENV_VAR")
    assert values[("s3", "aws_secret_access_key")] == ("SLUICE_S3_SECRET_ACCESS_KEY", "ENV_VAR")
    assert values[("s3", "aws_access_key_id")] == ("SLUICE_S3_ACCESS_KEY_ID", "ENV_VAR")
    shown = json.dumps(result.data)
    assert "cassandra-password-not-for-the-ui" not in shown and "s3-secret-not-for-the-ui" not in shown
