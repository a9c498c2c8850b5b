from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "threshold.recovery"
    label = "recovery"
