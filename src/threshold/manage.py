"""The ``threshold`` command: Django's management commands, with Threshold's settings."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threshold.config.settings")
    # Imported here, not at the top: only once DJANGO_SETTINGS_MODULE is set.
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], *sys.argv[1:]])


if __name__ == "__main__":
    main()
