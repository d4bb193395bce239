from django.urls import path

from . import views

app_name = "intake"
urlpatterns = [
    path("apply/login/", views.phone_login, name="phone_login"),
    path("apply/logout/", views.phone_logout, name="phone_logout"),
    path("apply/", views.phone_home, name="phone_home"),
    path("apply/<int:pk>/", views.phone_application, name="phone_application"),
    path("apply/<int:pk>/upload/", views.phone_upload, name="phone_upload"),
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
    path("applications/<int:pk>/convert/", views.convert, name="convert"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
]
