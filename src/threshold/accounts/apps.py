from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "threshold.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Imported here, not at the top: models and signals need the app registry ready.
        from django.conf import settings
        from PIL import Image

        from threshold.accounts import (
            checks,  # noqa: F401  (registers the system checks)
            receivers,  # noqa: F401  (connects the signal handlers)
        )
        from threshold.accounts.phones import phone_number_ending
        from threshold.accounts.restrictions import MUST_CHANGE_PASSWORD
        from threshold.accounts.selectors import verified_emails
        from threshold.activity import registry
        from threshold.verification.restrictions import register_restriction

        # Security alerts go to every verified address; a phone number shows only its ending.
        registry.register_alert_recipients(verified_emails)
        registry.register_alert_detail("number", phone_number_ending)
        register_restriction(MUST_CHANGE_PASSWORD)

        # SECURITY: Pillow refuses to open images over twice this many pixels
        # (DecompressionBombError); photos.prepare_photo refuses anything over it.
        Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS
