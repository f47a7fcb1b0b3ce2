from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "bti_eval.demo"
    label = "demo"
    verbose_name = "Demo data"
