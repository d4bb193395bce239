from django.urls import path

from . import config_views, views

app_name = "eligibility"
urlpatterns = [
    path("households/<int:pk>/", views.household_decision, name="household_decision"),
    path("households/<int:pk>/compute/", views.decision_compute, name="decision_compute"),
    path("households/<int:pk>/decisions/<int:decision_id>/override/", views.override_request, name="override_request"),
    path("households/<int:pk>/decisions/<int:decision_id>/approve/", views.override_approve, name="override_approve"),
    path("recompute/", views.recompute_start, name="recompute_start"),
    path("recompute/<int:run_id>/", views.recompute_status, name="recompute_status"),
    path("recompute/<int:run_id>/report.xlsx", views.recompute_report, name="recompute_report"),
    path("standards/", config_views.standard_list, name="standard_list"),
    path("standards/<str:code>/<int:year>/", config_views.standard_detail, name="standard_detail"),
    path("rulesets/", config_views.ruleset_list, name="ruleset_list"),
    path("rulesets/<str:region>/", config_views.ruleset_detail, name="ruleset_detail"),
    path("whatif/", config_views.whatif, name="whatif"),
    path("whatif/current/", config_views.whatif_current, name="whatif_current"),
]
