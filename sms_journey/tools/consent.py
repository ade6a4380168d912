"""The proof of a consent given on a web page: what was shown, where, when, from where.

Plain Python (no ORM) so that the format is defined once and tested without a database.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class WebConsent:
    """A consent checkbox ticked on a web page."""

    text: str  # the exact checkbox text shown to the customer
    page: str  # the page the form was on (its URL or path)
    moment: datetime  # when the form was submitted (UTC, naive)
    ip: str = ""
    user_agent: str = ""

    def proof(self) -> str:
        """The proof kept in the consent log, one fact per line, in a fixed order."""
        lines = [
            f"Text shown: {self.text}",
            f"Page: {self.page}",
            f"Time (UTC): {self.moment.strftime('%Y-%m-%d %H:%M:%S')}",
            f"IP: {self.ip or '-'}",
        ]
        if self.user_agent:
            lines.append(f"User agent: {self.user_agent}")
        return "\n".join(lines)
