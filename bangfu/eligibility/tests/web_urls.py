"""The project's URLs plus this app's pages, as the project will include them."""

from django.urls import include, path

from config.urls import urlpatterns as project

urlpatterns = [path("eligibility/", include("bangfu.eligibility.urls")), *project]
