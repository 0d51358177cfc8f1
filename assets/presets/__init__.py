"""Package data: the shipped presets."""
