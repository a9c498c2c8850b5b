from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "threshold.orgs"
    label = "orgs"
