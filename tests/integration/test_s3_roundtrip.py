def test_object_put_is_listed_and_read_back_byte_for_byte(s3, unique_name):
    bucket = unique_name
    key = "topics/events/year=2024/month=01/day=15/hour=10/events+0+0000000000.parquet"
    body = bytes(range(256)) * 64
    s3.create_bucket(Bucket=bucket)

    s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"start-offset": "0"})

    listed = s3.list_objects_v2(Bucket=bucket, Prefix="topics/events/")
    assert [(o["Key"], o["Size"]) for o in listed["Contents"]] == [(key, len(body))]
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == body
    assert got["Metadata"] == {"start-offset": "0"}

    s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    s3.delete_bucket(Bucket=bucket)
