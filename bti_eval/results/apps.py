from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "bti_eval.results"
    label = "results"

    def ready(self) -> None:
        from bti_eval.results.receivers import auto_metrics_request, report_prepare
        from bti_eval.rounds.models import EvaluationRound
        from bti_eval.rounds.signals import round_closed, round_opened

        round_opened.connect(auto_metrics_request, sender=EvaluationRound, dispatch_uid="results.auto_metrics_request")
        round_closed.connect(report_prepare, sender=EvaluationRound, dispatch_uid="results.report_prepare")
