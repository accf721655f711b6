from django.urls import path

from . import views

app_name = "transfers"

urlpatterns = [
    path("", views.register_view, name="register"),
    path("new/", views.create_view, name="create"),
    path("import/", views.import_view, name="import"),
    path("import/template.xlsx", views.import_template_view, name="import_template"),
    path("signature-code/", views.signature_code_view, name="signature_code"),
    path("webhooks/", views.webhooks_view, name="webhooks"),
    path("export/", views.export_view, name="export"),
    path("statistics/", views.statistics_view, name="statistics"),
    path("verify/<str:number>/", views.verify_view, name="verify"),
    path("<int:transfer_id>/", views.detail_view, name="detail"),
    path("<int:transfer_id>/sign/", views.sign_view, name="sign"),
    path("<int:transfer_id>/receive/", views.receive_view, name="receive"),
    path("<int:transfer_id>/act/<str:action>/", views.act_view, name="act"),
    path("<int:transfer_id>/copy/", views.copy_view, name="copy"),
    path("<int:transfer_id>/pdf/", views.pdf_view, name="pdf"),
    path("revisions/<int:request_id>/<str:decision>/", views.revision_view, name="revision"),
]
