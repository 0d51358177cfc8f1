"""Package data: the notes, the presets, the icon and the desktop entry."""
