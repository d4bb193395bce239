from django.urls import path

from . import views

app_name = "matching"
urlpatterns = [
    path("", views.finding_list, name="finding_list"),
    path("findings/export.csv", views.finding_export, name="finding_export"),
    path("findings/<int:pk>/", views.finding_detail, name="finding_detail"),
    path("findings/<int:pk>/confirm/", views.finding_confirm, name="finding_confirm"),
    path("findings/<int:pk>/dismiss/", views.finding_dismiss, name="finding_dismiss"),
    path("datasets/", views.dataset_list, name="dataset_list"),
    path("datasets/import/", views.dataset_import, name="dataset_import"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset_detail"),
    path("datasets/<int:pk>/rejected.csv", views.dataset_rejected, name="dataset_rejected"),
    path("datasets/<int:pk>/delete/", views.dataset_delete, name="dataset_delete"),
    path("datasets/request/", views.exchange_request, name="dataset_request"),
    path("runs/", views.run_list, name="run_list"),
    path("runs/new/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("proposals/", views.proposal_list, name="proposal_list"),
    path("proposals/<int:pk>/notify/", views.proposal_notify, name="proposal_notify"),
    path("proposals/<int:pk>/remove/", views.proposal_execute, name="proposal_execute"),
    path("coverage/", views.coverage, name="coverage"),
]
