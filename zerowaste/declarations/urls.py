from django.urls import path

from . import views

app_name = "declarations"

urlpatterns = [
    path("", views.declaration_list, name="list"),
    path("new/", views.declaration_form, name="new"),
    path("codes/", views.code_search, name="codes"),
    path("<int:pk>/", views.declaration_detail, name="detail"),
    path("<int:pk>/edit/", views.declaration_form, name="edit"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:job_id>/", views.import_job, name="job"),
    path("import/<int:job_id>/progress/", views.import_progress, name="progress"),
    path("template/", views.template_download, name="template"),
    path("export/", views.export, name="export"),
    path("stats/", views.stats, name="stats"),
    path("intensity/", views.intensity, name="intensity"),
    path("production/", views.production, name="production"),
]
