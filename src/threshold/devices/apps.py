from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "threshold.devices"
    label = "devices"

    def ready(self) -> None:
        # Imported here, not at the top: models and signals need the app registry ready.
        from threshold.accounts import registry
        from threshold.devices import (
            adapter,
            receivers,  # noqa: F401 - connects the signal handlers (app loading)
            services,
        )

        # A locked account is refused once its password was right, and again at sign-in.
        registry.register_sign_in_refusal(adapter.refuse_locked, gate=adapter.ensure_not_locked)
        # "Sign out everywhere" (an account page) ends sessions the one way devices does.
        registry.register_session_ender(services.end_sessions)
