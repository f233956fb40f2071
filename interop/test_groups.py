"""Consumer groups and committed offsets with real clients: kafka-python members sharing a topic's
partitions and rebalancing as members leave or die, kcat's balanced consumer (librdkafka), offsets
across a broker restart, and kafka-python's admin client listing and describing groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from interop_helpers import create_topic, produce, wait_until

WORKER = os.path.join(os.path.dirname(__file__), "group_worker.py")


class Worker:
    """One group_worker.py process and the events it printed."""

    def __init__(self, bootstrap, group, topic, name):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, WORKER, bootstrap, group, topic, name],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(event)

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def assignment(self):
        """The partitions of the last "assigned" event, or None."""
        assigned = [e for e in self.snapshot() if e["event"] == "assigned"]
        return assigned[-1]["partitions"] if assigned else None

    def records(self):
        return [(e["partition"], e["offset"], e["value"]) for e in self.snapshot() if e["event"] == "record"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.reader.join(5)

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)
        self.reader.join(5)


def balanced(workers, partitions):
    """Each live worker's last assignment, if together they own every partition exactly once."""
    owned = [w.assignment() for w in workers]
    if any(a is None for a in owned):
        return None
    flat = sorted(p for a in owned for p in a)
    return owned if flat == list(range(partitions)) else None


def group_offsets(bootstrap, group):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()


def committed_everything(bootstrap, group, topic, ends):
    offsets = group_offsets(bootstrap, group)
    return all(offsets.get(TopicPartition(topic, p), OffsetAndMetadata(-1, "", -1)).offset == end
               for p, end in ends.items())


def produce_round(bootstrap, topic, label, count, partitions):
    produce(bootstrap, topic, [{"key": f"k{i}", "value": f"{label}-{i}", "partition": i % partitions}
                               for i in range(count)])
    return {f"{label}-{i}" for i in range(count)}


@pytest.mark.timeout(150)
@pytest.mark.broker_args("--group-initial-rebalance-delay-ms", "1000")
def test_three_members_share_partitions_and_rebalance_without_loss_or_duplicates(broker, summary):
    topic, group, partitions = "orders", "billing", 6
    create_topic(broker.bootstrap, topic, partitions)
    expected = produce_round(broker.bootstrap, topic, "a", 300, partitions)

    started = time.monotonic()
    workers = [Worker(broker.bootstrap, group, topic, f"member-{i}") for i in range(3)]
    try:
        owned = wait_until(lambda: balanced(workers, partitions) if all(w.assignment() for w in workers) else None,
                           60, "three members owning the six partitions")
        summary(f"group of 3 formed and balanced in {time.monotonic() - started:.2f} s "
                f"(group.initial.rebalance.delay.ms=1000): {owned}")
        assert all(len(a) == 2 for a in owned), owned

        def everything_seen():
            seen = [r for w in workers for r in w.records()]
            return len({v for _, _, v in seen}) >= len(expected) and seen
        wait_until(everything_seen, 60, "the first 300 records consumed")
        wait_until(lambda: committed_everything(broker.bootstrap, group, topic, {p: 50 for p in range(partitions)}),
                   30, "offsets committed to the end")

        # A member leaves (LeaveGroup): the other two take its partitions.
        left_at = time.monotonic()
        workers[0].stop()
        remaining = workers[1:]
        owned = wait_until(lambda: balanced(remaining, partitions), 60, "two members owning all six partitions")
        summary(f"rebalance after a member left: {time.monotonic() - left_at:.2f} s: {owned}")
        expected |= produce_round(broker.bootstrap, topic, "b", 120, partitions)
        wait_until(lambda: {v for w in workers for _, _, v in w.records()} >= expected, 60, "round b consumed")
        wait_until(lambda: committed_everything(broker.bootstrap, group, topic, {p: 70 for p in range(partitions)}),
                   30, "round b committed")

        # A member dies (SIGKILL): after its session times out the last one takes everything.
        killed_at = time.monotonic()
        remaining[0].kill()
        last = remaining[1]
        wait_until(lambda: balanced([last], partitions), 60, "the last member owning all six partitions")
        summary(f"rebalance after a member was killed (session.timeout.ms=6000): {time.monotonic() - killed_at:.2f} s")
        expected |= produce_round(broker.bootstrap, topic, "c", 60, partitions)
        wait_until(lambda: {v for w in workers for _, _, v in w.records()} >= expected, 60, "round c consumed")

        seen = [r for w in workers for r in w.records()]
        values = [v for _, _, v in seen]
        assert sorted(values) == sorted(expected), "every record exactly once across the rebalances"
        assert len(set((p, o) for p, o, _ in seen)) == len(seen)
    finally:
        for w in workers:
            w.stop()


@pytest.mark.timeout(90)
@pytest.mark.broker_args("--group-initial-rebalance-delay-ms", "0")
def test_kcat_balanced_consumer_commits_and_resumes(broker):
    topic, group = "clicks", "kcat-group"
    create_topic(broker.bootstrap, topic, 3)
    produce_round(broker.bootstrap, topic, "x", 30, 3)

    def run_kcat():
        out = subprocess.run(["kcat", "-b", broker.bootstrap, "-G", group, "-X", "auto.offset.reset=earliest", "-e", "-q",
                              "-f", "%p %o %s\\n", "-X", "auto.commit.interval.ms=100", topic],
                             capture_output=True, text=True, timeout=60)
        return [line.split() for line in out.stdout.splitlines() if line.strip()], out

    lines, out = run_kcat()
    assert sorted(v for _, _, v in lines) == sorted(f"x-{i}" for i in range(30)), out.stderr[-2000:]
    produce_round(broker.bootstrap, topic, "y", 9, 3)
    lines, out = run_kcat()
    assert sorted(v for _, _, v in lines) == sorted(f"y-{i}" for i in range(9)), \
        "the second run resumes from the committed offsets\n" + out.stderr[-2000:]


@pytest.mark.timeout(90)
@pytest.mark.broker_args("--group-initial-rebalance-delay-ms", "0")
def test_offsets_survive_restart_and_admin_lists_and_describes_groups(broker):
    topic, group = "events", "reporting"
    create_topic(broker.bootstrap, topic, 2)
    produce_round(broker.bootstrap, topic, "e", 20, 2)
    consumer = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group, client_id="reporter",
                             enable_auto_commit=False, auto_offset_reset="earliest", session_timeout_ms=6000)
    try:
        got = []
        deadline = time.monotonic() + 30
        while len(got) < 20 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                got += records
        assert len(got) == 20
        consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(7, "checkpoint-7", -1),
                         TopicPartition(topic, 1): OffsetAndMetadata(10, None, -1)})

        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        try:
            listed = {g["group_id"]: g for g in admin.list_groups()}
            assert listed[group]["protocol_type"] == "consumer", listed
            assert listed[group]["group_state"] == "Stable", listed
            described = admin.describe_groups([group])[group]
            assert described["group_state"] == "Stable", described
            assert described["protocol_type"] == "consumer"
            assert [m["client_id"] for m in described["members"]] == ["reporter"]
            assert described["members"][0]["client_host"] == "/127.0.0.1"
            assigned = described["members"][0]["member_assignment"]["assigned_partitions"]
            assert sorted(p for t in assigned for p in t["partitions"]) == [0, 1]
        finally:
            admin.close()
    finally:
        consumer.close()

    broker.restart()
    offsets = group_offsets(broker.bootstrap, group)
    assert offsets[TopicPartition(topic, 0)].offset == 7
    assert offsets[TopicPartition(topic, 0)].metadata == "checkpoint-7"
    assert offsets[TopicPartition(topic, 1)].offset == 10
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        listed = {g["group_id"]: g for g in admin.list_groups()}
        assert listed[group]["group_state"] == "Empty", listed
        assert admin.describe_groups([group])[group]["group_state"] == "Empty"
        assert admin.delete_groups([group]) == {group: "OK"}
        assert group not in {g["group_id"] for g in admin.list_groups()}
    finally:
        admin.close()
    broker.restart()
    assert group_offsets(broker.bootstrap, group) == {}, "deleted offsets stay deleted after a restart"


def test_a_member_expires_at_its_session_timeout(broker, tmp_path):
    """A member that stops heartbeating (SIGKILLed) has left the group once its session timeout has
    passed, so the group can be deleted then, as librdkafka's admin tests do after waiting exactly
    session.timeout.ms (refused with NON_EMPTY_GROUP while a member remains). That the timer wakes at
    the deadline itself, not up to a tick later, is GroupServiceTests' (a 100 ms tick passes this test
    most of the time)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    create_topic(broker.bootstrap, "expiry")
    worker = tmp_path / "member.py"
    worker.write_text(f"""
import sys, time
from confluent_kafka import Consumer, TopicPartition
consumer = Consumer({{"bootstrap.servers": "{broker.bootstrap}", "group.id": "expiring", "session.timeout.ms": 6000,
                      "heartbeat.interval.ms": 50, "enable.auto.commit": False}})
consumer.subscribe(["expiry"])
while not consumer.assignment():
    consumer.poll(0.1)
consumer.commit(offsets=[TopicPartition("expiry", 0, 0)], asynchronous=False)  # the group outlives its member
print("assigned", flush=True)
while True:
    consumer.poll(0.05)
""")
    member = subprocess.Popen([sys.executable, str(worker)], stdout=subprocess.PIPE, text=True)
    try:
        assert member.stdout.readline().strip() == "assigned"
        time.sleep(0.5)  # heartbeats every 50 ms: the last one is at most that old when the member dies
        member.kill()
        killed = time.monotonic()
        member.wait()
    finally:
        member.kill()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    time.sleep(max(0.0, killed + 6.0 + 0.02 - time.monotonic()))
    try:
        admin.delete_consumer_groups(["expiring"])["expiring"].result(10)
    except KafkaException as error:
        pytest.fail(f"the group still had its member {time.monotonic() - killed:.3f} s after it died: {error}")


def test_offset_delete_follows_kafkas_rules(broker):
    """OffsetDelete (KIP-496) with kafka-python's admin client: an idle group's offsets go per
    partition; an unknown group is GROUP_ID_NOT_FOUND; a group whose member subscribes to a topic
    keeps that topic's offsets (GROUP_SUBSCRIBED_TO_TOPIC) and loses the others'."""
    from kafka.errors import GroupIdNotFoundError, GroupSubscribedToTopicError, NoError
    for topic in ("od-a", "od-b"):
        create_topic(broker.bootstrap, topic)
    a, b = TopicPartition("od-a", 0), TopicPartition("od-b", 0)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.alter_group_offsets("od", {a: OffsetAndMetadata(5, "", -1), b: OffsetAndMetadata(7, "", -1)})
        assert admin.delete_group_offsets("od", [a]) == {a: NoError}
        committed = admin.list_group_offsets({"od": None})["od"]
        assert {tp: o.offset for tp, o in committed.items()} == {b: 7}
        with pytest.raises(GroupIdNotFoundError):
            admin.delete_group_offsets("no-such-group", [a])

        admin.alter_group_offsets("od", {a: OffsetAndMetadata(5, "", -1)})
        consumer = KafkaConsumer("od-b", bootstrap_servers=broker.bootstrap, group_id="od", enable_auto_commit=False)
        try:
            wait_until(lambda: consumer.poll(timeout_ms=200) is not None and consumer.assignment(), 30, "the member's assignment")
            assert admin.delete_group_offsets("od", [a, b]) == {a: NoError, b: GroupSubscribedToTopicError}
            committed = admin.list_group_offsets({"od": None})["od"]
            assert {tp: o.offset for tp, o in committed.items()} == {b: 7}
        finally:
            consumer.close()
    finally:
        admin.close()
