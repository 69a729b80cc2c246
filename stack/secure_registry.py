"""The schema registry's secured endpoint: stack/registry_proxy.py run as a service of its own (`registry-tls`),
HTTPS with the stack's certificate and basic auth for the `sluice` user, in front of the plain registry."""

from __future__ import annotations

import base64
import json
import ssl
import sys
import urllib.request

from ingest.connections import Connections
from stack.secure import USER, ensure_password, password_file
from stack.service import Service
from stack.tls import tls_files


class SecureRegistry(Service):
    name = "registry-tls"
    endpoint_var = "SLUICE_SCHEMA_REGISTRY_SECURE_URL"  # never read: the proxy is local, or absent (control.services)
    uses_tls = True

    def ports(self) -> dict[str, int]:
        return {"SLUICE_SCHEMA_REGISTRY_SECURE_PORT": self.settings.registry_secure_port}

    def env(self) -> dict[str, str]:
        # Not for .stack/env, whose clients speak plain HTTP: the secured URL is in .stack/secure.env.
        return {}

    @property
    def endpoint(self) -> str:
        return f"https://{self.settings.host}:{self.settings.registry_secure_port}/apis/ccompat/v7"

    def is_external(self) -> bool:
        return False

    def argv(self) -> list[str]:
        tls = tls_files(self.settings)
        ensure_password(self.settings)
        return [
            sys.executable, "-m", "stack.registry_proxy",
            "--listen", f"{self.settings.host}:{self.settings.registry_secure_port}",
            "--upstream", f"{self.settings.host}:{self.settings.registry_port}",
            "--cert", str(tls.server_cert), "--key", str(tls.server_key), "--ca", str(tls.ca),
            "--user", USER, "--password-file", str(password_file(self.settings)),
        ]

    def probe(self, connections: Connections) -> str:
        return self.probe_secured()

    def probe_secured(self) -> str:
        """An authenticated request over TLS, the certificate checked against the stack's CA and its name."""
        context = ssl.create_default_context(cafile=str(tls_files(self.settings).ca))
        token = base64.b64encode(f"{USER}:{ensure_password(self.settings)}".encode()).decode()
        request = urllib.request.Request(f"{self.endpoint}/subjects", headers={"Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            subjects = json.load(response)
        return f"TLS verified, basic auth as {USER}: {len(subjects)} subject(s)"
