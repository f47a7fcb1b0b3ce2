from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "bti_eval.accounts"
    label = "accounts"
