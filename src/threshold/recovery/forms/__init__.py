"""Validation of the recovery pages' input, one module per use case; nothing is re-exported here."""
