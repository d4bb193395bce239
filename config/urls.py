from django.urls import include, path

from bangfu.api.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("eligibility/", include("bangfu.eligibility.urls")),
    path("matching/", include("bangfu.matching.urls")),
    path("self-test/", include("bangfu.eligibility.public_urls")),
    path("", include("bangfu.web.auth_urls")),
    path("", include("bangfu.web.urls")),
    path("", include("bangfu.intake.urls")),
]

handler400 = "bangfu.web.errors.bad_request"
handler403 = "bangfu.web.errors.permission_denied"
handler404 = "bangfu.web.errors.page_not_found"
handler500 = "bangfu.web.errors.server_error"
