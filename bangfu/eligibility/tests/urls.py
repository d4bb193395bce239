"""URLs for the API tests: this app's router on an API like the project's, at the same path."""

from __future__ import annotations

from django.urls import path

from bangfu.api import errors
from bangfu.api.api import BangfuApi, ExactJsonParser
from bangfu.api.auth import bearer, session
from bangfu.eligibility.api import router

test_api = BangfuApi(urls_namespace="eligibility_test", auth=[bearer, session], parser=ExactJsonParser())
errors.install(test_api)
test_api.add_router("/eligibility", router)
urlpatterns = [path("api/v1/", test_api.urls)]
