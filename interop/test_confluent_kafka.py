"""confluent-kafka (librdkafka 2.16) against eddy: producer with every compression type, consumer
with assign() and seek() (no group), and the AdminClient: topics, partitions and configs."""

from __future__ import annotations

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, NewPartitions,
                                   NewTopic, ResourceType)

from interop_helpers import (admin_client, consume, consumer_conf, create_topic, error_code, partition_count, produce,
                             wait_until, watermarks)

BASE_TS = 1_700_000_000_000
KAFKA_DEFAULT_RETENTION_MS = "604800000"   # 7 days
KAFKA_DEFAULT_SEGMENT_BYTES = "1073741824"  # 1 GiB


def record(i: int, partition: int = 0) -> dict:
    return {"key": f"key-{i}".encode(), "value": f'{{"n": {i}, "pad": "{"x" * 40}"}}'.encode(),
            "headers": [("h", b"v"), ("i", str(i).encode())], "timestamp": BASE_TS + i, "partition": partition}


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_producer_acks_all_with_each_compression(broker, codec):
    topic = f"conf-{codec}"
    create_topic(broker.bootstrap, topic)
    records = [record(i) for i in range(50)]
    offsets = produce(broker.bootstrap, topic, records, {"compression.type": codec, "linger.ms": 50})
    assert offsets == list(range(50)), offsets

    got = consume(broker.bootstrap, [TopicPartition(topic, 0, 0)], 50, settle_s=0.5)
    for m, r, off in zip(got, records, offsets):
        assert (m.offset(), m.key(), m.value()) == (off, r["key"], r["value"])
        assert m.headers() == r["headers"]
        assert m.timestamp() == (TIMESTAMP_CREATE_TIME, r["timestamp"])


def test_consumer_assign_and_seek(broker):
    topic = "conf-seek"
    create_topic(broker.bootstrap, topic, partitions=3)
    for p in range(3):
        assert produce(broker.bootstrap, topic, [record(i, p) for i in range(10)]) == list(range(10))

    # Start partition 0 at 5, partition 1 at the beginning, partition 2 at its last record.
    got = consume(broker.bootstrap, [TopicPartition(topic, 0, 5), TopicPartition(topic, 1, 0),
                                     TopicPartition(topic, 2, 9)], 5 + 10 + 1, settle_s=0.5)
    by_partition = {p: [(m.offset(), m.key()) for m in got if m.partition() == p] for p in range(3)}
    assert by_partition == {0: [(i, f"key-{i}".encode()) for i in range(5, 10)],
                            1: [(i, f"key-{i}".encode()) for i in range(10)],
                            2: [(9, b"key-9")]}


def test_consumer_seek_back_and_forward(broker):
    topic = "conf-seek2"
    create_topic(broker.bootstrap, topic)
    produce(broker.bootstrap, topic, [record(i) for i in range(20)])

    c = Consumer(consumer_conf(broker.bootstrap))
    try:
        c.assign([TopicPartition(topic, 0, 15)])

        def next_offsets(n):
            out = []
            for _ in range(40):
                for m in c.consume(num_messages=n - len(out), timeout=0.5):
                    assert m.error() is None, m.error()
                    out.append(m.offset())
                if len(out) == n:
                    return out
            raise AssertionError(f"read only {out}")

        assert next_offsets(5) == [15, 16, 17, 18, 19]
        c.seek(TopicPartition(topic, 0, 3))
        assert next_offsets(3) == [3, 4, 5]
        c.seek(TopicPartition(topic, 0, 18))
        assert next_offsets(2) == [18, 19]
    finally:
        c.close()


def describe(admin, topic: str) -> dict:
    """DescribeConfigs of a topic: {name: (value, is_topic_override)}."""
    res = ConfigResource(ResourceType.TOPIC, topic)
    entries = admin.describe_configs([res], request_timeout=15)[res].result(timeout=20)

    def overridden(entry) -> bool:
        source = entry.source.value if isinstance(entry.source, ConfigSource) else int(entry.source)
        return source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    return {name: (e.value, overridden(e)) for name, e in entries.items()}


@pytest.mark.broker_args("--auto-create-topics", "false")
def test_admin_topics_partitions_and_configs(broker):
    admin = admin_client(broker.bootstrap)
    topic = "conf-admin"

    created = admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                            config={"retention.ms": "3600000", "segment.bytes": "1048576"})])
    created[topic].result(timeout=20)
    wait_until(lambda: partition_count(admin, topic) == 2, 10, "2 partitions in Metadata")

    configs = describe(admin, topic)
    assert configs["retention.ms"] == ("3600000", True)
    assert configs["segment.bytes"] == ("1048576", True)
    assert configs["cleanup.policy"] == ("delete", False)

    # CreatePartitions: 2 -> 4; the new partitions take writes.
    admin.create_partitions([NewPartitions(topic, 4)])[topic].result(timeout=20)
    wait_until(lambda: partition_count(admin, topic) == 4, 10, "4 partitions in Metadata")
    assert produce(broker.bootstrap, topic, [record(0, 3)]) == [0]

    # AlterConfigs replaces the whole set: segment.bytes, not named, returns to its default.
    res = ConfigResource(ResourceType.TOPIC, topic, set_config={"retention.ms": "7200000"})
    admin.alter_configs([res])[res].result(timeout=20)
    configs = describe(admin, topic)
    assert configs["retention.ms"] == ("7200000", True)
    assert configs["segment.bytes"] == (KAFKA_DEFAULT_SEGMENT_BYTES, False)

    # IncrementalAlterConfigs changes only what it names.
    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.bytes", "1048576", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
    admin.incremental_alter_configs([res])[res].result(timeout=20)
    configs = describe(admin, topic)
    assert configs["retention.bytes"] == ("1048576", True)
    assert configs["retention.ms"] == (KAFKA_DEFAULT_RETENTION_MS, False)

    admin.delete_topics([topic], request_timeout=15)[topic].result(timeout=20)
    wait_until(lambda: topic not in admin.list_topics(timeout=10).topics, 10, f"{topic} gone from Metadata")


@pytest.mark.broker_args("--auto-create-topics", "false")
def test_admin_errors(broker):
    admin = admin_client(broker.bootstrap)
    create_topic(broker.bootstrap, "conf-dup")

    def error_of(future) -> int | None:
        with pytest.raises(KafkaException) as e:
            future.result(timeout=20)
        return error_code(e.value)

    dup = admin.create_topics([NewTopic("conf-dup", num_partitions=1, replication_factor=1)])
    assert error_of(dup["conf-dup"]) == KafkaError.TOPIC_ALREADY_EXISTS
    bad = admin.create_topics([NewTopic("conf-bad", num_partitions=1, replication_factor=1,
                                        config={"retention.ms": "not-a-number"})])
    assert error_of(bad["conf-bad"]) == KafkaError.INVALID_CONFIG
    fewer = admin.create_partitions([NewPartitions("conf-dup", 1)])
    assert error_of(fewer["conf-dup"]) == KafkaError.INVALID_PARTITIONS
    missing = admin.delete_topics(["conf-missing"], request_timeout=15)
    assert error_of(missing["conf-missing"]) == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert "conf-bad" not in admin.list_topics(timeout=10).topics


def test_list_topics(broker):
    create_topic(broker.bootstrap, "conf-list-a", partitions=3)
    create_topic(broker.bootstrap, "conf-list-b")
    md = admin_client(broker.bootstrap).list_topics(timeout=10)

    (node,) = md.brokers.values()
    assert (node.host, node.port) == ("127.0.0.1", broker.port)
    assert md.controller_id == node.id
    assert md.cluster_id
    for name, count in (("conf-list-a", 3), ("conf-list-b", 1)):
        t = md.topics[name]
        assert t.error is None
        assert sorted(t.partitions) == list(range(count))
        for p in t.partitions.values():
            assert (p.error, p.leader, p.replicas, p.isrs) == (None, node.id, [node.id], [node.id])
    assert watermarks(broker.bootstrap, "conf-list-a", 2) == (0, 0)


def test_authorized_operations_are_every_operation_without_an_authorizer(broker):
    """KIP-430 as Kafka answers without an authorizer: describe_cluster, describe_topics and
    describe_consumer_groups with include_authorized_operations list every operation of the
    resource type (librdkafka decodes the bit fields)."""
    from confluent_kafka import TopicCollection
    from confluent_kafka.admin import AclOperation
    create_topic(broker.bootstrap, "conf-authz")
    admin = admin_client(broker.bootstrap)
    cluster = admin.describe_cluster(include_authorized_operations=True).result(10)
    assert set(cluster.authorized_operations) == {
        AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CLUSTER_ACTION,
        AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE}
    (topic,) = admin.describe_topics(TopicCollection(["conf-authz"]), include_authorized_operations=True).values()
    assert set(topic.result(10).authorized_operations) == {
        AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER,
        AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS}
    (group,) = admin.describe_consumer_groups(["conf-authz-group"], include_authorized_operations=True).values()
    assert set(group.result(10).authorized_operations) == {AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE}
    # Not asked: not computed.
    assert admin.describe_cluster().result(10).authorized_operations is None
