"""Counts as time series: InfluxDB line protocol written over HTTP by a background thread."""
