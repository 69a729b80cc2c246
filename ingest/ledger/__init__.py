"""The documents the sink writes next to the raw zone for the lake's readers, typed: the commit ledger's manifests
(`manifest`), their index by UTC event hour (`hour_index`), the completeness watermarks (`watermark`) and their keys.

The sink writes them and the lake, the sensor and the audits read them, so they live below both: `ingest.sink` and
`ingest.lake` import this package and never each other. The JSON is a public format (the README's "Commit
ledger" and "Completeness watermark"): `to_json()` writes exactly today's keys in today's order.
"""
