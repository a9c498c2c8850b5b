"""The security pages, one module per use case; ``security/urls.py`` names each view."""
