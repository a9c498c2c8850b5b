from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "threshold.verification"
    label = "verification"
