"""Prometheus metrics, health checks and the HTTP server that serves them (and the live view)."""
