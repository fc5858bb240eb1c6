"""Customers of the hotline: the model, phone-number normalisation, CSV import and the CLI."""
