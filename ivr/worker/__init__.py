"""The IVR worker: the process that runs the call flows for the calls in our Stasis application."""
