"""A consumer-group member for test_groups.py, run as its own process so a test can SIGKILL it.

    python group_worker.py BOOTSTRAP GROUP TOPIC NAME

kafka-python KafkaConsumer subscribed to TOPIC in GROUP, auto-commit off. Each poll's records are
processed (printed) and then committed synchronously. Prints one JSON object per line on stdout:
    {"event": "assigned", "name": NAME, "partitions": [..], "t": monotonic seconds}
    {"event": "record", "name": NAME, "partition": p, "offset": o, "value": "..."}
    {"event": "committed", "name": NAME}
Stops on SIGTERM (closes the consumer: LeaveGroup) or after 120 s.
"""

import json
import signal
import sys
import time

from kafka import ConsumerRebalanceListener, KafkaConsumer

bootstrap, group, topic, name = sys.argv[1:5]
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def emit(**fields):
    print(json.dumps({"name": name, "t": time.monotonic(), **fields}), flush=True)


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        emit(event="revoked", partitions=sorted(tp.partition for tp in revoked))

    def on_partitions_assigned(self, assigned):
        emit(event="assigned", partitions=sorted(tp.partition for tp in assigned))


consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, client_id=name,
                         enable_auto_commit=False, auto_offset_reset="earliest",
                         session_timeout_ms=6000, heartbeat_interval_ms=1000, max_poll_records=50,
                         request_timeout_ms=30000)
consumer.subscribe([topic], listener=Listener())
deadline = time.monotonic() + 120
while running and time.monotonic() < deadline:
    batches = consumer.poll(timeout_ms=200)
    for tp, records in batches.items():
        for r in records:
            emit(event="record", partition=tp.partition, offset=r.offset, value=r.value.decode())
    if batches:
        consumer.commit()
        emit(event="committed")
consumer.close()
emit(event="closed")
