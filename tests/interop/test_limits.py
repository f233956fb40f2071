"""Named limits, tested past the limit over raw sockets:

- --max-connections N: the (N+1)th connection is closed as it is accepted; the first N keep working,
  and a slot freed by closing one is usable again.
- --max-queued-requests N: a client that pipelines many more requests than N on one connection gets
  every answer, in order (the broker stops reading the socket while it catches up; nothing is lost).
"""

from __future__ import annotations

import struct

import pytest

from test_bad_input import API_VERSIONS, api_versions_v0, assert_still_serving, closed_by_broker, connect, request, response


@pytest.mark.broker_args("--max-connections", "3")
def test_connections_past_the_limit_are_closed(broker):
    held = [connect(broker) for _ in range(3)]
    try:
        for i, s in enumerate(held):
            assert_still_serving(s, 100 + i)
        extra = connect(broker)
        assert closed_by_broker(extra), "a 4th connection was kept open with --max-connections 3"
        extra.close()
        for i, s in enumerate(held):
            assert_still_serving(s, 200 + i)
        # Freeing a slot lets a new connection in.
        held.pop().close()
        again = None
        for attempt in range(50):  # the broker notices the close asynchronously
            again = connect(broker)
            try:
                assert_still_serving(again, 300 + attempt)
                break
            except (ConnectionError, OSError, AssertionError):
                again.close()
                again = None
        assert again is not None, "no connection admitted after one was closed"
        held.append(again)
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
