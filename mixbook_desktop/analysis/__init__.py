"""On-device analysis: one small class per model, preprocessing as pure functions."""
