from django.apps import AppConfig


class RoundsConfig(AppConfig):
    name = "bti_eval.rounds"
    label = "rounds"
