"""A function whose shutdown handler hands one request off to the extension.

``HANDOFF_URL``: where the request goes (a loopback server of the test's).
``HANDOFF_OUTPUT``: the handler appends what ``handoff`` returned, as one JSON line.
"""

import json
import os

from lambda_graceful_shutdown import GracefulShutdown, HandoffRequest, handoff

shutdown = GracefulShutdown.from_env()


@shutdown.on_shutdown
def flush():
    result = handoff(HandoffRequest("POST", os.environ["HANDOFF_URL"], id="flush-1",
                                    headers={"content-type": "application/json"},
                                    body=json.dumps({"pid": os.getpid(), "note": "caf\u00e9"})))
    line = json.dumps({"ok": result.ok, "status": result.status, "message": result.message,
                       "accepted": result.accepted, "held": result.held})
    fd = os.open(os.environ["HANDOFF_OUTPUT"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, (line + "\n").encode())
    os.close(fd)


shutdown.install()


def handler(event, context):
    return {"ok": True}
