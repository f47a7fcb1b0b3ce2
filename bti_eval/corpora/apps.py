from django.apps import AppConfig


class CorporaConfig(AppConfig):
    name = "bti_eval.corpora"
    label = "corpora"
    verbose_name = "Corpora (catalogs, retrieval, RecoBERT)"
