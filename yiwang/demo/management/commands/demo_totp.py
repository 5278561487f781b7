"""``manage.py demo_totp <phone>``: the current authenticator code of a demo staff persona.

For trying the demo without an authenticator app. It answers only for the demo's staff
personas, and only while their authenticator is still the one ``demo_load`` gave them
(its secret is published in the persona list); any other account is refused.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yiwang.demo.personas import PERSONAS, demo_authenticator_key
from yiwang.identity.authenticator import authenticator_code


class Command(BaseCommand):
    help = "Print the current 6-digit authenticator code of a demo staff persona."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("phone", help="The persona's phone number, e.g. 13800000061.")

    def handle(self, *args: Any, **options: Any) -> None:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        phone = "".join(str(options["phone"]).split())
        persona = next((p for p in PERSONAS if p.phone == phone and p.is_staff), None)
        if persona is None:
            raise CommandError(
                f"{phone} is not a demo staff persona: codes are printed only for those."
            )
        key = demo_authenticator_key(persona.phone)
        device = TOTPDevice.objects.filter(
            user__phone=persona.phone, confirmed=True, key=key
        ).first()
        if device is None:
            raise CommandError(
                f"{phone} does not have the demo authenticator (run demo_load, or the persona "
                "has set up an authenticator of their own)."
            )
        now = time.time()
        left = device.step - int(now) % device.step
        code = authenticator_code(key, step=device.step, digits=device.digits, at=now)
        self.stdout.write(f"{code}  ({persona.name}, valid for {left} s more)")
