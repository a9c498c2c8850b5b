from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "threshold.security"
    label = "security"

    def ready(self) -> None:
        # Imported here, not at the top: models and signals need the app registry ready.
        from threshold.accounts.registry import register_phone_removal_guard
        from threshold.activity import registry
        from threshold.orgs import policies
        from threshold.security import (
            checks,  # noqa: F401  (registers the system checks)
            receivers,  # noqa: F401  (connects the signal handlers)
        )
        from threshold.security.models import method_kind_label
        from threshold.security.policy_facts import METHOD_FACTS, PHONE_REMOVAL

        # An alert names a second method by its kind ("Authenticator app"), in words.
        registry.register_alert_detail("kind", method_kind_label)
        # Organisation policy asks about sign-in methods without importing security.
        policies.register_method_facts(METHOD_FACTS)
        # Your info removes a phone number only with security's consent (it may be a method).
        register_phone_removal_guard(PHONE_REMOVAL)
