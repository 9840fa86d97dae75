"""The real-time video path: sources (capture threads), the detector, the pipeline, sinks."""
