"""Sign-in and sign-out, outside the ``web`` namespace: settings name them ``login``/``logout``."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .forms_auth import LoginForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
