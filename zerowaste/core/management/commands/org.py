from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core import imports, invitations, licences, services
from zerowaste.core.authz import Actor, actor_for_user
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.models import Area, Licence, User

INVITE_LINK_NOTE = "no mail is sent: give this one-time link to the person"


class Command(PlatformCommand):
    help = (
        "Organizations: `import FILE.xlsx|csv` in bulk, `list` them; members: `add-member` (operator), "
        "`invite`, `invitations`, `revoke-invitation`; a person's side: `my-invitations`, "
        "`accept-invitation`, `decline-invitation`; `licence pending|verify|reject|scan`: the verification "
        "of the licences organizations enter."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="register organizations from Excel or CSV (all rows or none)")
        imp.add_argument("file")
        imp.add_argument("--sheet")
        self.add_zone_argument(imp)
        self.add_format_argument(imp)
        lst = sub.add_parser("list", help="list organizations")
        lst.add_argument("--role")
        lst.add_argument("--query")
        self.add_zone_argument(lst)
        self.add_format_argument(lst)
        lic = sub.add_parser("licence", help="licences awaiting verification; verify, reject, upload a scan")
        lic_sub = lic.add_subparsers(dest="licence_action", required=True)
        pending = lic_sub.add_parser("pending", help="list the licences awaiting a regulator's verification")
        self.add_zone_argument(pending)
        self.add_format_argument(pending)
        verify = lic_sub.add_parser(
            "verify", help="record that the licence was checked against its certificate"
        )
        reject = lic_sub.add_parser(
            "reject", help="reject the licence, with the reason its organization sees"
        )
        scan = lic_sub.add_parser("scan", help="upload the certificate scan (PDF, PNG or JPEG) of a licence")
        for parser_ in (verify, reject, scan):
            parser_.add_argument("organization_id", type=int)
            parser_.add_argument("licence_id", type=int)
        reject.add_argument("--reason", required=True, help="why (shown to the organization)")
        scan.add_argument("file")
        for parser_ in (verify, reject, scan):
            self.add_zone_argument(parser_)
            self.add_format_argument(parser_)

        add = sub.add_parser(
            "add-member",
            help=(
                "as the system operator, add an existing user to an organization directly (no invitation; "
                "anyone else invites). A username without an account gets an invitation instead, and "
                "its one-time link is printed"
            ),
        )
        add.add_argument("organization_id", type=int)
        add.add_argument("username")
        add.add_argument("--role", default="admin", help="admin (default), clerk, signer, viewer")
        add.add_argument("--email", default="", help="for a new account: the person's email")
        add.add_argument("--jurisdiction", help="area code: a regulator member's street")
        self.add_zone_argument(add)
        self.add_format_argument(add)
        inv = sub.add_parser(
            "invite",
            help=(
                "invite a person by --username or --email; prints the one-time link (no mail is sent). "
                "--as USERNAME acts as that member (an organization admin, or a regulator inviting the "
                "first admin of a memberless organization of its jurisdiction); default: the operator"
            ),
        )
        inv.add_argument("organization_id", type=int)
        inv.add_argument("--username", default="")
        inv.add_argument("--email", default="")
        inv.add_argument("--role", default="admin")
        inv.add_argument("--jurisdiction", help="area code: a regulator member's street")
        inv.add_argument("--as", dest="as_user", help="act as this user (for the organization they act for)")
        self.add_zone_argument(inv)
        self.add_format_argument(inv)
        lst_inv = sub.add_parser("invitations", help="list an organization's invitations")
        lst_inv.add_argument("organization_id", type=int)
        self.add_zone_argument(lst_inv)
        self.add_format_argument(lst_inv)
        rev = sub.add_parser("revoke-invitation", help="revoke a pending invitation")
        rev.add_argument("organization_id", type=int)
        rev.add_argument("invitation_id", type=int)
        self.add_zone_argument(rev)
        self.add_format_argument(rev)
        mine = sub.add_parser("my-invitations", help="a person's pending invitations")
        mine.add_argument("--user", required=True, help="username")
        self.add_format_argument(mine)
        for name, what in (("accept-invitation", "accept"), ("decline-invitation", "decline")):
            answer = sub.add_parser(name, help=f"{what} an invitation for --user (who asked the operator to)")
            answer.add_argument("invitation_id", type=int)
            answer.add_argument("--user", required=True, help="username")
            self.add_format_argument(answer)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action in {"add-member", "invite", "invitations", "revoke-invitation"}:
            self._members(action, options)
            return
        if action in {"my-invitations", "accept-invitation", "decline-invitation"}:
            self._person(action, options)
            return
        actor = self.system_actor(options)
        if options["action"] == "licence":
            self._licence(actor, options)
            return
        if options["action"] == "import":
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"no such file: {path}")
            created = imports.import_organizations(
                actor, path.read_bytes(), filename=path.name, sheet=options.get("sheet")
            )
            data = {
                "created": len(created),
                "organizations": [{"id": o.pk, "uscc": o.uscc, "name": o.name} for o in created],
            }
            self.emit(options, data, f"imported {len(created)} organizations")
            return
        orgs = services.list_organizations(actor, role=options.get("role"), query=options.get("query"))
        rows: list[dict[str, Any]] = [
            {
                "id": o.pk,
                "uscc": o.uscc,
                "name": o.name,
                "name_en": o.name_en,
                "roles": o.role_codes,
                "industry": o.industry,
                "is_active": o.is_active,
            }
            for o in orgs
        ]
        self.emit(
            options,
            rows,
            "\n".join(f"{r['id']:>6} {r['uscc']} {','.join(r['roles']):<20} {r['name']}" for r in rows),
        )

    def _jurisdiction(self, options: dict[str, Any]) -> int | None:
        code = options.get("jurisdiction")
        if not code:
            return None
        area = Area.objects.filter(zone=self.zone(options), code=code).first()
        if area is None:
            raise CommandError(f"no area {code!r} in this zone")
        return area.pk

    def _invitation_row(self, invitation: Any) -> dict[str, Any]:
        return {
            "id": invitation.pk,
            "organization_id": invitation.organization_id,
            "username": invitation.username,
            "email": invitation.email,
            "role": invitation.role,
            "status": invitations.status(invitation),
            "expires_at": invitation.expires_at,
        }

    def _print_invitation(self, options: dict[str, Any], issued: invitations.IssuedInvitation) -> None:
        from django.urls import reverse

        path = reverse("portal:invitation_link", args=[issued.link_token])
        data = {**self._invitation_row(issued.invitation), "accept_path": path, "note": INVITE_LINK_NOTE}
        who = issued.invitation.username or issued.invitation.email
        self.emit(options, data, f"invited {who} as {issued.invitation.role}; {INVITE_LINK_NOTE}:\n{path}")

    def _members(self, action: str, options: dict[str, Any]) -> None:
        actor = self.system_actor(options)
        org_id = options["organization_id"]
        if action == "add-member":
            username = options["username"]
            if User.objects.filter(username=username).exists():
                membership = services.add_member(
                    actor,
                    org_id,
                    username=username,
                    role=options["role"],
                    jurisdiction_id=self._jurisdiction(options),
                )
                data = {"membership_id": membership.pk, "username": username, "role": membership.role}
                self.emit(options, data, f"added {username} as {membership.role}")
                return
            issued = invitations.invite(
                actor,
                org_id,
                username=username,
                email=options.get("email") or "",
                role=options["role"],
                jurisdiction_id=self._jurisdiction(options),
            )
            self._print_invitation(options, issued)
            return
        if action == "invite":
            if options.get("as_user"):
                user = User.objects.filter(username=options["as_user"]).first()
                as_actor = actor_for_user(user) if user is not None else None
                if as_actor is None:
                    raise CommandError(f"{options['as_user']!r} is no active member of any organization")
                actor = as_actor
            issued = invitations.invite(
                actor,
                org_id,
                username=options["username"],
                email=options["email"],
                role=options["role"],
                jurisdiction_id=self._jurisdiction(options),
            )
            self._print_invitation(options, issued)
            return
        if action == "revoke-invitation":
            invitation = invitations.revoke(actor, org_id, options["invitation_id"])
            self.emit(options, self._invitation_row(invitation), f"revoked invitation {invitation.pk}")
            return
        rows = [self._invitation_row(i) for i in invitations.list_invitations(actor, org_id)]
        self.emit(
            options,
            rows,
            "\n".join(
                f"{r['id']:>6} {r['status']:<9} {r['role']:<7} {r['username'] or r['email']}" for r in rows
            ),
        )

    def _person(self, action: str, options: dict[str, Any]) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        if action == "my-invitations":
            rows = [
                {
                    "id": i.pk,
                    "organization_id": i.organization_id,
                    "organization": i.organization.name,
                    "role": i.role,
                    "expires_at": i.expires_at,
                }
                for i in invitations.pending_for(user)
            ]
            self.emit(
                options,
                rows,
                "\n".join(f"{r['id']:>6} {r['role']:<7} {r['organization']}" for r in rows) or "none pending",
            )
            return
        if action == "accept-invitation":
            membership = invitations.accept(user, options["invitation_id"])
            data = {"organization_id": membership.organization_id, "role": membership.role}
            self.emit(
                options, data, f"{user.username} joined {membership.organization.name} as {membership.role}"
            )
            return
        invitation = invitations.decline(user, options["invitation_id"])
        self.emit(
            options, {"id": invitation.pk, "status": "declined"}, f"declined invitation {invitation.pk}"
        )

    def _licence(self, actor: Actor, options: dict[str, Any]) -> None:
        action = options["licence_action"]
        if action == "pending":
            rows = [_licence_row(lic) for lic in licences.pending_licences(actor)]
            self.emit(
                options,
                rows,
                "\n".join(
                    f"{r['organization_id']:>6} {r['id']:>6} {r['kind']:<22} {r['number']:<20} "
                    f"{r['valid_from']}..{r['valid_to']} {'scan' if r['has_scan'] else 'no scan'} "
                    f"{r['organization_name']}"
                    for r in rows
                )
                or "no licence awaits verification",
            )
            return
        org_id, licence_id = options["organization_id"], options["licence_id"]
        if action == "verify":
            licence = licences.verify_licence(actor, org_id, licence_id)
        elif action == "reject":
            licence = licences.reject_licence(actor, org_id, licence_id, reason=options["reason"])
        else:
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"no such file: {path}")
            with path.open("rb") as file:
                content = licences.read_scan_upload(file)
            licences.upload_scan(actor, org_id, licence_id, content=content, filename=path.name)
            licence = services.get_licence(actor, org_id, licence_id)
        row = _licence_row(licence)
        self.emit(options, row, f"licence {licence.number}: {row['status']}")


def _licence_row(licence: Licence) -> dict[str, Any]:
    return {
        "id": licence.pk,
        "organization_id": licence.organization_id,
        "organization_name": licence.organization.name,
        "kind": licence.kind,
        "number": licence.number,
        "issuer": licence.issuer,
        "valid_from": licence.valid_from,
        "valid_to": licence.valid_to,
        "waste_codes": licence.waste_codes,
        "annual_capacity_t": licence.annual_capacity_t,
        "status": licence.status,
        "rejection_reason": licence.rejection_reason,
        "reviewed_by": licence.reviewed_by,
        "reviewed_at": licence.reviewed_at,
        "has_scan": licence.scans.exists(),
    }
