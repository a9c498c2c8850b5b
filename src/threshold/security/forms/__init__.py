"""The security forms (validation only), one module per use case; allauth's are named in settings."""
