"""The steps of the support call (`ivr/flows/hotline.py`), one behaviour per module."""
