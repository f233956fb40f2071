"""aiokafka against eddy: producer/consumer round trip with assign + seek (no group)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from interop_helpers import create_topic

BASE_TS = 1_700_000_000_000


async def read(consumer: AIOKafkaConsumer, count: int, timeout_s: float = 20.0) -> list:
    out = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while len(out) < count and loop.time() < deadline:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            out.extend(records)
    assert len(out) == count, f"read {len(out)} of {count} records"
    return out


async def round_trip(bootstrap: str, topic: str, codec: str | None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=codec, linger_ms=20,
                                request_timeout_ms=10000)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=f"key-{i}".encode(), value=f"value-{i}".encode(), partition=0,
                                       headers=[("h", b"v")], timestamp_ms=BASE_TS + i) for i in range(20)]
        metas = await asyncio.wait_for(asyncio.gather(*futures), 20)
        assert [m.offset for m in metas] == list(range(20))
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="none", request_timeout_ms=10000)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 5)
        got = await read(consumer, 15)
        assert [(r.offset, r.key, r.value) for r in got] == \
            [(i, f"key-{i}".encode(), f"value-{i}".encode()) for i in range(5, 20)]
        assert all(list(r.headers) == [("h", b"v")] and r.timestamp == BASE_TS + r.offset for r in got)

        consumer.seek(tp, 12)
        assert [r.offset for r in await read(consumer, 8)] == list(range(12, 20))
        assert await consumer.end_offsets([tp]) == {tp: 20}
        assert await consumer.beginning_offsets([tp]) == {tp: 0}
    finally:
        await consumer.stop()


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_round_trip_assign_and_seek(broker, codec):
    topic = f"aio-{codec or 'none'}"
    create_topic(broker.bootstrap, topic)
    asyncio.run(round_trip(broker.bootstrap, topic, codec))


@pytest.mark.timeout(60)
@pytest.mark.broker_args("--group-initial-rebalance-delay-ms", "0")
def test_group_consumer_commits_and_a_new_member_resumes(broker):
    """aiokafka in a consumer group: subscribe, consume, commit; a second consumer of the same group
    (after the first left) starts at the committed offsets."""
    topic, group = "aio-group", "aio-readers"
    create_topic(broker.bootstrap, topic, 2)

    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait(topic, f"a{i}".encode(), partition=i % 2)
        finally:
            await producer.stop()

        first = AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False,
                                 auto_offset_reset="earliest", session_timeout_ms=6000)
        await first.start()
        try:
            got = await read(first, 10)
            await first.commit()
            assert sorted(r.value.decode() for r in got) == sorted(f"a{i}" for i in range(10))
            assert first.assignment() == {TopicPartition(topic, 0), TopicPartition(topic, 1)}
        finally:
            await first.stop()

        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(4):
                await producer.send_and_wait(topic, f"b{i}".encode(), partition=i % 2)
        finally:
            await producer.stop()
        second = AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False,
                                  auto_offset_reset="earliest", session_timeout_ms=6000)
        await second.start()
        try:
            got = await read(second, 4)
            assert sorted(r.value.decode() for r in got) == sorted(f"b{i}" for i in range(4)), \
                "the new member resumes from the committed offsets"
        finally:
            await second.stop()

    asyncio.run(scenario())
