from django.apps import AppConfig


class CatalogsConfig(AppConfig):
    name = "bti_eval.catalogs"
    label = "corpora"  # the database label: tables and migration history keep it
    verbose_name = "Catalogs (retrieval, RecoBERT)"
