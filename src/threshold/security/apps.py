from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "threshold.security"
    label = "security"

    def ready(self) -> None:
        from threshold.security import checks  # noqa: F401  (registers the system checks)
