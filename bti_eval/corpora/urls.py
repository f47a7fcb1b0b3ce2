from django.urls import path

from bti_eval.corpora import views

app_name = "corpora"

urlpatterns = [
    path("corpora/", views.corpus_list_view, name="list"),
    path("corpora/<int:corpus_id>/", views.corpus_detail_view, name="detail"),
]
