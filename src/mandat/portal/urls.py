from django.urls import path

from mandat.portal import (
    client_views,
    given_views,
    inbox_views,
    language,
    member_views,
    profile_views,
    views,
)

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("language/", language.language_set, name="language"),
    path("spaces/<int:space_id>/", views.space_detail, name="space"),
    path(
        "spaces/<int:space_id>/notices/<int:notice_id>/read/",
        views.notice_read,
        name="notice_read",
    ),
    path(
        "spaces/<int:space_id>/e-box/<int:delivery_id>/letter.pdf",
        views.ebox_letter,
        name="ebox_letter",
    ),
    path(
        "spaces/<int:space_id>/employers/<int:employer_id>/domains/<str:domain_code>/",
        views.domain,
        name="domain",
    ),
    # == inbox (eDelivery) ==
    path("spaces/<int:space_id>/inbox/", inbox_views.inbox, name="inbox"),
    path(
        "spaces/<int:space_id>/inbox/<int:delivery_id>/read/",
        inbox_views.delivery_read,
        name="delivery_read",
    ),
    path(
        "spaces/<int:space_id>/inbox/<int:delivery_id>/unread/",
        inbox_views.delivery_unread,
        name="delivery_unread",
    ),
    # == profile, members (procedure D), mandates given ==
    path("spaces/<int:space_id>/profile/", profile_views.profile, name="profile"),
    path("spaces/<int:space_id>/members/", member_views.members, name="members"),
    path("spaces/<int:space_id>/members/add/", member_views.member_add, name="member_add"),
    path(
        "spaces/<int:space_id>/members/add/role/",
        member_views.member_add_role,
        name="member_add_role",
    ),
    path(
        "spaces/<int:space_id>/members/add/restrictions/",
        member_views.member_add_restrictions,
        name="member_add_restrictions",
    ),
    path(
        "spaces/<int:space_id>/members/add/check/",
        member_views.member_add_check,
        name="member_add_check",
    ),
    path(
        "spaces/<int:space_id>/members/<int:membership_id>/added/",
        member_views.member_added,
        name="member_added",
    ),
    path(
        "spaces/<int:space_id>/members/<int:membership_id>/",
        member_views.member,
        name="member",
    ),
    path(
        "spaces/<int:space_id>/members/<int:membership_id>/restrict/",
        member_views.member_restrict,
        name="member_restrict",
    ),
    path(
        "spaces/<int:space_id>/members/<int:membership_id>/remove/",
        member_views.member_remove,
        name="member_remove",
    ),
    path("spaces/<int:space_id>/leave/", member_views.member_leave, name="member_leave"),
    path("spaces/left/", member_views.member_left, name="member_left"),
    # == clients (mandates obtained), acting for a client, renouncing ==
    path("spaces/<int:space_id>/clients/", client_views.clients, name="clients"),
    path("spaces/<int:space_id>/clients.csv", client_views.clients_csv, name="clients_csv"),
    path("spaces/<int:space_id>/clients/<int:employer_id>/", client_views.client, name="client"),
    path(
        "spaces/<int:space_id>/clients/<int:employer_id>/act/",
        client_views.act_for,
        name="act_for",
    ),
    path("acting/stop/", client_views.act_stop, name="act_stop"),
    path(
        "spaces/<int:space_id>/clients/<int:employer_id>/mandates/<int:mandate_id>/renounce/",
        client_views.renounce,
        name="renounce",
    ),
    path(
        "spaces/<int:space_id>/clients/<int:employer_id>/mandates/<int:mandate_id>/renounced/",
        client_views.renounced,
        name="renounced",
    ),
    path("spaces/<int:space_id>/given/", given_views.given, name="given"),
    path(
        "spaces/<int:space_id>/given/<int:mandate_id>/end/",
        given_views.given_end,
        name="given_end",
    ),
    path(
        "spaces/<int:space_id>/given/<int:mandate_id>/ended/",
        given_views.given_ended,
        name="given_ended",
    ),
]
