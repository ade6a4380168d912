"""Plain Python helpers for sms_journey: no ORM, importable and testable without Odoo."""
