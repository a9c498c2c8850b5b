"""Reads about sign-in security, one module per use case; import from the module that owns each."""
