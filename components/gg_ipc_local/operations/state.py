"""Component lifecycle: UpdateState."""

from __future__ import annotations

from gg_ipc_local.rpc import Call, Handler, IpcError, Response, log


async def update_state(call: Call, request: dict) -> Response:
    state = request.get("state")
    if state not in ("RUNNING", "ERRORED"):
        raise IpcError("InvalidArgumentsError", f"state must be RUNNING or ERRORED, not {state}")
    if state != call.server.component_state:
        log.info("%s reports state %s", call.server.component, state)
    call.server.component_state = state
    return Response("UpdateStateResponse", {})


OPERATIONS: dict[str, Handler] = {"UpdateState": update_state}
