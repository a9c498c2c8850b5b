"""The language setting works end to end: a person's pages, the footer's switch, and mail."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD, Mailbox, make_user
from threshold.accounts.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "una frase de paso completamente distinta 77"
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def words(response: Any) -> str:
    """What a person reads on the page: the text without tags, spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.fixture
def elena(db: Any) -> User:
    return make_user("elena@example.com", locale="es", given_name="Elena", family_name="García")


@pytest.fixture
def elenas_browser(elena: User) -> Client:
    """Elena signs in from a browser that asks for English: her setting wins."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_USER_AGENT=WINDOWS_CHROME)
    response = client.post("/accounts/login/", {"login": elena.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def test_a_spanish_speaker_sees_the_overview_in_spanish(elenas_browser: Client) -> None:
    response = elenas_browser.get("/")

    assert response.status_code == 200
    assert response["Content-Language"] == "es"
    assert '<html lang="es"' in response.content.decode()
    text = words(response)
    for phrase in (
        "Resumen",
        "Te damos la bienvenida, Elena",
        "Gestiona tu información, tus métodos de inicio de sesión y tus dispositivos en un solo lugar.",
        "Información de seguridad",
        "1 dirección de correo electrónico · 0 números de teléfono",
        "Tienes 1 sesión iniciada.",
        "Cerrar sesión en todas partes",
        "Actividad de seguridad reciente",
        "Chrome en Windows",  # the device, described in her language
        "Has iniciado sesión como elena@example.com.",  # allauth's message, from the sign-in request
    ):
        assert phrase in text, phrase
    for english in (
        "Welcome",
        "Overview",
        "Sign out everywhere",
        "Successfully signed in",
        "Chrome on Windows",
    ):
        assert english not in text, english


def test_a_spanish_speaker_sees_your_info_in_spanish(elenas_browser: Client) -> None:
    response = elenas_browser.get("/your-info/")

    assert response.status_code == 200
    text = words(response)
    for phrase in (
        "Tu información",
        "Tu nombre, tus datos de contacto, tu foto y cómo te habla el portal.",
        "Nombre visible",
        "Apellidos",
        "Guardar nombre",
        "Direcciones de correo electrónico",
        "Principal",
        "Verificada",
        "Números de teléfono",
        "Idioma y región",
        "Zona horaria",
        "Guardar idioma y región",
    ):
        assert phrase in text, phrase
    assert '<option value="es" selected>Español</option>' in response.content.decode()
    assert "Your info" not in text
    assert "Language and region" not in text


def test_choosing_english_in_your_info_switches_the_portal(elenas_browser: Client, elena: User) -> None:
    response = elenas_browser.post(
        "/your-info/", {"section": "region", "locale": "en", "time_zone": "Europe/Madrid"}, follow=True
    )

    assert response.status_code == 200
    elena.refresh_from_db()
    assert elena.locale == "en"
    text = words(response)
    assert "Your changes were saved." in text  # said in the language just chosen
    assert "Language and region" in text
    assert "Tu información" not in text


def test_an_anonymous_visitor_switches_the_sign_in_page_to_spanish(client: Client) -> None:
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    markup = page.content.decode()
    assert '<html lang="en"' in markup
    form = re.search(r'<form action="/i18n/setlang/" method="post">.*?</form>', markup, flags=re.S)
    assert form, "the footer has no language form"
    assert 'name="language"' in form.group(0)
    assert '<option value="es">Español</option>' in form.group(0)  # each language in its own words

    response = client.post(
        "/i18n/setlang/", {"language": "es", "next": "/accounts/login/"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.cookies["django_language"].value == "es"
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")  # the choice beats the browser's
    markup = page.content.decode()
    assert '<html lang="es"' in markup
    assert '<option value="es" selected>Español</option>' in markup
    text = words(page)
    assert "Iniciar sesión" in text
    assert "Contraseña" in text
    # allauth's own words, in the portal's tú (core/allauth_wording.py), not allauth's usted.
    assert "¿Has olvidado tu contraseña?" in text
    assert "¿Eres nuevo en Threshold?" in text
    assert "su contraseña" not in text
    assert "Portal de cuentas de Threshold" in text
    assert "Threshold account portal" not in text

    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert '<html lang="en"' in client.get("/accounts/login/").content.decode()


def test_the_sign_up_code_mail_is_in_the_browsers_language(mailbox: Mailbox) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    response = client.post(
        "/accounts/signup/",
        {"email": "lucia@example.com", "password1": PASSWORD, "given_name": "Lucía", "family_name": "Pérez"},
    )

    assert response.status_code == 302
    assert User.objects.get(email="lucia@example.com").locale == "es"
    [message] = mailbox.to("lucia@example.com")
    assert str(message["Subject"]) == "Threshold: Confirma tu dirección de correo electrónico"
    body = Mailbox.text(message)
    assert "Este es tu código de verificación del correo electrónico." in body
    assert "verification code" not in body
    page = words(client.get("/accounts/confirm-email/"))
    assert "Introduce el código que te hemos enviado por correo electrónico" in page
    # The Spanish mail still carries a code that works.
    assert (
        client.post("/accounts/confirm-email/", {"code": mailbox.last_code("lucia@example.com")}).status_code
        == 302
    )
    assert "Te damos la bienvenida, Lucía" in words(client.get("/"))


def test_a_password_change_alert_reaches_a_spanish_speaker_in_spanish(
    elenas_browser: Client, elena: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    mailbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = elenas_browser.post(
            "/accounts/password/change/",
            {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )

    assert response.status_code == 302
    [message] = mailbox.to(elena.email)
    assert str(message["Subject"]) == "Threshold: Alerta de seguridad: Contraseña cambiada"
    text = Mailbox.text(message)
    for phrase in (
        "Hola, Elena:",
        "Se ha cambiado tu contraseña y se han cerrado todas las demás sesiones.",
        "Dispositivo: Chrome en Windows",
        "Si has sido tú, no tienes que hacer nada.",
        "Si no has sido tú, protege tu cuenta ahora:",
        "Si ya no puedes iniciar sesión, restablece tu contraseña:",
    ):
        assert phrase in text, phrase
    assert "If this wasn't you" not in text
    markup = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "No fui yo</a>" in markup


def test_mail_follows_the_recipients_language_not_the_browsers(mailbox: Mailbox) -> None:
    make_user("ada@example.com", locale="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="es")

    client.post("/recover/password/", {"email": "ada@example.com"})
    client.post("/recover/password/send/", {"way": "email", "email": "ada@example.com"})

    [message] = mailbox.to("ada@example.com")
    body = Mailbox.text(message)
    assert "password" in body.lower()
    assert "contraseña" not in body.lower()
