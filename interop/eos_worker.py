"""Exactly-once consume-transform-produce for test_transactions.py, run as its own process so the
test can SIGKILL it at any point:

    python eos_worker.py BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID [PAUSE_MS [BATCH]]

Reads INPUT in GROUP (read_committed, no auto-commit), and for each polled batch, in one
transaction: produces "<value>-x2" per input record to OUTPUT (same key) and commits the consumed
offsets with send_offsets_to_transaction. PAUSE_MS (default 0) is "processing time" spent inside
each transaction after producing, so that a kill often lands in an open transaction; BATCH
(default 20) is the most input records one transaction takes. Prints
"committed N" after each transaction.
"""

import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer

bootstrap, source, sink, group, txn_id = sys.argv[1:6]
pause_s = int(sys.argv[6]) / 1000 if len(sys.argv) > 6 else 0.0
batch = int(sys.argv[7]) if len(sys.argv) > 7 else 20
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed",
                     "enable.auto.commit": False, "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "transaction.timeout.ms": 10000,
                     "linger.ms": 2})
producer.init_transactions(30)
consumer.subscribe([source])
while True:
    messages = [m for m in consumer.consume(num_messages=batch, timeout=0.5) if m.error() is None]
    if not messages:
        continue
    producer.begin_transaction()
    for m in messages:
        producer.produce(sink, key=m.key(), value=m.value() + b"-x2")
    producer.flush(30)
    time.sleep(pause_s)
    positions = consumer.position(consumer.assignment())
    producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
    try:
        producer.commit_transaction(30)
    except KafkaException as e:
        print(f"commit failed: {e}", flush=True)
        raise
    print(f"committed {len(messages)}", flush=True)
