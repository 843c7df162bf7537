"""The Qt layer: the only package (with the worker) that imports PySide6."""
