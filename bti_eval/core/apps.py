from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "bti_eval.core"
    label = "core"
