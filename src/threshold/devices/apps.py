from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "threshold.devices"
    label = "devices"
