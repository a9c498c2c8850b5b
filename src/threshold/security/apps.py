from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "threshold.security"
    label = "security"

    def ready(self) -> None:
        # Imported here, not at the top: models and signals need the app registry ready.
        from threshold.accounts import registry as account_hooks
        from threshold.activity import registry
        from threshold.security import (
            adapter,
            checks,  # noqa: F401  (registers the system checks)
            receivers,  # noqa: F401  (connects the signal handlers)
        )
        from threshold.security.models import method_kind_label

        # An alert names a second method by its kind ("Authenticator app"), in words.
        registry.register_alert_detail("kind", method_kind_label)

        # Our two-step stage at sign-in, and a fresh sign-in before sensitive changes.
        account_hooks.register_login_stages(adapter.login_stages)
        account_hooks.register_reauthentication_rule(adapter.reauthentication_required)
