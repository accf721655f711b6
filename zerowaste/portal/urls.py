from django.urls import path

from . import licence_views, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("switch-organization/", views.switch_organization, name="switch_organization"),
    path("organizations/", views.organization_list, name="organizations"),
    path("organizations/import/", views.organization_import, name="organization_import"),
    path("organizations/<int:organization_id>/", views.organization_detail, name="organization"),
    path("organizations/<int:organization_id>/edit/", views.organization_edit, name="organization_edit"),
    path("organizations/<int:organization_id>/members/invite/", views.member_invite, name="member_invite"),
    path(
        "organizations/<int:organization_id>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitations/", views.my_invitations, name="invitations"),
    path(
        "invitations/<int:invitation_id>/<str:answer>/",
        views.invitation_answer,
        name="invitation_answer",
    ),
    path("invitations/link/<str:token>/", views.invitation_link, name="invitation_link"),
    path(
        "organizations/<int:organization_id>/members/<int:membership_id>/",
        views.member_update,
        name="member_update",
    ),
    path("organizations/<int:organization_id>/licences/add/", views.licence_add, name="licence_add"),
    path("licences/pending/", licence_views.licence_pending, name="licence_pending"),
    path(
        "organizations/<int:organization_id>/licences/<int:licence_id>/review/",
        licence_views.licence_review,
        name="licence_review",
    ),
    path(
        "organizations/<int:organization_id>/licences/<int:licence_id>/scan/",
        licence_views.licence_scan,
        name="licence_scan",
    ),
    path(
        "organizations/<int:organization_id>/licences/<int:licence_id>/scan/upload/",
        licence_views.licence_scan_upload,
        name="licence_scan_upload",
    ),
    path("organizations/<int:organization_id>/sites/add/", views.site_add, name="site_add"),
    path("organizations/<int:organization_id>/vehicles/add/", views.vehicle_add, name="vehicle_add"),
    path("organizations/<int:organization_id>/tokens/add/", views.token_add, name="token_add"),
    path(
        "organizations/<int:organization_id>/tokens/<int:token_id>/revoke/",
        views.token_revoke,
        name="token_revoke",
    ),
    path("audit/", views.audit_log, name="audit"),
    path("audit/export/", views.audit_export, name="audit_export"),
    path("cockpit/", views.cockpit, name="cockpit"),
    path("cockpit/drill/", views.cockpit_drill, name="cockpit_drill"),
    path("cockpit/export/", views.cockpit_export, name="cockpit_export"),
    path("cockpit/publication/", views.publication, name="publication"),
    path("open-data/", views.public, name="public"),
    path("open-data/verify/", views.public_verify, name="public_verify"),
    path("open-data/export/", views.public_export, name="public_export"),
    path(
        "open-data/audit-checkpoints/<str:day>.json",
        views.public_audit_checkpoints,
        name="public_audit_checkpoints",
    ),
]
