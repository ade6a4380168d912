"""Make ``sms_journey.tools`` importable without Odoo.

The addon's ``__init__`` imports its models (and so Odoo); the pure helpers must not
need it. Registering ``sms_journey`` as a bare namespace lets tests import
``sms_journey.tools.*`` directly.
"""

import sys
import types
from pathlib import Path

ADDON_DIR = Path(__file__).resolve().parents[2]

if "sms_journey" not in sys.modules:
    package = types.ModuleType("sms_journey")
    package.__path__ = [str(ADDON_DIR)]
    sys.modules["sms_journey"] = package
