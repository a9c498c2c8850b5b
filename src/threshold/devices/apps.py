from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "threshold.devices"
    label = "devices"

    def ready(self) -> None:
        from threshold.devices import receivers  # noqa: F401 - connects the signal handlers (app loading)
