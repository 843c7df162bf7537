"""Effects composed at full resolution from a frame and a person mask."""
