"""Pages of this app: thin, composing selectors; services do the writing."""
