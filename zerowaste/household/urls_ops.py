from django.urls import path

from . import views_ops

urlpatterns = [path("lists/", views_ops.lists_view, name="lists")]
urlpatterns += [
    path("routes/", views_ops.routes_view, name="routes"),
    path("site-roles/", views_ops.site_roles_view, name="site-roles"),
    path("site-roles/<int:site_id>/remove/", views_ops.site_role_remove, name="site-role-remove"),
    path("quotas/", views_ops.quotas_view, name="quotas"),
    path("quotas/<int:quota_id>/remove/", views_ops.quota_remove, name="quota-remove"),
]
