from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "bti_eval.results"
    label = "results"
