from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A researcher's REST API token. Only sha256(key) is stored: the key is shown once, when made.

    ``prefix`` (the key's first characters) is not secret: it lets the token page and the admin tell
    tokens apart. A researcher may hold several (one per script or machine) and revoke each alone.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
