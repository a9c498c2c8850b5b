from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "threshold.activity"
    label = "activity"

    def ready(self) -> None:
        from threshold.activity import receivers  # noqa: F401  (connects the signal handlers; app loading)
