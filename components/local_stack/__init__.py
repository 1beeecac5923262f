"""The whole chain on one machine, without AWS: camera emulator -> grabber -> counter -> IPC -> MQTT."""
