from django.urls import path

from . import views_ops

urlpatterns = [path("lists/", views_ops.lists_view, name="lists")]
urlpatterns += [
    path("routes/", views_ops.routes_view, name="routes"),
    path("site-roles/", views_ops.site_roles_view, name="site-roles"),
    path("quotas/", views_ops.quotas_view, name="quotas"),
]
