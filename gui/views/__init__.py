"""One view a file; each takes the Session, subscribes to it, and writes back only through it."""
