from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "threshold.security"
    label = "security"

    def ready(self) -> None:
        # Imported here, not at the top: models and signals need the app registry ready.
        from threshold.accounts import registry as account_hooks
        from threshold.activity import registry
        from threshold.orgs import policies
        from threshold.security import (
            adapter,
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
        account_hooks.register_phone_removal_guard(PHONE_REMOVAL)

        # Our two-step stage at sign-in, and a fresh sign-in before sensitive changes.
        account_hooks.register_login_stages(adapter.login_stages)
        account_hooks.register_reauthentication_rule(adapter.reauthentication_required)
