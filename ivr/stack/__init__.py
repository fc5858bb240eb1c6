"""The launcher: Redis, Asterisk and the hotline's own processes on one machine."""
