"""Reads of the recovery app, one module per use case.

Import each function from the module that owns it; nothing is re-exported here.
"""
