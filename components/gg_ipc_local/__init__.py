"""A local stand-in for the Greengrass nucleus IPC socket, for development and tests.

``gg-ipc-local`` speaks the AWS event-stream RPC protocol on a Unix socket so that an
unmodified component using ``awsiot.greengrasscoreipc`` runs on a laptop or in CI: it
answers the operations our components use, enforces the recipe's ``accessControl`` and
the IoT Core payload limit, and forwards IoT Core messages to a local MQTT broker and/or
a JSON-lines file. It is a development and test tool, not a nucleus replacement: deployments
are configuration updates of the one component it serves; no lifecycle management, no cloud connection.
"""
