from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "threshold.orgs"
    label = "orgs"

    def ready(self) -> None:
        # Imported here, not at the top: policies needs the app registry ready (app loading).
        from threshold.activity import registry
        from threshold.orgs.policies import longer_retention
        from threshold.orgs.restrictions import REQUIRED_SET_UP
        from threshold.verification.restrictions import register_restriction

        # Organisations with a longer retention (Premium) keep their members' sign-ins longer.
        registry.register_longer_retention(longer_retention)
        # The sign-in methods the organisation requires are set up before anything else.
        register_restriction(REQUIRED_SET_UP)
