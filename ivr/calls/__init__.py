"""Call records as people read them: the `ivr calls` commands."""
