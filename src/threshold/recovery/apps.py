from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "threshold.recovery"
    label = "recovery"

    def ready(self) -> None:
        # Imported here, not at the top: models and signals need the app registry ready.
        from threshold.accounts import registry
        from threshold.recovery import receivers  # noqa: F401  (connects the signal handlers; app loading)
        from threshold.recovery.restrictions import ACCESS_PASS_ENDED, ACCESS_PASS_SESSION, ACCOUNT_CLOSING
        from threshold.recovery.selectors.set_up import set_up_banner
        from threshold.verification.restrictions import register_restriction

        # After a recovery sign-in the Overview asks for a new method and new codes.
        registry.register_overview_notice("recovery_set_up", set_up_banner)
        # A closing account, and a session a Temporary Access Pass signed in, reach only a few pages.
        register_restriction(ACCESS_PASS_ENDED)
        register_restriction(ACCOUNT_CLOSING)
        register_restriction(ACCESS_PASS_SESSION)
