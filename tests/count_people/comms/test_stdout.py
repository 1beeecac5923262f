"""The stdout publisher: one JSON document per line, flushed per message."""

from __future__ import annotations

import io
import json

from count_people.comms.stdout import StdoutPublisher


def test_one_line_per_message():
    stream = io.StringIO()
    publisher = StdoutPublisher(stream)
    for count in range(3):
        publisher.publish("topic", json.dumps({"count": count}).encode())
    assert [json.loads(line)["count"] for line in stream.getvalue().splitlines()] == [0, 1, 2]
    assert publisher.stats.sent == 3


def test_closed_stream_counts_failures_instead_of_crashing():
    stream = io.StringIO()
    stream.close()
    publisher = StdoutPublisher(stream)
    publisher.publish("topic", b"{}")
    assert publisher.stats.failed == 1 and publisher.stats.sent == 0
