"""Watching the counter run: Prometheus metrics, /healthz, the grabber's status, InfluxDB, live view.

All of it rides along the counting loop as frame hooks (``factory.create_observability_hooks``)
and is served by one HTTP server (``server.py``); nothing below this package imports it.
"""
