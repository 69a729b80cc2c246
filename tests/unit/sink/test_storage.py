import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ingest.connections import REPO_ROOT, Connections
from ingest.errors import SluiceError
from ingest.sink.storage import Storage, transient

CONN = Connections.from_env({}, env_file=REPO_ROOT / "no-such-env-file")


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutObject")


class Failing:
    """A put_object that fails with the given errors first, then succeeds."""

    def __init__(self, *errors):
        self.errors, self.calls, self.asked = list(errors), 0, {}

    def put_object(self, **kwargs):
        self.calls, self.asked = self.calls + 1, kwargs
        if self.errors:
            raise self.errors.pop(0)


def storage(client, timeout_ms: int = 10_000) -> tuple[Storage, list[float]]:
    waits: list[float] = []
    store = Storage(CONN, "data-lake", retry_backoff_ms=100, retry_timeout_ms=timeout_ms, sleep=waits.append)
    store.client = client
    return store, waits


def test_no_answer_and_5xx_are_transient_access_denied_is_not():
    assert transient(EndpointConnectionError(endpoint_url="http://127.0.0.1:9000"))
    assert transient(client_error("503")) and transient(client_error("SlowDown"))
    assert not transient(client_error("AccessDenied")) and not transient(client_error("NoSuchBucket"))


def test_a_put_that_fails_for_a_while_is_retried_with_doubling_waits():
    client = Failing(client_error("503"), EndpointConnectionError(endpoint_url="x"), client_error("500"))
    store, waits = storage(client)
    store.put("k", b"v")
    assert client.calls == 4
    assert waits == [0.1, 0.2, 0.4]


def test_a_permanent_failure_is_raised_at_once():
    client = Failing(client_error("AccessDenied"))
    store, waits = storage(client)
    with pytest.raises(SluiceError, match="PUT s3://data-lake/k failed after 0 retries"):
        store.put("k", b"v")
    assert waits == []


def test_a_transient_failure_that_outlasts_the_timeout_is_raised():
    client = Failing(*[client_error("503")] * 100)
    store, _ = storage(client, timeout_ms=0)
    with pytest.raises(SluiceError, match="failed after 0 retries"):
        store.put("k", b"v")


class Racing:
    """A bucket another sink of the group creates between this one's HEAD (404) and its CREATE."""

    def __init__(self, create_error: str):
        self.create_error = create_error

    def head_bucket(self, **kwargs):
        raise client_error("404")

    def create_bucket(self, **kwargs):
        raise client_error(self.create_error)


def test_a_bucket_created_meanwhile_by_another_sink_is_fine_any_other_refusal_is_not():
    store, _ = storage(Racing("BucketAlreadyOwnedByYou"))  # S3Proxy, MinIO, AWS outside us-east-1
    store.ensure_bucket(create=True)
    store, _ = storage(Racing("BucketAlreadyExists"))  # someone else's bucket of that name
    with pytest.raises(ClientError, match="BucketAlreadyExists"):
        store.ensure_bucket(create=True)


def test_a_conditional_put_that_does_not_hold_is_false_not_an_error_and_is_retried_while_s3_is_away():
    client = Failing(client_error("503"), client_error("PreconditionFailed"))
    store, waits = storage(client)
    assert store.put_new("k", b"v") is False and (client.calls, waits, client.asked["IfNoneMatch"]) == (2, [0.1], "*")
    client = Failing(client_error("NoSuchKey"))  # If-Match on a key deleted since
    store, _ = storage(client)
    assert store.put_over("k", b"v", '"etag"') is False and client.asked["IfMatch"] == '"etag"'
