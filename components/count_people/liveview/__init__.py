"""Live view: the latest frame with what the model decided drawn on it, the count and its recent history."""
