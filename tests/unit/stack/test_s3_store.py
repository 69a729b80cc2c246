"""The S3 store's files after a kill: partial PUTs set aside before S3Proxy starts, objects left where they are."""

from stack.s3 import set_aside_interrupted_puts


def test_only_the_partial_files_of_interrupted_puts_are_set_aside(tmp_path):
    store, aside = tmp_path / "s3", tmp_path / "aside"
    objects = [
        "lake/topics/events/year=2026/events+0+0000000000.parquet",
        "lake/_ledger/events/00000001.json",
        "lake/keys/ends-with-a-non-uuid-0123",
        "lake/keys/upper-73DFD88E-5574-4BFD-B8B3-F7D253D8C766",  # not what S3Proxy writes (it writes lower case)
    ]
    partial = "lake/topics/events/year=2026/events+0+0000000500.parquet-73dfd88e-5574-4bfd-b8b3-f7d253d8c766"
    for key in [*objects, partial]:
        (store / key).parent.mkdir(parents=True, exist_ok=True)
        (store / key).write_bytes(key.encode())

    moved = set_aside_interrupted_puts(store, aside)

    assert moved == [aside / partial]
    assert (aside / partial).read_bytes() == partial.encode()  # kept, not deleted
    assert not (store / partial).exists()
    for key in objects:
        assert (store / key).read_bytes() == key.encode()
    assert set_aside_interrupted_puts(store, aside) == []  # nothing left to move
