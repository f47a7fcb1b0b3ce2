from django.apps import AppConfig


class PairsConfig(AppConfig):
    name = "bti_eval.pairs"
    label = "pairs"
