"""The steps of the call flow (`ivr/flow.py`), one behaviour per module."""
