"""Inviting people: one by email, or many from a CSV file with a report of every row."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import Mailbox, make_user
from tests.orgs import console_support as support
from tests.orgs.console_support import World
from threshold.accounts.models import AccountKind, User
from threshold.activity.models import SecurityEvent
from threshold.orgs.console import invitations
from threshold.orgs.models import Membership, Role

pytestmark = pytest.mark.django_db

_english, world, commits = support._english, support.world, support.commits
megan_client, harry_client = support.megan_client, support.harry_client


def upload(client: Client, text: str | bytes, name: str = "people.csv") -> Any:
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        "/admin-console/members/import/", {"file": SimpleUploadedFile(name, data, content_type="text/csv")}
    )


def report_rows(response: Any) -> list[tuple[str, str, str, str]]:
    page = html.unescape(response.content.decode())
    body = page.split("What happened to each row", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*><td>(\d+)</td><td>([^<]*)</td><td>(\w+)</td><td>([^<]*)</td></tr>", body)
    return rows


def test_a_file_with_good_and_bad_rows_invites_the_good_and_says_why_for_each_bad(
    world: World, megan_client: Client, commits: Any, mailbox: Mailbox
) -> None:
    make_user("taken@contoso.example")  # an account with this address exists, outside Contoso
    text = (
        "Email,Given_Name,Family_Name,Role\n"
        "nestor.wilke@contoso.example,Nestor,Wilke,member\n"
        "not-an-address,Bad,Row,member\n"
        "nestor.wilke@contoso.example,Nestor,Again,member\n"
        "adele@contoso.example,Adele,Vance,member\n"
        "joni@gmail.example,Joni,Sherman,member\n"
        "grady@contoso.example,Grady,Archie,overlord\n"
        "taken@contoso.example,Taken,Already,member\n"
        "\n"
        "lynne@contoso.example,Lynne,Robbins,Helpdesk admin\n"
    )
    with commits(execute=True):
        response = upload(megan_client, text)
    assert response.status_code == 200
    rows = report_rows(response)
    assert rows == [
        ("2", "nestor.wilke@contoso.example", "Invited", ""),
        ("3", "not-an-address", "Refused", "Not an email address."),
        (
            "4",
            "nestor.wilke@contoso.example",
            "Refused",
            "This address is already on an earlier line of the file.",
        ),
        ("5", "adele@contoso.example", "Refused", "Already a member of Contoso."),
        ("6", "joni@gmail.example", "Refused", "The domain isn't one of Contoso's verified domains."),
        (
            "7",
            "grady@contoso.example",
            "Refused",
            "Unknown role. Use member, helpdesk admin or global admin.",
        ),
        ("8", "taken@contoso.example", "Refused", "An account with this email address already exists."),
        ("10", "lynne@contoso.example", "Invited", ""),
    ]
    assert "2 people invited." in html.unescape(response.content.decode())
    nestor = User.objects.get(email="nestor.wilke@contoso.example")
    assert nestor.kind == AccountKind.WORK and nestor.organization == world.contoso
    assert (nestor.given_name, nestor.family_name) == ("Nestor", "Wilke") and not nestor.has_usable_password()
    assert Membership.objects.get(user__email="lynne@contoso.example").role == Role.HELPDESK_ADMIN
    # Nothing at all for a refused row.
    for refused in ("grady@contoso.example", "joni@gmail.example", "not-an-address"):
        assert not User.objects.filter(email=refused).exists()
        assert not EmailAddress.objects.filter(email=refused).exists()
    assert not Membership.objects.filter(
        organization=world.contoso, user__email="taken@contoso.example"
    ).exists()
    # The invited get their link to set a password; no one else is mailed.
    invited = {m["To"] for m in mailbox.messages}
    assert invited == {"nestor.wilke@contoso.example", "lynne@contoso.example"}
    assert "Contoso" in Mailbox.text(mailbox.to("nestor.wilke@contoso.example")[0])
    event = SecurityEvent.objects.get(code="org:member:add", user=nestor)
    assert event.actor_public_id == world.megan.public_id


def test_too_many_rows_are_refused_each_with_the_reason(
    world: World, megan_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invitations, "MAX_IMPORT_ROWS", 2)
    text = "email\na@contoso.example\nb@contoso.example\nc@contoso.example\n"
    rows = report_rows(upload(megan_client, text))
    assert [r[2] for r in rows] == ["Invited", "Invited", "Refused"]
    assert rows[2][3] == "Too many rows: a file can hold 2 people."
    assert not User.objects.filter(email="c@contoso.example").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"given_name,family_name\nA,B\n", "The first line must name the columns, with at least"),
        ("email\nzoë@contoso.example\n".encode("utf-16"), "The file isn't UTF-8 text."),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    world: World, megan_client: Client, content: bytes, message: str
) -> None:
    before = User.objects.count()
    response = upload(megan_client, content)
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert User.objects.count() == before


LONG = "x" * 200 * 1024


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (f"email,given_name\nlong@contoso.example,{LONG}\n", 2),
        (f'email,given_name\nlong@contoso.example,"{LONG}"\n', 2),
        (f"email,{LONG}\nlong@contoso.example,Long\n", 1),
        # A good row before the long one: nothing is invited from a file that is refused whole.
        (f"email,given_name\nfirst@contoso.example,First\nlong@contoso.example,{LONG}\n", 3),
    ],
)
def test_a_file_with_a_field_of_200_kb_is_refused_whole_with_the_forms_error(
    world: World, megan_client: Client, commits: Any, mailbox: Mailbox, content: str, line: int
) -> None:
    before = User.objects.count()
    with commits(execute=True):
        response = upload(megan_client, content)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert f"Line {line} can't be read: a field is far too long" in page
    assert LONG not in page
    assert User.objects.count() == before
    assert not mailbox.messages


def test_a_file_too_large_is_refused(
    world: World, megan_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invitations, "MAX_IMPORT_BYTES", 64)
    response = upload(megan_client, "email\n" + "x@contoso.example\n" * 10)
    assert "The file is larger than 0 KB" in html.unescape(response.content.decode())
    assert not User.objects.filter(email="x@contoso.example").exists()


def test_a_formula_in_a_name_is_kept_as_text_not_run(world: World, megan_client: Client) -> None:
    rows = report_rows(upload(megan_client, "email,given_name\nf@contoso.example,=HYPERLINK(1)\n"))
    assert rows[0][2] == "Invited"
    assert User.objects.get(email="f@contoso.example").given_name == "=HYPERLINK(1)"


def test_invite_one_person_by_email(
    world: World, megan_client: Client, commits: Any, mailbox: Mailbox
) -> None:
    with commits(execute=True):
        response = megan_client.post(
            "/admin-console/members/invite/",
            {
                "email": "Megan.Two@Contoso.example",
                "given_name": "M",
                "family_name": "T",
                "role": Role.MEMBER,
            },
            follow=True,
        )
    assert "We emailed megan.two@contoso.example a link to set their password." in html.unescape(
        response.content.decode()
    )
    assert Membership.objects.filter(user__email="megan.two@contoso.example", home=True).exists()
    assert len(mailbox.to("megan.two@contoso.example")) == 1
    refused = megan_client.post(
        "/admin-console/members/invite/",
        {"email": "someone@fabrikam.example", "role": Role.MEMBER},
        follow=True,
    )
    assert "Use an address in one of Contoso's verified domains." in html.unescape(refused.content.decode())
    assert not User.objects.filter(email="someone@fabrikam.example").exists()


def test_a_helpdesk_admin_cannot_invite(world: World, harry_client: Client) -> None:
    assert upload(harry_client, "email\nh@contoso.example\n").status_code == 403
    assert not User.objects.filter(email="h@contoso.example").exists()
