from django.urls import path

from . import views

app_name = "intake"
urlpatterns = [
    path("apply/login/", views.phone_login, name="phone_login"),
    path("apply/logout/", views.phone_logout, name="phone_logout"),
    path("apply/", views.phone_home, name="phone_home"),
    path("apply/unions/", views.phone_unions, name="phone_unions"),
    path("apply/<int:pk>/", views.phone_application, name="phone_application"),
    path("apply/<int:pk>/upload/", views.phone_upload, name="phone_upload"),
    path("apply/<int:pk>/attachments/<int:attachment_pk>/remove/", views.phone_remove, name="phone_remove"),
    path("apply/<int:pk>/authorise/", views.phone_authorise, name="phone_authorise"),
    path("apply/<int:pk>/withdraw/", views.phone_withdraw, name="phone_withdraw"),
    path("applications/", views.queue, name="queue"),
    path("applications/new/", views.counter_new, name="counter_new"),
    path("applications/notice/", views.notice_list, name="notice_list"),
    path("applications/<int:pk>/", views.detail, name="detail"),
    path("applications/<int:pk>/act/", views.act, name="act"),
    path("applications/<int:pk>/visit/", views.visit, name="visit"),
    path("applications/<int:pk>/review/", views.review, name="review"),
    path("applications/<int:pk>/objection/", views.objection, name="objection"),
    path("applications/<int:pk>/check/", views.check, name="check"),
    path("applications/<int:pk>/upload/", views.upload, name="upload"),
    path(
        "applications/<int:pk>/attachments/<int:attachment_pk>/remove/",
        views.remove_attachment,
        name="remove_attachment",
    ),
    path("applications/<int:pk>/convert/", views.convert, name="convert"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("apply/review/<int:pk>/", views.phone_review, name="phone_review"),
    path("applications/reviews/", views.review_list, name="review_list"),
    path("applications/reviews/<int:pk>/confirm/", views.review_confirm, name="review_confirm"),
    path("applications/reviews/<int:pk>/decline/", views.review_decline, name="review_decline"),
    path("applications/import/", views.import_list, name="import_list"),
    path("applications/import/template.xlsx", views.import_template, name="import_template"),
    path("applications/import/<int:pk>/", views.import_detail, name="import_detail"),
    path("applications/import/<int:pk>/commit/", views.import_commit, name="import_commit"),
    path("applications/import/<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("applications/import/<int:pk>/report/", views.import_report, name="import_report"),
]
