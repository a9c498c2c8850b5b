from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "threshold.recovery"
    label = "recovery"

    def ready(self) -> None:
        from threshold.recovery import receivers  # noqa: F401  (connects the signal handlers; app loading)
