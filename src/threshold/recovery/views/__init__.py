"""The recovery pages, one module per use case; ``recovery/urls.py`` names each view.

Thin: parse, call one service, answer."""
