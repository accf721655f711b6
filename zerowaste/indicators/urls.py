from django.urls import path

from . import views

app_name = "indicators"

urlpatterns = [
    path("", views.home, name="home"),
    path("report/", views.report, name="report"),
    path("report.xlsx", views.report_xlsx, name="report_xlsx"),
    path("report.pdf", views.report_pdf, name="report_pdf"),
    path("compare/", views.compare, name="compare"),
    path("compare/data/", views.compare_data, name="compare_data"),
    path("indicator/<str:number>/", views.indicator_detail, name="indicator"),
    path("inputs/", views.inputs, name="inputs"),
    path("inputs/<str:key>/", views.input_detail, name="input"),
    path("entries/<int:entry_id>/evidence/", views.evidence, name="evidence"),
    path("sets/", views.sets, name="sets"),
]
