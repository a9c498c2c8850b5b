from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "threshold.security"
    label = "security"

    def ready(self) -> None:
        # Imported here, not at the top: models and signals need the app registry ready.
        from threshold.activity import registry
        from threshold.security import (
            checks,  # noqa: F401  (registers the system checks)
            receivers,  # noqa: F401  (connects the signal handlers)
        )
        from threshold.security.models import method_kind_label

        # An alert names a second method by its kind ("Authenticator app"), in words.
        registry.register_alert_detail("kind", method_kind_label)
