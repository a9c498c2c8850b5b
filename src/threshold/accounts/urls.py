from django.urls import path

from threshold.accounts import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("your-info/", views.your_info, name="your_info"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
]
