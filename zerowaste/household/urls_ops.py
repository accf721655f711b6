from django.urls import path

from . import views_ops

urlpatterns = [path("lists/", views_ops.lists_view, name="lists")]
