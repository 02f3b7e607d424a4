"""creation ops (being written)."""
