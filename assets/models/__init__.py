"""Package data: the trained models Gatescope ships (made by core/training/train_presets.py)."""
