from django.apps import AppConfig


class JudgingConfig(AppConfig):
    name = "bti_eval.judging"
    label = "judging"
