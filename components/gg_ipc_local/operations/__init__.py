"""Every IPC operation the server answers, by name: one module per operation family.

To add an operation, write its handler in its family's module and list it in that module's ``OPERATIONS``;
a new family is one more module and one more line here.
"""

from __future__ import annotations

from gg_ipc_local.operations import configuration, iot_core, pubsub, secrets, state
from gg_ipc_local.rpc import Handler

OPERATIONS: dict[str, Handler] = {
    **iot_core.OPERATIONS,
    **pubsub.OPERATIONS,
    **configuration.OPERATIONS,
    **state.OPERATIONS,
    **secrets.OPERATIONS,
}
