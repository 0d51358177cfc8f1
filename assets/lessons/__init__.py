"""Package data: the built-in lessons (Markdown; headings are steps)."""
