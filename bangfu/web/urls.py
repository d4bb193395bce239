from django.urls import path

from . import audit_views, income_views, views

app_name = "web"
urlpatterns = [
    path("", views.index, name="index"),
    path("units/options/", views.unit_options, name="unit_options"),
    path("audit/", audit_views.audit_list, name="audit_list"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("households/", views.household_list, name="household_list"),
    path("households/new/", views.household_create, name="household_create"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", views.household_edit, name="household_edit"),
    path("households/<int:pk>/income-records/", income_views.income_record_add, name="income_record_add"),
    path("households/<int:pk>/bank-card/reveal/", views.bank_card_reveal, name="bank_card_reveal"),
    path("members/<int:member_id>/id-number/reveal/", views.member_id_reveal, name="member_id_reveal"),
]
