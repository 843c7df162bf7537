"""Face detection: decoding of the bundled face detectors' outputs (CenterFace heatmaps, MediaPipe SSD anchors)."""
