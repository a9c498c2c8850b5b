from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "threshold.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        from threshold.accounts import checks  # noqa: F401  (registers the system checks)

        # SECURITY: Pillow refuses to open images over twice this many pixels
        # (DecompressionBombError); photos.prepare_photo refuses anything over it.
        Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS
