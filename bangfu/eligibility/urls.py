from django.urls import path

from . import views

app_name = "eligibility"
urlpatterns = [
    path("households/<int:pk>/", views.household_decision, name="household_decision"),
    path("households/<int:pk>/compute/", views.decision_compute, name="decision_compute"),
    path("households/<int:pk>/decisions/<int:decision_id>/override/", views.override_request, name="override_request"),
    path("households/<int:pk>/decisions/<int:decision_id>/approve/", views.override_approve, name="override_approve"),
    path("recompute/", views.recompute_start, name="recompute_start"),
    path("recompute/<int:run_id>/", views.recompute_status, name="recompute_status"),
    path("recompute/<int:run_id>/report.xlsx", views.recompute_report, name="recompute_report"),
]
