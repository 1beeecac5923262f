"""``people-counter doctor``: checks this machine for what the grabber and the counter need, and says how to fix
what is missing (GStreamer elements, Docker, the frame folder, Python/MXNet pins, model files, Greengrass IPC,
broker and InfluxDB). One table instead of a start-up error per missing piece."""
