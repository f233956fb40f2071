"""Named limits, tested past the limit over raw sockets:

- --max-connections N: the (N+1)th connection is closed as it is accepted; the first N keep working,
  and a slot freed by closing one is usable again.
- --max-queued-requests N: a client that pipelines many more requests than N on one connection gets
  every answer, in order (the broker stops reading the socket while it catches up; nothing is lost).
"""

from __future__ import annotations

import struct
import time

import pytest

from test_bad_input import API_VERSIONS, api_versions_v0, assert_still_serving, closed_by_broker, connect, request, response


def connect_serving(broker, correlation_id: int):
    """A connection the broker serves. The fixture's readiness probe (or a connection a test just
    closed) holds a slot until the broker notices the close, so a refused attempt is retried."""
    for attempt in range(50):
        s = connect(broker)
        try:
            assert_still_serving(s, correlation_id + attempt)
            return s
        except (ConnectionError, OSError):
            s.close()
            time.sleep(0.1)
    raise AssertionError("the broker admitted no connection within 5 s")


@pytest.mark.broker_args("--max-connections", "3")
def test_connections_past_the_limit_are_closed(broker):
    held = [connect_serving(broker, 100 * (i + 1)) for i in range(3)]
    try:
        extra = connect(broker)
        assert closed_by_broker(extra), "a 4th connection was kept open with --max-connections 3"
        extra.close()
        for i, s in enumerate(held):
            assert_still_serving(s, 200 + i)
        # Freeing a slot lets a new connection in.
        held.pop().close()
        held.append(connect_serving(broker, 1000))
    finally:
        for s in held:
            s.close()


@pytest.mark.broker_args("--max-queued-requests", "2")
def test_pipelined_requests_past_the_queue_limit_are_all_answered_in_order(broker):
    s = connect(broker)
    try:
        count = 200
        s.sendall(b"".join(request(API_VERSIONS, 0, 1000 + i, b"") for i in range(count)))
        for i in range(count):
            body = response(s, 1000 + i)  # asserts the correlation id: answers come in order
            (error,) = struct.unpack(">h", body[:2])
            assert error == 0
        assert_still_serving(s, 5000)
    finally:
        s.close()
