from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "threshold.accounts"
    label = "accounts"
